//! *Watch this folder*: the input folder as a hot folder (`engine::hot`). What is there is
//! converted first, then what arrives, each file once it is complete, until the switch is
//! turned off; every batch of arrivals is folded into one view, so the worker rows, the results
//! list and the figures work as in a batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use super::ConveyorApp;
use crate::engine::batch::Request;
use crate::engine::hot::{HotEnd, HotEvent, HotFolder, HotOptions};
use crate::engine::remote::is_remote;
use crate::engine::watch::WatchOptions;
use crate::gui::state::Batch;
use crate::gui::view::BatchView;

/// How long a file's size and time must stay still before it is converted (as `conveyor
/// watch`'s default `--settle`).
const SETTLE: Duration = Duration::from_secs(2);

/// How often the clock of a hot folder waiting for files moves.
const WAITING_TICK: Duration = Duration::from_secs(1);

impl ConveyorApp {
    /// Starts watching the input folder into the output folder with the current recipe.
    pub(super) fn start_watching(&mut self, ctx: &egui::Context) {
        if self.busy() {
            return;
        }
        let Some(input) = &self.input else {
            self.message = Some("Choose a folder first.".into());
            return;
        };
        if let Some(p) = input.paths.iter().find(|p| is_remote(p) || !p.is_dir()) {
            self.message = Some(format!(
                "{} cannot be watched: only a folder on this computer can. Start converts it \
                 as a batch.",
                p.display()
            ));
            return;
        }
        let root = input.root();
        let paths = input.paths.clone();
        let Some(out_dir) = self.output_dir() else {
            return;
        };
        if is_remote(&out_dir) {
            self.message = Some(
                "Watching writes into a folder on this computer: choose one as the output, or \
                 use Start to write to the bucket."
                    .into(),
            );
            return;
        }
        if let Some(e) = self.settings.outputs.iter().find_map(|f| f.error()) {
            self.message = Some(format!("Fix the recipe first: {e}"));
            return;
        }
        let request = Request {
            check_writable: true,
            ..Request::new(paths, out_dir.clone(), self.settings.current_recipes())
        };
        if let Err(e) = request.check() {
            self.message = Some(e);
            return;
        }
        let workers = self.settings.workers;
        let run = self.run(ctx);
        let options = HotOptions {
            watch: WatchOptions {
                settle: SETTLE,
                poll: None,
                recursive: request.recursive,
                exclude: vec![out_dir.clone()],
            },
            workers,
            priority: run.priority,
            on_systemic: run.on_systemic,
            once: false,
            waker: run.waker,
        };
        let stop = Arc::new(AtomicBool::new(false));
        match HotFolder::start(request, options, stop, Arc::default()) {
            Ok(hot) => {
                let since = chrono::Local::now().format("%H:%M").to_string();
                self.batch = Some(Batch {
                    setup: None,
                    handle: None,
                    hot: Some(hot),
                    view: BatchView::watching(&root, workers, since),
                    started: Instant::now(),
                    out_dir,
                    warnings: Vec::new(),
                    elapsed_at_finish: None,
                    recipes: self.settings.current_recipes(),
                });
                self.batch_about = Some(self.setup_key());
                self.preview = None;
                self.selected = None;
                self.message = None;
            }
            Err(e) => self.message = Some(e),
        }
    }

    /// Whether the window is watching a folder now.
    pub fn watching(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| b.hot.is_some())
    }

    /// Takes what the hot folder has said since the last frame.
    pub(super) fn poll_watch(&mut self, ctx: &egui::Context) {
        let Some(batch) = &mut self.batch else { return };
        self.repaint_pending.store(false, Ordering::Release);
        let now = batch.started.elapsed().as_secs_f64();
        let mut ended = None;
        let mut notes = Vec::new();
        if let Some(hot) = &batch.hot {
            for event in hot.events().try_iter() {
                match event {
                    HotEvent::Note(note) => notes.push(note),
                    HotEvent::Batch {
                        jobs,
                        setup,
                        warnings,
                        ..
                    } => {
                        batch.view.arrivals(jobs);
                        batch.setup = Some(setup);
                        batch.warnings.extend(warnings);
                    }
                    HotEvent::Pool(event) => batch.view.apply_arrival(event, now),
                    HotEvent::Followed { job, why, .. } => batch.view.followed(job, why, now),
                    HotEvent::CaughtUp { .. } => {
                        if let Some(w) = &mut batch.view.watching {
                            w.caught_up = true;
                        }
                    }
                    HotEvent::Ended(end) => {
                        ended = Some(end);
                        break;
                    }
                }
            }
        }
        batch.view.tick(now);
        if let Some(note) = notes.pop() {
            self.message = Some(capitalised(&note));
        }
        let Some(end) = ended else {
            if !batch.view.paused {
                // The clock moves while files are converted (within the pacer's budget) and,
                // slower, while the folder is waited on.
                let busy = batch.view.watching.as_ref().is_some_and(|w| w.busy);
                let every = if busy {
                    self.pacer.frame(Instant::now());
                    Duration::from_millis(250).max(self.pacer.interval.get())
                } else {
                    WAITING_TICK
                };
                ctx.request_repaint_after(every);
            }
            return;
        };
        // The thread has ended: dropping the hot folder joins it at once.
        batch.hot = None;
        batch.view.stop_watching(end != HotEnd::CaughtUp, now);
        batch.elapsed_at_finish = Some(now);
        match end {
            HotEnd::Stopped | HotEnd::CaughtUp => {}
            HotEnd::Refused(reason) => {
                self.message = Some(format!(
                    "Stopped watching: {reason}. What was converted is kept; fix that and \
                     watch again to convert the rest."
                ));
            }
            HotEnd::Failed(e) => self.message = Some(format!("Stopped watching: {e}.")),
        }
        self.stats
            .report(batch.view.results.len(), batch.elapsed_at_finish);
        if self.closing {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// A note for the message line, as a sentence.
fn capitalised(note: &str) -> String {
    let mut chars = note.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
