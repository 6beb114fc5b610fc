//! The shell: the `eframe::App` of the window. Each frame it polls the state (background
//! tasks, the pool's events, shortcuts, drops, close requests), draws the panels, applies the
//! commands they pushed, and keeps the window title in step. The state lives in `app.rs`; the
//! panels in `panels/`.

use std::time::{Duration, Instant};

use eframe::egui;

use super::app::ConveyorApp;
use super::command::Command;
use super::settings::Settings;
use super::state::Batch;
use super::view::window_title;

/// How often a running batch's progress is written into the window title.
const TITLE_EVERY: Duration = Duration::from_millis(500);

impl ConveyorApp {
    /// Carries out one user intent.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Start => self.start(),
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
                    self.message = Some(format!("Copied: {command}"));
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
        if self.start_requested && self.input.as_ref().is_some_and(|i| i.summary.is_some()) {
            self.start_requested = false;
            self.start();
        }
        // A running batch's count changes with every event; sending each change would ask for
        // a frame each time (a viewport command repaints at once) and undo the frame cap of
        // the pool's waker. So progress reaches the title every TITLE_EVERY; anything else
        // (finished, paused, another input) at once. Between those times it is not even built.
        let progress_only = self
            .batch
            .as_ref()
            .is_some_and(|b| b.running() && !b.view.paused);
        let due = !progress_only || self.title_sent.is_none_or(|t| t.elapsed() >= TITLE_EVERY);
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
        super::panels::top_bar(
            self.input.as_ref(),
            self.busy(),
            &mut self.input_text,
            &mut self.commands,
            ui,
        );
        let mut recipe = self.recipe_view();
        super::panels::recipe_panel(&mut recipe, ui);
        let central = super::panels::unfilled(egui::Frame::central_panel(ui.style()));
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            if self.input.is_none() && self.batch.is_none() {
                super::panels::empty_state(self.message.as_deref(), &mut self.commands, ui);
            } else {
                self.batch_area(ui);
            }
        });
        self.thumbs.end_frame();
        super::panels::drop_highlight(&ctx);
        if self.confirm_close {
            let left =
                super::panels::quit_text(self.batch_view(), self.settings.first().recipe.on_exist);
            super::panels::close_dialog(&left, &mut self.commands, &ctx);
        }
        self.apply_commands(&ctx);
        if self.stats.enabled && self.batch.as_ref().is_some_and(Batch::running) {
            self.stats
                .ui_ms
                .push(started.elapsed().as_secs_f32() * 1000.0);
        }
    }
}

impl eframe::App for ConveyorApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let timed = self.stats.enabled && self.batch.as_ref().is_some_and(Batch::running);
        if timed && let Some(cpu) = frame.info().cpu_usage {
            self.stats.whole_frame(cpu * 1000.0);
        }
        let started = Instant::now();
        self.update_logic(ctx);
        if timed {
            self.stats
                .logic_ms
                .push(started.elapsed().as_secs_f32() * 1000.0);
        }
    }

    /// The panels' own colour: the panels leave their background to this clear (see
    /// [`super::panels::unfilled`]).
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, Settings::KEY, &self.settings_to_save());
    }
}
