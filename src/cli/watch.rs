//! `conveyor watch`: a hot folder ([`crate::engine::hot`]) on the command line: a line per
//! converted or failed file, a JSON Lines record per file in `--report`, Ctrl-C or SIGTERM
//! stops it (exit 130).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use super::args::WatchArgs;
use super::exit::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::engine::batch::Request;
use crate::engine::event::Event;
use crate::engine::hot::{HotEnd, HotEvent, HotFolder, HotOptions};
use crate::engine::job::{Job, Outcome, io_words};
use crate::engine::pool::{self, default_workers};
use crate::engine::remote;
use crate::engine::report::record_of;
use crate::engine::watch::WatchOptions;

/// What the watch has done so far.
#[derive(Default)]
struct Totals {
    converted: usize,
    skipped: usize,
    failed: usize,
}

/// What the command line says and records as the hot folder tells it.
struct Session<'a> {
    args: &'a WatchArgs,
    report: Option<File>,
    totals: Totals,
    /// The current batch's jobs (its pool numbers them from 0).
    jobs: Arc<[Job]>,
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
    let hot = HotFolder::start(
        request,
        HotOptions {
            watch: WatchOptions {
                settle: args.settle,
                poll: args.poll,
                recursive: !args.no_recursive,
                exclude: vec![args.out.clone()],
            },
            workers: args.workers.map_or_else(default_workers, usize::from),
            priority: pool::Priority::Normal,
            on_systemic: pool::OnSystemic::Stop,
            once: args.once,
            waker: Arc::new(|_| {}),
        },
        stop,
        canceller,
    )?;
    let mut session = Session {
        args,
        report,
        totals: Totals::default(),
        jobs: Arc::from(Vec::new()),
        out: std::io::BufWriter::new(std::io::stdout()),
        said: Instant::now(),
    };
    loop {
        let event = match hot.events().recv_timeout(SAY_EVERY) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                let _ = session.out.flush();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(status) = session.hear(event) {
            let _ = session.out.flush();
            return Ok(status);
        }
    }
    Ok(EXIT_FAILED)
}

impl Session<'_> {
    /// Says, counts and records what the hot folder tells; the exit status once it has ended.
    fn hear(&mut self, event: HotEvent) -> Option<u8> {
        match event {
            HotEvent::Note(note) => eprintln!("conveyor: {note}"),
            HotEvent::Batch { jobs, warnings, .. } => {
                for w in &warnings {
                    eprintln!("conveyor: warning: {}: {}", w.path.display(), w.reason);
                }
                self.jobs = jobs;
            }
            HotEvent::Pool(Event::Finished {
                worker,
                job,
                outcome,
                millis,
            }) => {
                if let Some(job) = self.jobs.get(job).cloned() {
                    self.finished(&record_of(&job, &outcome, worker, millis), &outcome);
                }
            }
            HotEvent::Pool(Event::BatchFinished { .. }) => {
                let _ = self.out.flush();
            }
            HotEvent::Pool(_) => {}
            HotEvent::Followed { job, from, why } => {
                self.say(format!(
                    "renamed {} → {} ({why})",
                    from.display(),
                    job.output.display()
                ));
                let outcome = Outcome::Skipped(why);
                self.finished(&record_of(&job, &outcome, None, 0), &outcome);
                let _ = self.out.flush();
            }
            HotEvent::CaughtUp { arriving } => self.caught_up(arriving),
            HotEvent::Ended(end) => return Some(self.ended(end)),
        }
        None
    }

    fn caught_up(&mut self, arriving: usize) {
        if self.args.quiet {
            return;
        }
        let t = &self.totals;
        if self.args.once {
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
            return;
        }
        eprintln!(
            "conveyor: caught up ({} converted, {} skipped, {} failed); watching {} for new \
             images (Ctrl-C stops)",
            t.converted,
            t.skipped,
            t.failed,
            self.args
                .inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    /// The last words and the exit status.
    fn ended(&mut self, end: HotEnd) -> u8 {
        let _ = self.out.flush();
        let t = &self.totals;
        match end {
            HotEnd::CaughtUp => {
                if t.failed > 0 {
                    EXIT_FAILED
                } else {
                    EXIT_OK
                }
            }
            HotEnd::Stopped => {
                if !self.args.quiet {
                    eprintln!(
                        "conveyor: stopped watching: {} converted, {} skipped, {} failed",
                        t.converted, t.skipped, t.failed
                    );
                }
                EXIT_INTERRUPTED
            }
            HotEnd::Refused(reason) => {
                eprintln!("conveyor: stopped: {reason}");
                eprintln!(
                    "conveyor: what was converted is kept; fix the cause and start the watch \
                     again to convert the rest"
                );
                EXIT_FAILED
            }
            HotEnd::Failed(e) => {
                eprintln!("conveyor: {e}");
                EXIT_FAILED
            }
        }
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
