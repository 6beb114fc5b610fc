//! A report that is not held in memory: each record is written to a spool file (unnamed, so
//! nothing is ever left behind) as its job finishes, with where it starts; at the end the
//! report is written in plan order from the spool, records of jobs that never finished made
//! then. The summary is counted from one status per job. A million records cost 17 bytes each
//! in memory (the status and the record's place) instead of a few hundred.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{FileRecord, Summary, base_record, csv_row, planned_record, record_of};
use crate::event::Event;
use crate::job::{ErrorKind, Job, JobId, Outcome, Status};

/// Records written as jobs finish; see the module.
pub struct ReportStream {
    /// The recipe's outputs by name, when it has several (each record says its own).
    outputs: Vec<String>,
    /// Where records go, if a report file is wanted.
    spool: Option<Spool>,
    /// How each job ended, once it has.
    ended: Vec<Option<Status>>,
    /// Bytes written by the jobs that ended well.
    output_bytes: u64,
    /// Failed jobs: why, and the kind of failure.
    failures: Vec<(JobId, String, ErrorKind)>,
    /// What a job that never finished is: cancelled (a run) or what the plan says (a dry run).
    dry_run: bool,
}

struct Spool {
    file: BufWriter<File>,
    /// Each job's record: where it starts and how long it is (length 0: none yet).
    at: Vec<(u64, u32)>,
    written: u64,
    csv: bool,
}

/// Whether a report at `path` is CSV (else JSON).
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

impl ReportStream {
    /// A report of `jobs` with records spooled for a report file at `report` (its format by
    /// its extension; the spool beside it when it is a local file, else in the temporary
    /// folder), or none, when only the summary and the failures are wanted.
    pub fn new(
        jobs: &[Job],
        outputs: Vec<String>,
        report: Option<&Path>,
    ) -> io::Result<ReportStream> {
        let spool = match report {
            None => None,
            Some(path) => {
                let local = !crate::remote::is_remote(path);
                let dir = path
                    .parent()
                    .filter(|p| local && !p.as_os_str().is_empty() && p.is_dir())
                    .map_or_else(std::env::temp_dir, Path::to_path_buf);
                Some(Spool {
                    file: BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?),
                    at: vec![(0, 0); jobs.len()],
                    written: 0,
                    csv: is_csv(path),
                })
            }
        };
        Ok(ReportStream {
            outputs,
            spool,
            ended: vec![None; jobs.len()],
            output_bytes: 0,
            failures: Vec::new(),
            dry_run: false,
        })
    }

    /// A dry run's report: nothing finishes; every record is what the plan says.
    pub fn planned(jobs: &[Job], outputs: Vec<String>) -> ReportStream {
        ReportStream {
            outputs,
            spool: None,
            ended: vec![None; jobs.len()],
            output_bytes: 0,
            failures: Vec::new(),
            dry_run: true,
        }
    }

    /// Takes note of an event: a `Finished` one ends its job, and its record is spooled.
    /// Returns whether it ended a job.
    pub fn observe(&mut self, jobs: &[Job], event: &Event) -> io::Result<bool> {
        let Event::Finished {
            worker,
            job,
            outcome,
            millis,
        } = event
        else {
            return Ok(false);
        };
        let (Some(slot), Some(j)) = (self.ended.get_mut(*job), jobs.get(*job)) else {
            return Ok(false);
        };
        *slot = Some(outcome.status());
        match outcome {
            Outcome::Ok(done) => self.output_bytes += done.output_bytes,
            Outcome::Failed(f) => self.failures.push((*job, f.reason.clone(), f.kind)),
            _ => {}
        }
        if self.spool.is_some() {
            let record = self.named(record_of(j, outcome, *worker, *millis));
            if let Some(spool) = self.spool.as_mut() {
                spool.put(*job, &record)?;
            }
        }
        Ok(true)
    }

    /// Failed jobs in plan order: the job, why, and the kind of failure.
    pub fn failures(&self) -> Vec<(JobId, &str, ErrorKind)> {
        let mut f: Vec<_> = self
            .failures
            .iter()
            .map(|(j, why, kind)| (*j, why.as_str(), *kind))
            .collect();
        f.sort_by_key(|(j, _, _)| *j);
        f
    }

    /// How job `i` ends up in the report.
    fn status(&self, jobs: &[Job], i: usize) -> Status {
        match self.ended.get(i).copied().flatten() {
            Some(s) => s,
            None if self.dry_run => jobs
                .get(i)
                .map_or(Status::Planned, |j| planned_record(j).status),
            None => Status::Cancelled,
        }
    }

    /// `summary` with its counts filled from the jobs' ends (as [`super::Report::new`] counts
    /// them from records).
    pub fn summary(&self, jobs: &[Job], mut summary: Summary) -> Summary {
        summary.total = jobs.len();
        summary.inputs = 0;
        let mut input_ok = false;
        for (i, job) in jobs.iter().enumerate() {
            // The jobs of one input are next to each other.
            let first_of_input = i == 0 || jobs[i - 1].input != job.input;
            if first_of_input {
                summary.inputs += 1;
                input_ok = false;
            }
            match self.status(jobs, i) {
                Status::Ok => {
                    summary.ok += 1;
                    if !input_ok {
                        summary.input_bytes += job.input_bytes;
                        input_ok = true;
                    }
                }
                Status::Skipped => summary.skipped += 1,
                Status::Failed => summary.failed += 1,
                Status::Cancelled => summary.cancelled += 1,
                Status::Planned => summary.planned += 1,
            }
        }
        summary.output_bytes = self.output_bytes;
        summary.fill_rates();
        summary
    }

    /// The record with its output's name, when the recipe has several.
    fn named(&self, mut r: FileRecord) -> FileRecord {
        if self.outputs.len() > 1 {
            r.output_name = self.outputs.get(r.output_index).cloned();
        }
        r
    }

    /// The record of a job that has none spooled.
    fn unfinished(&self, job: &Job) -> FileRecord {
        self.named(if self.dry_run {
            planned_record(job)
        } else {
            base_record(job, Status::Cancelled)
        })
    }

    /// Writes the whole report, JSON or CSV, in plan order: records from the spool, the
    /// others made now. `summary` is written as given ([`ReportStream::summary`] counts it).
    pub fn write(
        &mut self,
        jobs: &[Job],
        summary: &Summary,
        csv: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut reader = match self.spool.as_mut() {
            Some(spool) if spool.csv == csv => {
                spool.file.flush()?;
                let mut file = spool.file.get_ref().try_clone()?;
                file.seek(SeekFrom::Start(0))?;
                Some((BufReader::with_capacity(1 << 16, file), 0u64))
            }
            _ => None,
        };
        let mut text = Vec::new();
        if csv {
            out.write_all(super::CSV_HEADER.as_bytes())?;
        } else {
            write_json_head(out, summary)?;
        }
        for (i, job) in jobs.iter().enumerate() {
            let spooled = self
                .spool
                .as_ref()
                .and_then(|s| s.at.get(i).copied())
                .filter(|&(_, len)| len > 0);
            text.clear();
            match (spooled, reader.as_mut()) {
                (Some((at, len)), Some((r, pos))) => {
                    let skip = i64::try_from(at).unwrap_or(i64::MAX)
                        - i64::try_from(*pos).unwrap_or(i64::MAX);
                    r.seek_relative(skip)?;
                    text.resize(len as usize, 0);
                    r.read_exact(&mut text)?;
                    *pos = at + u64::from(len);
                }
                _ => {
                    let record = self.unfinished(job);
                    text.extend_from_slice(record_text(&record, csv)?.as_bytes());
                }
            }
            if !csv {
                out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            }
            out.write_all(&text)?;
        }
        if !csv {
            write_json_tail(out, jobs.is_empty())?;
        }
        Ok(())
    }
}

/// The JSON report up to its first record: `{`, the summary, `"files": [`.
pub(super) fn write_json_head(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    let summary = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    write!(
        out,
        "{{\n  \"summary\": {},\n  \"files\": [",
        indent(&summary, 2, false)
    )
}

/// The JSON report after its last record (`empty`: it has none).
pub(super) fn write_json_tail(out: &mut dyn Write, empty: bool) -> io::Result<()> {
    out.write_all(if empty { b"]\n}" } else { b"\n  ]\n}" })
}

impl Spool {
    fn put(&mut self, job: JobId, record: &FileRecord) -> io::Result<()> {
        let text = record_text(record, self.csv)?;
        self.file.write_all(text.as_bytes())?;
        let len = u32::try_from(text.len()).map_err(io::Error::other)?;
        if let Some(slot) = self.at.get_mut(job) {
            *slot = (self.written, len);
        }
        self.written += u64::from(len);
        Ok(())
    }
}

/// A record as the report writes it: a CSV line, or pretty JSON indented as an element of
/// the report's `files`.
pub(super) fn record_text(record: &FileRecord, csv: bool) -> io::Result<String> {
    if csv {
        return Ok(csv_row(record));
    }
    let json = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
    Ok(indent(&json, 4, true))
}

/// `text` with every line but the first (and with `first`, the first too) indented by `by`
/// spaces. (JSON strings hold no raw line breaks, so lines are the printer's.)
fn indent(text: &str, by: usize, first: bool) -> String {
    let pad = " ".repeat(by);
    let mut out = String::with_capacity(text.len() + by * 8);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i > 0 || first {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::job::{Action, Converted, Failure};
    use crate::report::{Report, ReportBuilder};

    fn job(i: usize, input: &str) -> Job {
        Job {
            input: format!("in/{input}.jpg").into(),
            output: format!("out/{input}-{i}.webp").into(),
            output_index: i % 2,
            format: Format::Webp,
            input_bytes: 100 + i as u64,
            action: Action::Convert,
            note: None,
            replace: false,
            journal: None,
        }
    }

    /// The streamed report is byte for byte the report made in memory, JSON and CSV, with
    /// jobs that finished out of order, failed, and never finished.
    #[test]
    fn the_streamed_report_is_the_report_made_in_memory() {
        let jobs: Vec<Job> = ["a", "a", "b", "b", "c", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| job(i, n))
            .collect();
        let outputs = vec!["small".to_owned(), "large, \"quoted\"".to_owned()];
        let done = |i: u64| {
            Outcome::Ok(Converted {
                output_bytes: 40 + i,
                width: 32,
                height: 24,
                quality: Some(80),
                score: None,
                warnings: vec![format!("warning {i}")],
            })
        };
        let events = [
            (3, done(3)),
            (0, done(0)),
            (
                2,
                Outcome::Failed(Failure {
                    kind: ErrorKind::Corrupt,
                    reason: "not an image,\nreally".into(),
                    systemic: false,
                }),
            ),
            (1, Outcome::Skipped("already there".into())),
        ];
        for csv in [false, true] {
            let path = if csv { "r.csv" } else { "r.json" };
            let mut stream =
                ReportStream::new(&jobs, outputs.clone(), Some(Path::new(path))).expect("spool");
            let mut builder = ReportBuilder::new(&jobs);
            for (job, outcome) in &events {
                let e = Event::Finished {
                    worker: Some(1),
                    job: *job,
                    outcome: outcome.clone(),
                    millis: 7,
                };
                assert!(stream.observe(&jobs, &e).expect("spooled"));
                builder.observe(&e);
            }
            let base = Summary {
                outputs: outputs.clone(),
                elapsed_seconds: 2.0,
                ..Summary::default()
            };
            let whole: Report = builder.report(&jobs, base.clone());
            let summary = stream.summary(&jobs, base);
            assert_eq!(summary, whole.summary);
            let mut text = Vec::new();
            stream
                .write(&jobs, &summary, csv, &mut text)
                .expect("written");
            let want = if csv { whole.to_csv() } else { whole.to_json() };
            assert_eq!(String::from_utf8(text).expect("utf-8"), want, "csv {csv}");
            assert_eq!(stream.failures().len(), 1);
        }
        // A dry run's: every record as the plan says, none held.
        let planned = Report::planned(&jobs, Summary::default());
        let mut stream = ReportStream::planned(&jobs, Vec::new());
        let summary = stream.summary(&jobs, Summary::default());
        assert_eq!(summary, planned.summary);
        let mut text = Vec::new();
        stream
            .write(&jobs, &summary, false, &mut text)
            .expect("written");
        assert_eq!(String::from_utf8(text).expect("utf-8"), planned.to_json());
        // No jobs at all.
        let none: Vec<Job> = Vec::new();
        let mut stream = ReportStream::planned(&none, Vec::new());
        let mut text = Vec::new();
        stream
            .write(&none, &Summary::default(), false, &mut text)
            .expect("written");
        let empty = Report::planned(&none, Summary::default());
        assert_eq!(String::from_utf8(text).expect("utf-8"), empty.to_json());
    }
}
