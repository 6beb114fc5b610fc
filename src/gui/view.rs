//! The pure view model of a batch: built from pool events, drawn by the panels. No egui here,
//! so it is tested without a window.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::bars::WorkerBars;
use crate::engine::event::{Event, WorkerId};
use crate::engine::format::Format;
use crate::engine::job::{Job, JobId, Outcome, Stage, Status};
use crate::engine::scan::Scan;
use crate::engine::units::human_bytes;

/// What the scan of the chosen input found, for the input summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary {
    /// Images that will be converted.
    pub images: usize,
    /// Their total size.
    pub bytes: u64,
    /// Count per format (by extension), labelled as the format table names them.
    pub formats: BTreeMap<&'static str, usize>,
    /// Image-named entries that will be skipped, with reasons.
    pub skipped: Vec<String>,
    /// Non-image files ignored.
    pub ignored: usize,
    /// Folders that could not be read, loops, …
    pub warnings: Vec<String>,
    /// The first image, for the naming example: its stem, extension and header (size as
    /// displayed, format by content) when it can be read.
    pub first: Option<FirstImage>,
    /// Every image that will be converted, with its size (for the preview and the estimate).
    pub files: Vec<(std::path::PathBuf, u64)>,
}

impl InputSummary {
    /// The line under the scan summary about what will not be converted ("2 will be skipped, 1
    /// other file ignored", "1 could not be read": unreadable entries, symlink loops), naming
    /// only what there is; `None` when nothing is left out.
    pub fn left_out(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.skipped.is_empty() {
            parts.push(format!("{} will be skipped", self.skipped.len()));
        }
        if self.ignored > 0 {
            let files = if self.ignored == 1 { "file" } else { "files" };
            parts.push(format!("{} other {files} ignored", self.ignored));
        }
        if !self.warnings.is_empty() {
            parts.push(format!("{} could not be read", self.warnings.len()));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Summarises a scan.
    pub fn from_scan(found: &Scan) -> InputSummary {
        let mut s = InputSummary {
            ignored: found.ignored,
            warnings: found
                .warnings
                .iter()
                .map(|w| format!("{}: {}", w.path.display(), w.reason))
                .collect(),
            ..InputSummary::default()
        };
        let mut found_files: Vec<_> = found.found.iter().collect();
        found_files.sort_by(|a, b| natural_cmp(&a.rel.to_string_lossy(), &b.rel.to_string_lossy()));
        for f in found_files {
            if let Some(reason) = &f.skip {
                s.skipped.push(format!("{}: {reason}", f.rel.display()));
                continue;
            }
            s.images += 1;
            s.bytes += f.bytes;
            s.files.push((f.path.clone(), f.bytes));
            let label = f
                .rel
                .extension()
                .and_then(|e| e.to_str())
                .and_then(Format::from_extension)
                .map_or("other", Format::label);
            *s.formats.entry(label).or_default() += 1;
            if s.first.is_none() {
                s.first = Some(FirstImage {
                    stem: f.rel.file_stem().map(ToOwned::to_owned).unwrap_or_default(),
                    ext: f.rel.extension().map(ToOwned::to_owned).unwrap_or_default(),
                    header: crate::engine::header::probe(&f.path),
                });
            }
        }
        s
    }
}

/// The first image of an input, as the naming example uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstImage {
    /// File name without extension.
    pub stem: OsString,
    /// Extension as written.
    pub ext: OsString,
    /// Its header, if it could be read.
    pub header: Option<crate::engine::header::Header>,
}

/// One worker's live line.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRow {
    /// Worker number.
    pub id: WorkerId,
    /// The job in hand.
    pub job: Option<JobId>,
    /// The file in hand, for display.
    pub file: Option<String>,
    /// The stage of the job in hand.
    pub stage: Option<Stage>,
    /// Progress through the job in hand, 0..1 (each stage weighted by the time it has taken in
    /// this batch, see [`WorkerBars`]).
    pub progress: f32,
    /// Images this worker has finished.
    pub done: usize,
    /// Asked to stop; finishing the image in hand.
    pub retiring: bool,
}

/// One finished file. Kept small: the texts shown are made when a row is drawn, so a
/// 100,000-file batch costs no string work per event.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The job.
    pub job: JobId,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Non-fatal remarks on a converted file.
    pub warnings: Vec<String>,
    /// Output size in pixels, when written.
    pub size: Option<(u32, u32)>,
    /// Output bytes, when written.
    pub output_bytes: Option<u64>,
    /// The quality the encoder used.
    pub quality: Option<u8>,
    /// The SSIMULACRA2 score, when a visual target computed it.
    pub score: Option<f64>,
}

/// Which results to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFilter {
    /// Every finished file.
    #[default]
    All,
    /// Only failures.
    Failed,
    /// Only skipped files.
    Skipped,
}

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
    jobs: Arc<[Job]>,
    root: PathBuf,
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
    /// Jobs that a worker ran (for the rate).
    pub ran: usize,
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
    /// The most worker rows shown at once in this batch (the panel keeps room for them).
    pub peak_workers: usize,
    /// Every finished file, in finishing order.
    pub results: Vec<ResultRow>,
    failed_rows: Vec<usize>,
    skipped_rows: Vec<usize>,
    /// Paused now.
    pub paused: bool,
    /// Cancel requested.
    pub cancelling: bool,
    /// Every job ended and every worker joined.
    pub finished: bool,
    paused_total: f64,
    paused_since: Option<f64>,
    now: f64,
    /// Throughput over time.
    pub samples: Vec<Sample>,
    /// Worker-count changes over time.
    pub markers: Vec<Marker>,
    history: VecDeque<(f64, usize)>,
    next_sample: f64,
    /// While failed files are retried: the retry pool's job index → this batch's job.
    retry_map: Option<Vec<JobId>>,
    /// Each job's row in `results` (`usize::MAX`: not ended yet).
    row_of: Vec<usize>,
    /// Each job's place in natural order (see [`natural_ranks`]); empty: finishing order.
    ranks: Vec<u32>,
}

fn display_name(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// What a conversion from `input` to `output` bytes saved: "saved 62 %", "grew 5 %", or "same
/// size" (a file copied as it was).
pub fn saving(input: u64, output: u64) -> String {
    if input == output {
        return "same size".to_owned();
    }
    if input == 0 {
        return "grew from nothing".to_owned();
    }
    // The difference as a positive share, so a rounding to zero never prints as "-0".
    let percent = input.abs_diff(output) as f64 / input as f64 * 100.0;
    if output < input {
        format!("saved {percent:.0} %")
    } else {
        format!("grew {percent:.0} %")
    }
}

/// The window title: the app's name, the input and where the batch stands, so a glance at the
/// task bar (or a script watching the window) knows whether the batch is done.
pub fn window_title(
    input: Option<&str>,
    summary: Option<&InputSummary>,
    batch: Option<&BatchView>,
) -> String {
    let Some(input) = input else {
        return "Conveyor".to_owned();
    };
    let state = match (batch, summary) {
        (Some(v), _) if v.finished => {
            let mut parts = vec![format!("{} converted", v.ok)];
            if v.failed > 0 {
                parts.push(format!("{} failed", v.failed));
            }
            if v.skipped > 0 {
                parts.push(format!("{} skipped", v.skipped));
            }
            if v.cancelled > 0 {
                parts.push(format!("{} cancelled", v.cancelled));
            }
            let word = if v.cancelled > 0 {
                "stopped"
            } else {
                "finished"
            };
            format!("{word}: {}", parts.join(", "))
        }
        (Some(v), _) if v.paused => format!("paused at {} of {}", v.done(), v.total),
        (Some(v), _) => format!("{} of {} ({:.0}%)", v.done(), v.total, v.fraction() * 100.0),
        (None, Some(s)) => match s.images {
            1 => "1 image".to_owned(),
            n => format!("{n} images"),
        },
        (None, None) => "scanning…".to_owned(),
    };
    format!("Conveyor — {input} — {state}")
}

/// Compares names as people do: runs of digits by their value (so `img_2` comes before
/// `img_10`), letters ignoring case; names equal that way fall back to plain order.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn digits(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        let mut run = String::new();
        while let Some(&c) = it.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            run.push(c);
            it.next();
        }
        run
    }
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (m, n) = (digits(&mut x), digits(&mut y));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let order = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(c), Some(d)) => {
                let order = c.to_lowercase().cmp(d.to_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                x.next();
                y.next();
            }
        }
    }
}

/// Each job's place in natural order of its input (then output), for listing results: made
/// once, off the UI thread, so ordering a finished batch's rows is an integer sort.
pub fn natural_ranks(jobs: &[Job]) -> Vec<u32> {
    let names: Vec<std::borrow::Cow<'_, str>> =
        jobs.iter().map(|j| j.input.to_string_lossy()).collect();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| {
        natural_cmp(&names[a], &names[b])
            .then_with(|| jobs[a].output_index.cmp(&jobs[b].output_index))
    });
    let mut ranks = vec![0; jobs.len()];
    for (rank, job) in order.into_iter().enumerate() {
        ranks[job] = u32::try_from(rank).unwrap_or(u32::MAX);
    }
    ranks
}

/// Formats seconds as `m:ss` or `h:mm:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

impl BatchView {
    /// A view of a batch over `jobs`, naming files relative to `root`.
    pub fn new(jobs: Arc<[Job]>, root: &Path, workers: usize) -> BatchView {
        let total = jobs.len();
        BatchView {
            total,
            jobs,
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
            // Room for every row from the start: doubling a 100,000-row list mid-batch copied
            // megabytes inside one frame.
            results: Vec::with_capacity(total),
            failed_rows: Vec::new(),
            skipped_rows: Vec::new(),
            paused: false,
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

    /// Puts the rows in natural order and re-indexes them.
    fn sort_results(&mut self) {
        if self.ranks.is_empty() {
            return;
        }
        let ranks = &self.ranks;
        self.results
            .sort_by_key(|r| ranks.get(r.job).copied().unwrap_or(u32::MAX));
        self.failed_rows.clear();
        self.skipped_rows.clear();
        for (i, row) in self.results.iter().enumerate() {
            if let Some(slot) = self.row_of.get_mut(row.job) {
                *slot = i;
            }
            match row.status {
                Status::Failed => self.failed_rows.push(i),
                Status::Skipped => self.skipped_rows.push(i),
                _ => {}
            }
        }
    }

    /// The batch's jobs.
    pub fn jobs(&self) -> &Arc<[Job]> {
        &self.jobs
    }

    /// Jobs that have ended.
    pub fn ended(&self) -> usize {
        self.ok + self.skipped + self.failed + self.cancelled
    }

    /// Jobs that ended other than by a cancel: converted, skipped or failed.
    pub fn done(&self) -> usize {
        self.ok + self.skipped + self.failed
    }

    /// Fraction of jobs done, 0..1. Cancelled jobs do not count: a cancelled batch's bar stops
    /// where the work stopped.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            1.0
        } else {
            self.done() as f32 / self.total as f32
        }
    }

    /// The overall line: "Overall: 12 / 40", or after a cancel "Overall: 22 of 40 done, 18
    /// cancelled".
    pub fn overall_text(&self) -> String {
        if self.cancelled > 0 {
            format!(
                "Overall: {} of {} done, {} cancelled",
                self.done(),
                self.total,
                self.cancelled
            )
        } else {
            format!("Overall: {} / {}", self.ended(), self.total)
        }
    }

    /// Seconds of unpaused running so far.
    pub fn active_seconds(&self) -> f64 {
        let paused_now = self.paused_since.map_or(0.0, |since| self.now - since);
        (self.now - self.paused_total - paused_now).max(0.0)
    }

    /// Images converted or failed by workers per active second.
    pub fn images_per_second(&self) -> f64 {
        let t = self.active_seconds();
        if t > 0.0 { self.ran as f64 / t } else { 0.0 }
    }

    /// Input and output megabytes per active second.
    pub fn megabytes_per_second(&self) -> (f64, f64) {
        let t = self.active_seconds();
        if t > 0.0 {
            (
                self.bytes_in as f64 / t / 1e6,
                self.bytes_out as f64 / t / 1e6,
            )
        } else {
            (0.0, 0.0)
        }
    }

    /// What the converted files saved together: "saved 5.0 MiB (76 %)".
    pub fn saved_text(&self) -> String {
        format!(
            "{} ➡ {}: {}",
            human_bytes(self.bytes_in),
            human_bytes(self.bytes_out),
            saving(self.bytes_in, self.bytes_out)
        )
    }

    /// Estimated seconds to go, paused time excluded; `None` until there is a rate.
    pub fn eta_seconds(&self) -> Option<f64> {
        let rate = self.images_per_second();
        (rate > 0.0 && !self.finished).then(|| (self.total - self.ended()) as f64 / rate)
    }

    /// The indices into [`Self::results`] that `filter` lists.
    pub fn filtered_len(&self, filter: ResultFilter) -> usize {
        match filter {
            ResultFilter::All => self.results.len(),
            ResultFilter::Failed => self.failed_rows.len(),
            ResultFilter::Skipped => self.skipped_rows.len(),
        }
    }

    /// The `i`-th row that `filter` lists.
    pub fn filtered_row(&self, filter: ResultFilter, i: usize) -> Option<&ResultRow> {
        let index = match filter {
            ResultFilter::All => Some(i),
            ResultFilter::Failed => self.failed_rows.get(i).copied(),
            ResultFilter::Skipped => self.skipped_rows.get(i).copied(),
        }?;
        self.results.get(index)
    }

    /// The result row of `job`, once it has ended.
    pub fn row_of_job(&self, job: JobId) -> Option<&ResultRow> {
        self.row_of.get(job).and_then(|&i| self.results.get(i))
    }

    /// The jobs that failed, for "Retry failed".
    pub fn failed_jobs(&self) -> Vec<Job> {
        self.failed_rows
            .iter()
            .filter_map(|&i| self.results.get(i))
            .filter_map(|r| self.jobs.get(r.job).cloned())
            .collect()
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

    /// Turns the failed rows back into pending ones and returns their jobs, for a pool that
    /// runs them again; its events (see [`Self::translate`]) then update those rows in place,
    /// so the batch's history stays whole. `now` is seconds since the batch started: the time
    /// between the end and the retry is not counted as running.
    pub fn begin_retry(&mut self, now: f64) -> Vec<Job> {
        let rows = std::mem::take(&mut self.failed_rows);
        let mut map = Vec::with_capacity(rows.len());
        let mut jobs = Vec::with_capacity(rows.len());
        for i in rows {
            let Some(row) = self.results.get_mut(i) else {
                continue;
            };
            let Some(job) = self.jobs.get(row.job) else {
                continue;
            };
            map.push(row.job);
            jobs.push(job.clone());
            row.status = Status::Planned;
            row.reason = Some("retrying…".to_owned());
        }
        if jobs.is_empty() {
            return jobs;
        }
        self.failed -= jobs.len();
        self.retry_map = Some(map);
        self.finished = false;
        self.cancelling = false;
        self.paused = false;
        if now > self.now {
            self.paused_total += now - self.now;
            self.now = now;
        }
        jobs
    }

    /// How many jobs the current retry runs (0 when this is not a retry).
    pub fn retrying(&self) -> usize {
        self.retry_map.as_ref().map_or(0, Vec::len)
    }

    /// An event of the pool that runs this batch's jobs, in this batch's job numbers (a retry
    /// pool numbers its jobs from 0).
    pub fn translate(&self, event: Event) -> Event {
        let Some(map) = &self.retry_map else {
            return event;
        };
        let to = |job: JobId| map.get(job).copied().unwrap_or(job);
        match event {
            Event::Started { worker, job } => Event::Started {
                worker,
                job: to(job),
            },
            Event::Stage {
                worker,
                job,
                stage,
                done,
            } => Event::Stage {
                worker,
                job: to(job),
                stage,
                done,
            },
            Event::Finished {
                worker,
                job,
                outcome,
                millis,
            } => Event::Finished {
                worker,
                job: to(job),
                outcome,
                millis,
            },
            other => other,
        }
    }

    /// Applies one pool event observed at `now` seconds since the batch started.
    pub fn apply(&mut self, event: &Event, now: f64) {
        self.tick(now);
        let bar = self.bars.observe(event, now);
        match event {
            Event::BatchStarted { total, workers } => {
                if self.retry_map.is_none() {
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
                        file: None,
                        stage: None,
                        progress: 0.0,
                        done: 0,
                        retiring: false,
                    },
                );
                self.peak_workers = self.peak_workers.max(self.workers.len());
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
                self.workers.remove(worker);
            }
            Event::Started { worker, job } => {
                let file = self
                    .jobs
                    .get(*job)
                    .map(|j| display_name(&j.input, &self.root));
                if let Some(row) = self.workers.get_mut(worker) {
                    row.job = Some(*job);
                    row.file = file;
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
                ..
            } => self.finish(*worker, *job, outcome),
            Event::Paused => {
                self.paused = true;
                self.paused_since.get_or_insert(self.now);
            }
            Event::Resumed => self.unpause(),
            Event::Cancelling => {
                self.cancelling = true;
                self.unpause();
            }
            Event::BatchFinished { .. } => {
                self.finished = true;
                self.sort_results();
                self.unpause();
                self.workers.clear();
            }
        }
    }

    fn unpause(&mut self) {
        self.paused = false;
        if let Some(since) = self.paused_since.take() {
            self.paused_total += self.now - since;
        }
    }

    fn finish(&mut self, worker: Option<WorkerId>, job: JobId, outcome: &Outcome) {
        if let Some(row) = worker.and_then(|w| self.workers.get_mut(&w)) {
            row.job = None;
            row.file = None;
            row.stage = None;
            row.progress = 0.0;
            row.done += 1;
        }
        let input_bytes = self.jobs.get(job).map_or(0, |j| j.input_bytes);
        let mut row = ResultRow {
            job,
            status: Status::Cancelled,
            reason: None,
            warnings: Vec::new(),
            size: None,
            output_bytes: None,
            quality: None,
            score: None,
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
            }
            Outcome::Cancelled => self.cancelled += 1,
        }
        if worker.is_some() && row.status != Status::Cancelled {
            self.ran += 1;
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
            self.results.push(row);
        }
    }

    /// The row's input, relative to the batch's input folder.
    /// With several outputs per input, the output's number and file name follow.
    pub fn row_name(&self, row: &ResultRow) -> String {
        let Some(j) = self.jobs.get(row.job) else {
            return String::new();
        };
        let input = display_name(&j.input, &self.root);
        let several = self.jobs.iter().take(64).any(|j| j.output_index > 0);
        if several {
            let file = j.output.file_name().unwrap_or_default().to_string_lossy();
            format!("{input}  (output {}: {file})", j.output_index + 1)
        } else {
            input
        }
    }

    /// Where the row's output goes, relative to the output folder (the full path if it is
    /// elsewhere), with the plan's note when the name had to change.
    pub fn row_output(&self, row: &ResultRow, out_dir: &Path) -> String {
        let Some(j) = self.jobs.get(row.job) else {
            return String::new();
        };
        let mut text = format!("Output: {}", display_name(&j.output, out_dir));
        if let Some(note) = &j.note {
            text.push_str(&format!(" ({note})"));
        }
        text
    }

    /// What the list says about a row: the reason, or the output's size and bytes.
    pub fn row_detail(&self, row: &ResultRow) -> String {
        match (row.status, row.size, row.output_bytes) {
            (Status::Ok, Some((w, h)), Some(out)) => {
                let input = self.jobs.get(row.job).map_or(0, |j| j.input_bytes);
                let mut detail = format!(
                    "{w}×{h}, {} ➡ {} ({})",
                    human_bytes(input),
                    human_bytes(out),
                    saving(input, out)
                );
                if let Some(q) = row.quality {
                    detail.push_str(&format!(", quality {q}"));
                }
                if let Some(score) = row.score {
                    detail.push_str(&format!(", score {score:.1}"));
                }
                if !row.warnings.is_empty() {
                    detail.push_str(" — ");
                    detail.push_str(&row.warnings.join("; "));
                }
                if let Some(note) = self.jobs.get(row.job).and_then(|j| j.note.as_ref()) {
                    detail.push_str(" — ");
                    detail.push_str(&note.to_string());
                }
                detail
            }
            (Status::Cancelled, ..) => "cancelled".to_owned(),
            _ => row.reason.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::job::{Action, Converted, ErrorKind, Failure};

    #[test]
    fn savings_read_as_a_person_would_say_them() {
        assert_eq!(saving(1000, 400), "saved 60 %");
        assert_eq!(saving(1000, 1050), "grew 5 %");
        // A file copied as it was, and changes that round to nothing: never "-0 %".
        assert_eq!(saving(1263, 1263), "same size");
        assert_eq!(saving(100_000, 99_990), "saved 0 %");
        assert_eq!(saving(100_000, 100_010), "grew 0 %");
        assert_eq!(saving(0, 0), "same size");
        assert_eq!(saving(0, 10), "grew from nothing");
    }

    #[test]
    fn the_left_out_line_names_only_what_there_is() {
        let mut s = InputSummary::default();
        assert_eq!(s.left_out(), None);
        s.ignored = 1;
        assert_eq!(s.left_out().as_deref(), Some("1 other file ignored"));
        s.ignored = 3;
        s.skipped = vec!["a.png: empty".to_owned(), "b.jpg: empty".to_owned()];
        assert_eq!(
            s.left_out().as_deref(),
            Some("2 will be skipped, 3 other files ignored")
        );
        let unreadable = InputSummary {
            warnings: vec!["/in/locked: permission denied".to_owned()],
            ..InputSummary::default()
        };
        assert_eq!(
            unreadable.left_out().as_deref(),
            Some("1 could not be read")
        );
    }

    fn jobs(n: usize) -> Arc<[Job]> {
        (0..n)
            .map(|i| Job {
                output_index: 0,
                input: PathBuf::from(format!("/in/sub/{i}.png")),
                output: PathBuf::from(format!("/out/sub/{i}.jpg")),
                format: Format::Jpeg,
                input_bytes: 1000,
                action: Action::Convert,
                note: None,
                replace: false,
                journal: None,
            })
            .collect()
    }

    fn ok() -> Outcome {
        Outcome::Ok(Converted {
            output_bytes: 400,
            quality: None,
            score: None,
            width: 30,
            height: 20,
            warnings: vec![],
        })
    }

    /// Ends `job` as converted, with no worker (as a plan's skip does).
    fn finish(v: &mut BatchView, job: JobId) {
        v.apply(
            &Event::Finished {
                worker: None,
                job,
                outcome: ok(),
                millis: 1,
            },
            0.1,
        );
    }

    /// Once a job has finished, a worker's bar gives each stage the share of time the batch's
    /// jobs spent in it: an encode that takes most of the time takes most of the bar.
    #[test]
    fn worker_bars_weigh_stages_by_the_time_they_take() {
        let mut v = BatchView::new(jobs(2), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        let stage = |job, stage, done| Event::Stage {
            worker: 1,
            job,
            stage,
            done,
        };
        v.apply(&Event::Started { worker: 1, job: 0 }, 0.0);
        for (event, at) in [
            (stage(0, Stage::Decode, 0.0), 0.0),
            (stage(0, Stage::Resize, 0.0), 0.1),
            (stage(0, Stage::Encode, 0.0), 0.2),
            (stage(0, Stage::Encode, 0.5), 0.5),
        ] {
            v.apply(&event, at);
        }
        // Nothing learned yet: a quarter a stage.
        assert!((v.workers[&1].progress - 0.625).abs() < 1e-6);
        v.apply(&stage(0, Stage::Write, 0.0), 0.9);
        v.apply(
            &Event::Finished {
                worker: Some(1),
                job: 0,
                outcome: ok(),
                millis: 1000,
            },
            1.0,
        );
        v.apply(&Event::Started { worker: 1, job: 1 }, 1.0);
        v.apply(&stage(1, Stage::Decode, 0.0), 1.0);
        assert!(v.workers[&1].progress.abs() < 1e-6);
        v.apply(&stage(1, Stage::Encode, 0.0), 1.2);
        assert!((v.workers[&1].progress - 0.2).abs() < 1e-6);
        // Job 0 was half-way through its encode, by libwebp's word, half a second into its
        // second: so is job 1's bar when its encode says the same.
        v.apply(&stage(1, Stage::Encode, 0.5), 1.5);
        assert!((v.workers[&1].progress - 0.5).abs() < 1e-6);
        v.apply(&stage(1, Stage::Write, 0.0), 1.9);
        assert!((v.workers[&1].progress - 0.9).abs() < 1e-6);
    }

    #[test]
    fn rows_follow_workers_and_results_follow_jobs() {
        let mut v = BatchView::new(jobs(3), Path::new("/in"), 2);
        v.apply(
            &Event::BatchStarted {
                total: 3,
                workers: 2,
            },
            0.0,
        );
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        v.apply(&Event::WorkerStarted { worker: 2 }, 0.0);
        v.apply(&Event::Started { worker: 1, job: 0 }, 0.1);
        v.apply(
            &Event::Stage {
                worker: 1,
                job: 0,
                stage: Stage::Encode,
                done: 0.0,
            },
            0.2,
        );
        let row = &v.workers[&1];
        assert_eq!(row.file.as_deref(), Some("sub/0.png"));
        assert_eq!(row.stage, Some(Stage::Encode));
        assert!((row.progress - 0.5).abs() < 1e-6);
        // Through the encode, the bar moves through the encode's quarter.
        v.apply(
            &Event::Stage {
                worker: 1,
                job: 0,
                stage: Stage::Encode,
                done: 0.6,
            },
            0.3,
        );
        assert!((v.workers[&1].progress - 0.65).abs() < 1e-6);
        v.apply(
            &Event::Finished {
                worker: Some(1),
                job: 0,
                outcome: ok(),
                millis: 5,
            },
            0.3,
        );
        v.apply(
            &Event::Finished {
                worker: Some(2),
                job: 1,
                outcome: Outcome::Failed(Failure {
                    kind: ErrorKind::Truncated,
                    reason: "truncated JPEG data".into(),
                }),
                millis: 5,
            },
            0.4,
        );
        assert_eq!(v.workers[&1].done, 1);
        assert_eq!(v.workers[&1].file, None);
        assert_eq!((v.ok, v.failed, v.ended()), (1, 1, 2));
        assert_eq!(v.filtered_len(ResultFilter::Failed), 1);
        let failed = v.filtered_row(ResultFilter::Failed, 0).expect("row");
        assert_eq!(v.row_detail(failed), "truncated JPEG data");
        assert_eq!(v.row_name(failed), "sub/1.png");
        let ok_row = v.filtered_row(ResultFilter::All, 0).expect("row");
        assert_eq!(v.row_detail(ok_row), "30×20, 1000 B ➡ 400 B (saved 60 %)");
        assert_eq!(v.failed_jobs()[0].input, PathBuf::from("/in/sub/1.png"));
        v.apply(&Event::WorkerRetiring { worker: 2 }, 0.5);
        assert!(v.workers[&2].retiring);
        v.apply(&Event::WorkerRetired { worker: 2 }, 0.6);
        assert!(!v.workers.contains_key(&2));
    }

    #[test]
    fn paused_time_is_excluded_from_rate_and_eta() {
        let mut v = BatchView::new(jobs(10), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        for i in 0..4 {
            v.apply(
                &Event::Finished {
                    worker: Some(1),
                    job: i,
                    outcome: ok(),
                    millis: 1,
                },
                1.0,
            );
        }
        v.apply(&Event::Paused, 2.0);
        v.tick(10.0);
        assert!(
            (v.active_seconds() - 2.0).abs() < 1e-9,
            "paused time excluded"
        );
        v.apply(&Event::Resumed, 10.0);
        v.tick(12.0);
        assert!((v.active_seconds() - 4.0).abs() < 1e-9);
        assert!((v.images_per_second() - 1.0).abs() < 1e-9);
        assert!((v.eta_seconds().expect("eta") - 6.0).abs() < 1e-9);
        let (mb_in, mb_out) = v.megabytes_per_second();
        assert!((mb_in - 0.001).abs() < 1e-9 && (mb_out - 0.0004).abs() < 1e-9);
    }

    #[test]
    fn chart_samples_throughput_and_marks_worker_changes() {
        let mut v = BatchView::new(jobs(100), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        let mut job = 0;
        // One image every 0.1 s for 2 s, then two every 0.1 s after going to 2 workers.
        for step in 1..=40 {
            let t = step as f64 * 0.1;
            if step == 21 {
                v.apply(&Event::WorkersChanged { target: 2 }, t);
            }
            let per_step = if step > 20 { 2 } else { 1 };
            for _ in 0..per_step {
                v.apply(
                    &Event::Finished {
                        worker: Some(1),
                        job,
                        outcome: ok(),
                        millis: 1,
                    },
                    t,
                );
                job += 1;
            }
        }
        v.tick(4.0);
        assert_eq!(v.markers.len(), 2);
        assert!((v.markers[1].t - 2.1).abs() < 1e-9);
        assert_eq!(v.markers[1].workers, 2);
        let early = v
            .samples
            .iter()
            .find(|s| (s.t - 2.0).abs() < 1e-9)
            .expect("sample at 2 s");
        let late = v.samples.last().expect("samples");
        assert!((early.rate - 10.0).abs() < 1.0, "{early:?}");
        assert!((late.rate - 20.0).abs() < 1.5, "{late:?}");
    }

    #[test]
    fn the_title_says_where_the_batch_stands() {
        assert_eq!(window_title(None, None, None), "Conveyor");
        assert_eq!(
            window_title(Some("trip"), None, None),
            "Conveyor — trip — scanning…"
        );
        let summary = InputSummary {
            images: 3,
            ..InputSummary::default()
        };
        assert_eq!(
            window_title(Some("trip"), Some(&summary), None),
            "Conveyor — trip — 3 images"
        );
        let mut v = BatchView::new(jobs(3), Path::new("/in"), 1);
        finish(&mut v, 0);
        assert_eq!(
            window_title(Some("trip"), Some(&summary), Some(&v)),
            "Conveyor — trip — 1 of 3 (33%)"
        );
        finish(&mut v, 1);
        finish(&mut v, 2);
        v.apply(&Event::BatchFinished { cancelled: false }, 0.2);
        assert_eq!(
            window_title(Some("trip"), Some(&summary), Some(&v)),
            "Conveyor — trip — finished: 3 converted"
        );
    }

    #[test]
    fn names_sort_as_people_read_them() {
        let mut names = vec![
            "img_10.jpg",
            "IMG_2.jpg",
            "img_1.jpg",
            "img_02b.jpg",
            "a/img_9.png",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a/img_9.png",
                "img_1.jpg",
                "IMG_2.jpg",
                "img_02b.jpg",
                "img_10.jpg"
            ]
        );
        let mut v =
            BatchView::new(jobs(12), Path::new("/in"), 1).with_ranks(natural_ranks(&jobs(12)));
        for job in (0..12).rev() {
            finish(&mut v, job);
        }
        v.apply(&Event::BatchFinished { cancelled: false }, 0.2);
        let listed: Vec<String> = v.results.iter().map(|r| v.row_name(r)).collect();
        assert_eq!(listed[..3], ["sub/0.png", "sub/1.png", "sub/2.png"]);
        assert_eq!(listed[11], "sub/11.png", "11 after 2, not after 1");
        // Each job still finds its own row after the re-ordering.
        for job in 0..12 {
            assert_eq!(v.row_of_job(job).map(|r| r.job), Some(job));
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_572_864), "1.5 MiB");
        assert_eq!(clock(65.0), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
