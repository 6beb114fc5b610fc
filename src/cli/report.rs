//! `conveyor report merge`: one report from the reports of a sharded batch.

use std::process::ExitCode;

use super::args::ReportCommand;
use std::path::{Path, PathBuf};

use super::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, connect_if, write_streamed};
use crate::engine::pipeline::prefetch;
use crate::engine::remote::{self, Location};
use crate::engine::report;

/// Runs `conveyor report …` and returns the exit status.
pub fn command(cmd: &ReportCommand) -> ExitCode {
    let ReportCommand::Merge { reports, out } = cmd;
    let store = match connect_if(reports.iter().chain([out]).any(|p| remote::is_remote(p))) {
        Ok(store) => store,
        Err(status) => return status,
    };
    // A report in object storage is copied to a temporary file first: the merge reads each
    // report as a stream, twice when an input is in two of them.
    let mut copies = Vec::new();
    let mut sources = Vec::with_capacity(reports.len());
    for path in reports {
        let name = path.display().to_string();
        let local: PathBuf = match (Location::parse(path), store.as_deref()) {
            (Some(Ok(object)), Some(store)) => match prefetch::fetch(store, &object) {
                Ok(copy) => {
                    let local = copy.to_path_buf();
                    copies.push(copy);
                    local
                }
                Err(e) => {
                    eprintln!("conveyor: {name}: {}", e.reason);
                    return ExitCode::from(EXIT_USAGE);
                }
            },
            (Some(Err(e)), _) => {
                eprintln!("conveyor: {name}: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
            _ => path.clone(),
        };
        sources.push(report::Source {
            name,
            open: Box::new(move || {
                std::fs::File::open(&local).map(|f| Box::new(f) as Box<dyn std::io::Read>)
            }),
        });
    }
    let csv = report::is_csv(out);
    let spool_dir = out
        .parent()
        .filter(|p| !remote::is_remote(out) && !p.as_os_str().is_empty() && p.is_dir())
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let mut merged = match report::merge(&sources, csv, &spool_dir) {
        Ok(merged) => merged,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    drop(copies);
    let written = write_streamed(out, store.as_deref(), |w| merged.write(w));
    if let Err(e) = written {
        eprintln!("conveyor: cannot write the report {}: {e}", out.display());
        return ExitCode::from(EXIT_FAILED);
    }
    let s = &merged.summary;
    println!(
        "merged {} reports: {} records of {} inputs; converted {}, skipped {}, failed {}, \
         cancelled {}",
        sources.len(),
        s.total,
        s.inputs,
        s.ok,
        s.skipped,
        s.failed,
        s.cancelled
    );
    for (input, error) in &merged.failures {
        eprintln!("failed: {input}: {error}");
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
