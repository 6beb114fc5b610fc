//! `conveyor report merge`: one report from the reports of a sharded batch.

use std::process::ExitCode;

use super::args::ReportCommand;
use super::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, connect_if, write_report};
use crate::engine::remote::{self, Location, Store};
use crate::engine::report::{self, Report};

/// A report's bytes, from a file or an object.
fn load(path: &std::path::Path, store: Option<&dyn Store>) -> Result<Vec<u8>, String> {
    match (Location::parse(path), store) {
        (Some(Ok(object)), Some(store)) => store
            .read(&object)
            .map_err(|e| e.reason)?
            .ok_or_else(|| "no such object".to_owned()),
        (Some(Err(e)), _) => Err(e),
        _ => std::fs::read(path).map_err(|e| e.to_string()),
    }
}

/// Runs `conveyor report …` and returns the exit status.
pub fn command(cmd: &ReportCommand) -> ExitCode {
    let ReportCommand::Merge { reports, out } = cmd;
    let store = match connect_if(reports.iter().chain([out]).any(|p| remote::is_remote(p))) {
        Ok(store) => store,
        Err(status) => return status,
    };
    let mut read = Vec::with_capacity(reports.len());
    for path in reports {
        let name = path.display().to_string();
        let parsed = load(path, store.as_deref()).and_then(|bytes| {
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
    if let Err(e) = write_report(&merged.report, out, store.as_deref()) {
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
