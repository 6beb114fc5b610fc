//! One unit of work and how it ends: [`Job`] and its [`Action`], the pipeline [`Stage`]s it
//! passes, its [`Outcome`] and report [`Status`], the typed [`JobError`] with its
//! [`ErrorKind`], the [`Flow`] a running job hears back, and the [`Processor`] that runs one.
//! Every layer (plan, pool, pipeline, report, front ends) shares these types.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::format::Format;
use super::journal::Entry;

/// A job's index in the plan.
pub type JobId = usize;

/// What the pool does with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Convert it.
    Convert,
    /// Report it as skipped with this reason; never touch it.
    Skip(String),
}

/// One input and everything decided about it before any work starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The source file (never opened for writing).
    pub input: PathBuf,
    /// Where the result goes.
    pub output: PathBuf,
    /// Which of the recipe's outputs this is (0 for a recipe with one). The jobs of one input
    /// are next to each other in a plan, in output order, and run together: one decode feeds
    /// them all.
    pub output_index: usize,
    /// The concrete output format.
    pub format: Format,
    /// Source size in bytes.
    pub input_bytes: u64,
    /// Convert or skip.
    pub action: Action,
    /// Anything the report should say about how the output was named.
    pub note: Option<String>,
    /// The file at `output` is a stale output of Conveyor's own (see
    /// [`crate::engine::journal`]): replace it whatever the on-exist policy says.
    pub replace: bool,
    /// What the journal records once the output is durable (its output size and time are
    /// filled in then); `None` records nothing.
    pub journal: Option<Entry>,
}

/// A step of the pipeline; each job passes through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading and decoding the source.
    Decode,
    /// Orienting and resizing.
    Resize,
    /// Encoding the output format.
    Encode,
    /// Writing the temporary file and renaming it into place.
    Write,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 4] = [Stage::Decode, Stage::Resize, Stage::Encode, Stage::Write];

    /// The stage's position in the pipeline, 0-based.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Fraction of the whole job done when this stage starts.
    pub fn overall(self) -> f32 {
        self.overall_at(0.0)
    }

    /// Fraction of the whole job done `done` (0..1) of the way through this stage: each stage
    /// is an equal share of the bar.
    pub fn overall_at(self, done: f32) -> f32 {
        let done = if done.is_finite() {
            done.clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.index() as f32 + done) / Stage::ALL.len() as f32
    }

    /// Lower-case name for display.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Resize => "resize",
            Stage::Encode => "encode",
            Stage::Write => "write",
        }
    }
}

/// Where a batch's converted jobs have spent their time, stage by stage, so that the bar of a
/// job in hand gives each stage its share of that time (a WebP encode most of the bar, a
/// resize little) instead of a quarter each; and, inside a stage whose codec says how far it
/// is, how the codec's word maps to time (libwebp says 40 % when three quarters of its time
/// has passed). Pure: the front end brings the clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageTimes {
    seconds: [f64; Stage::ALL.len()],
    /// Per stage and whole percent the codec reported: the summed share of the stage's time
    /// that had passed, and how many reports.
    curves: BTreeMap<(usize, u8), (f64, u32)>,
}

impl StageTimes {
    /// Counts one finished job's time (from [`StageClock::finish`]).
    pub fn add(&mut self, spent: &StageSpent) {
        for (total, &s) in self.seconds.iter_mut().zip(&spent.seconds) {
            if s.is_finite() && s > 0.0 {
                *total += s;
            }
        }
        for &(stage, done, share) in &spent.marks {
            let entry = self
                .curves
                .entry((stage.index(), percent(done)))
                .or_default();
            entry.0 += share.clamp(0.0, 1.0);
            entry.1 += 1;
        }
    }

    /// The share of a whole job done when the codec says `done` (0..1) of `stage` is: each
    /// stage weighs what it has taken so far in this batch (equal quarters until a job has
    /// finished), and within a stage `done` counts for the share of time it has meant so far.
    pub fn progress(&self, stage: Stage, done: f32) -> f32 {
        let total: f64 = self.seconds.iter().sum();
        if total <= 0.0 {
            return stage.overall_at(done);
        }
        let i = stage.index();
        let before: f64 = self.seconds[..i].iter().sum();
        ((before + self.seconds[i] * self.time_share(i, done)) / total) as f32
    }

    /// The share of stage `i`'s time that has passed when its codec says `done`: learned
    /// reports, made never to fall as `done` rises, joined by straight lines from 0 and to 1.
    fn time_share(&self, i: usize, done: f32) -> f64 {
        let p = percent(done);
        if p == 0 {
            return 0.0;
        }
        let (mut lo, mut lo_share) = (0u8, 0.0f64);
        for (&(_, q), &(sum, n)) in self.curves.range((i, 1)..=(i, p)) {
            lo = q;
            lo_share = lo_share.max(sum / f64::from(n));
        }
        let above = if p < 100 {
            self.curves.range((i, p + 1)..=(i, 100)).next()
        } else {
            None
        };
        let (hi, hi_share) =
            above.map_or((100, 1.0), |(&(_, q), &(sum, n))| (q, sum / f64::from(n)));
        let hi_share = hi_share.max(lo_share);
        if hi <= lo {
            return lo_share;
        }
        lo_share + (hi_share - lo_share) * f64::from(p - lo) / f64::from(hi - lo)
    }
}

/// A share done as a whole percent, 0..=100 (anything not a number counts as 0).
fn percent(done: f32) -> u8 {
    if done.is_finite() {
        (done.clamp(0.0, 1.0) * 100.0).round() as u8
    } else {
        0
    }
}

/// One finished job's time, from [`StageClock::finish`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageSpent {
    /// Seconds in each stage.
    pub seconds: [f64; Stage::ALL.len()],
    /// Each report from inside a stage: the stage, the share the codec said was done, and the
    /// share of the stage's time that had passed.
    pub marks: Vec<(Stage, f32, f64)>,
}

/// One job's time by stage, measured as its reports arrive (seconds on the front end's clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageClock {
    stage: Option<Stage>,
    since: f64,
    /// Reports inside the current stage: share done, seconds since the stage began.
    pending: Vec<(f32, f64)>,
    spent: StageSpent,
}

impl StageClock {
    /// A clock for a job a worker took at `now`.
    pub fn started(now: f64) -> StageClock {
        StageClock {
            since: now,
            ..StageClock::default()
        }
    }

    /// The job reported `stage`, `done` of the way through, at `now`: a new stage closes the
    /// one before.
    pub fn enter(&mut self, stage: Stage, done: f32, now: f64) {
        if self.stage != Some(stage) {
            self.close(now);
            self.stage = Some(stage);
            self.since = now;
        }
        if done > 0.0 && done.is_finite() {
            self.pending.push((done, (now - self.since).max(0.0)));
        }
    }

    fn close(&mut self, now: f64) {
        let Some(stage) = self.stage else {
            return;
        };
        let took = (now - self.since).max(0.0);
        self.spent.seconds[stage.index()] += took;
        for (done, at) in self.pending.drain(..) {
            let share = if took > 0.0 { at / took } else { 1.0 };
            self.spent.marks.push((stage, done, share));
        }
    }

    /// The job ended at `now`: its time by stage.
    pub fn finish(mut self, now: f64) -> StageSpent {
        self.close(now);
        self.spent
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A successful conversion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Converted {
    /// Bytes written.
    pub output_bytes: u64,
    /// The quality the encoder used (lossy outputs only).
    pub quality: Option<u8>,
    /// The output's SSIMULACRA2 score against the resized image, when it was computed.
    pub score: Option<f64>,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Things a user should know that did not stop the conversion.
    pub warnings: Vec<String>,
}

/// What kind of failure a file met, for scripts that group failures (the report's
/// `error_kind`). The sentence for people is kept beside it in [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file is empty.
    Empty,
    /// The content is not an image format Conveyor knows.
    NotImage,
    /// The file ends before the image does.
    Truncated,
    /// The image data is damaged.
    Corrupt,
    /// A format or variant Conveyor does not read or write.
    Unsupported,
    /// Over a size, pixel or memory limit.
    TooLarge,
    /// The disk is full.
    DiskFull,
    /// Permission denied or a read-only file system.
    Permission,
    /// Another input/output error.
    Io,
    /// The encoder refused the image.
    Encode,
    /// Another file appeared at the output path while converting.
    Conflict,
    /// The output cannot fit in `--max-size`.
    OverSize,
    /// Object storage failed to read or write it, after retries.
    Storage,
    /// Object storage refused the batch (credentials rejected or expired, no such bucket), or
    /// its inputs cannot be copied here (the temporary folder missing or full): a front end
    /// stops the batch at the first one.
    StorageAccess,
    /// A bug: the job panicked or the pool broke a promise.
    Panic,
}

impl ErrorKind {
    /// The name used in reports (`too_large`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Empty => "empty",
            ErrorKind::NotImage => "not_image",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::Permission => "permission",
            ErrorKind::Io => "io",
            ErrorKind::Encode => "encode",
            ErrorKind::Conflict => "conflict",
            ErrorKind::OverSize => "over_size",
            ErrorKind::Storage => "storage",
            ErrorKind::StorageAccess => "storage_access",
            ErrorKind::Panic => "panic",
        }
    }

    /// The kind an I/O error belongs to.
    pub fn of_io(e: &std::io::Error) -> ErrorKind {
        use std::io::ErrorKind as Io;
        match e.kind() {
            Io::StorageFull | Io::QuotaExceeded | Io::FileTooLarge => ErrorKind::DiskFull,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::Permission,
            Io::UnexpectedEof => ErrorKind::Truncated,
            _ => ErrorKind::Io,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file could not be converted: a kind for scripts and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The sentence shown to people.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Why a job did not produce an output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The file could not be converted.
    #[error("{0}")]
    Failed(Failure),
    /// The job stopped because the batch was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl JobError {
    /// A failure of `kind` with the sentence `reason`.
    pub fn failed(kind: ErrorKind, reason: impl Into<String>) -> JobError {
        JobError::Failed(Failure {
            kind,
            reason: reason.into(),
        })
    }

    /// An object storage failure as a file's failure.
    pub fn storage(e: super::remote::StoreError) -> JobError {
        let kind = if e.fatal {
            ErrorKind::StorageAccess
        } else {
            ErrorKind::Storage
        };
        JobError::failed(kind, e.reason)
    }
}

/// The report status of a file. Every input ends as exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Converted.
    Ok,
    /// Not converted on purpose.
    Skipped,
    /// Could not be converted.
    Failed,
    /// Abandoned because the batch was cancelled.
    Cancelled,
    /// Would be converted (dry run).
    Planned,
}

impl Status {
    /// Lower-case name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Planned => "planned",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one job ended. Every job ends exactly once.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Converted and written.
    Ok(Converted),
    /// Not converted on purpose (the output exists, not a regular file, …).
    Skipped(String),
    /// Could not be converted.
    Failed(Failure),
    /// Abandoned because the batch was cancelled.
    Cancelled,
}

impl Outcome {
    /// The report status.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Ok(_) => Status::Ok,
            Outcome::Skipped(_) => Status::Skipped,
            Outcome::Failed(_) => Status::Failed,
            Outcome::Cancelled => Status::Cancelled,
        }
    }
}

/// What a running job hears back from its progress report: go on, or stop at this boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// The batch was cancelled: abandon the job now.
    Cancel,
}

/// The work done for one job, with no threads or channels of its own.
pub trait Processor: Send + Sync + 'static {
    /// Runs one job. `progress` is called with 0 as each stage starts, with the share of the
    /// stage done (0..1) where the codec says how far it is (a lossy WebP encode), and at other
    /// points where the job may stop; it returns whether to go on.
    fn process(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Converted, JobError>;

    /// Runs the jobs of one input (its outputs, in order) together, so work they share (the
    /// decode) is done once. `progress` and `done` take the job's position in `jobs`; `done`
    /// must be called exactly once per job, in order. By default each job runs on its own.
    fn process_all(
        &self,
        jobs: &[&Job],
        progress: &mut dyn FnMut(usize, Stage, f32) -> Flow,
        done: &mut dyn FnMut(usize, Result<Converted, JobError>),
    ) {
        for (i, job) in jobs.iter().enumerate() {
            let result = self.process(job, &mut |stage, at| progress(i, stage, at));
            done(i, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_bar_gives_each_stage_the_share_of_time_it_has_taken() {
        let mut times = StageTimes::default();
        // Nothing learned yet: a quarter each.
        assert_eq!(times.progress(Stage::Encode, 0.5), 0.625);
        // A job that decoded 0.1 s, resized 0.1 s, encoded 0.7 s and wrote 0.1 s.
        let mut clock = StageClock::started(10.0);
        for (stage, at) in [
            (Stage::Decode, 10.0),
            (Stage::Decode, 10.05),
            (Stage::Resize, 10.1),
            (Stage::Encode, 10.2),
            (Stage::Write, 10.9),
        ] {
            clock.enter(stage, 0.0, at);
        }
        let spent = clock.finish(11.0);
        for (got, want) in spent.seconds.iter().zip([0.1, 0.1, 0.7, 0.1]) {
            assert!((got - want).abs() < 1e-9, "{spent:?}");
        }
        times.add(&spent);
        let at = |stage, done| times.progress(stage, done);
        assert!(at(Stage::Decode, 0.0).abs() < 1e-6);
        assert!((at(Stage::Encode, 0.0) - 0.2).abs() < 1e-6);
        // No word from inside the encode yet: its share counts for as much time.
        assert!((at(Stage::Encode, 0.5) - 0.55).abs() < 1e-6);
        assert!((at(Stage::Write, 0.0) - 0.9).abs() < 1e-6);
        assert!((at(Stage::Write, 1.0) - 1.0).abs() < 1e-6);
        // Nonsense in, a bar still in 0..1.
        assert!((0.0..=1.0).contains(&at(Stage::Encode, f32::NAN)));
        assert!((0.0..=1.0).contains(&at(Stage::Encode, 7.0)));
    }

    /// libwebp's percents are task budgets, not time: 20 % after its analysis (a tenth of the
    /// time here), 40 % at the end of its main pass (80 %), then nothing until it is done.
    /// Once an encode like that has finished, the bar moves with the time instead.
    #[test]
    fn a_codecs_word_counts_for_the_time_it_has_meant() {
        let mut times = StageTimes::default();
        let mut clock = StageClock::started(0.0);
        clock.enter(Stage::Encode, 0.0, 0.0);
        for (done, at) in [
            (0.1, 0.05),
            (0.2, 0.1),
            (0.3, 0.45),
            (0.4, 0.8),
            (0.97, 1.0),
        ] {
            clock.enter(Stage::Encode, done, at);
        }
        times.add(&clock.finish(1.0));
        // All of the job's time went to the encode, so its bar is the encode's time share.
        let at = |done| times.progress(Stage::Encode, done);
        assert!(at(0.0).abs() < 1e-6);
        assert!((at(0.2) - 0.1).abs() < 1e-6, "{}", at(0.2));
        assert!(
            (at(0.35) - 0.625).abs() < 1e-6,
            "between reports: {}",
            at(0.35)
        );
        assert!((at(0.4) - 0.8).abs() < 1e-6);
        assert!((at(0.97) - 1.0).abs() < 1e-6);
        // Never backwards as the codec's word rises, whatever was learned.
        let mut odd = StageClock::started(0.0);
        odd.enter(Stage::Encode, 0.0, 0.0);
        odd.enter(Stage::Encode, 0.5, 0.9);
        odd.enter(Stage::Encode, 0.6, 0.2);
        times.add(&odd.finish(1.0));
        let steps: Vec<f32> = (0..=100)
            .map(|p| times.progress(Stage::Encode, p as f32 / 100.0))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    }
}
