//! What each panel gets from the window's state this frame: the shell calls these to borrow
//! the parts a panel shows and the forms it edits, so that no panel sees the state itself.

use eframe::egui;

use super::app::ConveyorApp;
use super::panels::{self, Controls, RecipeView};

impl ConveyorApp {
    /// The recipe panel's view: what it shows and the forms it edits.
    pub(super) fn recipe_view(&mut self) -> RecipeView<'_> {
        let first = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|r| r.as_ref().ok())
            .and_then(|s| s.first.clone());
        RecipeView {
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
            paused: app.batch.as_ref().is_some_and(|b| b.view.paused),
            before_batch: app.batch.is_none(),
            preparing: app.preparing.is_some(),
            message: app
                .message
                .as_deref()
                .filter(|m| planned.map(String::as_str) != Some(*m)),
            trials: &app.trials,
            workers: app.settings.workers,
        }
    }
}
