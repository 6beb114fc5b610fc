//! `conveyor run`: plan, convert with live terminal progress, summarise, report.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::args::RunArgs;
use super::progress::TerminalProgress;
use crate::engine::event::Event;
use crate::engine::job::{Action, ErrorKind, Job, Outcome, Status};
use crate::engine::journal::{Journal, JournalWriter};
use crate::engine::pipeline::{MemoryBudget, Pipeline, Prefetch};
use crate::engine::plan::{self, PlanOptions, RemoteOut};
use crate::engine::pool::{self, Canceller, default_workers};
use crate::engine::recipe_file;
use crate::engine::remote::{self, Location, Store};
use crate::engine::report::{Report, ReportBuilder, Summary};
use crate::engine::scan::{self, ScanOptions};
use crate::engine::units::human_bytes;

/// Exit status: every file ok or skipped.
pub const EXIT_OK: u8 = 0;
/// Exit status: one or more files failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: bad arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: interrupted.
pub const EXIT_INTERRUPTED: u8 = 130;

fn print_summary(report: &Report, dry_run: bool) {
    let s = &report.summary;
    // With several outputs per input, say both.
    let of = if s.outputs.len() > 1 {
        format!("{} outputs of {} inputs", s.total, s.inputs)
    } else {
        format!("{} inputs", s.total)
    };
    if dry_run {
        println!(
            "dry run: {} to convert, {} to skip, of {of}",
            s.planned, s.skipped
        );
        return;
    }
    let saved = if s.saved_bytes >= 0 {
        format!("saved {}", human_bytes(s.saved_bytes.unsigned_abs()))
    } else {
        format!("grew by {}", human_bytes(s.saved_bytes.unsigned_abs()))
    };
    println!(
        "converted {}, skipped {}, failed {}, cancelled {} of {of} in {:.1} s ({:.1} images/s); {} → {} ({saved})",
        s.ok,
        s.skipped,
        s.failed,
        s.cancelled,
        s.elapsed_seconds,
        s.images_per_second,
        human_bytes(s.input_bytes),
        human_bytes(s.output_bytes)
    );
}

/// Runs the `run` command and returns the process exit status.
pub fn run(args: &RunArgs) -> ExitCode {
    let recipes = match super::recipe::outputs(args.recipe_file.as_deref(), &args.recipe) {
        Ok(recipes) => recipes,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Ctrl-C or SIGTERM at any point ends with exit 130 and a report of what was known: during
    // the scan it stops the walk; once the pool runs it cancels the batch.
    let stop = Arc::new(AtomicBool::new(false));
    let pool_canceller: Arc<Mutex<Option<Canceller>>> = Arc::default();
    {
        let (stop, pool_canceller) = (Arc::clone(&stop), Arc::clone(&pool_canceller));
        let handler = move || {
            stop.store(true, Ordering::Release);
            if let Some(c) = pool_canceller
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                c.cancel();
            }
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            eprintln!("conveyor: warning: Ctrl-C will not stop cleanly: {e}");
        }
    }
    let shard = match args
        .shard
        .map(|c| c.resolve(|name| std::env::var(name).ok()))
    {
        None => None,
        Some(Ok(shard)) => shard,
        Some(Err(e)) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Object storage, if any input, the output or the report is in it: connected, and the
    // output prefix listed, before anything else, so a missing bucket or a refused credential
    // is one message.
    let uses_store = args.inputs.iter().any(|p| remote::is_remote(p))
        || remote::is_remote(&args.out)
        || args.report.as_deref().is_some_and(remote::is_remote);
    let store = match connect_if(uses_store) {
        Ok(store) => store,
        Err(status) => return status,
    };
    if args.inputs.iter().any(|p| remote::is_remote(p))
        && recipes.iter().any(|r| r.name_template.needs_size())
    {
        eprintln!(
            "conveyor: a naming template with the image's size needs local inputs (it reads \
             every header before the batch)"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let out_object = match Location::parse(&args.out) {
        None => None,
        Some(Err(e)) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        Some(Ok(out)) => Some(out),
    };
    if out_object.is_none()
        && let Err(e) = plan::check_out_dir(&args.out, false)
    {
        eprintln!("conveyor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    if !args.quiet {
        eprintln!("conveyor: scanning {} input(s)…", args.inputs.len());
    }
    let scan_options = ScanOptions {
        recursive: !args.no_recursive,
        exclude: vec![args.out.clone()],
        stop: Some(Arc::clone(&stop)),
        store: store.clone(),
    };
    // An output prefix in object storage is listed (and its journal read) while the inputs
    // are scanned: two round trips at once instead of one after the other.
    let (listed, found) = std::thread::scope(|s| {
        let listing = match (&out_object, &store) {
            (Some(out), Some(store)) => Some(s.spawn(move || {
                store
                    .list(out, true)
                    .and_then(|listing| Journal::load_remote(store.as_ref(), out, &listing))
                    .map_err(|e| e.to_string())
            })),
            _ => None,
        };
        let found = scan::scan(&args.inputs, &scan_options);
        let listed = listing.map(|h| {
            h.join().unwrap_or_else(|panic| {
                Err(format!(
                    "internal error while listing: {}",
                    pool::panic_message(panic.as_ref())
                ))
            })
        });
        (listed, found)
    });
    let remote_out = match (out_object, listed) {
        (Some(out), Some(Ok((journal, objects)))) => Some((out, RemoteOut { journal, objects })),
        (Some(out), Some(Err(e))) => {
            eprintln!("conveyor: {out}: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        _ => None,
    };
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    for w in &found.warnings {
        eprintln!("conveyor: warning: {}: {}", w.path.display(), w.reason);
    }
    let plan = plan::plan_outputs(
        &found,
        &recipes,
        &PlanOptions {
            out_dir: args.out.clone(),
            shard,
            remote_out: remote_out.as_ref().map(|(_, r)| r.clone()),
            ..PlanOptions::default()
        },
    );
    let workers = args.workers.map_or_else(default_workers, usize::from);
    let base_summary = Summary {
        workers,
        outputs: recipes.iter().map(recipe_file::output_name).collect(),
        shard: shard.map(|s| s.to_string()),
        batch_inputs: Some(plan.total_inputs),
        ..Summary::default()
    };

    if args.dry_run {
        for job in &plan.jobs {
            match &job.action {
                Action::Convert => println!("{} → {}", job.input.display(), job.output.display()),
                Action::Skip(reason) => println!("{} (skip: {reason})", job.input.display()),
            }
        }
        let report = Report::planned(&plan.jobs, base_summary).with_scan_warnings(&plan.warnings);
        print_summary(&report, true);
        return finish(args, store.as_ref(), &report, EXIT_OK);
    }

    if stop.load(Ordering::Acquire) {
        // Interrupted before any work: every input known so far is reported as cancelled.
        eprintln!("conveyor: interrupted while scanning; nothing was converted");
        let report = ReportBuilder::new(&plan.jobs)
            .report(&plan.jobs, base_summary)
            .with_scan_warnings(&plan.warnings);
        print_summary(&report, false);
        return finish(args, store.as_ref(), &report, EXIT_INTERRUPTED);
    }

    let swept = if remote_out.is_some() {
        0
    } else {
        plan::sweep_stale_temps(&plan.jobs)
    };
    if swept > 0 && !args.quiet {
        let files = if swept == 1 { "file" } else { "files" };
        eprintln!("conveyor: removed {swept} temporary {files} an interrupted run left behind");
    }
    let jobs: Arc<[Job]> = plan.jobs.into();
    let mut pipeline = Pipeline::with_outputs(recipes);
    let journal_shard = shard.map(|s| (s.index, s.count));
    let journal = match (&remote_out, &store) {
        (Some((out, _)), Some(store)) => {
            match JournalWriter::remote(Arc::clone(store), out, journal_shard) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("conveyor: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
        _ => JournalWriter::new(&args.out, journal_shard),
    };
    let journal = Arc::new(journal);
    pipeline.journal = Some(Arc::clone(&journal));
    pipeline.store = store.clone();
    // Inputs in object storage are fetched a few ahead of the workers, in the pool's order.
    if let Some(store) = &store {
        let mut inputs: Vec<std::path::PathBuf> = Vec::new();
        for job in jobs.iter().filter(|j| j.action == Action::Convert) {
            if remote::is_remote(&job.input) && inputs.last() != Some(&job.input) {
                inputs.push(job.input.clone());
            }
        }
        if !inputs.is_empty() {
            match Prefetch::start(Arc::clone(store), inputs, workers + 1) {
                Ok(p) => pipeline.prefetch = Some(p),
                Err(e) => eprintln!("conveyor: warning: inputs will not be fetched ahead: {e}"),
            }
        }
    }
    let prefetch = pipeline.prefetch.clone();
    if let Some(max) = args.max_pixels {
        pipeline.limits.max_pixels = max;
    }
    if let Some(max) = args.max_file_size {
        pipeline.limits.max_file_bytes = max;
    }
    if let Some(limit) = args.memory_limit {
        pipeline.budget = MemoryBudget::new(limit);
    }
    pool::quiet_worker_panics();
    let started = Instant::now();
    let handle = match pool::start(
        Arc::clone(&jobs),
        Arc::new(pipeline),
        workers,
        pool::Priority::Normal,
        Arc::new(|| {}),
    ) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("conveyor: cannot start workers: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    *pool_canceller
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle.canceller());
    if stop.load(Ordering::Acquire) {
        // The signal came between the plan and the pool's start.
        handle.cancel();
    }
    let live = !args.quiet && std::io::stdout().is_terminal();
    let mut bars = live.then(|| TerminalProgress::new(jobs.len()));
    let mut builder = ReportBuilder::new(&jobs);
    let mut cancelled = false;
    // The first refusal by object storage (credentials, bucket) stops the batch.
    let mut refused: Option<String> = None;
    for event in handle.events() {
        builder.observe(&event);
        if refused.is_none()
            && let Event::Finished {
                outcome: Outcome::Failed(f),
                ..
            } = &event
            && f.kind == ErrorKind::StorageAccess
        {
            refused = Some(f.reason.clone());
            handle.cancel();
        }
        if let Some(bars) = bars.as_mut() {
            bars.observe(&jobs, &event);
        }
        if let Event::BatchFinished { cancelled: c } = event {
            cancelled = c;
            break;
        }
    }
    handle.wait();
    if let Some(p) = &prefetch {
        p.stop();
    }
    if let Err(e) = journal.finish() {
        eprintln!(
            "conveyor: warning: the journal {} could not be saved ({e}); a re-run reads the \
             outputs' own records instead",
            journal.path().display()
        );
    }
    if let Some(bars) = bars {
        bars.finish();
    }
    let summary = Summary {
        elapsed_seconds: started.elapsed().as_secs_f64(),
        ..base_summary
    };
    let report = builder
        .report(&jobs, summary)
        .with_scan_warnings(&plan.warnings);
    for f in report
        .files
        .iter()
        .filter(|f| f.status == Status::Failed && f.error_kind != Some(ErrorKind::StorageAccess))
    {
        eprintln!(
            "failed: {}: {}",
            f.input,
            f.error.as_deref().unwrap_or("unknown error")
        );
    }
    if !args.quiet || !std::io::stdout().is_terminal() {
        print_summary(&report, false);
    }
    if let Some(reason) = &refused {
        eprintln!("conveyor: stopped: {reason}");
    }
    let status = if refused.is_some() {
        EXIT_FAILED
    } else if cancelled {
        EXIT_INTERRUPTED
    } else if report.summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    finish(args, store.as_ref(), &report, status)
}

fn finish(args: &RunArgs, store: Option<&Arc<dyn Store>>, report: &Report, status: u8) -> ExitCode {
    let Some(path) = &args.report else {
        return ExitCode::from(status);
    };
    if let Err(e) = write_report(report, path, store.map(|s| s.as_ref())) {
        eprintln!("conveyor: cannot write the report {}: {e}", path.display());
        return ExitCode::from(status.max(EXIT_FAILED));
    }
    ExitCode::from(status)
}

/// Object storage when `needed` (else none); an error is said and becomes the exit status.
pub(super) fn connect_if(needed: bool) -> Result<Option<Arc<dyn Store>>, ExitCode> {
    if !needed {
        return Ok(None);
    }
    crate::engine::s3::connect().map(Some).map_err(|e| {
        eprintln!("conveyor: {e}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// Writes `report` to a file (durably, atomically) or an object (whole), JSON or CSV by
/// `path`'s extension.
pub(super) fn write_report(
    report: &Report,
    path: &std::path::Path,
    store: Option<&dyn Store>,
) -> Result<(), String> {
    match (Location::parse(path), store) {
        (Some(Ok(object)), Some(store)) => store
            .put(&object, report.render(path).as_bytes(), None)
            .map(|_| ())
            .map_err(|e| e.reason),
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(_)), None) => Err("object storage is not available".into()),
        (None, _) => report.write(path).map_err(|e| e.to_string()),
    }
}
