//! The eframe application: its state and the per-frame polling of the pool and background
//! tasks, keyboard shortcuts, drops and close requests. Panels (in `panels/`) draw it; the view
//! model (`view.rs`) turns pool events into what they show; image work happens in the engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use super::Launch;
use super::picker::Picker;
use super::settings::Settings;
use super::state::{Batch, DialogPurpose, Input, Prepared, Preview};
use super::stats::FrameStats;
use super::task::Task;
use super::view::{BatchView, InputSummary, ResultFilter, window_title};
use crate::engine::job::{Job, JobId};
use crate::engine::journal::JournalWriter;
use crate::engine::pipeline::Pipeline;
use crate::engine::plan::{self, PlanOptions};
use crate::engine::pool::{self, PoolHandle};
use crate::engine::report::ReportBuilder;
use crate::engine::scan::{self, Scan, ScanError, ScanOptions, ScanWarning};

/// How soon after pool events the window redraws. Thirty frames a second keeps the bars
/// smooth while leaving the cores to the workers (software-rendered desktops paint on the CPU).
const FRAME: Duration = Duration::from_millis(33);

/// What the message line says to a drop while a batch runs; it goes when the batch ends.
pub(super) const BUSY_DROP: &str = "A batch is running; drop again when it is done.";

/// How inputs are scanned: [`scan::scan`], or a stand-in a test injects.
pub type Scanner = Arc<dyn Fn(&[PathBuf], &ScanOptions) -> Result<Scan, ScanError> + Send + Sync>;

/// The window's state.
pub struct ConveyorApp {
    pub(super) settings: Settings,
    pub(super) picker: Arc<dyn Picker>,
    scanner: Scanner,
    /// Woken when a background task ends (unknown until the first frame in tests).
    pub(super) repaint: Option<egui::Context>,
    pub(super) input: Option<Input>,
    pub(super) out_override: Option<PathBuf>,
    pub(super) batch: Option<Batch>,
    pub(super) preparing: Option<Task<Result<Prepared, String>>>,
    pub(super) dialog: Option<(DialogPurpose, Task<Option<PathBuf>>)>,
    pub(super) preview: Option<Preview>,
    pub(super) trials: super::trial::Trials,
    pub(super) filter: ResultFilter,
    pub(super) selected: Option<JobId>,
    pub(super) preset_name: String,
    pub(super) chosen_preset: Option<String>,
    /// Where user presets are kept (none: saving presets is not possible).
    pub(super) presets_dir: Option<PathBuf>,
    /// The presets the menu offers.
    pub(super) presets: Vec<super::presets::Preset>,
    /// Presets an earlier version kept in its settings, to be written as files.
    pub(super) legacy_presets: std::collections::BTreeMap<String, crate::engine::recipe::Recipe>,
    /// The output card that is open (`usize::MAX`: none).
    pub(super) open_output: usize,
    /// The last command *Copy as command* made.
    pub(super) copied_command: Option<String>,
    pub(super) message: Option<String>,
    pub(super) confirm_close: bool,
    pub(super) closing: bool,
    start_requested: bool,
    title: String,
    /// Set by the pool's waker once it has asked for a repaint; cleared by the next frame.
    repaint_pending: Arc<AtomicBool>,
    pub(super) stats: FrameStats,
}

impl ConveyorApp {
    /// A window with `settings`, asking the user through `picker`, preloaded from `launch`.
    pub fn new(settings: Settings, picker: Arc<dyn Picker>, launch: &Launch) -> ConveyorApp {
        let mut settings = settings;
        let legacy_presets = settings.normalise();
        if !launch.recipes.is_empty() {
            settings.set_recipes(launch.recipes.clone());
        }
        // Options given on the command line apply to every output, as `conveyor run`'s do.
        if launch.recipe != crate::engine::recipe::RecipePatch::default() {
            for form in &mut settings.outputs {
                let recipe = launch.recipe.apply(form.current_recipe());
                form.set(recipe);
            }
        }
        if let Some(n) = launch.workers {
            settings.workers = n;
        }
        settings.workers = settings.workers.clamp(1, super::max_workers());
        let mut app = ConveyorApp {
            settings,
            picker,
            scanner: Arc::new(scan::scan),
            repaint: None,
            input: None,
            out_override: launch.out.clone(),
            batch: None,
            preparing: None,
            dialog: None,
            preview: None,
            trials: super::trial::Trials::default(),
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
            confirm_close: false,
            closing: false,
            start_requested: launch.start,
            title: String::new(),
            repaint_pending: Arc::new(AtomicBool::new(false)),
            stats: FrameStats::from_env(),
        };
        app.refresh_presets();
        if !launch.inputs.is_empty() {
            app.set_input(launch.inputs.clone());
        }
        app
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

    /// Whether a batch is being prepared or running.
    pub fn busy(&self) -> bool {
        self.preparing.is_some() || self.batch.as_ref().is_some_and(Batch::running)
    }

    /// The message line's text, if any (errors and notices).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The output folder the next batch writes to.
    pub(super) fn output_dir(&self) -> Option<PathBuf> {
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
        let scan_paths = paths.clone();
        let options = ScanOptions {
            recursive: true,
            exclude: self.out_override.iter().cloned().collect(),
            stop: None,
        };
        let scanner = Arc::clone(&self.scanner);
        let scanning = Task::spawn("scan", self.repaint.clone(), move || {
            scanner(&scan_paths, &options)
                .map(|found| InputSummary::from_scan(&found))
                .map_err(|e| e.to_string())
        });
        self.input = Some(Input {
            paths,
            summary: None,
            scanning: Some(scanning),
        });
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

    /// Starts converting the chosen input with the current recipe (scan and plan run in the
    /// background first).
    pub fn start(&mut self) {
        if self.busy() {
            return;
        }
        let Some(input) = &self.input else {
            self.message = Some("Choose a folder first.".into());
            return;
        };
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        let recipes = self.settings.current_recipes();
        if let Some(e) = self.settings.outputs.iter().find_map(|f| f.error()) {
            self.message = Some(format!("Fix the recipe first: {e}"));
            return;
        }
        for (i, recipe) in recipes.iter().enumerate() {
            if let Err(e) = recipe.validate() {
                self.message = Some(if recipes.len() > 1 {
                    format!("Output {}: {e}", i + 1)
                } else {
                    e.to_string()
                });
                return;
            }
        }
        if let Some((i, j)) = crate::engine::recipe_file::first_collision(&recipes) {
            self.message = Some(format!(
                "Outputs {} and {} would write the same files ({}); give one another name, \
                 sub-folder or format.",
                i + 1,
                j + 1,
                crate::engine::recipe_file::output_name(&recipes[j])
            ));
            return;
        }
        self.message = None;
        let paths = input.paths.clone();
        let scanner = Arc::clone(&self.scanner);
        self.preparing = Some(Task::spawn("plan", self.repaint.clone(), move || {
            let options = ScanOptions {
                recursive: true,
                exclude: vec![out_dir.clone()],
                stop: None,
            };
            let found = scanner(&paths, &options).map_err(|e| e.to_string())?;
            let options = PlanOptions {
                out_dir,
                ..PlanOptions::default()
            };
            let plan = plan::plan_outputs(&found, &recipes, &options);
            // Folder I/O: done here on the planning thread, never on the UI thread.
            plan::sweep_stale_temps(&plan.jobs);
            Ok(Prepared {
                jobs: plan.jobs,
                warnings: plan.warnings,
            })
        }));
    }

    fn launch(&mut self, ctx: &egui::Context, jobs: Vec<Job>, warnings: Vec<ScanWarning>) {
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        let root = self.input.as_ref().map(Input::root).unwrap_or_default();
        let jobs: Arc<[Job]> = jobs.into();
        let workers = self.settings.workers;
        let waker_ctx = ctx.clone();
        let pending = Arc::clone(&self.repaint_pending);
        pending.store(false, Ordering::Release);
        let mut pipeline = Pipeline::with_outputs(self.settings.current_recipes());
        pipeline.journal = Some(Arc::new(JournalWriter::new(&out_dir, None)));
        // Every request wakes the event loop, so ask once per frame however fast events arrive
        // (the frame clears the flag), and at most about thirty times a second.
        let waker = Arc::new(move || {
            if !pending.swap(true, Ordering::AcqRel) {
                waker_ctx.request_repaint_after(FRAME);
            }
        });
        match pool::start(Arc::clone(&jobs), Arc::new(pipeline), workers, waker) {
            Ok(handle) => {
                self.batch = Some(Batch {
                    handle: Some(handle),
                    view: BatchView::new(Arc::clone(&jobs), &root, workers),
                    started: Instant::now(),
                    out_dir,
                    report: ReportBuilder::new(&jobs),
                    warnings,
                    elapsed_at_finish: None,
                });
                self.preview = None;
                self.selected = None;
            }
            Err(e) => self.message = Some(format!("Could not start workers: {e}")),
        }
    }

    /// Runs the failed files of the last batch again.
    pub(super) fn retry_failed(&mut self, ctx: &egui::Context) {
        let Some(batch) = &self.batch else { return };
        if batch.running() {
            return;
        }
        let jobs = batch.view.failed_jobs();
        if !jobs.is_empty() {
            self.launch(ctx, jobs, Vec::new());
        }
    }

    fn handle(&self) -> Option<&PoolHandle> {
        self.batch.as_ref().and_then(|b| b.handle.as_ref())
    }

    /// Pauses or resumes the running batch.
    pub(super) fn toggle_pause(&mut self) {
        if let Some(handle) = self.handle() {
            if handle.is_paused() {
                handle.resume();
            } else {
                handle.pause();
            }
        }
    }

    /// Cancels the running batch.
    pub(super) fn cancel(&mut self) {
        if let Some(handle) = self.handle() {
            handle.cancel();
        }
    }

    /// Applies a new worker count, live if a batch runs.
    pub(super) fn set_workers(&mut self, n: usize) {
        self.settings.workers = n.clamp(1, super::max_workers());
        if let Some(handle) = self.handle() {
            handle.set_workers(self.settings.workers);
        }
    }

    /// Drains every background task and the pool's events without blocking. Once per frame.
    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        if let Some(input) = &mut self.input
            && let Some(result) = input.scanning.as_mut().and_then(Task::poll)
        {
            input.summary = Some(result.and_then(|r| r));
            input.scanning = None;
        }
        if let Some(result) = self.preparing.as_mut().and_then(Task::poll) {
            self.preparing = None;
            match result.and_then(|r| r) {
                Ok(p) if p.jobs.is_empty() => self.message = Some("No images to convert.".into()),
                Ok(p) => self.launch(ctx, p.jobs, p.warnings),
                Err(e) => self.message = Some(format!("Could not plan the batch: {e}")),
            }
        }
        self.poll_dialog();
        self.poll_batch(ctx);
        self.poll_preview(ctx);
        self.poll_trials(ctx);
    }

    fn poll_batch(&mut self, ctx: &egui::Context) {
        let Some(batch) = &mut self.batch else { return };
        self.repaint_pending.store(false, Ordering::Release);
        let now = batch.started.elapsed().as_secs_f64();
        if let Some(handle) = &batch.handle {
            for event in handle.events().try_iter() {
                batch.report.observe(&event);
                batch.view.apply(&event, now);
                if matches!(event, crate::engine::event::Event::BatchFinished { .. }) {
                    batch.elapsed_at_finish = Some(now);
                }
            }
        }
        batch.view.tick(now);
        if batch.view.finished && batch.handle.take().is_some() {
            // The supervisor has joined every worker; dropping the handle is instant.
            self.stats.report(batch.view.results.len());
            if self.message.as_deref() == Some(BUSY_DROP) {
                self.message = None;
            }
            if self.closing {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        } else if batch.running() && !batch.view.paused {
            // Keep the clock and ETA moving between events.
            ctx.request_repaint_after(Duration::from_millis(250));
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
        let title = self.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The view of the current batch, if any.
    pub fn batch_view(&self) -> Option<&BatchView> {
        self.batch.as_ref().map(|b| &b.view)
    }

    /// Draws the whole window.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        super::panels::top_bar(self, ui);
        super::panels::recipe_panel(self, ui);
        egui::CentralPanel::default().show(ui, |ui| {
            if self.input.is_none() && self.batch.is_none() {
                super::panels::empty_state(self, ui);
            } else {
                super::panels::batch_area(self, ui);
            }
        });
        super::panels::drop_highlight(&ctx);
        super::panels::close_dialog(self, &ctx);
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
            self.stats.cpu_ms.push(cpu * 1000.0);
        }
        let started = Instant::now();
        self.update_logic(ctx);
        if timed {
            self.stats
                .logic_ms
                .push(started.elapsed().as_secs_f32() * 1000.0);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, Settings::KEY, &self.settings);
    }
}
