//! The batch as the window shows it, folded from the pool's events.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::text::display_name;
use crate::engine::bars::WorkerBars;
use crate::engine::event::{Event, WorkerId};
use crate::engine::job::{Job, JobId, Outcome, Status};

pub use super::rows::{ResultRow, Retired, WorkerRow};

/// A throughput sample for the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Active (unpaused) seconds since the batch started.
    pub t: f64,
    /// Images per second over the recent window.
    pub rate: f64,
}

/// A worker-count change marked on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    /// Active seconds since the batch started.
    pub t: f64,
    /// The new worker count.
    pub workers: usize,
}

/// Seconds between chart samples.
pub const SAMPLE_EVERY: f64 = 0.5;
/// Width of the window throughput is averaged over, in seconds.
pub const RATE_WINDOW: f64 = 2.0;

/// Everything the window shows about one batch.
#[derive(Debug, Clone)]
pub struct BatchView {
    pub(super) jobs: super::watch::Jobs,
    pub(super) root: PathBuf,
    /// Jobs in the batch.
    pub total: usize,
    /// Converted.
    pub ok: usize,
    /// Skipped.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Cancelled.
    pub cancelled: usize,
    /// Jobs converted by a worker (the rate counts only these: a failure or skip takes no time
    /// worth counting).
    pub ran: usize,
    /// Input bytes of the jobs to convert that have not ended (the ETA: files differ in size).
    pub bytes_left: u64,
    /// Bytes read by converted jobs.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Live workers by number.
    pub workers: BTreeMap<WorkerId, WorkerRow>,
    /// The workers' bars, timed from the events.
    pub bars: WorkerBars,
    /// Workers asked for.
    pub target_workers: usize,
    /// The most worker rows shown at once in this batch, the stopped workers' line included
    /// (the panel keeps room for them).
    pub peak_workers: usize,
    /// The workers that have stopped, together.
    pub retired: Retired,
    /// Every finished file, in finishing order (listed in natural order once the batch has
    /// finished: [`Self::listed`]).
    pub results: Vec<ResultRow>,
    /// Once the batch has finished: the rows' indices in natural order (empty while it runs:
    /// the list is in finishing order, newest last).
    pub(super) natural: Vec<u32>,
    pub(super) failed_rows: Vec<usize>,
    pub(super) skipped_rows: Vec<usize>,
    /// Paused now.
    pub paused: bool,
    /// Paused by a failure of the whole batch (the disk full, the output folder read-only):
    /// what happened, until resumed. The files it met are back in the queue.
    pub halted: Option<String>,
    /// The batch was stopped (cancelled) while halted: why, for the outcome line.
    pub stopped_by: Option<String>,
    /// Cancel requested.
    pub cancelling: bool,
    /// Every job ended and every worker joined.
    pub finished: bool,
    pub(super) paused_total: f64,
    pub(super) paused_since: Option<f64>,
    pub(super) now: f64,
    /// Throughput over time.
    pub samples: Vec<Sample>,
    /// Worker-count changes over time.
    pub markers: Vec<Marker>,
    pub(super) history: VecDeque<(f64, usize)>,
    pub(super) next_sample: f64,
    /// While failed files are retried: the retry pool's job index → this batch's job.
    pub(super) retry_map: Option<Vec<JobId>>,
    /// Each job's row in `results` (`usize::MAX`: not ended yet).
    pub(super) row_of: Vec<usize>,
    /// Each job's place in natural order (see [`natural_ranks`]); empty: finishing order.
    pub(super) ranks: Vec<u32>,
    /// A hot folder's view: what it knows besides the figures (`None`: a batch).
    pub watching: Option<super::watch::Watching>,
}

impl BatchView {
    /// A view of a batch over `jobs`, naming files relative to `root`.
    pub fn new(jobs: Arc<[Job]>, root: &Path, workers: usize) -> BatchView {
        let total = jobs.len();
        let bytes_left = super::watch::bytes_to_convert(&jobs);
        BatchView {
            bytes_left,
            total,
            jobs: super::watch::Jobs::one(jobs),
            root: root.to_path_buf(),
            ok: 0,
            skipped: 0,
            failed: 0,
            cancelled: 0,
            ran: 0,
            bytes_in: 0,
            bytes_out: 0,
            workers: BTreeMap::new(),
            bars: WorkerBars::default(),
            target_workers: workers,
            peak_workers: 0,
            retired: Retired::default(),
            // Room for every row from the start: doubling a 100,000-row list mid-batch copied
            // megabytes inside one frame.
            results: Vec::with_capacity(total),
            natural: Vec::new(),
            failed_rows: Vec::new(),
            skipped_rows: Vec::new(),
            paused: false,
            halted: None,
            stopped_by: None,
            cancelling: false,
            finished: false,
            paused_total: 0.0,
            paused_since: None,
            now: 0.0,
            samples: Vec::new(),
            markers: vec![Marker { t: 0.0, workers }],
            history: VecDeque::from([(0.0, 0)]),
            next_sample: SAMPLE_EVERY,
            retry_map: None,
            row_of: vec![usize::MAX; total],
            ranks: Vec::new(),
            watching: None,
        }
    }

    /// Lists the results in natural order once the batch has finished (while it runs they
    /// come in finishing order, newest last); `ranks` from [`natural_ranks`].
    pub fn with_ranks(mut self, ranks: Vec<u32>) -> BatchView {
        if ranks.len() == self.jobs.len() {
            self.ranks = ranks;
        }
        self
    }

    /// Lists the rows in natural order: each row's index goes to its job's rank (the rows
    /// themselves stay where they are; sorting a million rows of ~110 bytes took 0.3 s of one
    /// frame), and the failed and skipped lists follow that order.
    fn sort_results(&mut self) {
        self.natural.clear();
        if self.ranks.is_empty() {
            return;
        }
        let mut at_rank = vec![u32::MAX; self.ranks.len()];
        let mut unranked = Vec::new();
        for (i, row) in self.results.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match self
                .ranks
                .get(row.job)
                .and_then(|&r| at_rank.get_mut(r as usize))
            {
                Some(slot) if *slot == u32::MAX => *slot = i,
                _ => unranked.push(i),
            }
        }
        self.natural = at_rank
            .into_iter()
            .filter(|&i| i != u32::MAX)
            .chain(unranked)
            .collect();
        self.failed_rows.clear();
        self.skipped_rows.clear();
        for &i in &self.natural {
            match self.results.get(i as usize).map(|r| r.status) {
                Some(Status::Failed) => self.failed_rows.push(i as usize),
                Some(Status::Skipped) => self.skipped_rows.push(i as usize),
                _ => {}
            }
        }
    }

    /// The batch's jobs.
    pub fn jobs(&self) -> &super::watch::Jobs {
        &self.jobs
    }

    /// Advances the clock to `now` (seconds since the batch started) and takes chart samples.
    /// Once the batch has finished its figures freeze: the clock, the rates and the chart.
    pub fn tick(&mut self, now: f64) {
        if self.finished {
            return;
        }
        self.now = now.max(self.now);
        let t = self.active_seconds();
        if self.paused {
            return;
        }
        while t >= self.next_sample {
            let at = self.next_sample;
            while self.history.len() > 1 && self.history[1].0 <= at - RATE_WINDOW {
                self.history.pop_front();
            }
            let (t0, n0) = self.history.front().copied().unwrap_or((0.0, 0));
            let span = (at - t0).max(SAMPLE_EVERY);
            self.samples.push(Sample {
                t: at,
                rate: (self.ran - n0) as f64 / span,
            });
            self.history.push_back((at, self.ran));
            self.next_sample += SAMPLE_EVERY;
        }
    }

    /// The file a worker has in hand, as its row shows it (relative to the input).
    pub fn file_of(&self, row: &WorkerRow) -> Option<String> {
        row.job
            .and_then(|job| self.jobs.get(job))
            .map(|j| display_name(&j.input, &self.root))
    }

    /// Applies one pool event observed at `now` seconds since the batch started.
    pub fn apply(&mut self, event: &Event, now: f64) {
        self.tick(now);
        let bar = self.bars.observe(event, now);
        match event {
            Event::BatchStarted { total, workers } => {
                if self.retry_map.is_none() && self.watching.is_none() {
                    self.total = *total;
                }
                self.target_workers = *workers;
            }
            Event::WorkerStarted { worker } => {
                self.workers.insert(
                    *worker,
                    WorkerRow {
                        id: *worker,
                        job: None,
                        stage: None,
                        progress: 0.0,
                        done: 0,
                        converted: 0,
                        failed: 0,
                        retiring: false,
                    },
                );
                self.note_rows();
            }
            Event::WorkersChanged { target } => {
                self.target_workers = *target;
                self.markers.push(Marker {
                    t: self.active_seconds(),
                    workers: *target,
                });
            }
            Event::WorkerRetiring { worker } => {
                if let Some(row) = self.workers.get_mut(worker) {
                    row.retiring = true;
                }
            }
            Event::WorkerRetired { worker } => {
                if let Some(row) = self.workers.remove(worker) {
                    self.retire(&row);
                }
                self.note_rows();
            }
            Event::Started { worker, job } => {
                // The file's name is made when its row is drawn (`file_of`): at 15,000 tiny
                // files a second most are never shown.
                if let Some(row) = self.workers.get_mut(worker) {
                    row.job = Some(*job);
                    row.stage = None;
                    row.progress = 0.0;
                }
            }
            Event::Stage { worker, stage, .. } => {
                if let Some(row) = self.workers.get_mut(worker) {
                    row.stage = Some(*stage);
                    row.progress = bar.map_or(0.0, |(_, progress)| progress);
                }
            }
            Event::Finished {
                worker,
                job,
                outcome,
                millis,
            } => self.finish(*worker, *job, outcome, *millis),
            Event::Paused => {
                self.paused = true;
                self.paused_since.get_or_insert(self.now);
            }
            Event::Halted { worker, reason, .. } => {
                // The file goes back in the queue (or, without `held`, has ended as failed):
                // its worker holds nothing now.
                if let Some(row) = self.workers.get_mut(worker) {
                    row.go_idle();
                }
                self.halted = Some(reason.clone());
            }
            Event::Resumed => {
                self.halted = None;
                self.unpause();
            }
            Event::Cancelling => {
                self.cancelling = true;
                self.stopped_by = self.halted.take();
                self.unpause();
            }
            Event::BatchFinished { .. } => {
                self.finished = true;
                self.sort_results();
                self.unpause();
                for row in std::mem::take(&mut self.workers).values() {
                    self.retire(row);
                }
            }
        }
    }

    pub(super) fn retire(&mut self, row: &WorkerRow) {
        self.retired.count += 1;
        self.retired.converted += row.converted;
        self.retired.failed += row.failed;
    }

    /// Keeps room for the most rows shown so far: the live workers and the stopped ones' line.
    fn note_rows(&mut self) {
        let rows = self.workers.len() + usize::from(self.retired.count > 0);
        self.peak_workers = self.peak_workers.max(rows);
    }

    fn unpause(&mut self) {
        self.paused = false;
        if let Some(since) = self.paused_since.take() {
            self.paused_total += self.now - since;
        }
    }

    fn finish(&mut self, worker: Option<WorkerId>, job: JobId, outcome: &Outcome, millis: u64) {
        if let Some(row) = worker.and_then(|w| self.workers.get_mut(&w)) {
            row.go_idle();
            row.done += 1;
        }
        let input_bytes = self.jobs.get(job).map_or(0, |j| j.input_bytes);
        if self
            .jobs
            .get(job)
            .is_some_and(|j| j.action == crate::engine::job::Action::Convert)
        {
            self.bytes_left = self.bytes_left.saturating_sub(input_bytes);
        }
        let mut row = ResultRow {
            job,
            status: Status::Cancelled,
            reason: None,
            warnings: Vec::new(),
            size: None,
            output_bytes: None,
            quality: None,
            score: None,
            kind: None,
            worker,
            millis: u32::try_from(millis).unwrap_or(u32::MAX),
        };
        match outcome {
            Outcome::Ok(done) => {
                self.ok += 1;
                self.bytes_in += input_bytes;
                self.bytes_out += done.output_bytes;
                row.status = Status::Ok;
                row.size = Some((done.width, done.height));
                row.output_bytes = Some(done.output_bytes);
                row.quality = done.quality;
                row.score = done.score;
                row.warnings.clone_from(&done.warnings);
            }
            Outcome::Skipped(reason) => {
                self.skipped += 1;
                row.status = Status::Skipped;
                row.reason = Some(reason.clone());
            }
            Outcome::Failed(failure) => {
                self.failed += 1;
                row.status = Status::Failed;
                row.reason = Some(failure.reason.clone());
                row.kind = Some(failure.kind);
            }
            Outcome::Cancelled => self.cancelled += 1,
        }
        if worker.is_some() && row.status == Status::Ok {
            self.ran += 1;
        }
        if let Some(w) = worker.and_then(|w| self.workers.get_mut(&w)) {
            match row.status {
                Status::Ok => w.converted += 1,
                Status::Failed => w.failed += 1,
                _ => {}
            }
        }
        let index = match self.row_of.get(job) {
            Some(&i) if i < self.results.len() => i,
            _ => self.results.len(),
        };
        match row.status {
            Status::Failed => self.failed_rows.push(index),
            Status::Skipped => self.skipped_rows.push(index),
            _ => {}
        }
        if index < self.results.len() {
            self.results[index] = row;
        } else {
            if let Some(slot) = self.row_of.get_mut(job) {
                *slot = index;
            }
            if !self.natural.is_empty() {
                self.natural.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
            self.results.push(row);
        }
    }
}
