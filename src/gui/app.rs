//! The eframe application: state, background tasks, keyboard shortcuts and the layout.
//! Panels live in their own files; image work happens in the engine, on other threads.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use eframe::egui;

use super::picker::Picker;
use super::settings::Settings;
use super::view::{BatchView, ResultFilter};
use crate::cli::GuiArgs;
use crate::engine::event::{Event, JobId};
use crate::engine::pipeline::Pipeline;
use crate::engine::pool::{self, PoolHandle};
use crate::engine::preview::Thumbnail;
use crate::engine::report::{Report, ReportBuilder, Summary};
use crate::engine::scan::{self, Job, PlanOptions, ScanOptions, ScanWarning};

/// How soon after pool events the window redraws. Thirty frames a second keeps the bars
/// smooth while leaving the cores to the workers (software-rendered desktops paint on the CPU).
const FRAME: Duration = Duration::from_millis(33);

/// What the scan of the chosen input found, for the input summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary {
    /// Images that will be converted.
    pub images: usize,
    /// Their total size.
    pub bytes: u64,
    /// Count per format (by extension).
    pub formats: BTreeMap<String, usize>,
    /// Image-named entries that will be skipped, with reasons.
    pub skipped: Vec<String>,
    /// Non-image files ignored.
    pub ignored: usize,
    /// Folders that could not be read, loops, …
    pub warnings: Vec<String>,
    /// The first image's stem, for the naming example.
    pub first_stem: Option<OsString>,
}

impl InputSummary {
    fn from_scan(found: &scan::Scan) -> InputSummary {
        let mut s = InputSummary {
            ignored: found.ignored,
            warnings: found
                .warnings
                .iter()
                .map(|w| format!("{}: {}", w.path.display(), w.reason))
                .collect(),
            ..InputSummary::default()
        };
        for f in &found.found {
            if let Some(reason) = &f.skip {
                s.skipped.push(format!("{}: {reason}", f.rel.display()));
                continue;
            }
            s.images += 1;
            s.bytes += f.bytes;
            let ext = f
                .rel
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_uppercase())
                .unwrap_or_default();
            let ext = match ext.as_str() {
                "JPEG" => "JPG".to_owned(),
                "TIF" => "TIFF".to_owned(),
                _ => ext,
            };
            *s.formats.entry(ext).or_default() += 1;
            if s.first_stem.is_none() {
                s.first_stem = f.rel.file_stem().map(ToOwned::to_owned);
            }
        }
        s
    }
}

/// The chosen input and its scan.
pub(super) struct Input {
    pub(super) paths: Vec<PathBuf>,
    pub(super) summary: Option<Result<InputSummary, String>>,
    rx: Option<Receiver<Result<InputSummary, String>>>,
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
    rx: Option<Receiver<[Result<Thumbnail, String>; 2]>>,
    pub(super) loaded: Option<[Result<(egui::TextureHandle, Thumbnail), String>; 2]>,
}

/// Frame timing during a batch, printed when it ends if `CONVEYOR_FRAME_STATS` is set.
#[derive(Debug, Default)]
pub(super) struct FrameStats {
    enabled: bool,
    logic_ms: Vec<f32>,
    ui_ms: Vec<f32>,
    cpu_ms: Vec<f32>,
}

impl FrameStats {
    fn summary(values: &mut [f32]) -> String {
        if values.is_empty() {
            return "no frames".into();
        }
        values.sort_by(f32::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize];
        format!(
            "frames {} p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
            values.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        )
    }

    /// Prints the figures for the batch that just ended (with `rows` results) and starts afresh.
    fn report(&mut self, rows: usize) {
        if self.enabled {
            eprintln!(
                "conveyor frame stats ({} result rows): events {}; drawing {}; whole frame {}",
                rows,
                Self::summary(&mut self.logic_ms),
                Self::summary(&mut self.ui_ms),
                Self::summary(&mut self.cpu_ms)
            );
        }
        self.logic_ms.clear();
        self.ui_ms.clear();
        self.cpu_ms.clear();
    }
}

/// The window's state.
pub struct ConveyorApp {
    pub(super) settings: Settings,
    pub(super) picker: Arc<dyn Picker>,
    pub(super) input: Option<Input>,
    pub(super) out_override: Option<PathBuf>,
    pub(super) batch: Option<Batch>,
    pub(super) preparing: Option<Receiver<Result<Prepared, String>>>,
    pub(super) dialog: Option<(DialogPurpose, Receiver<Option<PathBuf>>)>,
    pub(super) preview: Option<Preview>,
    pub(super) filter: ResultFilter,
    pub(super) selected: Option<JobId>,
    pub(super) preset_name: String,
    pub(super) chosen_preset: Option<String>,
    pub(super) message: Option<String>,
    pub(super) confirm_close: bool,
    pub(super) closing: bool,
    start_requested: bool,
    /// Set by the pool's waker once it has asked for a repaint; cleared by the next frame.
    repaint_pending: Arc<AtomicBool>,
    pub(super) stats: FrameStats,
}

impl ConveyorApp {
    /// A window with `settings`, asking the user through `picker`, preloaded from `args`.
    pub fn new(settings: Settings, picker: Arc<dyn Picker>, args: &GuiArgs) -> ConveyorApp {
        let mut settings = settings;
        settings.recipe = args.recipe.apply(settings.current_recipe());
        settings.resize_form.set(settings.recipe.resize);
        if let Some(n) = args.workers {
            settings.workers = usize::from(n);
        }
        settings.workers = settings.workers.clamp(1, super::max_workers());
        let mut app = ConveyorApp {
            settings,
            picker,
            input: None,
            out_override: args.out.clone(),
            batch: None,
            preparing: None,
            dialog: None,
            preview: None,
            filter: ResultFilter::All,
            selected: None,
            preset_name: String::new(),
            chosen_preset: None,
            message: None,
            confirm_close: false,
            closing: false,
            start_requested: args.start,
            repaint_pending: Arc::new(AtomicBool::new(false)),
            stats: FrameStats {
                enabled: std::env::var_os("CONVEYOR_FRAME_STATS").is_some(),
                logic_ms: Vec::new(),
                ui_ms: Vec::new(),
                cpu_ms: Vec::new(),
            },
        };
        if let Some(dir) = &args.input {
            app.set_input(vec![dir.clone()]);
        }
        app
    }

    /// A window for eframe: settings from storage, native dialogs.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>, args: &GuiArgs) -> ConveyorApp {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, Settings::KEY))
            .unwrap_or_default();
        ConveyorApp::new(settings, Arc::new(super::picker::RfdPicker), args)
    }

    /// The current settings (for tests and persistence).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether a batch is being prepared or running.
    pub fn busy(&self) -> bool {
        self.preparing.is_some() || self.batch.as_ref().is_some_and(Batch::running)
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
        let (tx, rx) = bounded(1);
        let scan_paths = paths.clone();
        let exclude: Vec<PathBuf> = self.out_override.iter().cloned().collect();
        std::thread::Builder::new()
            .name("conveyor-scan".into())
            .spawn(move || {
                let result = scan::scan(
                    &scan_paths,
                    &ScanOptions {
                        recursive: true,
                        exclude,
                    },
                )
                .map(|found| InputSummary::from_scan(&found))
                .map_err(|e| e.to_string());
                let _ = tx.send(result);
            })
            .ok();
        self.input = Some(Input {
            paths,
            summary: None,
            rx: Some(rx),
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
        if let Err(e) = recipe.validate() {
            self.message = Some(e.to_string());
            return;
        }
        self.message = None;
        let paths = input.paths.clone();
        let (tx, rx) = bounded(1);
        let plan_recipe = recipe.clone();
        std::thread::Builder::new()
            .name("conveyor-plan".into())
            .spawn(move || {
                let options = ScanOptions {
                    recursive: true,
                    exclude: vec![out_dir.clone()],
                };
                let result = scan::scan(&paths, &options)
                    .map(|found| {
                        let plan = scan::plan(
                            &found,
                            &plan_recipe,
                            &PlanOptions {
                                out_dir,
                                shard: None,
                            },
                        );
                        Prepared {
                            jobs: plan.jobs,
                            warnings: plan.warnings,
                        }
                    })
                    .map_err(|e| e.to_string());
                let _ = tx.send(result);
            })
            .ok();
        self.preparing = Some(rx);
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
        match pool::start(
            Arc::clone(&jobs),
            Arc::new(pipeline),
            workers,
            // Every request wakes the event loop, so ask once per frame however fast events
            // arrive (the frame clears the flag), and at most about thirty times a second.
            Arc::new(move || {
                if !pending.swap(true, Ordering::AcqRel) {
                    waker_ctx.request_repaint_after(FRAME);
                }
            }),
        ) {
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

    /// Pauses or resumes the running batch.
    pub(super) fn toggle_pause(&mut self) {
        if let Some(handle) = self.batch.as_ref().and_then(|b| b.handle.as_ref()) {
            if handle.is_paused() {
                handle.resume();
            } else {
                handle.pause();
            }
        }
    }

    /// Cancels the running batch.
    pub(super) fn cancel(&mut self) {
        if let Some(handle) = self.batch.as_ref().and_then(|b| b.handle.as_ref()) {
            handle.cancel();
        }
    }

    /// Applies a new worker count, live if a batch runs.
    pub(super) fn set_workers(&mut self, n: usize) {
        self.settings.workers = n.clamp(1, super::max_workers());
        if let Some(handle) = self.batch.as_ref().and_then(|b| b.handle.as_ref()) {
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
        let (tx, rx) = bounded(1);
        std::thread::Builder::new()
            .name("conveyor-dialog".into())
            .spawn(move || {
                let answer = match purpose {
                    DialogPurpose::Input => {
                        picker.pick_folder("Choose a folder of images", start.as_deref())
                    }
                    DialogPurpose::Output => {
                        picker.pick_folder("Choose the output folder", start.as_deref())
                    }
                    DialogPurpose::SaveReport => {
                        picker.save_file("Save report", "conveyor-report.json")
                    }
                };
                let _ = tx.send(answer);
            })
            .ok();
        self.dialog = Some((purpose, rx));
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
        let (tx, rx) = bounded(1);
        std::thread::Builder::new()
            .name("conveyor-preview".into())
            .spawn(move || {
                let load = |p: &Path| crate::engine::preview::thumbnail(p, 512);
                let _ = tx.send([load(&j.input), load(&j.output)]);
            })
            .ok();
        self.preview = Some(Preview {
            job,
            rx: Some(rx),
            loaded: None,
        });
    }

    /// Drains every background channel without blocking. Called once per frame.
    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        if let Some(input) = &mut self.input
            && let Some(rx) = &input.rx
            && let Ok(result) = rx.try_recv()
        {
            input.summary = Some(result);
            input.rx = None;
        }
        if let Some(rx) = &self.preparing
            && let Ok(result) = rx.try_recv()
        {
            self.preparing = None;
            match result {
                Ok(p) if p.jobs.is_empty() => self.message = Some("No images to convert.".into()),
                Ok(p) => self.launch(ctx, p.jobs, p.warnings),
                Err(e) => self.message = Some(e),
            }
        }
        if let Some((purpose, rx)) = &self.dialog
            && let Ok(answer) = rx.try_recv()
        {
            let purpose = *purpose;
            self.dialog = None;
            if let Some(path) = answer {
                match purpose {
                    DialogPurpose::Input => self.set_input(vec![path]),
                    DialogPurpose::Output => self.out_override = Some(path),
                    DialogPurpose::SaveReport => self.save_report(&path),
                }
            }
        }
        if let Some(batch) = &mut self.batch {
            self.repaint_pending.store(false, Ordering::Release);
            let now = batch.started.elapsed().as_secs_f64();
            if let Some(handle) = &batch.handle {
                for event in handle.events().try_iter() {
                    batch.report.observe(&event);
                    batch.view.apply(&event, now);
                    if matches!(event, Event::BatchFinished { .. }) {
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
        if let Some(preview) = &mut self.preview
            && let Some(rx) = &preview.rx
            && let Ok(results) = rx.try_recv()
        {
            preview.rx = None;
            let job = preview.job;
            preview.loaded = Some(results.map(|r| {
                r.map(|t| {
                    let image = egui::ColorImage::from_rgba_unmultiplied(
                        [t.preview_width as usize, t.preview_height as usize],
                        &t.rgba,
                    );
                    let tex = ctx.load_texture(
                        format!("preview-{job}"),
                        image,
                        egui::TextureOptions::LINEAR,
                    );
                    (
                        tex,
                        Thumbnail {
                            rgba: Vec::new(),
                            ..t
                        },
                    )
                })
            }));
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

    /// Everything that is not drawing: polling, shortcuts, drops, close requests.
    pub fn update_logic(&mut self, ctx: &egui::Context) {
        self.handle_drops(ctx);
        self.poll(ctx);
        self.shortcuts(ctx);
        self.handle_close(ctx);
        if self.start_requested && self.input.as_ref().is_some_and(|i| i.summary.is_some()) {
            self.start_requested = false;
            self.start();
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
        if self.stats.enabled
            && self.batch.as_ref().is_some_and(Batch::running)
            && let Some(cpu) = frame.info().cpu_usage
        {
            self.stats.cpu_ms.push(cpu * 1000.0);
        }
        let started = Instant::now();
        self.update_logic(ctx);
        if self.stats.enabled && self.batch.as_ref().is_some_and(Batch::running) {
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
