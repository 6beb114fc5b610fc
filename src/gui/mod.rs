//! The desktop front end: an egui window over the engine's pool handle and event stream.

pub mod app;
mod panels;
pub mod picker;
pub mod samples;
pub mod settings;
pub mod view;

use std::process::ExitCode;

use eframe::egui;

use crate::cli::GuiArgs;

pub use app::ConveyorApp;

/// The top of the worker slider: max(2 × logical CPUs, 16).
pub fn max_workers() -> usize {
    (2 * num_cpus::get()).max(16)
}

/// Opens the window and runs until it closes.
pub fn run(args: GuiArgs) -> ExitCode {
    crate::cli::quiet_worker_panics();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Conveyor")
            .with_app_id("conveyor")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "Conveyor",
        options,
        Box::new(move |cc| Ok(Box::new(ConveyorApp::from_creation_context(cc, &args)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conveyor: cannot open the window: {e}");
            ExitCode::from(1)
        }
    }
}
