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
use super::state::{Batch, DialogPurpose, Forecast, Input, Prepared, Preview};
use super::stats::FrameStats;
use super::task::Task;
use super::view::{BatchView, InputSummary, ResultFilter, window_title};
use crate::engine::batch::{self, PrepareError, Request, Running};
use crate::engine::job::{Job, JobId};
use crate::engine::pool::{self, PoolHandle};
use crate::engine::report::ReportBuilder;
use crate::engine::scan::ScanOptions;

/// How soon after pool events the window redraws. Thirty frames a second keeps the bars
/// smooth while leaving the cores to the workers (software-rendered desktops paint on the CPU).
const FRAME: Duration = Duration::from_millis(33);

/// How often a running batch's progress is written into the window title.
const TITLE_EVERY: Duration = Duration::from_millis(500);

/// What the message line says to a drop while a batch runs; it goes when the batch ends.
pub(super) const BUSY_DROP: &str = "A batch is running; drop again when it is done.";

/// How inputs are scanned: [`crate::engine::scan::scan`], or a stand-in a test injects.
pub use crate::engine::batch::Scanner;

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
    /// What Start would do, planned in the background before it is pressed.
    pub(super) forecast: Option<super::state::Forecast>,
    pub(super) dialog: Option<(DialogPurpose, Task<super::picker::Answer>)>,
    pub(super) preview: Option<Preview>,
    pub(super) trials: super::trial::Trials,
    /// Small pictures for the input's file list.
    pub(super) thumbs: super::thumbs::Thumbs,
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
    /// The input path being typed in the top bar.
    pub(super) input_text: String,
    /// The output folder being typed (`None`: show the folder in use).
    pub(super) out_text: Option<String>,
    /// The program that opens a folder in the file manager.
    pub(super) opener: String,
    /// The opener, while it runs (its failure is shown).
    pub(super) opening: Option<Task<Result<(), String>>>,
    pub(super) confirm_close: bool,
    pub(super) closing: bool,
    start_requested: bool,
    title: String,
    /// When `title` was last sent to the window (see [`TITLE_EVERY`]).
    title_sent: Option<Instant>,
    /// Set by the pool's waker once it has asked for a repaint; cleared by the next frame.
    repaint_pending: Arc<AtomicBool>,
    pub(super) stats: FrameStats,
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
            title: String::new(),
            title_sent: None,
            repaint_pending: Arc::new(AtomicBool::new(false)),
            stats: FrameStats::from_env(),
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
        if path.exists() {
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
            store: None,
            recursive: true,
            exclude: self.out_override.iter().cloned().collect(),
            stop: None,
        };
        let scanner = Arc::clone(&self.scanner);
        let scanning = Task::spawn("scan", self.repaint.clone(), move || {
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
        let request = Request {
            check_writable: true,
            ..Request::new(input.paths.clone(), out_dir, recipes)
        };
        if let Err(e) = request.check() {
            self.message = Some(e);
            return;
        }
        self.message = None;
        let scanner = Arc::clone(&self.scanner);
        self.preparing = Some(Task::spawn("plan", self.repaint.clone(), move || {
            let prepared = batch::prepare(request, None, None, &scanner).map_err(|e| match e {
                PrepareError::Input(e) => format!("Could not read the input: {e}"),
                PrepareError::Output(e) => e,
            })?;
            // Folder I/O: done here on the planning thread, never on the UI thread.
            prepared.sweep();
            Ok(Prepared {
                ranks: super::view::natural_ranks(&prepared.plan.jobs),
                warnings: prepared.plan.warnings.clone(),
                prepared,
            })
        }));
    }

    /// How a batch of this window's runs: its worker count, below the window's priority, and
    /// a waker that asks for at most one frame per [`FRAME`].
    fn run(&self, ctx: &egui::Context) -> batch::Run {
        let waker_ctx = ctx.clone();
        let pending = Arc::clone(&self.repaint_pending);
        pending.store(false, Ordering::Release);
        // Every request wakes the event loop, so ask once per frame however fast events arrive
        // (the frame clears the flag), and at most about thirty times a second.
        let waker = Arc::new(move || {
            if !pending.swap(true, Ordering::AcqRel) {
                waker_ctx.request_repaint_after(FRAME);
            }
        });
        batch::Run {
            workers: self.settings.workers,
            // Below the window: it (and the rest of the desktop) gets a core when it needs one.
            priority: pool::Priority::Background,
            waker,
        }
    }

    fn launch(&mut self, ctx: &egui::Context, prepared: Prepared) {
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        let Prepared {
            prepared,
            warnings,
            ranks,
        } = prepared;
        let root = self.input.as_ref().map(Input::root).unwrap_or_default();
        let workers = self.settings.workers;
        let request = Request::new(Vec::new(), out_dir.clone(), prepared.recipes().to_vec());
        match prepared.start(self.run(ctx)) {
            Ok(running) => {
                let jobs = Arc::clone(&running.jobs);
                self.batch = Some(Batch {
                    request,
                    handle: Some(running),
                    view: BatchView::new(Arc::clone(&jobs), &root, workers).with_ranks(ranks),
                    started: Instant::now(),
                    out_dir,
                    report: ReportBuilder::new(&jobs),
                    warnings,
                    elapsed_at_finish: None,
                });
                self.preview = None;
                self.selected = None;
            }
            Err(e) => self.message = Some(e),
        }
    }

    /// Runs the failed files of the last batch again, in the same batch: their rows update in
    /// place and every other row stays.
    pub(super) fn retry_failed(&mut self, ctx: &egui::Context) {
        let Some(batch) = &self.batch else { return };
        if batch.running() || batch.view.failed == 0 {
            return;
        }
        let request = batch.request.clone();
        let now = batch.started.elapsed().as_secs_f64();
        let run = self.run(ctx);
        let Some(batch) = &mut self.batch else { return };
        let jobs: Arc<[Job]> = batch.view.begin_retry(now).into();
        match batch::start_jobs(jobs, &request, None, None, run) {
            Ok(handle) => {
                if let Some(batch) = &mut self.batch {
                    batch.handle = Some(handle);
                    batch.elapsed_at_finish = None;
                }
                self.message = None;
            }
            Err(e) => {
                // Nothing will run them: end the retried rows as cancelled and the batch again.
                if let Some(batch) = &mut self.batch {
                    for job in 0..batch.view.retrying() {
                        let event = batch.view.translate(crate::engine::event::Event::Finished {
                            worker: None,
                            job,
                            outcome: crate::engine::job::Outcome::Cancelled,
                            millis: 0,
                        });
                        batch.report.observe(&event);
                        batch.view.apply(&event, now);
                    }
                    let end = crate::engine::event::Event::BatchFinished { cancelled: true };
                    batch.view.apply(&end, now);
                }
                self.message = Some(e);
            }
        }
    }

    fn handle(&self) -> Option<&PoolHandle> {
        self.batch
            .as_ref()
            .and_then(|b| b.handle.as_ref())
            .and_then(Running::handle)
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

    /// Plans the current input, outputs and output folder in the background whenever one of
    /// them changes before Start, and picks up the answer.
    fn poll_forecast(&mut self) {
        if let Some(f) = &mut self.forecast
            && let Some(result) = f.task.as_mut().and_then(Task::poll)
        {
            f.task = None;
            f.result = Some(result.and_then(|r| r));
        }
        if self.batch.is_some() || self.busy() {
            return;
        }
        let Some(found) = self.input.as_ref().and_then(|i| i.scan.clone()) else {
            return;
        };
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        if self.out_text.is_some() || self.settings.outputs.iter().any(|f| f.error().is_some()) {
            return; // Being typed: plan once it is settled.
        }
        let recipes = self.settings.current_recipes();
        let key = (recipes, out_dir);
        if self.forecast.as_ref().is_some_and(|f| f.key == key) {
            return;
        }
        let (recipes, out_dir) = key.clone();
        let valid = Request::new(Vec::new(), out_dir.clone(), recipes.clone())
            .check()
            .is_ok();
        let task = valid.then(|| {
            Task::spawn("forecast", self.repaint.clone(), move || {
                batch::outlook(&found, &recipes, &out_dir)
            })
        });
        self.forecast = Some(Forecast {
            key,
            task,
            result: None,
        });
    }

    fn poll_batch(&mut self, ctx: &egui::Context) {
        let Some(batch) = &mut self.batch else { return };
        self.repaint_pending.store(false, Ordering::Release);
        let now = batch.started.elapsed().as_secs_f64();
        if let Some(handle) = batch.handle.as_ref().and_then(Running::handle) {
            for event in handle.events().try_iter() {
                let event = batch.view.translate(event);
                batch.report.observe(&event);
                batch.view.apply(&event, now);
                if matches!(event, crate::engine::event::Event::BatchFinished { .. }) {
                    batch.elapsed_at_finish = Some(now);
                }
            }
        }
        batch.view.tick(now);
        if batch.view.finished
            && let Some(mut running) = batch.handle.take()
        {
            // The supervisor has joined every worker: waiting is instant, and a journal in a
            // folder has nothing left to save.
            if let Err(e) = running.finish() {
                self.message = Some(format!("Warning: {e}"));
            }
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

    /// The view of the current batch, if any.
    pub fn batch_view(&self) -> Option<&BatchView> {
        self.batch.as_ref().map(|b| &b.view)
    }

    /// Draws the whole window.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.thumbs.begin_frame(&ctx);
        super::panels::top_bar(self, ui);
        super::panels::recipe_panel(self, ui);
        let central = super::panels::unfilled(egui::Frame::central_panel(ui.style()));
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            if self.input.is_none() && self.batch.is_none() {
                super::panels::empty_state(self, ui);
            } else {
                super::panels::batch_area(self, ui);
            }
        });
        self.thumbs.end_frame();
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
