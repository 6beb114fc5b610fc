//! Per-file results and the batch summary, written as JSON or CSV.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::event::{Event, WorkerId};
use super::job::{Action, ErrorKind, Job, Outcome, Status};
use super::scan::ScanWarning;

mod merge;
mod stream;

pub use merge::{MergeError, Merged, Source, merge};
pub use stream::{ReportStream, is_csv};

/// One input's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The source path (lossy text for non-UTF-8 names).
    pub input: String,
    /// The output path.
    pub output: String,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped, for people.
    pub error: Option<String>,
    /// What kind of failure, for scripts (failures only).
    pub error_kind: Option<ErrorKind>,
    /// Source bytes.
    pub input_bytes: u64,
    /// Output bytes, when written.
    pub output_bytes: Option<u64>,
    /// Output width, when written.
    pub width: Option<u32>,
    /// Output height, when written.
    pub height: Option<u32>,
    /// The quality the encoder used (lossy outputs).
    pub quality: Option<u8>,
    /// The output's SSIMULACRA2 score, when a visual target computed it.
    pub score: Option<f64>,
    /// Worker time in milliseconds.
    pub millis: u64,
    /// The worker that ran it.
    pub worker: Option<WorkerId>,
    /// How the output name was chosen, when not the obvious way.
    pub note: Option<String>,
    /// Non-fatal remarks.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Which of the recipe's outputs this record is (0 for a recipe with one output).
    #[serde(default)]
    pub output_index: usize,
    /// That output's name in the recipe (its sub-folder, naming template and extension), when
    /// the recipe has several.
    pub output_name: Option<String>,
}

/// Totals for a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Records in this report: one per input and output.
    pub total: usize,
    /// Distinct inputs in this report.
    pub inputs: usize,
    /// The recipe's outputs by index, by name, when it has several (set by the front end).
    pub outputs: Vec<String>,
    /// What each of the recipe's outputs does, by index: its resize, its edits in order, its
    /// format (`recipe check`'s line; set by the front end).
    pub recipes: Vec<String>,
    /// Converted.
    pub ok: usize,
    /// Skipped.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Cancelled.
    pub cancelled: usize,
    /// Planned only (dry run).
    pub planned: usize,
    /// Bytes read from converted inputs.
    pub input_bytes: u64,
    /// Bytes written.
    pub output_bytes: u64,
    /// Bytes saved by the converted files together (input bytes less output bytes; negative
    /// when the outputs are larger).
    pub saved_bytes: i64,
    /// Wall time of the batch.
    pub elapsed_seconds: f64,
    /// Converted images per second of wall time.
    pub images_per_second: f64,
    /// Workers asked for at the end.
    pub workers: usize,
    /// The shard, if one.
    pub shard: Option<String>,
    /// Image-named inputs in the whole batch, every shard's together (what `report merge`
    /// checks the shards add up to).
    pub batch_inputs: Option<usize>,
    /// Things the scan could not read.
    pub scan_warnings: Vec<String>,
}

impl Summary {
    /// Fills the bytes saved and the images per second from the counts.
    pub fn fill_rates(&mut self) {
        self.saved_bytes = i64::try_from(self.input_bytes).unwrap_or(i64::MAX)
            - i64::try_from(self.output_bytes).unwrap_or(i64::MAX);
        self.images_per_second = if self.elapsed_seconds > 0.0 {
            self.ok as f64 / self.elapsed_seconds
        } else {
            0.0
        };
    }

    /// The summary with the scan's warnings, for people.
    pub fn with_scan_warnings(mut self, warnings: &[ScanWarning]) -> Summary {
        self.scan_warnings = warnings
            .iter()
            .map(|w| format!("{}: {}", w.path.display(), w.reason))
            .collect();
        self
    }
}

/// A whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Totals.
    pub summary: Summary,
    /// One record per input, in plan order.
    pub files: Vec<FileRecord>,
}

fn base_record(job: &Job, status: Status) -> FileRecord {
    FileRecord {
        input: job.input.to_string_lossy().into_owned(),
        output: job.output.to_string_lossy().into_owned(),
        status,
        error: None,
        error_kind: None,
        input_bytes: job.input_bytes,
        output_bytes: None,
        width: None,
        height: None,
        quality: None,
        score: None,
        millis: 0,
        worker: None,
        note: job.note.as_ref().map(ToString::to_string),
        warnings: Vec::new(),
        output_index: job.output_index,
        output_name: None,
    }
}

/// A dry run's record of `j`: planned, or skipped as the plan decided.
fn planned_record(j: &Job) -> FileRecord {
    match &j.action {
        // Known without opening it: an empty file will fail, as the run would say.
        Action::Convert if j.input_bytes == 0 => FileRecord {
            error: Some(crate::job::EMPTY_FILE.to_owned()),
            error_kind: Some(ErrorKind::Empty),
            ..base_record(j, Status::Failed)
        },
        Action::Convert => base_record(j, Status::Planned),
        Action::Skip(reason) => FileRecord {
            error: Some(reason.to_string()),
            ..base_record(j, Status::Skipped)
        },
    }
}

/// The record of `job`, ended with `outcome` on `worker` in `millis` (what a report lists
/// for it; `conveyor watch` appends each as a line).
pub fn record_of(
    job: &Job,
    outcome: &Outcome,
    worker: Option<WorkerId>,
    millis: u64,
) -> FileRecord {
    let mut r = base_record(job, outcome.status());
    r.worker = worker;
    r.millis = millis;
    match outcome {
        Outcome::Ok(done) => {
            r.output_bytes = Some(done.output_bytes);
            r.width = Some(done.width);
            r.height = Some(done.height);
            r.quality = done.quality;
            r.score = done.score.map(|s| (s * 100.0).round() / 100.0);
            r.warnings.clone_from(&done.warnings);
        }
        Outcome::Skipped(reason) => r.error = Some(reason.clone()),
        Outcome::Failed(failure) => {
            r.error = Some(failure.reason.clone());
            r.error_kind = Some(failure.kind);
        }
        Outcome::Cancelled => {}
    }
    r
}

/// How one job ended, as recorded from its `Finished` event.
#[derive(Debug, Clone, PartialEq)]
struct Ended {
    outcome: Outcome,
    worker: Option<WorkerId>,
    millis: u64,
}

/// Builds a report from a batch's `Finished` events. Recording is cheap (no text is made until
/// the report is), so a front end can feed it every event of a 100,000-file batch.
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    ended: Vec<Option<Ended>>,
}

impl ReportBuilder {
    /// A builder for `jobs`, none ended yet.
    pub fn new(jobs: &[Job]) -> ReportBuilder {
        ReportBuilder {
            ended: vec![None; jobs.len()],
        }
    }

    /// Takes note of an event; only `Finished` matters. Returns true if it ended a job.
    pub fn observe(&mut self, event: &Event) -> bool {
        let Event::Finished {
            worker,
            job,
            outcome,
            millis,
        } = event
        else {
            return false;
        };
        let Some(slot) = self.ended.get_mut(*job) else {
            return false;
        };
        *slot = Some(Ended {
            outcome: outcome.clone(),
            worker: *worker,
            millis: *millis,
        });
        true
    }

    /// Makes the report. Jobs with no outcome (impossible unless the pool broke its promise)
    /// are reported as cancelled rather than dropped.
    pub fn report(&self, jobs: &[Job], summary: Summary) -> Report {
        let files = self
            .ended
            .iter()
            .zip(jobs)
            .map(|(ended, job)| match ended {
                Some(e) => record_of(job, &e.outcome, e.worker, e.millis),
                None => base_record(job, Status::Cancelled),
            })
            .collect();
        Report::new(files, summary)
    }
}

impl Report {
    /// A dry run's report: every job planned (or skipped, as the plan decided).
    pub fn planned(jobs: &[Job], summary: Summary) -> Report {
        let files = jobs.iter().map(planned_record).collect();
        Report::new(files, summary)
    }

    /// Fills the counts of `summary` from `files`.
    pub fn new(mut files: Vec<FileRecord>, mut summary: Summary) -> Report {
        summary.total = files.len();
        summary.inputs = files
            .iter()
            .map(|f| f.input.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len();
        if summary.outputs.len() > 1 {
            for f in &mut files {
                f.output_name = summary.outputs.get(f.output_index).cloned();
            }
        }
        let count = |s: Status| files.iter().filter(|f| f.status == s).count();
        summary.ok = count(Status::Ok);
        summary.skipped = count(Status::Skipped);
        summary.failed = count(Status::Failed);
        summary.cancelled = count(Status::Cancelled);
        summary.planned = count(Status::Planned);
        let ok = files.iter().filter(|f| f.status == Status::Ok);
        // An input with several outputs is counted once.
        let mut seen = std::collections::HashSet::new();
        summary.input_bytes = ok
            .clone()
            .filter(|f| seen.insert(f.input.as_str()))
            .map(|f| f.input_bytes)
            .sum();
        summary.output_bytes = ok.filter_map(|f| f.output_bytes).sum();
        summary.fill_rates();
        Report { summary, files }
    }

    /// Adds scan warnings to the summary.
    pub fn with_scan_warnings(mut self, warnings: &[ScanWarning]) -> Report {
        self.summary = self.summary.with_scan_warnings(warnings);
        self
    }

    /// The report as pretty JSON: `{"summary": {...}, "files": [...]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The per-file records as CSV with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        for f in &self.files {
            out.push_str(&csv_row(f));
        }
        out
    }

    /// The report as JSON or CSV, chosen by `path`'s extension (`.csv` → CSV, anything else
    /// JSON).
    pub fn render(&self, path: &Path) -> String {
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv { self.to_csv() } else { self.to_json() }
    }

    /// Writes JSON or CSV, chosen by the file's extension (`.csv` → CSV, anything else JSON),
    /// durably and atomically: a symlink or a partial file at `path` is replaced, never
    /// followed or left half-written.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = self.render(path);
        // Like an output: a random temporary name beside it, synced, renamed into place.
        super::durable::write(path, text.as_bytes())
    }
}

/// The CSV report's header line.
pub const CSV_HEADER: &str = "input,output,status,error,error_kind,input_bytes,output_bytes,width,height,quality,score,millis,worker,note,warnings,output_index,output_name\n";

/// One record as a CSV line (with its line end).
pub fn csv_row(f: &FileRecord) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }
    let cells = [
        field(&f.input),
        field(&f.output),
        f.status.name().to_owned(),
        field(f.error.as_deref().unwrap_or("")),
        f.error_kind
            .map(ErrorKind::name)
            .unwrap_or_default()
            .to_owned(),
        f.input_bytes.to_string(),
        opt(f.output_bytes),
        opt(f.width),
        opt(f.height),
        opt(f.quality),
        opt(f.score),
        f.millis.to_string(),
        opt(f.worker),
        field(f.note.as_deref().unwrap_or("")),
        field(&f.warnings.join("; ")),
        f.output_index.to_string(),
        field(f.output_name.as_deref().unwrap_or("")),
    ];
    let mut line = cells.join(",");
    line.push('\n');
    line
}
