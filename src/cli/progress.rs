//! Terminal progress: a live line per worker and an overall line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::bars::WorkerBars;
use crate::engine::event::{Event, WorkerId};
use crate::engine::job::Job;

/// Live bars for a batch, drawn on stdout.
pub struct TerminalProgress {
    multi: MultiProgress,
    overall: ProgressBar,
    workers: BTreeMap<WorkerId, ProgressBar>,
    /// How far each worker's job in hand is (as in the window).
    bars: WorkerBars,
    worker_style: ProgressStyle,
    started: Instant,
    state: &'static str,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

impl TerminalProgress {
    /// Bars for a batch of `total` jobs.
    pub fn new(total: usize) -> TerminalProgress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(15));
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(style(
            "{prefix:>9} [{bar:32.cyan/blue}] {pos}/{len} {msg} elapsed {elapsed} ETA {eta}",
        ));
        overall.set_prefix("overall");
        overall.enable_steady_tick(Duration::from_millis(200));
        TerminalProgress {
            multi,
            overall,
            workers: BTreeMap::new(),
            bars: WorkerBars::default(),
            worker_style: style("{prefix:>9} [{bar:20.yellow/blue}] {wide_msg}"),
            started: Instant::now(),
            state: "",
        }
    }

    fn worker_bar(&mut self, worker: WorkerId) -> &ProgressBar {
        let (multi, style) = (&self.multi, &self.worker_style);
        self.workers.entry(worker).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(100));
            bar.set_style(style.clone());
            bar.set_prefix(format!("worker {worker}"));
            bar.set_message("idle");
            bar
        })
    }

    /// Updates the bars from one event.
    pub fn observe(&mut self, jobs: &[Job], event: &Event) {
        let bar = self
            .bars
            .observe(event, self.started.elapsed().as_secs_f64());
        match event {
            Event::WorkerStarted { worker } => {
                self.worker_bar(*worker);
            }
            Event::WorkerRetiring { worker } => {
                let bar = self.worker_bar(*worker);
                bar.set_prefix(format!("worker {worker}*"));
            }
            Event::WorkerRetired { worker } => {
                if let Some(bar) = self.workers.remove(worker) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            Event::Stage {
                worker, job, stage, ..
            } => {
                let name = jobs
                    .get(*job)
                    .and_then(|j| j.input.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let position = bar.map_or(0.0, |(_, progress)| progress) * 100.0;
                let bar = self.worker_bar(*worker);
                bar.set_position(position as u64);
                bar.set_message(format!("{stage:<6} {name}"));
            }
            Event::Finished { worker, .. } => {
                self.overall.inc(1);
                self.update_message();
                if let Some(w) = worker {
                    let bar = self.worker_bar(*w);
                    bar.set_position(100);
                    bar.set_message("idle");
                }
            }
            Event::Paused => self.set_state("paused"),
            Event::Resumed => self.set_state(""),
            Event::Cancelling => self.set_state("cancelling…"),
            Event::Halted { .. } => self.set_state("stopping…"),
            _ => {}
        }
    }

    fn set_state(&mut self, state: &'static str) {
        self.state = state;
        self.update_message();
    }

    /// The overall line's rate (images per second so far) and state.
    fn update_message(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            self.overall.position() as f64 / secs
        } else {
            0.0
        };
        self.overall
            .set_message(format!("{rate:.1} images/s {}", self.state));
    }

    /// Removes the bars from the terminal.
    pub fn finish(self) {
        for bar in self.workers.values() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}
