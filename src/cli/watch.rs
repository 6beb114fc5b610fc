//! `conveyor watch`: a hot folder. First the catch-up (a batch of what is in the folders and
//! not vouched for by the journal, leaving out files still arriving), then, until stopped, a
//! batch of the files that have arrived completely each time some have (`engine::watch`).
//! Every batch goes through the engine's batch API as `conveyor run`'s does, so the journal
//! decides what is done exactly as for a batch: an input converted before and unchanged is
//! skipped, a changed one (new size or time) is converted again in place.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::args::WatchArgs;
use super::exit::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::engine::batch::{self, Request, Scanner};
use crate::engine::event::Event;
use crate::engine::job::{Action, Outcome, io_words};
use crate::engine::journal::{self, Entry, Journal, JournalWriter};
use crate::engine::pool::{self, Canceller, default_workers};
use crate::engine::remote;
use crate::engine::report::record_of;
use crate::engine::scan;
use crate::engine::watch::{WatchOptions, Watcher};

/// How one batch of the watch ended.
enum Ended {
    /// Every job ended.
    Done,
    /// Stopped by Ctrl-C or SIGTERM.
    Cancelled,
    /// A failure of the whole batch (the output disk full or unwritable): said once.
    Refused,
}

/// What the watch has done so far.
#[derive(Default)]
struct Totals {
    converted: usize,
    skipped: usize,
    failed: usize,
}

/// What every batch of the watch shares.
struct Session<'a> {
    args: &'a WatchArgs,
    request: Request,
    stop: Arc<AtomicBool>,
    canceller: Arc<Mutex<Option<Canceller>>>,
    report: Option<File>,
    totals: Totals,
    /// The lines said about files, written out at least every [`SAY_EVERY`] and at the end of
    /// each batch (a line a write cost a burst of small files several per cent).
    out: std::io::BufWriter<std::io::Stdout>,
    said: Instant,
}

/// How long a line about a file may wait in the buffer.
const SAY_EVERY: Duration = Duration::from_millis(100);

/// Runs the `watch` command and returns the process exit status.
pub fn watch(args: &WatchArgs) -> ExitCode {
    match start(args) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("conveyor: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn start(args: &WatchArgs) -> Result<u8, String> {
    let recipes = super::recipe::outputs(args.recipe_file.as_deref(), &args.recipe)?;
    for input in &args.inputs {
        if remote::is_remote(input) || !input.is_dir() {
            return Err(format!(
                "{}: watch needs a folder on this computer (a file or a bucket cannot be \
                 watched; `conveyor run` converts them)",
                input.display()
            ));
        }
    }
    if remote::is_remote(&args.out) {
        return Err(format!(
            "{}: watch writes into a folder on this computer; `conveyor run` writes to a bucket",
            args.out.display()
        ));
    }
    let request = Request {
        recursive: !args.no_recursive,
        check_writable: true,
        limits: args.limits.limits(),
        ..Request::new(args.inputs.clone(), args.out.clone(), recipes)
    };
    request.check()?;
    request.check_out()?;
    let report = match &args.report {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    format!(
                        "cannot open the report {}: {}",
                        path.display(),
                        io_words(&e)
                    )
                })?,
        ),
        None => None,
    };
    // Ctrl-C or SIGTERM: the batch in hand is cancelled (what is finished stays, what is not
    // is removed) and the watch ends with exit 130.
    let (stop, canceller) = super::run::on_interrupt();
    // Watching starts before the catch-up's scan: nothing that arrives meanwhile is missed.
    let mut watcher = Watcher::start(
        &args.inputs,
        WatchOptions {
            settle: args.settle,
            poll: args.poll,
            recursive: !args.no_recursive,
            exclude: vec![args.out.clone()],
        },
    );
    if let Some(note) = watcher.note.take() {
        eprintln!("conveyor: {note}");
    }
    let watcher = Arc::new(Mutex::new(watcher));
    let mut session = Session {
        args,
        request,
        stop: Arc::clone(&stop),
        canceller,
        report,
        totals: Totals::default(),
        out: std::io::BufWriter::new(std::io::stdout()),
        said: Instant::now(),
    };

    // The catch-up: the folders' files, less those still arriving.
    let catch_up: Scanner = {
        let watcher = Arc::clone(&watcher);
        Arc::new(move |inputs, options| {
            let found = scan::scan(inputs, options)?;
            Ok(watcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .catch_up(found))
        })
    };
    match session.batch(&catch_up, true)? {
        Ended::Done => {}
        Ended::Cancelled => return Ok(EXIT_INTERRUPTED),
        Ended::Refused => return Ok(EXIT_FAILED),
    }
    let t = &session.totals;
    let arriving = watcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pending();
    if args.once {
        if !args.quiet {
            eprintln!(
                "conveyor: caught up: {} converted, {} skipped, {} failed{}",
                t.converted,
                t.skipped,
                t.failed,
                if arriving > 0 {
                    format!("; {arriving} still arriving, left for the next run")
                } else {
                    String::new()
                }
            );
        }
        return Ok(if t.failed > 0 { EXIT_FAILED } else { EXIT_OK });
    }
    if !args.quiet {
        eprintln!(
            "conveyor: caught up ({} converted, {} skipped, {} failed); watching {} for new \
             images (Ctrl-C stops)",
            t.converted,
            t.skipped,
            t.failed,
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    loop {
        let arrived = watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wait(&stop);
        if stop.load(Ordering::Acquire) {
            break;
        }
        // The system stopped reporting changes (said once; the folders are looked at instead).
        if let Some(note) = watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .note
            .take()
        {
            eprintln!("conveyor: {note}");
        }
        let mut ready: Vec<PathBuf> = arrived.files;
        for (was, is) in arrived.renamed {
            if !session.follow_rename(&was, &is)? {
                ready.push(is);
            }
        }
        if ready.is_empty() {
            continue;
        }
        let arrived: Scanner = Arc::new(move |inputs, _| Ok(scan::listed(inputs, &ready)));
        match session.batch(&arrived, false)? {
            Ended::Done => {}
            Ended::Cancelled => break,
            Ended::Refused => return Ok(EXIT_FAILED),
        }
    }
    if !args.quiet {
        let t = &session.totals;
        eprintln!(
            "conveyor: stopped watching: {} converted, {} skipped, {} failed",
            t.converted, t.skipped, t.failed
        );
    }
    Ok(EXIT_INTERRUPTED)
}

impl Session<'_> {
    /// Plans the files `scanner` finds and converts them; a line per converted or failed
    /// file, a record per file in the report.
    fn batch(&mut self, scanner: &Scanner, first: bool) -> Result<Ended, String> {
        let prepared = batch::prepare(
            self.request.clone(),
            None,
            Some(Arc::clone(&self.stop)),
            scanner,
        )
        .map_err(|e| e.to_string())?;
        for w in &prepared.plan.warnings {
            eprintln!("conveyor: warning: {}: {}", w.path.display(), w.reason);
        }
        if prepared.plan.jobs.is_empty() {
            return Ok(Ended::Done);
        }
        if first {
            // What an interrupted run left (its temporary files), before anything is written.
            prepared.sweep();
        }
        let workers = self.args.workers.map_or_else(default_workers, usize::from);
        let mut running = prepared
            .start(batch::Run {
                workers,
                priority: pool::Priority::Normal,
                waker: Arc::new(|_| {}),
                on_systemic: pool::OnSystemic::Stop,
            })
            .map_err(|e| e.to_string())?;
        for w in &running.warnings {
            eprintln!("conveyor: warning: {w}");
        }
        let jobs = Arc::clone(&running.jobs);
        let mut refused = None;
        let mut cancelled = false;
        if let Some(handle) = running.handle() {
            *self
                .canceller
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(handle.canceller());
            if self.stop.load(Ordering::Acquire) {
                handle.cancel();
            }
            for event in handle.events() {
                match event {
                    Event::Finished {
                        worker,
                        job,
                        outcome,
                        millis,
                    } => {
                        if let Some(job) = jobs.get(job) {
                            self.finished(&record_of(job, &outcome, worker, millis), &outcome);
                        }
                    }
                    Event::Halted { reason, .. } => refused = Some(reason),
                    Event::BatchFinished { cancelled: c } => {
                        cancelled = c;
                        break;
                    }
                    _ => {}
                }
            }
        }
        *self
            .canceller
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let _ = self.out.flush();
        if let Err(e) = running.finish() {
            eprintln!("conveyor: warning: {e}");
        }
        if let Some(reason) = refused {
            eprintln!("conveyor: stopped: {reason}");
            eprintln!(
                "conveyor: what was converted is kept; fix the cause and start the watch again \
                 to convert the rest"
            );
            return Ok(Ended::Refused);
        }
        Ok(if cancelled {
            Ended::Cancelled
        } else {
            Ended::Done
        })
    }

    /// `is` is `was` renamed (the same size and time; `was` is gone). When the journal has
    /// `was`'s outputs under this recipe and they are in place, each is renamed to the name
    /// `is` gets and recorded for it, instead of converting `is` again; whether that was done.
    fn follow_rename(&mut self, was: &Path, is: &Path) -> Result<bool, String> {
        let only = vec![is.to_path_buf()];
        let scanner: Scanner = Arc::new(move |inputs, _| Ok(scan::listed(inputs, &only)));
        let prepared = batch::prepare(self.request.clone(), None, None, &scanner)
            .map_err(|e| e.to_string())?;
        let jobs = Arc::clone(&prepared.plan.jobs);
        if jobs.is_empty()
            || jobs
                .iter()
                .any(|j| j.action != Action::Convert || j.replace)
        {
            return Ok(false);
        }
        let journal = Journal::load(&self.args.out);
        let Some(was_text) = journal::path_text(&scan::resolve(was)) else {
            return Ok(false);
        };
        // Each output of `is`: `was`'s entry for it and the file that entry vouches for.
        let mut moves = Vec::new();
        for job in jobs.iter() {
            let Some(want) = job.journal.as_ref().and_then(|p| p.entry(job)) else {
                return Ok(false);
            };
            let Some(made) = journal.latest().map(|r| r.entry()).find(|e| {
                e.input == was_text
                    && e.slot == want.slot
                    && e.recipe == want.recipe
                    && (e.in_bytes, e.in_mtime) == (want.in_bytes, want.in_mtime)
            }) else {
                return Ok(false);
            };
            let from = self.args.out.join(journal::text_path(&made.output));
            let meta = match fs::metadata(&from) {
                Ok(m) if m.len() == made.out_bytes => m,
                _ => return Ok(false),
            };
            if job.output.exists() {
                return Ok(false);
            }
            let entry = Entry {
                out_bytes: made.out_bytes,
                out_mtime: journal::modified(&meta),
                ..want
            };
            moves.push((job, from, entry));
        }
        let writer = JournalWriter::new(&self.args.out, None);
        for (job, from, entry) in moves {
            // The line first, then the rename, as for a conversion: a stop between leaves a
            // line that matches nothing, never an output the journal does not know.
            writer
                .record(&entry)
                .map_err(|e| format!("cannot update the journal: {}", io_words(&e)))?;
            let moved = job
                .output
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::rename(&from, &job.output))
                .and_then(|()| match job.output.parent() {
                    Some(dir) => File::open(dir).and_then(|d| d.sync_all()),
                    None => Ok(()),
                });
            if let Err(e) = moved {
                let _ = writer.withdraw(&entry);
                eprintln!(
                    "conveyor: warning: {} could not follow its input's new name ({}); \
                     converting it again",
                    from.display(),
                    io_words(&e)
                );
                return Ok(false);
            }
            let why = format!(
                "{} was renamed to this name: its output {} followed it, not converted again",
                was.display(),
                from.display()
            );
            self.say(format!(
                "renamed {} → {} ({why})",
                from.display(),
                job.output.display()
            ));
            let record = record_of(job, &Outcome::Skipped(why.clone()), None, 0);
            self.finished(&record, &Outcome::Skipped(why));
        }
        let _ = self.out.flush();
        Ok(true)
    }

    /// A line about a file, on standard output (unless `--quiet`).
    fn say(&mut self, line: String) {
        if self.args.quiet {
            return;
        }
        let _ = writeln!(self.out, "{line}");
        if self.said.elapsed() >= SAY_EVERY {
            let _ = self.out.flush();
            self.said = Instant::now();
        }
    }

    /// One file ended: said, counted and recorded.
    fn finished(&mut self, record: &crate::engine::report::FileRecord, outcome: &Outcome) {
        match outcome {
            Outcome::Ok(_) => {
                self.totals.converted += 1;
                self.say(format!("converted {} → {}", record.input, record.output));
            }
            Outcome::Failed(f) => {
                self.totals.failed += 1;
                eprintln!("failed: {}: {}", record.input, f.reason);
            }
            Outcome::Skipped(_) => self.totals.skipped += 1,
            Outcome::Cancelled => {}
        }
        if matches!(outcome, Outcome::Cancelled) {
            return;
        }
        if let Some(report) = self.report.as_mut() {
            let line = serde_json::to_string(record).unwrap_or_default();
            if let Err(e) = writeln!(report, "{line}") {
                eprintln!(
                    "conveyor: warning: cannot append to the report: {}",
                    io_words(&e)
                );
                self.report = None;
            }
        }
    }
}
