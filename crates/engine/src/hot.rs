//! A hot folder, run on its own thread for any front end: first the catch-up (a batch of
//! what is in the folders and not vouched for by the journal, leaving out files still
//! arriving), then, until stopped, a batch of the files that have arrived completely each time
//! some have ([`crate::watch::Watcher`]). Every batch goes through the batch API as a plain
//! batch's does, so the journal decides what is done: an input converted before and unchanged
//! is skipped, a changed one (new size or time) is converted again in place, and a renamed one
//! has its outputs follow its new name ([`follow_rename`]).
//!
//! The front end reads [`HotEvent`]s: each batch's jobs, then its pool's events numbered from
//! 0 within that batch, and the end. `conveyor watch` prints them; the window folds them into
//! one view. Pause and the worker count carry over from one batch to the next.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::batch::{self, Request, Scanner, Setup};
use crate::event::Event;
use crate::job::{Action, Job, io_words};
use crate::journal::{self, Entry, Journal, JournalWriter};
use crate::pool::{self, Canceller, Controls, OnSystemic, Priority, Urgency, Waker};
use crate::scan::{self, ScanWarning};
use crate::watch::{WatchOptions, Watcher};

/// How a hot folder runs.
#[derive(Clone)]
pub struct HotOptions {
    /// What is watched and how.
    pub watch: WatchOptions,
    /// Workers at the start (the count can change while it runs).
    pub workers: usize,
    /// The workers' scheduling priority.
    pub priority: Priority,
    /// Stop (the command line) or pause and ask (the window) at a failure of the whole batch.
    pub on_systemic: OnSystemic,
    /// Only the catch-up (`--once`).
    pub once: bool,
    /// Called after each event sent.
    pub waker: Waker,
}

/// What a hot folder tells its front end, in order.
#[derive(Clone)]
pub enum HotEvent {
    /// Something to say once (the platform's events cannot be had; a warning of a batch).
    Note(String),
    /// A batch starts: the [`HotEvent::Pool`] events that follow number its jobs from 0.
    Batch {
        /// Its jobs, in the pool's numbering.
        jobs: Arc<[Job]>,
        /// The catch-up (the first batch).
        catch_up: bool,
        /// How it was started (to run some of its jobs again).
        setup: Setup,
        /// What the scan could not read.
        warnings: Vec<ScanWarning>,
    },
    /// An event of the current batch's pool.
    Pool(Event),
    /// An input renamed: its output, made before, followed it to the name it now gets.
    Followed {
        /// The job the renamed input would have been (its output is in place).
        job: Job,
        /// Where the output was.
        from: PathBuf,
        /// Why nothing was converted, for people.
        why: String,
    },
    /// The catch-up has ended; `arriving` files were still arriving then.
    CaughtUp {
        /// Files still being written, left for when they are complete.
        arriving: usize,
    },
    /// The hot folder has stopped; nothing follows.
    Ended(HotEnd),
}

/// Why a hot folder stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotEnd {
    /// Asked to stop ([`HotFolder::stop`]).
    Stopped,
    /// The catch-up of `once` ended.
    CaughtUp,
    /// A failure of the whole batch (the output disk full or unwritable), said once.
    Refused(String),
    /// It could not go on (the inputs or the output could not be read), said once.
    Failed(String),
}

/// What the front end's thread and the hot folder's share.
struct Shared {
    stop: Arc<AtomicBool>,
    /// The current batch's canceller (also set for a signal handler that shares the slot).
    canceller: Arc<Mutex<Option<Canceller>>>,
    /// The current batch's controls, while one runs.
    pool: Mutex<Option<Controls>>,
    workers: AtomicUsize,
    paused: AtomicBool,
    events: Sender<HotEvent>,
    waker: Waker,
}

impl Shared {
    fn send(&self, event: HotEvent) {
        let urgency = match &event {
            HotEvent::Pool(e) => Urgency::of(e),
            _ => Urgency::Now,
        };
        // The front end may have gone; then nobody listens.
        let _ = self.events.send(event);
        (self.waker)(urgency);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Option<Controls>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running hot folder. Dropping it stops it and waits for its thread.
pub struct HotFolder {
    shared: Arc<Shared>,
    events: Receiver<HotEvent>,
    thread: Option<JoinHandle<()>>,
}

impl HotFolder {
    /// Starts watching `request`'s input folders into its output folder. `stop` and
    /// `canceller` may be shared with a signal handler (`conveyor watch`: Ctrl-C); setting
    /// `stop` and cancelling what the slot holds stops it as [`Self::stop`] does.
    pub fn start(
        request: Request,
        options: HotOptions,
        stop: Arc<AtomicBool>,
        canceller: Arc<Mutex<Option<Canceller>>>,
    ) -> Result<HotFolder, String> {
        let (tx, events) = unbounded();
        let shared = Arc::new(Shared {
            stop,
            canceller,
            pool: Mutex::new(None),
            workers: AtomicUsize::new(options.workers.max(1)),
            paused: AtomicBool::new(false),
            events: tx,
            waker: Arc::clone(&options.waker),
        });
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("conveyor-watch".into())
            .spawn(move || {
                let end = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    watch(&request, &options, &inner)
                })) {
                    Ok(end) => end,
                    Err(panic) => HotEnd::Failed(format!(
                        "watching stopped unexpectedly: {}",
                        pool::panic_message(panic.as_ref())
                    )),
                };
                *inner.pool() = None;
                inner.send(HotEvent::Ended(end));
            })
            .map_err(|e| format!("could not start watching: {}", io_words(&e)))?;
        Ok(HotFolder {
            shared,
            events,
            thread: Some(thread),
        })
    }

    /// What it has to say; drain with `try_iter()` each frame, or iterate to block.
    pub fn events(&self) -> &Receiver<HotEvent> {
        &self.events
    }

    /// Stops: the batch in hand is cancelled (what is finished stays, what is not is removed)
    /// and [`HotEvent::Ended`] follows.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(c) = self
            .shared
            .canceller
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            c.cancel();
        }
    }

    /// Whether [`Self::stop`] was asked.
    pub fn stopping(&self) -> bool {
        self.shared.stopped()
    }

    /// Pauses: the batch in hand takes no new files, and no new batch starts, until resumed.
    pub fn pause(&self) {
        let pool = self.shared.pool();
        if self.shared.paused.swap(true, Ordering::AcqRel) {
            return;
        }
        match pool.as_ref() {
            Some(controls) => controls.pause(),
            None => self.shared.send(HotEvent::Pool(Event::Paused)),
        }
    }

    /// Goes on after [`Self::pause`] (also after a pause at a full disk: Retry).
    pub fn resume(&self) {
        let pool = self.shared.pool();
        let was = self.shared.paused.swap(false, Ordering::AcqRel);
        match pool.as_ref() {
            // A batch that paused itself (a full disk) is resumed too.
            Some(controls) => controls.resume(),
            None if was => self.shared.send(HotEvent::Pool(Event::Resumed)),
            None => {}
        }
    }

    /// Whether paused by [`Self::pause`].
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
    }

    /// Runs this many workers from now on (the batch in hand too).
    pub fn set_workers(&self, workers: usize) {
        let workers = workers.max(1);
        let pool = self.shared.pool();
        if self.shared.workers.swap(workers, Ordering::AcqRel) == workers {
            return;
        }
        match pool.as_ref() {
            Some(controls) => controls.set_workers(workers),
            None => self
                .shared
                .send(HotEvent::Pool(Event::WorkersChanged { target: workers })),
        }
    }
}

impl Drop for HotFolder {
    fn drop(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How one batch ended.
enum Ended {
    Done,
    Cancelled,
    Refused(String),
}

/// The hot folder's thread: the catch-up, then a batch per arrival until stopped.
fn watch(request: &Request, options: &HotOptions, shared: &Shared) -> HotEnd {
    // Watching starts before the catch-up's scan: nothing that arrives meanwhile is missed.
    // Only the catch-up (`--once`): no events are asked for (a tree over the system's watch
    // limit would be told of a fallback it never uses).
    let mut watch = options.watch.clone();
    if options.once {
        watch.poll.get_or_insert(Duration::from_secs(2));
    }
    let mut watcher = Watcher::start(&request.inputs, watch);
    if let Some(note) = watcher.note.take() {
        shared.send(HotEvent::Note(note));
    }
    let watcher = Arc::new(Mutex::new(watcher));

    // The catch-up: the folders' files, less those still arriving.
    let catch_up: Scanner = {
        let watcher = Arc::clone(&watcher);
        Arc::new(move |inputs, scan_options| {
            let found = scan::scan(inputs, scan_options)?;
            Ok(watcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .catch_up(found))
        })
    };
    match run_batch(request, options, shared, &catch_up, true) {
        Ok(Ended::Done) => {}
        Ok(Ended::Cancelled) => return HotEnd::Stopped,
        Ok(Ended::Refused(reason)) => return HotEnd::Refused(reason),
        Err(e) => return HotEnd::Failed(e),
    }
    let arriving = watcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pending();
    shared.send(HotEvent::CaughtUp { arriving });
    if options.once {
        return HotEnd::CaughtUp;
    }
    loop {
        let arrived = watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wait(&shared.stop);
        if shared.stopped() {
            return HotEnd::Stopped;
        }
        // The system stopped reporting changes (said once; the folders are looked at instead).
        if let Some(note) = watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .note
            .take()
        {
            shared.send(HotEvent::Note(note));
        }
        let mut ready: Vec<PathBuf> = arrived.files;
        for (was, is) in arrived.renamed {
            match follow_rename(request, shared, &was, &is) {
                Ok(true) => {}
                Ok(false) => ready.push(is),
                Err(reason) => return HotEnd::Refused(reason),
            }
        }
        if ready.is_empty() {
            continue;
        }
        let arrived: Scanner = Arc::new(move |inputs, _| Ok(scan::listed(inputs, &ready)));
        match run_batch(request, options, shared, &arrived, false) {
            Ok(Ended::Done) => {}
            Ok(Ended::Cancelled) => return HotEnd::Stopped,
            Ok(Ended::Refused(reason)) => return HotEnd::Refused(reason),
            Err(e) => return HotEnd::Failed(e),
        }
    }
}

/// How often a paused hot folder looks whether it was resumed or stopped.
const PAUSED_LOOK: Duration = Duration::from_millis(50);

/// Plans the files `scanner` finds and converts them, the pool's events sent on.
fn run_batch(
    request: &Request,
    options: &HotOptions,
    shared: &Shared,
    scanner: &Scanner,
    first: bool,
) -> Result<Ended, String> {
    // Paused: no new batch starts (its files wait, planned when resumed).
    while shared.paused.load(Ordering::Acquire) && !shared.stopped() {
        std::thread::park_timeout(PAUSED_LOOK);
    }
    if shared.stopped() {
        return Ok(Ended::Cancelled);
    }
    let prepared = batch::prepare(
        request.clone(),
        None,
        Some(Arc::clone(&shared.stop)),
        scanner,
    )
    .map_err(|e| e.to_string())?;
    if prepared.plan.jobs.is_empty() {
        for w in &prepared.plan.warnings {
            shared.send(HotEvent::Note(format!(
                "warning: {}: {}",
                w.path.display(),
                w.reason
            )));
        }
        return Ok(Ended::Done);
    }
    if first {
        // What an interrupted run left (its temporary files), before anything is written.
        prepared.sweep();
    }
    shared.send(HotEvent::Batch {
        jobs: Arc::clone(&prepared.plan.jobs),
        catch_up: first,
        setup: prepared.setup.clone(),
        warnings: prepared.plan.warnings.clone(),
    });
    let mut running = prepared.start(batch::Run {
        workers: shared.workers.load(Ordering::Acquire),
        priority: options.priority,
        // The hot folder wakes the front end after sending each event on.
        waker: Arc::new(|_| {}),
        on_systemic: options.on_systemic,
    })?;
    for w in &running.warnings {
        shared.send(HotEvent::Note(format!("warning: {w}")));
    }
    let mut refused = None;
    let mut cancelled = false;
    if let Some(handle) = running.handle() {
        {
            let mut pool = shared.pool();
            *shared
                .canceller
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(handle.canceller());
            let controls = handle.controls();
            // Asked for while the pool started.
            if shared.paused.load(Ordering::Acquire) {
                controls.pause();
            }
            let workers = shared.workers.load(Ordering::Acquire);
            if handle.workers() != workers {
                controls.set_workers(workers);
            }
            *pool = Some(controls);
        }
        if shared.stopped() {
            handle.cancel();
        }
        for event in handle.events() {
            let end = match &event {
                Event::Halted { reason, .. } => {
                    refused = Some(reason.clone());
                    None
                }
                Event::Resumed => {
                    // Resumed after a pause at a full disk: not refused after all.
                    refused = None;
                    None
                }
                Event::BatchFinished { cancelled: c } => Some(*c),
                _ => None,
            };
            shared.send(HotEvent::Pool(event));
            if let Some(c) = end {
                cancelled = c;
                break;
            }
        }
    }
    *shared.pool() = None;
    *shared
        .canceller
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = None;
    if let Err(e) = running.finish() {
        shared.send(HotEvent::Note(format!("warning: {e}")));
    }
    // A batch that stopped at a full disk (the command line) or was stopped while paused
    // there (the window): the watch ends with that one message.
    if let Some(reason) = refused
        && (options.on_systemic == OnSystemic::Stop || cancelled)
    {
        return Ok(Ended::Refused(reason));
    }
    Ok(if cancelled {
        Ended::Cancelled
    } else {
        Ended::Done
    })
}

/// `is` is `was` renamed (the same size and time; `was` is gone). When the journal has
/// `was`'s outputs under this recipe and they are in place, each is renamed to the name `is`
/// gets and recorded for it, instead of converting `is` again; whether that was done. An
/// error is the journal that cannot be written (a failure of the whole watch).
fn follow_rename(
    request: &Request,
    shared: &Shared,
    was: &Path,
    is: &Path,
) -> Result<bool, String> {
    let only = vec![is.to_path_buf()];
    let scanner: Scanner = Arc::new(move |inputs, _| Ok(scan::listed(inputs, &only)));
    let Ok(prepared) = batch::prepare(request.clone(), None, None, &scanner) else {
        return Ok(false);
    };
    let jobs = Arc::clone(&prepared.plan.jobs);
    if jobs.is_empty()
        || jobs
            .iter()
            .any(|j| j.action != Action::Convert || j.replace)
    {
        return Ok(false);
    }
    let journal = Journal::load(&request.out);
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
        let from = request.out.join(journal::text_path(&made.output));
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
    let writer = JournalWriter::new(&request.out, None);
    for (job, from, entry) in moves {
        // The line first, then the rename, as for a conversion: a stop between leaves a line
        // that matches nothing, never an output the journal does not know.
        writer.record(&entry).map_err(|e| {
            format!(
                "cannot update the journal in {}: {}",
                request.out.display(),
                io_words(&e)
            )
        })?;
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
            shared.send(HotEvent::Note(format!(
                "warning: {} could not follow its input's new name ({}); converting it again",
                from.display(),
                io_words(&e)
            )));
            return Ok(false);
        }
        let why = format!(
            "{} was renamed to this name: its output {} followed it, not converted again",
            was.display(),
            from.display()
        );
        shared.send(HotEvent::Followed {
            job: job.clone(),
            from,
            why,
        });
    }
    Ok(true)
}
