//! One unit of work and how it ends: [`Job`] and its [`Action`], the pipeline [`Stage`]s it
//! passes, its [`Outcome`] and report [`Status`], the typed [`JobError`] with its
//! [`ErrorKind`], the [`Flow`] a running job hears back, and the [`Processor`] that runs one.
//! Every layer (plan, pool, pipeline, report, front ends) shares these types.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::format::Format;
use super::journal::{self, Entry};

/// A job's index in the plan.
pub type JobId = usize;

/// What the pool does with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Convert it.
    Convert,
    /// Report it as skipped for this reason; never touch it. (Boxed: few jobs are skipped,
    /// and a job's size counts a million times in a batch of a million.)
    Skip(Box<SkipReason>),
}

impl Action {
    /// Skip for `reason`.
    pub fn skip(reason: SkipReason) -> Action {
        Action::Skip(Box::new(reason))
    }
}

/// Why the plan skips a job. Its text (`Display`) is what reports and the window say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The journal vouches for the output: made from this input as it is now, with this
    /// recipe, and unchanged since.
    AlreadyConverted,
    /// A file Conveyor did not make has the output's name (`--on-exist skip`).
    InTheWay,
    /// A file Conveyor did not make has the output's name inside an input folder, where
    /// Conveyor never replaces one whatever the policy.
    InTheWayInInputFolder,
    /// The output's path is one of the batch's originals.
    WouldReplaceOriginal,
    /// The scan found the input unusable (not a regular file, unreadable …): why.
    Input(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::AlreadyConverted => f.write_str(
                "already converted: this output was made from this file, unchanged since, with \
                 this recipe",
            ),
            SkipReason::InTheWay => f.write_str(
                "a file not made by Conveyor is in the way (--on-exist overwrite replaces it, \
                 rename writes beside it)",
            ),
            SkipReason::InTheWayInInputFolder => f.write_str(
                "a file not made by Conveyor is in the way inside an input folder; Conveyor \
                 never replaces a file there",
            ),
            SkipReason::WouldReplaceOriginal => f.write_str(
                "the output would replace an original; choose another output folder or name",
            ),
            SkipReason::Input(why) => f.write_str(why),
        }
    }
}

/// What the plan says about how a job's output was named or what it replaces. Its text
/// (`Display`) is what reports and the window say; output names are as shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Named as in an earlier run (the journal keeps names with their inputs).
    EarlierName {
        /// The name kept.
        name: String,
    },
    /// Renamed because its natural name is another input's output.
    RenamedForOther {
        /// The name written.
        to: String,
        /// The natural name.
        natural: String,
        /// The input whose output has the natural name.
        holder: String,
    },
    /// Renamed because a file Conveyor did not make has the natural name (`--on-exist rename`).
    RenamedBesideStranger {
        /// The name written.
        to: String,
        /// The natural name.
        natural: String,
    },
    /// An output of Conveyor's own that no longer matches, redone in place: the journal's
    /// reason.
    Redone(String),
    /// Replaces a file Conveyor did not make (`--on-exist overwrite`).
    ReplacesStranger {
        /// The file replaced.
        name: String,
    },
}

impl Note {
    /// Whether the output was written under another name than its natural one because of a
    /// collision.
    pub fn is_rename(&self) -> bool {
        matches!(
            self,
            Note::RenamedForOther { .. } | Note::RenamedBesideStranger { .. }
        )
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::EarlierName { name } => write!(
                f,
                "named {name} as in an earlier run (the journal keeps names with their inputs)"
            ),
            Note::RenamedForOther {
                to,
                natural,
                holder,
            } => write!(
                f,
                "renamed to {to} because {natural} is also the output of {holder}"
            ),
            Note::RenamedBesideStranger { to, natural } => write!(
                f,
                "renamed to {to} because {natural} exists and was not made by Conveyor"
            ),
            Note::Redone(why) => write!(f, "redone in place: {why}"),
            Note::ReplacesStranger { name } => {
                write!(f, "replaces {name}, which Conveyor did not make")
            }
        }
    }
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
    /// Anything the report should say about how the output was named (boxed: few jobs have
    /// one, and a batch may hold a million).
    pub note: Option<Box<Note>>,
    /// The file at `output` is a stale output of Conveyor's own (see
    /// [`crate::journal`]): replace it whatever the on-exist policy says.
    pub replace: bool,
    /// What the journal records once the output is durable ([`Pending::entry`]; its output
    /// size and time are filled in then); `None` records nothing.
    pub journal: Option<Pending>,
}

/// What the journal will record for a job once its output is durable, kept small (a batch
/// may hold a million): the parts every job of an output shares are shared, the input's real
/// path is its folder's (shared by the folder's jobs) and its name, and the output's key comes
/// from the job's output path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The input's real folder, which the job's input name completes; or with `whole`, the
    /// input's whole real path (a link, which leads elsewhere; an object, whose job is given a
    /// local copy).
    pub real: Arc<Path>,
    /// `real` is the whole path.
    pub whole: bool,
    /// The input's modification time (ns since 1970) when it was scanned; `i64::MIN` for
    /// unknown.
    in_mtime: i64,
    /// What the output's jobs share.
    pub common: Arc<PendingCommon>,
}

/// What every job of one output (and format) records alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommon {
    /// The output folder (or prefix) keys are relative to.
    pub out_dir: PathBuf,
    /// The recipe's fingerprint.
    pub recipe: String,
    /// The naming template.
    pub name: String,
}

impl Pending {
    /// A pending entry; `in_mtime` as [`journal::nanos`] gives it.
    pub fn new(
        real: Arc<Path>,
        whole: bool,
        in_mtime: Option<i64>,
        common: Arc<PendingCommon>,
    ) -> Pending {
        Pending {
            real,
            whole,
            in_mtime: in_mtime.unwrap_or(i64::MIN),
            common,
        }
    }

    /// The same entry with the input's whole real path, for the job of `input` (an object)
    /// before it is pointed at a local copy, whose name would no longer complete the folder.
    pub fn for_path(&self, input: &Path) -> Pending {
        let real = if self.whole {
            Arc::clone(&self.real)
        } else {
            match input.file_name() {
                Some(name) => Arc::from(self.real.join(name).as_path()),
                None => Arc::from(input),
            }
        };
        Pending {
            real,
            whole: true,
            ..self.clone()
        }
    }

    /// The input's modification time (ns since 1970) when it was scanned.
    pub fn in_mtime(&self) -> Option<i64> {
        (self.in_mtime != i64::MIN).then_some(self.in_mtime)
    }

    /// The entry for `job` (output size and time still zero), or `None` when its paths cannot
    /// be written as journal text.
    pub fn entry(&self, job: &Job) -> Option<Entry> {
        let input = if self.whole {
            journal::path_text(&self.real)?
        } else {
            journal::path_text(&self.real.join(job.input.file_name()?))?
        };
        let output = journal::key(job.output.strip_prefix(&self.common.out_dir).ok()?)?;
        Some(Entry {
            output,
            input,
            in_bytes: job.input_bytes,
            in_mtime: self.in_mtime(),
            recipe: self.common.recipe.clone(),
            name: self.common.name.clone(),
            slot: job.output_index,
            out_bytes: 0,
            out_mtime: None,
            out_etag: None,
            withdrawn: false,
        })
    }
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
    /// An edit of the recipe cannot be made on this picture (a crop box outside it).
    Edit,
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
            ErrorKind::Edit => "edit",
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

/// An I/O error in words for people: what happened, without the system's error number
/// ("permission denied", not "Permission denied (os error 13)").
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::StorageFull => "the disk is full".into(),
        Io::QuotaExceeded => "the disk quota is used up".into(),
        Io::ReadOnlyFilesystem => "it is on a read-only disk".into(),
        Io::PermissionDenied => "permission denied".into(),
        Io::NotFound => "it does not exist".into(),
        Io::NotADirectory => "part of its path is a file, not a folder".into(),
        Io::IsADirectory => "it is a folder".into(),
        Io::InvalidFilename => "its name is too long or not allowed".into(),
        _ => {
            let text = e.to_string();
            match text.rfind(" (os error ") {
                Some(i) if text.ends_with(')') => text[..i].to_lowercase(),
                _ => text,
            }
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an empty file fails, in a run and in a plan.
pub const EMPTY_FILE: &str = "empty file (0 bytes): not an image";

/// Why a file could not be converted: a kind for scripts and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The sentence shown to people.
    pub reason: String,
    /// Not this file's fault but the batch's: the output disk is full or cannot be written,
    /// object storage refused the batch. Every file after it would fail the same way, so the
    /// pool stops (or, for the window, pauses) at the first one; see [`crate::pool::OnSystemic`].
    pub systemic: bool,
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
            systemic: false,
        })
    }

    /// A failure of the whole batch, met on this file (see [`Failure::systemic`]).
    pub fn systemic(kind: ErrorKind, reason: impl Into<String>) -> JobError {
        JobError::Failed(Failure {
            kind,
            reason: reason.into(),
            systemic: true,
        })
    }

    /// An object storage failure as a file's failure.
    pub fn storage(e: super::remote::StoreError) -> JobError {
        let kind = if e.fatal {
            ErrorKind::StorageAccess
        } else {
            ErrorKind::Storage
        };
        if e.fatal {
            JobError::systemic(kind, e.reason)
        } else {
            JobError::failed(kind, e.reason)
        }
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
mod size_tests {
    /// A batch may hold a million jobs: each byte here is a megabyte there.
    #[test]
    fn a_job_stays_small() {
        let size = std::mem::size_of::<super::Job>();
        assert!(size <= 128, "a job takes {size} bytes");
    }
}
