//! The window's state, `ConveyorApp`: its fields are private to this folder, whose files are
//! its parts — `frame.rs` (the frame loop: polling, drawing each panel with what it shows and
//! the forms it edits, and `apply`, the one way a command changes the state), `lifecycle.rs`
//! (the batch through the engine's batch API), `dialogs.rs`, `commands.rs` (presets and *Copy
//! as command*) and `window_input.rs` (shortcuts, drops, close requests). The panels never see
//! it; the view model (`view/`) turns pool events into what they show; image work happens in
//! the engine.

mod commands;
mod dialogs;
mod frame;
mod freshness;
mod lifecycle;
mod watching;
mod window_input;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use eframe::egui;

use super::Launch;
use super::command::DialogPurpose;
use super::picker::Picker;
use super::settings::Settings;
use super::state::{Batch, Input, Prepared, Preview};
use super::stats::FrameStats;
use super::task::Task;
use super::view::{BatchView, InputSummary, ResultFilter};
use crate::engine::batch;
use crate::engine::job::JobId;
use crate::engine::scan::ScanOptions;

/// How soon after pool events the window redraws. Thirty frames a second keeps the bars
/// smooth while leaving the cores to the workers (software-rendered desktops paint on the CPU).
pub(super) const FRAME: Duration = Duration::from_millis(33);

/// What the message line says to a drop while a batch runs; it goes when the batch ends.
pub(super) const BUSY_DROP: &str = "A batch is running; drop again when it is done.";

/// How inputs are scanned: [`crate::engine::scan::scan`], or a stand-in a test injects.
pub use crate::engine::batch::Scanner;

/// The window's state.
pub struct ConveyorApp {
    settings: Settings,
    picker: Arc<dyn Picker>,
    scanner: Scanner,
    /// Object storage, connected the first time an `s3://` input or output is used.
    storage: Arc<batch::LazyStore>,
    /// Woken when a background task ends (unknown until the first frame in tests).
    repaint: Option<egui::Context>,
    input: Option<Input>,
    out_override: Option<PathBuf>,
    batch: Option<Batch>,
    preparing: Option<Task<Result<Prepared, String>>>,
    /// What Start would do, planned in the background before it is pressed.
    forecast: Option<super::state::Forecast>,
    dialog: Option<(DialogPurpose, Task<super::picker::Answer>)>,
    preview: Option<Preview>,
    trials: super::trial::Trials,
    /// Small pictures for the input's file list.
    thumbs: super::thumbs::Thumbs,
    filter: ResultFilter,
    selected: Option<JobId>,
    preset_name: String,
    chosen_preset: Option<String>,
    /// Where user presets are kept (none: saving presets is not possible).
    presets_dir: Option<PathBuf>,
    /// The presets the menu offers.
    presets: Vec<super::presets::Preset>,
    /// Presets an earlier version kept in its settings, to be written as files.
    legacy_presets: std::collections::BTreeMap<String, crate::engine::recipe::Recipe>,
    /// The output card that is open (`usize::MAX`: none).
    open_output: usize,
    /// The last command *Copy as command* made.
    copied_command: Option<String>,
    message: Option<String>,
    /// The message as first seen, and the setup it was said for (see `freshness`).
    message_about: Option<(String, freshness::SetupKey)>,
    /// The setup the batch shown ran with.
    batch_about: Option<freshness::SetupKey>,
    /// The input path being typed in the top bar.
    input_text: String,
    /// The output folder being typed (`None`: show the folder in use).
    out_text: Option<String>,
    /// The program that opens a folder in the file manager.
    opener: String,
    /// The opener, while it runs (its failure is shown).
    opening: Option<Task<Result<(), String>>>,
    confirm_close: bool,
    closing: bool,
    /// Start once the input's scan is in (`conveyor gui --start`).
    start_requested: bool,
    /// Watch the input once its scan is in (`conveyor gui --watch`).
    watch_requested: bool,
    /// The title last sent to the window.
    title: String,
    /// When `title` was last sent to the window (the shell's `TITLE_EVERY`).
    title_sent: Option<Instant>,
    /// Set by the pool's waker once it has asked for a repaint; cleared by the next frame.
    repaint_pending: Arc<AtomicBool>,
    /// How often a running batch's progress is drawn ([`crate::gui::pacing`]).
    pacer: crate::gui::pacing::Pacer,
    stats: FrameStats,
    /// What the panels and shortcuts asked for this frame; the shell applies them after
    /// drawing.
    commands: Vec<super::command::Command>,
    /// What the command line set over the saved settings, so saving keeps the saved values
    /// until the user changes something.
    launched: Option<Launched>,
}

/// The settings as saved before a launch's command-line options replaced some of them.
struct Launched {
    saved: Settings,
    /// The outputs the command line gave, if it gave any.
    recipes: Option<Vec<crate::engine::recipe::Recipe>>,
    /// The worker count the command line gave, if it gave one.
    workers: Option<usize>,
}

impl ConveyorApp {
    /// A window with `settings`, asking the user through `picker`, preloaded from `launch`.
    pub fn new(settings: Settings, picker: Arc<dyn Picker>, launch: &Launch) -> ConveyorApp {
        let mut settings = settings;
        let legacy_presets = settings.normalise();
        let saved = settings.clone();
        // Recipe options or a recipe file on the command line give exactly the outputs
        // `conveyor run` would build from them (its defaults, its on-exist policy), never the
        // saved recipe's leftovers; they are saved only once the user changes something.
        let cli_recipe = !launch.recipes.is_empty() || !launch.recipe.is_empty();
        if cli_recipe {
            let base = if launch.recipes.is_empty() {
                vec![crate::engine::recipe::Recipe::default()]
            } else {
                launch.recipes.clone()
            };
            settings.outputs = base
                .into_iter()
                .map(|r| super::settings::OutputForm::from_recipe(launch.recipe.apply(r)))
                .collect();
        }
        if let Some(n) = launch.workers {
            settings.workers = n;
        }
        settings.workers = settings.workers.clamp(1, super::max_workers());
        let launched = (cli_recipe || launch.workers.is_some()).then(|| Launched {
            saved,
            recipes: cli_recipe.then(|| settings.current_recipes()),
            workers: launch.workers.map(|_| settings.workers),
        });
        let mut app = ConveyorApp {
            settings,
            picker,
            scanner: batch::default_scanner(),
            storage: launch.storage.clone().unwrap_or_default(),
            repaint: None,
            input: None,
            out_override: launch.out.clone(),
            batch: None,
            preparing: None,
            forecast: None,
            dialog: None,
            preview: None,
            trials: super::trial::Trials::default(),
            thumbs: super::thumbs::Thumbs::default(),
            filter: ResultFilter::All,
            selected: None,
            preset_name: String::new(),
            chosen_preset: None,
            presets_dir: super::presets::default_dir(),
            presets: Vec::new(),
            legacy_presets,
            open_output: 0,
            copied_command: None,
            message: None,
            message_about: None,
            batch_about: None,
            input_text: String::new(),
            out_text: None,
            opener: if cfg!(target_os = "macos") {
                "open"
            } else if cfg!(windows) {
                "explorer"
            } else {
                "xdg-open"
            }
            .to_owned(),
            opening: None,
            confirm_close: false,
            closing: false,
            start_requested: launch.start,
            watch_requested: launch.watch,
            title: String::new(),
            title_sent: None,
            repaint_pending: Arc::new(AtomicBool::new(false)),
            pacer: crate::gui::pacing::Pacer::default(),
            stats: FrameStats::from_env(),
            commands: Vec::new(),
            launched,
        };
        app.refresh_presets();
        if !launch.inputs.is_empty() {
            app.set_input(launch.inputs.clone());
        }
        app
    }

    /// Opens folders with `program` instead of the platform's opener (a test seam).
    pub fn with_opener(mut self, program: &str) -> ConveyorApp {
        self.opener = program.to_owned();
        self
    }

    /// Writes the next batch's outputs to `dir`.
    pub(super) fn set_output(&mut self, dir: PathBuf) {
        self.out_override = Some(dir);
        self.out_text = None;
    }

    /// Loads a typed or pasted input path; says so if nothing is there.
    pub(super) fn set_input_text(&mut self) {
        let text = self.input_text.trim();
        if text.is_empty() {
            return;
        }
        let path = PathBuf::from(text);
        if path.exists() || crate::engine::remote::is_remote(&path) {
            self.input_text.clear();
            self.set_input(vec![path]);
        } else {
            self.message = Some(format!(
                "There is no folder or image at {}.",
                path.display()
            ));
        }
    }

    /// Scans inputs with `scanner` instead of [`scan::scan`] (a test seam: a scan that fails
    /// or panics).
    pub fn with_scanner(mut self, scanner: Scanner) -> ConveyorApp {
        self.scanner = scanner;
        self
    }

    /// A window for eframe: settings from storage, native dialogs.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>, launch: &Launch) -> ConveyorApp {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, Settings::KEY))
            .unwrap_or_default();
        let mut app = ConveyorApp::new(settings, Arc::new(super::picker::RfdPicker), launch);
        app.repaint = Some(cc.egui_ctx.clone());
        app
    }

    /// The preview and the estimate before the run.
    pub fn trials(&self) -> &super::trial::Trials {
        &self.trials
    }

    /// The window's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings the recipe panel edits, to change as the panel would.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// What is saved for the next launch: the window's settings, except that what the command
    /// line set and the user has not changed since keeps its saved value.
    pub fn settings_to_save(&self) -> Settings {
        let mut settings = self.settings.clone();
        if let Some(l) = &self.launched {
            if l.recipes.as_ref() == Some(&settings.current_recipes()) {
                settings.outputs = l.saved.outputs.clone();
            }
            if l.workers == Some(settings.workers) {
                settings.workers = l.saved.workers;
            }
        }
        settings
    }

    /// Whether a batch is being prepared or running.
    pub fn busy(&self) -> bool {
        self.preparing.is_some() || self.batch.as_ref().is_some_and(Batch::running)
    }

    /// The result row selected (its job), if any.
    pub fn selected(&self) -> Option<JobId> {
        self.selected
    }

    /// The message line's text, if any (errors and notices).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The output folder the next batch writes to.
    pub fn output_dir(&self) -> Option<PathBuf> {
        self.out_override
            .clone()
            .or_else(|| self.input.as_ref().map(Input::default_output))
    }

    /// Chooses new inputs (a folder, or several files and folders) and scans them in the
    /// background.
    pub fn set_input(&mut self, paths: Vec<PathBuf>) {
        if paths.is_empty() || self.busy() {
            return;
        }
        // An output folder chosen for one input is not the next one's: a new folder plans into
        // its own default (one chosen before any input stays).
        if self.input.is_some() {
            self.out_override = None;
            self.out_text = None;
        }
        let scan_paths = paths.clone();
        let exclude: Vec<PathBuf> = self.out_override.iter().cloned().collect();
        let scanner = Arc::clone(&self.scanner);
        let storage = Arc::clone(&self.storage);
        let scanning = Task::spawn("scan", self.repaint.clone(), move || {
            // An `s3://` input is listed through object storage, connected here (off the UI
            // thread) the first time.
            let options = ScanOptions {
                store: storage.for_paths(scan_paths.iter().map(PathBuf::as_path))?,
                recursive: true,
                exclude,
                stop: None,
            };
            scanner(&scan_paths, &options)
                .map(|found| (InputSummary::from_scan(&found), Arc::new(found)))
                .map_err(|e| e.to_string())
        });
        self.input = Some(Input {
            paths,
            summary: None,
            scan: None,
            scanning: Some(scanning),
        });
        self.forecast = None;
        self.thumbs = super::thumbs::Thumbs::default();
        self.batch = None;
        self.preview = None;
        self.trials = super::trial::Trials::default();
        self.selected = None;
        self.message = None;
    }

    /// Loads the bundled sample images.
    pub(super) fn load_samples(&mut self) {
        match super::samples::extract() {
            Ok(dir) => self.set_input(vec![dir]),
            Err(e) => self.message = Some(format!("Could not unpack the sample images: {e}")),
        }
    }

    /// Drains every background task and the pool's events without blocking. Once per frame.
    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        if let Some(input) = &mut self.input
            && let Some(result) = input.scanning.as_mut().and_then(Task::poll)
        {
            match result.and_then(|r| r) {
                Ok((summary, found)) => {
                    input.summary = Some(Ok(summary));
                    input.scan = Some(found);
                }
                Err(e) => input.summary = Some(Err(e)),
            }
            input.scanning = None;
        }
        if let Some(result) = self.preparing.as_mut().and_then(Task::poll) {
            self.preparing = None;
            match result.and_then(|r| r) {
                Ok(p) if p.prepared.plan.jobs.is_empty() => {
                    self.message = Some("No images to convert.".into())
                }
                Ok(p) => self.launch(ctx, p),
                Err(e) => self.message = Some(e),
            }
        }
        self.poll_dialog();
        self.poll_opening();
        self.poll_forecast();
        self.poll_batch(ctx);
        self.poll_preview(ctx);
        self.poll_trials(ctx);
    }

    /// The input the preview shows: the picked one, else the first image of the input.
    pub(super) fn trial_input(&self) -> Option<PathBuf> {
        let summary = self.input.as_ref()?.summary.as_ref()?.as_ref().ok()?;
        self.trials
            .pick
            .clone()
            .filter(|p| summary.files.iter().any(|(f, _)| f == p))
            .or_else(|| summary.files.first().map(|(p, _)| p.clone()))
    }

    /// Starts previewing `path` (one of the input's images).
    pub fn pick_trial(&mut self, path: PathBuf) {
        self.trials.pick = Some(path);
    }

    /// Keeps the preview and the estimate in step with the input and the recipe.
    fn poll_trials(&mut self, ctx: &egui::Context) {
        let files = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|s| s.as_ref().ok())
            .map_or(&[][..], |s| s.files.as_slice());
        let wanted = super::trial::Wanted {
            storage: &self.storage,
            idle: self.batch.is_none() && !self.busy(),
            path: self.trial_input(),
            // The open card's output (the first when none is open).
            recipe: self
                .settings
                .outputs
                .get(self.open_output)
                .unwrap_or(self.settings.first())
                .current_recipe(),
            recipes: self.settings.current_recipes(),
            workers: self.settings.workers,
            files,
        };
        self.trials.poll(ctx, self.repaint.as_ref(), wanted);
    }

    /// The view of the current batch, if any.
    pub fn batch_view(&self) -> Option<&BatchView> {
        self.batch.as_ref().map(|b| &b.view)
    }

    /// With `CONVEYOR_FRAME_STATS`: prints the frames since the last batch ended (when the
    /// window closes; a batch still running has printed nothing yet and prints nothing now).
    pub fn report_browsing_frames(&mut self) {
        if let Some(batch) = self.batch.as_ref().filter(|b| !b.running()) {
            self.stats.report_after(batch.view.results.len());
        }
    }
}
