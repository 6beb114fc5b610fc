//! The desktop front end: an egui window over the engine's pool handle and event stream.

pub mod app;
pub mod command;
mod pacing;
mod panels;
pub mod picker;
pub mod presets;
mod quality_form;
pub mod samples;
pub mod settings;
mod shell;
mod state;
pub mod stats;
pub mod task;
pub mod thumbs;
pub mod trial;
pub mod view;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use eframe::egui;

use crate::engine::options::RecipePatch;
use crate::engine::pool;

pub use app::ConveyorApp;

/// How the window starts: what the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Inputs to load at once, as if dropped.
    pub inputs: Vec<PathBuf>,
    /// Output folder (default: `<input>-converted` beside the input).
    pub out: Option<PathBuf>,
    /// Outputs to show instead of the saved ones (a recipe file's); empty keeps the saved.
    pub recipes: Vec<crate::engine::recipe::Recipe>,
    /// Recipe options over the saved recipe (over every output).
    pub recipe: RecipePatch,
    /// Worker count over the saved one.
    pub workers: Option<usize>,
    /// Start converting as soon as the inputs are scanned.
    pub start: bool,
    /// Watch the input folder as soon as it is scanned.
    pub watch: bool,
    /// Object storage as the caller configured it (`None`: connected from the environment
    /// and the AWS files the first time an `s3://` path is used).
    pub storage: Option<Arc<crate::engine::batch::LazyStore>>,
}

/// The top of the worker slider: max(2 × logical CPUs, 16).
pub fn max_workers() -> usize {
    (2 * num_cpus::get()).max(16)
}

/// The window icon: the 128 px PNG drawn by `examples/make_icon.rs`, built into the binary.
/// (Not the 256 px one: as `_NET_WM_ICON` that is one X request over the core protocol's size
/// limit, and X11 then shows no icon at all. Desktops take larger sizes from the installed theme.)
fn icon() -> Option<egui::IconData> {
    let png = include_bytes!("../../assets/icons/hicolor/128x128/apps/conveyor.png");
    let rgba = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .ok()?
        .into_rgba8();
    Some(egui::IconData {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// Opens the window and runs until it closes.
pub fn run(launch: Launch) -> ExitCode {
    pool::quiet_worker_panics();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Conveyor")
        .with_app_id("conveyor")
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([900.0, 600.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "Conveyor",
        options,
        Box::new(move |cc| Ok(Box::new(ConveyorApp::from_creation_context(cc, &launch)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conveyor: cannot open the window: {e}");
            ExitCode::from(1)
        }
    }
}
