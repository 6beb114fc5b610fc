//! The eframe application: its state and the per-frame polling of the pool and background
//! tasks, keyboard shortcuts, drops and close requests. Panels (in `panels/`) draw it; the view
//! model (`view.rs`) turns pool events into what they show; image work happens in the engine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use super::Launch;
use super::picker::Picker;
use super::settings::Settings;
use super::stats::FrameStats;
use super::task::Task;
use super::view::{BatchView, InputSummary, ResultFilter, window_title};
use crate::engine::job::{Job, JobId};
use crate::engine::pipeline::Pipeline;
use crate::engine::plan::{self, PlanOptions};
use crate::engine::pool::{self, PoolHandle};
use crate::engine::preview::Thumbnail;
use crate::engine::report::{Report, ReportBuilder, Summary};
use crate::engine::scan::{self, Scan, ScanError, ScanOptions, ScanWarning};

/// How soon after pool events the window redraws. Thirty frames a second keeps the bars
/// smooth while leaving the cores to the workers (software-rendered desktops paint on the CPU).
const FRAME: Duration = Duration::from_millis(33);

/// How inputs are scanned: [`scan::scan`], or a stand-in a test injects.
pub type Scanner = Arc<dyn Fn(&[PathBuf], &ScanOptions) -> Result<Scan, ScanError> + Send + Sync>;

/// The chosen input and its scan.
pub(super) struct Input {
    pub(super) paths: Vec<PathBuf>,
    pub(super) summary: Option<Result<InputSummary, String>>,
    scanning: Option<Task<Result<InputSummary, String>>>,
}

impl Input {
    /// The folder names are shown relative to, and the default output's sibling.
    pub(super) fn root(&self) -> PathBuf {
        match self.paths.as_slice() {
            [one] if one.is_dir() => one.clone(),
            [first, ..] => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            [] => PathBuf::new(),
        }
    }

    /// `<input>-converted` beside the input folder.
    pub(super) fn default_output(&self) -> PathBuf {
        let root = self.root();
        let mut name = root
            .file_name()
            .map(OsString::from)
            .unwrap_or_else(|| "images".into());
        name.push("-converted");
        root.parent()
            .map_or_else(|| PathBuf::from(&name), |p| p.join(&name))
    }
}

/// A running or finished batch.
pub(super) struct Batch {
    pub(super) handle: Option<PoolHandle>,
    pub(super) view: BatchView,
    pub(super) started: Instant,
    pub(super) out_dir: PathBuf,
    pub(super) report: ReportBuilder,
    pub(super) warnings: Vec<ScanWarning>,
    pub(super) elapsed_at_finish: Option<f64>,
}

impl Batch {
    pub(super) fn running(&self) -> bool {
        !self.view.finished
    }

    /// The report of what has ended so far.
    pub(super) fn report(&self) -> Report {
        let summary = Summary {
            elapsed_seconds: self
                .elapsed_at_finish
                .unwrap_or_else(|| self.started.elapsed().as_secs_f64()),
            workers: self.view.target_workers,
            ..Summary::default()
        };
        self.report
            .report(self.view.jobs(), summary)
            .with_scan_warnings(&self.warnings)
    }
}

/// Scan and plan, done off the UI thread before a batch starts.
pub(super) struct Prepared {
    jobs: Vec<Job>,
    warnings: Vec<ScanWarning>,
}

/// What a pending dialog's answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogPurpose {
    Input,
    Output,
    SaveReport,
}

/// Previews of one finished file, loading or loaded.
pub(super) struct Preview {
    pub(super) job: JobId,
    loading: Option<Task<[Result<Thumbnail, String>; 2]>>,
    pub(super) loaded: Option<[Result<(egui::TextureHandle, Thumbnail), String>; 2]>,
}

/// The window's state.
pub struct ConveyorApp {
    pub(super) settings: Settings,
    pub(super) picker: Arc<dyn Picker>,
    scanner: Scanner,
    /// Woken when a background task ends (unknown until the first frame in tests).
    repaint: Option<egui::Context>,
    pub(super) input: Option<Input>,
    pub(super) out_override: Option<PathBuf>,
    pub(super) batch: Option<Batch>,
    pub(super) preparing: Option<Task<Result<Prepared, String>>>,
    pub(super) dialog: Option<(DialogPurpose, Task<Option<PathBuf>>)>,
    pub(super) preview: Option<Preview>,
    pub(super) filter: ResultFilter,
    pub(super) selected: Option<JobId>,
    pub(super) preset_name: String,
    pub(super) chosen_preset: Option<String>,
    /// The naming template as typed (it may not parse yet), and why it does not.
    pub(super) name_text: String,
    pub(super) name_error: Option<String>,
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
        settings.recipe = launch.recipe.apply(settings.current_recipe());
        settings.resize_form.set(settings.recipe.resize);
        if let Some(n) = launch.workers {
            settings.workers = n;
        }
        settings.workers = settings.workers.clamp(1, super::max_workers());
        let mut app = ConveyorApp {
            name_text: settings.recipe.name_template.to_string(),
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
            filter: ResultFilter::All,
            selected: None,
            preset_name: String::new(),
            chosen_preset: None,
            name_error: None,
            message: None,
            confirm_close: false,
            closing: false,
            start_requested: launch.start,
            title: String::new(),
            repaint_pending: Arc::new(AtomicBool::new(false)),
            stats: FrameStats::from_env(),
        };
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

    /// The current settings (for tests and persistence).
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
        let recipe = self.settings.current_recipe();
        if let Some(e) = &self.name_error {
            self.message = Some(format!("Fix the name template first: {e}"));
            return;
        }
        if let Err(e) = recipe.validate() {
            self.message = Some(e.to_string());
            return;
        }
        self.message = None;
        let paths = input.paths.clone();
        let scanner = Arc::clone(&self.scanner);
        self.preparing = Some(Task::spawn("plan", self.repaint.clone(), move || {
            let options = ScanOptions {
                recursive: true,
                exclude: vec![out_dir.clone()],
            };
            let found = scanner(&paths, &options).map_err(|e| e.to_string())?;
            let options = PlanOptions {
                out_dir,
                shard: None,
            };
            let plan = plan::plan(&found, &recipe, &options);
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
        let pipeline = Pipeline::new(self.settings.current_recipe());
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

    /// Opens a dialog on a background thread.
    pub(super) fn ask(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let picker = Arc::clone(&self.picker);
        let start = match purpose {
            DialogPurpose::Input => self.input.as_ref().map(Input::root),
            DialogPurpose::Output => self.output_dir(),
            DialogPurpose::SaveReport => None,
        };
        let task = Task::spawn("dialog", self.repaint.clone(), move || match purpose {
            DialogPurpose::Input => {
                picker.pick_folder("Choose a folder of images", start.as_deref())
            }
            DialogPurpose::Output => {
                picker.pick_folder("Choose the output folder", start.as_deref())
            }
            DialogPurpose::SaveReport => picker.save_file("Save report", "conveyor-report.json"),
        });
        self.dialog = Some((purpose, task));
    }

    /// Shows `job`'s source and output side by side, decoded on a background thread.
    pub(super) fn select(&mut self, job: JobId) {
        self.selected = Some(job);
        let Some(j) = self
            .batch
            .as_ref()
            .and_then(|b| b.view.jobs().get(job).cloned())
        else {
            return;
        };
        let loading = Task::spawn("preview", self.repaint.clone(), move || {
            let load = |p: &Path| crate::engine::preview::thumbnail(p, 512);
            [load(&j.input), load(&j.output)]
        });
        self.preview = Some(Preview {
            job,
            loading: Some(loading),
            loaded: None,
        });
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
        if let Some((purpose, task)) = &mut self.dialog
            && let Some(answer) = task.poll()
        {
            let purpose = *purpose;
            self.dialog = None;
            match (answer, purpose) {
                (Ok(Some(path)), DialogPurpose::Input) => self.set_input(vec![path]),
                (Ok(Some(path)), DialogPurpose::Output) => self.out_override = Some(path),
                (Ok(Some(path)), DialogPurpose::SaveReport) => self.save_report(&path),
                (Ok(None), _) => {}
                (Err(e), _) => self.message = Some(e),
            }
        }
        self.poll_batch(ctx);
        if let Some(preview) = &mut self.preview
            && let Some(results) = preview.loading.as_mut().and_then(Task::poll)
        {
            preview.loading = None;
            let job = preview.job;
            let results = results.unwrap_or_else(|e| [Err(e.clone()), Err(e)]);
            preview.loaded = Some(results.map(|r| {
                r.map(|t| {
                    let size = [t.preview_width as usize, t.preview_height as usize];
                    let image = egui::ColorImage::from_rgba_unmultiplied(size, &t.rgba);
                    let name = format!("preview-{job}");
                    let tex = ctx.load_texture(name, image, egui::TextureOptions::LINEAR);
                    let info = Thumbnail {
                        rgba: Vec::new(),
                        ..t
                    };
                    (tex, info)
                })
            }));
        }
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
            if self.closing {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        } else if batch.running() && !batch.view.paused {
            // Keep the clock and ETA moving between events.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    fn save_report(&mut self, path: &Path) {
        if let Some(batch) = &self.batch {
            self.message = Some(match batch.report().write(path) {
                Ok(()) => format!("Report saved to {}", path.display()),
                Err(e) => format!("Could not save the report: {e}"),
            });
        }
    }

    /// Keyboard shortcuts: Ctrl+Enter start, Space pause/resume (outside text fields),
    /// Escape cancel.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter)) {
            self.start();
        }
        let typing = ctx.egui_wants_keyboard_input();
        if !typing && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Space)) {
            self.toggle_pause();
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
            if self.confirm_close {
                self.confirm_close = false;
            } else {
                self.cancel();
            }
        }
    }

    fn handle_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            if self.busy() {
                self.message = Some("A batch is running; drop again when it is done.".into());
            } else {
                self.set_input(dropped);
            }
        }
    }

    fn handle_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && self.busy() && !self.closing {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
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

    /// Stops the batch (if any) and lets the window close once it has wound down.
    pub(super) fn stop_and_quit(&mut self, ctx: &egui::Context) {
        self.confirm_close = false;
        self.closing = true;
        self.preparing = None;
        self.cancel();
        if !self.batch.as_ref().is_some_and(Batch::running) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
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
