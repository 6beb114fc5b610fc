//! The window's batch: Start (checked, then scanned and planned on a background thread
//! through the engine's batch API), the pool's launch with the window's waker, pause, cancel,
//! the worker count, *Retry failed*, and the per-frame polling of the forecast and the pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use eframe::egui;

use super::{BUSY_DROP, ConveyorApp, FRAME};
use crate::engine::batch::{self, PrepareError, Request, Running};
use crate::engine::event::{self, Event};
use crate::engine::job::Job;
use crate::engine::pool::{self, PoolHandle};
use crate::gui::state::{Batch, Forecast, Prepared};
use crate::gui::task::Task;
use crate::gui::view::BatchView;

impl ConveyorApp {
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
        let storage = Arc::clone(&self.storage);
        let (root, workers) = (input.root(), self.settings.workers);
        self.preparing = Some(Task::spawn("plan", self.repaint.clone(), move || {
            // Object storage, if an input or the output is in it: connected here, off the UI
            // thread, so a refused credential is one message before anything runs.
            let paths = request.inputs.iter().chain([&request.out]);
            let store = storage.for_paths(paths.map(PathBuf::as_path))?;
            let prepared = batch::prepare(request, store, None, &scanner).map_err(|e| match e {
                PrepareError::Input(e) => format!("Could not read the input: {e}"),
                PrepareError::Output(e) => e,
            })?;
            // Folder I/O: done here on the planning thread, never on the UI thread.
            prepared.sweep();
            let jobs = Arc::clone(&prepared.plan.jobs);
            Ok(Prepared {
                view: BatchView::new(Arc::clone(&jobs), &root, workers)
                    .with_ranks(crate::gui::view::natural_ranks(&jobs)),
                warnings: prepared.plan.warnings.clone(),
                prepared,
            })
        }));
    }

    /// How a batch of this window's runs: its worker count, below the window's priority, and
    /// a waker that asks for at most one frame per the pacer's interval ([`FRAME`] at most
    /// often; slower when drawing costs more of the machine than its budget).
    pub(super) fn run(&mut self, ctx: &egui::Context) -> batch::Run {
        let waker_ctx = ctx.clone();
        let pending = Arc::clone(&self.repaint_pending);
        pending.store(false, Ordering::Release);
        self.pacer.restart();
        let interval = self.pacer.interval.clone();
        // Every request wakes the event loop, so ask once per frame however fast events arrive
        // (the frame clears the flag), and at most once per interval.
        // An event someone waits for (the end, a pause, a stop) is drawn at once.
        let waker = Arc::new(move |urgency: pool::Urgency| {
            if urgency == pool::Urgency::Now {
                waker_ctx.request_repaint();
            } else if !pending.swap(true, Ordering::AcqRel) {
                waker_ctx.request_repaint_after(interval.get().max(FRAME));
            }
        });
        batch::Run {
            workers: self.settings.workers,
            // Below the window: it (and the rest of the desktop) gets a core when it needs one.
            priority: pool::Priority::Background,
            waker,
            // A full or read-only disk pauses the batch and asks (Retry or Stop).
            on_systemic: pool::OnSystemic::Pause,
        }
    }

    pub(super) fn launch(&mut self, ctx: &egui::Context, prepared: Prepared) {
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        let Prepared {
            prepared,
            warnings,
            mut view,
        } = prepared;
        // The slider may have moved while the plan was made.
        view.target_workers = self.settings.workers;
        let setup = prepared.setup.clone();
        match prepared.start(self.run(ctx)) {
            Ok(running) => {
                self.batch = Some(Batch {
                    setup: Some(setup),
                    handle: Some(running),
                    hot: None,
                    view,
                    started: Instant::now(),
                    out_dir,
                    warnings,
                    elapsed_at_finish: None,
                    recipes: self.settings.current_recipes(),
                });
                self.batch_about = Some(self.setup_key());
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
        let Some(setup) = batch.setup.clone() else {
            return;
        };
        let now = batch.started.elapsed().as_secs_f64();
        let run = self.run(ctx);
        let Some(batch) = &mut self.batch else { return };
        let jobs: Arc<[Job]> = batch.view.begin_retry(now).into();
        match setup.start_jobs(jobs, run) {
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
                        batch.view.apply(&event, now);
                    }
                    let end = crate::engine::event::Event::BatchFinished { cancelled: true };
                    batch.view.apply(&end, now);
                }
                self.message = Some(e);
            }
        }
    }

    pub(super) fn handle(&self) -> Option<&PoolHandle> {
        self.batch
            .as_ref()
            .and_then(|b| b.handle.as_ref())
            .and_then(Running::handle)
    }

    /// Pauses or resumes the running batch.
    pub(super) fn toggle_pause(&mut self) {
        if let Some(batch) = &self.batch
            && let Some(hot) = &batch.hot
        {
            // Resumed too after a pause at a full disk (Retry).
            if batch.view.paused || batch.view.halted.is_some() {
                hot.resume();
            } else {
                hot.pause();
            }
            return;
        }
        if let Some(handle) = self.handle() {
            if handle.is_paused() {
                handle.resume();
            } else {
                handle.pause();
            }
        }
    }

    /// Cancels the running batch (stops watching).
    pub(super) fn cancel(&mut self) {
        if let Some(hot) = self.batch.as_ref().and_then(|b| b.hot.as_ref()) {
            hot.stop();
            return;
        }
        if let Some(handle) = self.handle() {
            handle.cancel();
        }
    }

    /// Applies a new worker count, live if a batch runs.
    pub(super) fn set_workers(&mut self, n: usize) {
        self.settings.workers = n.clamp(1, crate::gui::max_workers());
        if let Some(hot) = self.batch.as_ref().and_then(|b| b.hot.as_ref()) {
            hot.set_workers(self.settings.workers);
        }
        if let Some(handle) = self.handle() {
            handle.set_workers(self.settings.workers);
        }
    }

    /// Plans the current input, outputs and output folder in the background whenever one of
    /// them changes before Start, and picks up the answer.
    pub(super) fn poll_forecast(&mut self) {
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
        let storage = Arc::clone(&self.storage);
        let task = valid.then(|| {
            Task::spawn("forecast", self.repaint.clone(), move || {
                let store = storage.for_paths([out_dir.as_path()])?;
                batch::outlook(&found, &recipes, &out_dir, store.as_ref())
            })
        });
        self.forecast = Some(Forecast {
            key,
            task,
            result: None,
        });
    }

    pub(super) fn poll_batch(&mut self, ctx: &egui::Context) {
        if self.batch.as_ref().is_some_and(|b| b.hot.is_some()) {
            self.poll_watch(ctx);
            return;
        }
        let Some(batch) = &mut self.batch else { return };
        self.repaint_pending.store(false, Ordering::Release);
        let now = batch.started.elapsed().as_secs_f64();
        if let Some(handle) = batch.handle.as_ref().and_then(Running::handle) {
            // Everything since the last frame, taken at one instant: a worker's stage reports
            // it has since moved on from are never drawn, and are not taken.
            let mut events: Vec<Event> = handle.events().try_iter().collect();
            event::without_superseded_stages(&mut events);
            for event in events {
                let event = batch.view.translate(event);
                batch.view.apply(&event, now);
                if matches!(event, Event::BatchFinished { .. }) {
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
            self.stats
                .report(batch.view.results.len(), batch.elapsed_at_finish);
            if self.message.as_deref() == Some(BUSY_DROP) {
                self.message = None;
            }
            if self.closing {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        } else if batch.running() && !batch.view.paused {
            // Keep the clock and ETA moving between events, within the pacer's budget.
            self.pacer.frame(std::time::Instant::now());
            ctx.request_repaint_after(Duration::from_millis(250).max(self.pacer.interval.get()));
        }
    }
}
