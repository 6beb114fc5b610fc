//! The shell: the `eframe::App` of the window, and nothing else. Each frame it has the state
//! poll (background tasks, the pool's events, shortcuts, drops, close requests, the title) and
//! draw (the panels, then the commands they pushed, applied through `ConveyorApp::apply`); at
//! exit it saves the settings. The state and its frame loop live in `app/` (`app/frame.rs`);
//! the panels in `panels/`.

use eframe::egui;

use super::app::ConveyorApp;
use super::settings::Settings;

impl eframe::App for ConveyorApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.frame_logic(ctx, frame.info().cpu_usage);
    }

    /// The panels' own colour: the panels leave their background to this clear (see
    /// [`super::panels::unfilled`]).
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    /// With `CONVEYOR_FRAME_STATS`, the frames since the last batch ended: browsing its results.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.report_browsing_frames();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, Settings::KEY, &self.settings_to_save());
    }
}
