//! The state's frame loop: `update_logic` (polling, shortcuts, drops, close requests, the
//! title), `draw` (each panel with the parts of the state it shows and the forms it edits
//! borrowed for it, so that no panel sees the state itself; then the frame's commands), and
//! `apply`, the one way a command changes the state.

use std::time::{Duration, Instant};

use eframe::egui;

use super::ConveyorApp;
use crate::gui::command::Command;
use crate::gui::state::Batch;
use crate::gui::view::window_title;

/// How often a running batch's progress is written into the window title.
const TITLE_EVERY: Duration = Duration::from_millis(500);
use crate::gui::panels::{self, Controls, RecipeView};

impl ConveyorApp {
    /// Everything but drawing, once a frame, timed for `CONVEYOR_FRAME_STATS` (`cpu`: the
    /// frame's CPU time as eframe measured it).
    pub(crate) fn frame_logic(&mut self, ctx: &egui::Context, cpu: Option<f32>) {
        // Timed while a batch runs and, after it, while its results are browsed.
        let timed = self.stats.enabled && self.batch.is_some();
        if timed && let Some(cpu) = cpu {
            self.stats.whole_frame(cpu * 1000.0);
        }
        let started = Instant::now();
        self.update_logic(ctx);
        let running = self.batch.as_ref().is_some_and(Batch::running);
        self.pacer.still(ctx, running);
        if timed {
            self.stats
                .logic_ms
                .push(started.elapsed().as_secs_f32() * 1000.0);
        }
    }

    /// Carries out one user intent.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Start => self.start(),
            Command::Watch(true) => self.start_watching(ctx),
            Command::Watch(false) => self.cancel(),
            Command::TogglePause => self.toggle_pause(),
            Command::Cancel => self.cancel(),
            Command::SetWorkers(n) => self.set_workers(n),
            Command::RetryFailed => self.retry_failed(ctx),
            Command::StopAndQuit => self.stop_and_quit(ctx),
            Command::KeepRunning => self.confirm_close = false,
            Command::SetOutput(dir) => self.set_output(dir),
            Command::DefaultOutput => self.out_override = None,
            Command::UseTypedInput => self.set_input_text(),
            Command::LoadSamples => self.load_samples(),
            Command::Ask(purpose) => self.ask(purpose),
            Command::OpenOutputFolder => self.open_output_folder(),
            Command::Select(job) => self.select(job),
            Command::Row(action) => self.row_action(ctx, action),
            Command::PickTrial(path) => self.pick_trial(path),
            Command::CopyCommand => match self.command_line() {
                Ok(command) => {
                    ctx.copy_text(command.clone());
                    self.message =
                        Some("Copied to the clipboard; the command is below to read.".into());
                    self.copied_command = Some(command);
                }
                Err(e) => self.message = Some(e),
            },
            Command::LoadPreset(preset) => self.load_preset(&preset),
            Command::SavePreset(name) => self.save_preset(&name),
            Command::DeletePreset(preset) => self.delete_preset(&preset),
        }
    }

    /// Applies what the panels and shortcuts asked for, in order.
    fn apply_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            self.apply(ctx, command);
        }
    }

    /// The window title for the current state (see [`window_title`]).
    pub fn title(&self) -> String {
        let name = self.input.as_ref().map(|i| {
            let root = i.root();
            root.file_name().map_or_else(
                || root.display().to_string(),
                |n| n.to_string_lossy().into(),
            )
        });
        let summary = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|s| s.as_ref().ok());
        window_title(name.as_deref(), summary, self.batch_view())
    }

    /// Everything that is not drawing: polling, shortcuts, drops, close requests, the title.
    pub fn update_logic(&mut self, ctx: &egui::Context) {
        if self.repaint.is_none() {
            self.repaint = Some(ctx.clone());
        }
        self.handle_drops(ctx);
        self.poll(ctx);
        self.shortcuts(ctx);
        self.handle_close(ctx);
        self.expire_stale();
        if self.start_requested && self.input.as_ref().is_some_and(|i| i.summary.is_some()) {
            self.start_requested = false;
            self.start();
        }
        if self.watch_requested && self.input.as_ref().is_some_and(|i| i.summary.is_some()) {
            self.watch_requested = false;
            self.start_watching(ctx);
        }
        // A running batch's count changes with every event; sending each change would ask for
        // a frame each time (a viewport command repaints at once) and undo the frame cap of
        // the pool's waker. So progress reaches the title every TITLE_EVERY (or every fourth
        // progress frame, when the pacer draws less often); anything else (finished, paused,
        // another input) at once. Between those times it is not even built.
        let progress_only = self
            .batch
            .as_ref()
            .is_some_and(|b| b.running() && !b.view.paused);
        let every = TITLE_EVERY.max(self.pacer.interval.get() * 4);
        let due = !progress_only || self.title_sent.is_none_or(|t| t.elapsed() >= every);
        if !due {
            return;
        }
        let title = self.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
            self.title_sent = Some(Instant::now());
        }
    }

    /// Draws the whole window.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.thumbs.begin_frame(&ctx);
        crate::gui::panels::top_bar(
            self.input.as_ref(),
            self.busy(),
            &mut self.input_text,
            &mut self.commands,
            ui,
        );
        let mut recipe = self.recipe_view();
        crate::gui::panels::recipe_panel(&mut recipe, ui);
        let central = crate::gui::panels::unfilled(egui::Frame::central_panel(ui.style()));
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            if self.input.is_none() && self.batch.is_none() {
                crate::gui::panels::empty_state(self.message.as_deref(), &mut self.commands, ui);
            } else {
                self.batch_area(ui);
            }
        });
        self.thumbs.end_frame();
        crate::gui::panels::drop_highlight(&ctx);
        if self.confirm_close {
            let left = crate::gui::panels::quit_text(
                self.batch_view(),
                self.settings.first().recipe.on_exist,
            );
            crate::gui::panels::close_dialog(&left, &mut self.commands, &ctx);
        }
        self.apply_commands(&ctx);
        self.stamp_message();
        if self.stats.enabled && self.batch.is_some() {
            self.stats
                .ui_ms
                .push(started.elapsed().as_secs_f32() * 1000.0);
        }
    }
}

impl ConveyorApp {
    /// The recipe panel's view: what it shows and the forms it edits.
    pub(super) fn recipe_view(&mut self) -> RecipeView<'_> {
        let first = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|r| r.as_ref().ok())
            .and_then(|s| s.first.clone());
        let input_formats = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|r| r.as_ref().ok())
            .map(|s| s.kinds.clone())
            .unwrap_or_default();
        RecipeView {
            input_formats,
            busy: self.busy(),
            output_dir: self.output_dir(),
            chosen_output: self.out_override.is_some(),
            first,
            presets: &self.presets,
            settings: &mut self.settings,
            open_output: &mut self.open_output,
            chosen_preset: &mut self.chosen_preset,
            out_text: &mut self.out_text,
            preset_name: &mut self.preset_name,
            commands: &mut self.commands,
        }
    }

    /// The central area once an input is chosen: controls, workers, progress, results (or,
    /// before a batch, the preview).
    pub(super) fn batch_area(&mut self, ui: &mut egui::Ui) {
        let app = self;
        let shown = Controls::of(app);
        let mut asked = Vec::new();
        panels::controls(&shown, &mut asked, ui);
        app.commands.append(&mut asked);
        ui.separator();
        panels::workers::workers_section(
            app.settings.workers,
            app.batch.as_ref().map(|b| &b.view),
            &mut app.commands,
            ui,
        );
        ui.separator();
        panels::overall::overall_section(
            app.batch.as_ref().map(|b| &b.view),
            app.forecast.as_ref(),
            app.trials
                .estimate
                .as_ref()
                .and_then(Option::as_ref)
                .filter(|_| !app.trials.estimating())
                .map_or(&[][..], |e| e.failed.as_slice()),
            &mut app.settings.first_mut().recipe.on_exist,
            ui,
        );
        ui.separator();
        if let Some(batch) = &app.batch {
            panels::results::results_section(
                batch,
                &mut app.filter,
                (app.selected, app.preview.as_ref()),
                &mut app.commands,
                ui,
            );
        } else if let (Some(current), Some(input)) = (app.trial_input(), &app.input) {
            panels::trial::trial_section(
                input,
                current,
                &mut app.thumbs,
                &mut app.trials,
                &mut app.commands,
                ui,
            );
        }
    }
}

impl<'a> Controls<'a> {
    /// What the controls row shows now.
    fn of(app: &'a ConveyorApp) -> Controls<'a> {
        // Said once: a refusal the plan before Start already shows is not repeated here.
        let planned = app
            .forecast
            .as_ref()
            .and_then(|f| f.result.as_ref())
            .and_then(|r| r.as_ref().err());
        Controls {
            can_start: !app.busy()
                && app
                    .input
                    .as_ref()
                    .is_some_and(|i| matches!(i.summary, Some(Ok(ref s)) if s.images > 0)),
            running: app.batch.as_ref().is_some_and(|b| b.running()),
            watching: app.watching(),
            paused: app.batch.as_ref().is_some_and(|b| b.view.paused),
            halted: app
                .batch
                .as_ref()
                .filter(|b| b.running())
                .and_then(|b| b.view.halted.as_deref()),
            before_batch: app.batch.is_none(),
            preparing: app.preparing.is_some(),
            message: app
                .message
                .as_deref()
                .filter(|m| planned.map(String::as_str) != Some(*m)),
            copied: app.copied_command.as_deref(),
            trials: &app.trials,
            workers: app.settings.workers,
            outlook: app
                .forecast
                .as_ref()
                .and_then(|f| f.result.as_ref())
                .and_then(|r| r.as_ref().ok()),
        }
    }
}
