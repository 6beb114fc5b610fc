//! `conveyor report merge`: one report from the reports of a sharded batch.

use std::process::ExitCode;

use super::args::ReportCommand;
use super::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::engine::report::{self, Report};

/// Runs `conveyor report …` and returns the exit status.
pub fn command(cmd: &ReportCommand) -> ExitCode {
    let ReportCommand::Merge { reports, out } = cmd;
    let mut read = Vec::with_capacity(reports.len());
    for path in reports {
        let name = path.display().to_string();
        let parsed = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<Report>(&bytes).map_err(|e| {
                    format!("not a Conveyor JSON report ({e}); merge reads the JSON reports")
                })
            });
        match parsed {
            Ok(r) => read.push((name, r)),
            Err(e) => {
                eprintln!("conveyor: {name}: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let merged = report::merge(&read);
    if let Err(e) = merged.report.write(out) {
        eprintln!("conveyor: cannot write the report {}: {e}", out.display());
        return ExitCode::from(EXIT_FAILED);
    }
    let s = &merged.report.summary;
    println!(
        "merged {} reports: {} records of {} inputs; converted {}, skipped {}, failed {}, \
         cancelled {}",
        read.len(),
        s.total,
        s.inputs,
        s.ok,
        s.skipped,
        s.failed,
        s.cancelled
    );
    for f in merged
        .report
        .files
        .iter()
        .filter(|f| f.status == crate::engine::job::Status::Failed)
    {
        eprintln!(
            "failed: {}: {}",
            f.input,
            f.error.as_deref().unwrap_or("unknown error")
        );
    }
    for m in &merged.missing {
        eprintln!("missing: {m}");
    }
    if merged.missing.is_empty() && s.failed == 0 {
        ExitCode::from(EXIT_OK)
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
