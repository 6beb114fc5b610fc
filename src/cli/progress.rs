//! Terminal progress: a live line per worker and an overall line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::bars::WorkerBars;
use crate::engine::event::{Event, WorkerId};
use crate::engine::job::{Action, Job, Outcome};

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
    /// Converted so far, and their input bytes: the rate and the ETA count only these (a
    /// skipped or failed file takes no time worth counting).
    converted: u64,
    converted_bytes: u64,
    /// Input bytes of the jobs to convert that have not ended.
    bytes_left: u64,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

impl TerminalProgress {
    /// Bars for a batch of `jobs`.
    pub fn new(jobs: &[Job]) -> TerminalProgress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(15));
        let overall = multi.add(ProgressBar::new(jobs.len() as u64));
        overall.set_style(style(
            "{prefix:>9} [{bar:32.cyan/blue}] {pos}/{len} {msg} elapsed {elapsed}",
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
            converted: 0,
            converted_bytes: 0,
            bytes_left: jobs
                .iter()
                .filter(|j| j.action == Action::Convert)
                .map(|j| j.input_bytes)
                .sum(),
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
            Event::Finished {
                worker,
                job,
                outcome,
                ..
            } => {
                if let Some(j) = jobs.get(*job).filter(|j| j.action == Action::Convert) {
                    self.bytes_left = self.bytes_left.saturating_sub(j.input_bytes);
                    if matches!(outcome, Outcome::Ok(_)) {
                        self.converted += 1;
                        self.converted_bytes += j.input_bytes;
                    }
                }
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

    /// The overall line's rate (images converted per second so far), ETA and state.
    fn update_message(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        self.overall.set_message(format!(
            "{} {}",
            rate_text(self.converted, self.converted_bytes, self.bytes_left, secs),
            self.state
        ));
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

/// "12.5 images/s, ETA 0:42": converted images per second, and the time left from the input
/// bytes still to convert at the bytes-per-second converted so far (files differ in size, so
/// bytes tell the time left better than a count). No ETA before the first conversion.
pub(crate) fn rate_text(
    converted: u64,
    converted_bytes: u64,
    bytes_left: u64,
    secs: f64,
) -> String {
    if secs <= 0.0 || converted == 0 {
        return "0.0 images/s, ETA —".to_owned();
    }
    let rate = converted as f64 / secs;
    let eta = if converted_bytes > 0 {
        let left = bytes_left as f64 / (converted_bytes as f64 / secs);
        let left = left.round() as u64;
        format!("{}:{:02}", left / 60, left % 60)
    } else {
        "—".to_owned()
    };
    format!("{rate:.1} images/s, ETA {eta}")
}

#[cfg(test)]
mod tests {
    use super::rate_text;

    #[test]
    fn the_rate_and_eta_count_converted_files_only() {
        // Nothing converted yet (every file so far skipped or failed): no rate at all.
        assert_eq!(rate_text(0, 0, 5_000, 3.0), "0.0 images/s, ETA —");
        // 10 files of 100 bytes in 5 s; 3,000 bytes left at 200 bytes/s: 15 s.
        assert_eq!(rate_text(10, 1_000, 3_000, 5.0), "2.0 images/s, ETA 0:15");
    }
}
