//! `conveyor run`: plan, convert with live terminal progress, summarise, report.

use std::io::IsTerminal;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::args::RunArgs;
use super::progress::TerminalProgress;
use crate::engine::batch::{self, Request};
use crate::engine::event::Event;
use crate::engine::job::Job;
use crate::engine::job::{Action, ErrorKind};
use crate::engine::pool::{self, Canceller, default_workers};
use crate::engine::recipe_file;
use crate::engine::remote::{Location, Store};
use crate::engine::report::{self, ReportStream, Summary};
use crate::engine::units::human_bytes;

pub use super::exit::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

fn print_summary(s: &Summary, dry_run: bool) {
    // With several outputs per input, say both.
    let of = if s.outputs.len() > 1 {
        format!("{} outputs of {} inputs", s.total, s.inputs)
    } else {
        format!("{} inputs", s.total)
    };
    if dry_run {
        // A dry run reads no image: only files it can tell are broken without opening them
        // (empty ones) are counted as failing.
        let fail = if s.failed > 0 {
            format!(", {} will fail (empty files)", s.failed)
        } else {
            String::new()
        };
        println!(
            "dry run: {} to convert{fail}, {} to skip, of {of} (images are not opened in a dry \
             run: damaged ones fail only when converted)",
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

/// Refuses a lone Slurm array task (`--shard auto` resolved to 1/1) writing into an output
/// folder that holds the journals of a batch split into N parts: that is one task of the
/// array submitted again on its own (`sbatch --array=2 job.sh` after a `scancel`), where Slurm
/// says "task 2 of 1", and running it would convert every other part's files too and write
/// over that task's report.
fn lone_task_of_a_split(
    args: &RunArgs,
    shard: Option<crate::engine::plan::Shard>,
) -> Result<(), String> {
    use crate::engine::plan::ShardChoice;
    let lone =
        matches!(args.shard, Some(ShardChoice::Auto(None))) && shard.is_some_and(|s| s.count == 1);
    let Some(id) = std::env::var("SLURM_ARRAY_TASK_ID").ok().filter(|_| lone) else {
        return Ok(());
    };
    let splits = crate::engine::journal::splits_in(&args.out);
    let Some(&n) = splits.iter().rev().find(|&&n| n > 1) else {
        return Ok(());
    };
    let id = id.trim();
    let named = match id.parse::<u32>() {
        Ok(k) if (1..=n).contains(&k) => {
            let from_zero = if k < n {
                format!(" ({}/{n} if the array counted from 0)", k + 1)
            } else {
                String::new()
            };
            format!("--shard {k}/{n}{from_zero}")
        }
        Ok(0) => format!("--shard 1/{n}"),
        _ => format!("--shard K/{n}"),
    };
    Err(format!(
        "--shard auto: Slurm runs this as a lone array task (SLURM_ARRAY_TASK_ID={id}, the only \
         task of its array), but {} holds the journals of a batch split into {n} parts: this \
         looks like one task of that array submitted again on its own, which would convert \
         every part. Run it with {named}, or requeue the original task (scontrol requeue); to \
         convert the whole batch in one task, leave out --shard.",
        args.out.display()
    ))
}

/// What Ctrl-C or SIGTERM sets: a flag (a scan stops its walk, a watch its waiting) and the
/// running pool's canceller, if one is put there.
pub(super) fn on_interrupt() -> (Arc<AtomicBool>, Arc<Mutex<Option<Canceller>>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let canceller: Arc<Mutex<Option<Canceller>>> = Arc::default();
    let (flag, pool) = (Arc::clone(&stop), Arc::clone(&canceller));
    let handler = move || {
        flag.store(true, Ordering::Release);
        if let Some(c) = pool.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            c.cancel();
        }
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        eprintln!("conveyor: warning: Ctrl-C will not stop cleanly: {e}");
    }
    (stop, canceller)
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
    let (stop, pool_canceller) = on_interrupt();
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
    if let Err(e) = lone_task_of_a_split(args, shard) {
        eprintln!("conveyor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let request = Request {
        recursive: !args.no_recursive,
        // A folder that cannot be written is one sentence and exit 2 before anything starts; a
        // dry run writes nothing, so it needs no folder.
        check_writable: !args.dry_run,
        shard,
        limits: args.limits.limits(),
        ..Request::new(args.inputs.clone(), args.out.clone(), recipes)
    };
    if let Err(e) = request.check() {
        eprintln!("conveyor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    // Object storage, if any input, the output or the report is in it: connected, and the
    // output prefix listed, before anything else, so a missing bucket or a refused credential
    // is one message.
    let store = match request.connect(args.report.as_deref()) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = request.check_out() {
        eprintln!("conveyor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    if !args.quiet {
        eprintln!("conveyor: scanning {} input(s)…", args.inputs.len());
    }
    let prepared = match batch::prepare(
        request,
        store.clone(),
        Some(Arc::clone(&stop)),
        &batch::default_scanner(),
    ) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let plan = &prepared.plan;
    // The process ends with the batch: a million jobs are not freed one by one (seconds of
    // work for nothing) but with the process.
    std::mem::forget(Arc::clone(&plan.jobs));
    for w in &plan.warnings {
        eprintln!("conveyor: warning: {}: {}", w.path.display(), w.reason);
    }
    let workers = args.workers.map_or_else(default_workers, usize::from);
    let base_summary = Summary {
        workers,
        outputs: prepared
            .recipes()
            .iter()
            .map(recipe_file::output_name)
            .collect(),
        recipes: prepared
            .recipes()
            .iter()
            .map(crate::engine::options::describe)
            .collect(),
        shard: shard.map(|s| s.to_string()),
        batch_inputs: Some(plan.total_inputs),
        ..Summary::default()
    };

    if args.dry_run {
        // One write per many lines, not per line: a plan of a million files prints in a
        // fraction of a second.
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        for job in plan.jobs.iter() {
            let written = match &job.action {
                Action::Convert if job.input_bytes == 0 => {
                    writeln!(out, "{} (will fail: empty file)", job.input.display())
                }
                Action::Convert => {
                    writeln!(out, "{} → {}", job.input.display(), job.output.display())
                }
                Action::Skip(reason) => writeln!(out, "{} (skip: {reason})", job.input.display()),
            };
            if written.is_err() {
                // Standard output closed (`| head`): the plan is not wanted any more.
                break;
            }
        }
        let _ = out.flush();
        drop(out);
        // The records are made as the report is written, never held.
        let mut stream = ReportStream::planned(&plan.jobs, base_summary.outputs.clone());
        let summary = stream
            .summary(&plan.jobs, base_summary)
            .with_scan_warnings(&plan.warnings);
        print_summary(&summary, true);
        return finish(
            args,
            store.as_ref(),
            (&plan.jobs, &mut stream),
            &summary,
            EXIT_OK,
        );
    }

    // Records go to a spool beside the report as files finish, not into memory.
    let mut stream = match ReportStream::new(
        &plan.jobs,
        base_summary.outputs.clone(),
        args.report.as_deref(),
    ) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!(
                "conveyor: cannot prepare the report {}: {}",
                args.report
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display(),
                crate::engine::job::io_words(&e)
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if stop.load(Ordering::Acquire) {
        // Interrupted before any work: every input known so far is reported as cancelled.
        eprintln!("conveyor: interrupted while scanning; nothing was converted");
        let summary = stream
            .summary(&plan.jobs, base_summary)
            .with_scan_warnings(&plan.warnings);
        print_summary(&summary, false);
        return finish(
            args,
            store.as_ref(),
            (&plan.jobs, &mut stream),
            &summary,
            EXIT_INTERRUPTED,
        );
    }

    let swept = prepared.sweep();
    if swept > 0 && !args.quiet {
        let files = if swept == 1 { "file" } else { "files" };
        eprintln!("conveyor: removed {swept} temporary {files} an interrupted run left behind");
    }
    let scan_warnings = prepared.plan.warnings.clone();
    let started = Instant::now();
    let mut running = match prepared.start(batch::Run {
        workers,
        priority: pool::Priority::Normal,
        waker: Arc::new(|_| {}),
        on_systemic: pool::OnSystemic::Stop,
    }) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("conveyor: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    for w in &running.warnings {
        eprintln!("conveyor: warning: {w}");
    }
    let jobs = Arc::clone(&running.jobs);
    let Some(handle) = running.handle() else {
        return ExitCode::from(EXIT_FAILED);
    };
    *pool_canceller
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle.canceller());
    if stop.load(Ordering::Acquire) {
        // The signal came between the plan and the pool's start.
        handle.cancel();
    }
    let live = !args.quiet && std::io::stdout().is_terminal();
    let mut bars = live.then(|| TerminalProgress::new(&jobs));
    // A spool that cannot be written (its disk full) costs the report, not the batch.
    let mut spool_error: Option<std::io::Error> = None;
    let mut cancelled = false;
    // The first failure of the whole batch (a full or read-only output disk, object storage
    // refusing the credentials) stops it: the pool cancels the rest and says why once.
    let mut refused: Option<String> = None;
    for event in handle.events() {
        if let Err(e) = stream.observe(&jobs, &event)
            && spool_error.is_none()
        {
            spool_error = Some(e);
        }
        if refused.is_none()
            && let Event::Halted { reason, .. } = &event
        {
            refused = Some(reason.clone());
        }
        if let Some(bars) = bars.as_mut() {
            bars.observe(&jobs, &event);
        }
        if let Event::BatchFinished { cancelled: c } = event {
            cancelled = c;
            break;
        }
    }
    if let Err(e) = running.finish() {
        eprintln!("conveyor: warning: {e}");
    }
    if let Some(bars) = bars {
        bars.finish();
    }
    let summary = Summary {
        elapsed_seconds: started.elapsed().as_secs_f64(),
        ..base_summary
    };
    let summary = stream
        .summary(&jobs, summary)
        .with_scan_warnings(&scan_warnings);
    // Files that failed for the reason the batch stopped are said once, below.
    for (job, why, kind) in stream.failures() {
        if (refused.is_none() || Some(why) != refused.as_deref())
            && kind != ErrorKind::StorageAccess
        {
            let input = jobs.get(job).map(|j| j.input.to_string_lossy());
            eprintln!("failed: {}: {why}", input.unwrap_or_default());
        }
    }
    if !args.quiet || !std::io::stdout().is_terminal() {
        print_summary(&summary, false);
    }
    if let Some(reason) = &refused {
        eprintln!("conveyor: stopped: {reason}");
        eprintln!(
            "conveyor: what was converted is kept; fix the cause and run the same command \
             again to convert the rest"
        );
    }
    let status = if refused.is_some() {
        EXIT_FAILED
    } else if cancelled {
        EXIT_INTERRUPTED
    } else if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    if let (Some(path), Some(e)) = (&args.report, spool_error) {
        eprintln!(
            "conveyor: cannot write the report {}: its records could not be kept ({})",
            path.display(),
            crate::engine::job::io_words(&e)
        );
        return ExitCode::from(status.max(EXIT_FAILED));
    }
    finish(args, store.as_ref(), (&jobs, &mut stream), &summary, status)
}

/// Writes the report, if one was asked for, streamed from `stream`; a report that cannot be
/// written makes the exit status a failure.
fn finish(
    args: &RunArgs,
    store: Option<&Arc<dyn Store>>,
    (jobs, stream): (&[Job], &mut ReportStream),
    summary: &Summary,
    status: u8,
) -> ExitCode {
    let Some(path) = &args.report else {
        return ExitCode::from(status);
    };
    let csv = report::is_csv(path);
    let written = write_streamed(path, store.map(|s| &**s), |w| {
        stream.write(jobs, summary, csv, w)
    });
    if let Err(e) = written {
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

/// Writes a report that `fill` streams to a file (durably, atomically) or an object (whole).
pub(super) fn write_streamed(
    path: &std::path::Path,
    store: Option<&dyn Store>,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match (Location::parse(path), store) {
        (Some(Ok(object)), Some(store)) => {
            let mut bytes = Vec::new();
            fill(&mut bytes).map_err(|e| e.to_string()).and_then(|()| {
                store
                    .put(&object, &bytes, None)
                    .map(|_| ())
                    .map_err(|e| e.reason)
            })
        }
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(_)), None) => Err("object storage is not available".into()),
        (None, _) => crate::engine::durable::write_with(path, fill)
            .map_err(|e| crate::engine::job::io_words(&e)),
    }
}
