//! The worker pool: a bounded job channel fed from the plan, a live-resizable crew of named
//! worker threads, pause / resume / cancel, and an event channel back to the front end.
//!
//! Every job ends in exactly one `Event::Finished`: the feeder ends plan-skipped jobs and jobs it
//! never queued because of a cancel; a worker ends every job it receives.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, select, unbounded};

use super::event::{Event, WorkerId};
use super::job::{
    Action, Converted, ErrorKind, Failure, Flow, Job, JobError, JobId, Outcome, Processor, Stage,
};

/// Worker threads are named this followed by their number.
pub const WORKER_THREAD_PREFIX: &str = "conveyor-worker-";

/// The default worker count: the logical CPUs.
pub fn default_workers() -> usize {
    num_cpus::get().max(1)
}

/// Makes panics inside worker threads quiet: the pool catches them and reports them as that
/// file's failure, so the default hook's message would only garble a front end's display.
pub fn quiet_worker_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_worker = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with(WORKER_THREAD_PREFIX));
        if !in_worker {
            default(info);
        }
    }));
}

/// A failure that is Conveyor's own fault, not the file's.
fn internal(reason: String) -> Outcome {
    Outcome::Failed(Failure {
        kind: ErrorKind::Panic,
        reason,
        systemic: false,
    })
}

/// A closure the pool calls after each event it sends, so a front end can wake up (the GUI
/// passes one that requests a repaint), told how soon someone waits to see it.
pub type Waker = Arc<dyn Fn(Urgency) + Send + Sync>;

/// How soon a front end should look at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Progress: when the front end next draws.
    Soon,
    /// The batch ended, stopped on a systemic failure, paused, resumed or is cancelling:
    /// someone waits for it.
    Now,
}

impl Urgency {
    /// How soon `event` should be seen.
    pub fn of(event: &Event) -> Urgency {
        match event {
            Event::BatchFinished { .. }
            | Event::Halted { .. }
            | Event::Paused
            | Event::Resumed
            | Event::Cancelling => Urgency::Now,
            _ => Urgency::Soon,
        }
    }
}

/// The largest worker count accepted.
pub const MAX_WORKERS: usize = 256;

/// How the workers' threads are scheduled against the rest of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Like any other thread (the command line).
    Normal,
    /// Below interactive threads (the window): [`BACKGROUND_NICE`] steps nicer on Linux, so the
    /// window and the rest of the desktop get a core as soon as they want one, while the
    /// workers still take every cycle nobody else wants. Elsewhere the same as `Normal`.
    Background,
}

/// What the pool does when a job meets a failure of the whole batch ([`Failure::systemic`]: the
/// output disk full or unwritable, object storage refusing the batch), so the files after it are
/// not each read, decoded and encoded only to fail the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnSystemic {
    /// End that file as failed, say why once ([`Event::Halted`]) and cancel the rest: the
    /// command line, where nobody is there to fix the disk and answer.
    #[default]
    Stop,
    /// Put that file back, pause, and say why ([`Event::Halted`], once per file put back):
    /// the window, which asks. Resuming runs the files put back first; cancelling ends them
    /// as cancelled.
    Pause,
}

/// How many steps nicer [`Priority::Background`] workers run than the thread that starts them.
pub const BACKGROUND_NICE: i32 = 10;

struct WorkerEntry {
    id: WorkerId,
    /// Dropping this tells the worker to retire after the job in hand.
    retire: Option<Sender<()>>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct Crew {
    entries: Vec<WorkerEntry>,
    next_id: WorkerId,
    target: usize,
    /// Set once the supervisor has joined everyone: no new workers may start.
    closed: bool,
}

struct Shared {
    jobs: Arc<[Job]>,
    processor: Arc<dyn Processor>,
    events: Sender<Event>,
    waker: Waker,
    /// Groups of jobs: one input's outputs, run together.
    queue: Receiver<Vec<JobId>>,
    cancelled: AtomicBool,
    paused: AtomicBool,
    /// While paused: a receiver that disconnects on resume. Workers wait on it.
    gate: Mutex<Option<Receiver<()>>>,
    gate_open: Mutex<Option<Sender<()>>>,
    crew: Mutex<Crew>,
    busy: AtomicUsize,
    /// Each worker sends its id here as its thread ends, so the supervisor can join it.
    exits: Sender<WorkerId>,
    priority: Priority,
    on_systemic: OnSystemic,
    /// Jobs put back by a systemic failure ([`OnSystemic::Pause`]), run again first on resume.
    held: Mutex<std::collections::VecDeque<(JobId, Failure)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (they guard plain data
    // updated in single statements), so recover from poisoning rather than propagate it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn emit(&self, event: Event) {
        // The front end may have gone away; there is no one left to tell then.
        let urgency = Urgency::of(&event);
        let _ = self.events.send(event);
        (self.waker)(urgency);
    }

    fn spawn_worker(self: &Arc<Self>, crew: &mut Crew) -> std::io::Result<()> {
        crew.next_id += 1;
        let id = crew.next_id;
        let (retire_tx, retire_rx) = bounded::<()>(0);
        let shared = Arc::clone(self);
        let thread = std::thread::Builder::new()
            .name(format!("{WORKER_THREAD_PREFIX}{id}"))
            .spawn(move || worker_loop(&shared, id, &retire_rx))?;
        crew.entries.push(WorkerEntry {
            id,
            retire: Some(retire_tx),
            thread,
        });
        Ok(())
    }

    fn resize_crew(self: &Arc<Self>, target: usize) {
        let target = target.clamp(1, MAX_WORKERS);
        let mut crew = lock(&self.crew);
        if crew.closed {
            return;
        }
        let changed = crew.target != target;
        crew.target = target;
        let active = crew.entries.iter().filter(|e| e.retire.is_some()).count();
        if target > active {
            for _ in active..target {
                if let Err(e) = self.spawn_worker(&mut crew) {
                    // Out of threads: run with what we have rather than fail the batch.
                    eprintln!("conveyor: could not start a worker thread: {e}");
                    break;
                }
            }
        } else {
            let mut surplus = active - target;
            for entry in crew.entries.iter_mut().rev() {
                if surplus == 0 {
                    break;
                }
                if entry.retire.is_some() {
                    // Announce first: once the sender is dropped the worker may retire at once,
                    // and its WorkerRetired must not overtake this event.
                    self.emit(Event::WorkerRetiring { worker: entry.id });
                    entry.retire = None;
                    surplus -= 1;
                }
            }
        }
        if changed {
            self.emit(Event::WorkersChanged { target });
        }
    }

    /// Blocks while paused (unless cancelled). Returns false if told to retire meanwhile.
    fn wait_while_paused(&self, retire: &Receiver<()>) -> bool {
        while self.paused.load(Ordering::Acquire) && !self.cancelled.load(Ordering::Acquire) {
            let gate = lock(&self.gate).clone();
            let Some(gate) = gate else { break };
            select! {
                recv(gate) -> _ => {},
                recv(retire) -> _ => return false,
            }
        }
        true
    }

    /// Runs one input's jobs (`ids`, its outputs in order) on this worker: each job starts when
    /// the processor first reports on it and ends exactly once.
    fn run_group(&self, worker: WorkerId, ids: &[JobId]) {
        let group = RefCell::new(Group {
            began: Instant::now(),
            starts: vec![None; ids.len()],
            ended: vec![false; ids.len()],
        });
        let begin = |i: usize| {
            let mut g = group.borrow_mut();
            if let Some(start @ None) = g.starts.get_mut(i) {
                *start = Some(Instant::now());
                self.emit(Event::Started {
                    worker,
                    job: ids[i],
                });
            }
        };
        let finish = |i: usize, outcome: Outcome| {
            let millis = {
                let mut g = group.borrow_mut();
                if g.ended.get(i) != Some(&false) {
                    return;
                }
                g.ended[i] = true;
                g.starts[i].unwrap_or(g.began).elapsed().as_millis() as u64
            };
            self.emit(Event::Finished {
                worker: Some(worker),
                job: ids[i],
                outcome,
                millis,
            });
        };
        let jobs: Option<Vec<&Job>> = ids.iter().map(|&id| self.jobs.get(id)).collect();
        let Some(jobs) = jobs else {
            for (i, id) in ids.iter().enumerate() {
                finish(i, internal(format!("internal error: no job {id}")));
            }
            return;
        };
        if self.cancelled.load(Ordering::Acquire) {
            (0..ids.len()).for_each(|i| finish(i, Outcome::Cancelled));
            return;
        }
        // What was last said of each job: a report that says nothing new (a stage boundary
        // passed again to check for a cancel) is not sent on.
        let mut said: Vec<Option<(Stage, f32)>> = vec![None; ids.len()];
        let mut progress = |i: usize, stage: Stage, done: f32| {
            if self.cancelled.load(Ordering::Acquire) {
                return Flow::Cancel;
            }
            if let (Some(&job), Some(last)) = (ids.get(i), said.get_mut(i)) {
                begin(i);
                if *last != Some((stage, done)) {
                    *last = Some((stage, done));
                    self.emit(Event::Stage {
                        worker,
                        job,
                        stage,
                        done,
                    });
                }
            }
            Flow::Continue
        };
        let mut done = |i: usize, result: Result<Converted, JobError>| {
            begin(i);
            match result {
                Ok(done) => finish(i, Outcome::Ok(done)),
                Err(JobError::Failed(failure))
                    if failure.systemic && !self.cancelled.load(Ordering::Acquire) =>
                {
                    let job = ids[i];
                    let reason = failure.reason.clone();
                    match self.on_systemic {
                        OnSystemic::Stop => {
                            finish(i, Outcome::Failed(failure));
                            self.emit(Event::Halted {
                                worker,
                                job,
                                reason,
                                held: false,
                            });
                            cancel(self);
                        }
                        OnSystemic::Pause => {
                            {
                                let mut g = group.borrow_mut();
                                if g.ended.get(i) != Some(&false) {
                                    return;
                                }
                                g.ended[i] = true;
                            }
                            // Paused before the job is put back, so no worker takes it again
                            // before the cause is fixed.
                            pause(self);
                            lock(&self.held).push_back((job, failure));
                            self.emit(Event::Halted {
                                worker,
                                job,
                                reason,
                                held: true,
                            });
                        }
                    }
                }
                // The batch was already stopping (a systemic failure met by another worker, or
                // Stop) when this file met the same wall: it is cancelled with the rest, to be
                // made by the next run, not a failure of its own (a disk that filled under two
                // workers at once said "failed" for the second file only by timing).
                Err(JobError::Failed(failure)) if failure.systemic => {
                    finish(i, Outcome::Cancelled);
                }
                Err(JobError::Failed(failure)) => finish(i, Outcome::Failed(failure)),
                Err(JobError::Cancelled) => finish(i, Outcome::Cancelled),
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.processor.process_all(&jobs, &mut progress, &mut done);
        }));
        // Whatever the processor left unended (after a panic, or a broken promise) ends here.
        let leftover = match result {
            Err(payload) => internal(format!(
                "internal error while converting: {}",
                panic_message(payload.as_ref())
            )),
            Ok(()) if self.cancelled.load(Ordering::Acquire) => Outcome::Cancelled,
            Ok(()) => internal("internal error: the job was never finished".into()),
        };
        (0..ids.len()).for_each(|i| finish(i, leftover.clone()));
    }
}

/// Where the jobs of one group stand.
struct Group {
    began: Instant,
    starts: Vec<Option<Instant>>,
    ended: Vec<bool>,
}

/// Describes a panic's payload (its message, when it has one).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Tells the supervisor a worker thread is ending, even if it ends by unwinding.
struct ExitNotice<'a> {
    shared: &'a Shared,
    id: WorkerId,
}

impl Drop for ExitNotice<'_> {
    fn drop(&mut self) {
        self.shared.emit(Event::WorkerRetired { worker: self.id });
        let _ = self.shared.exits.send(self.id);
    }
}

fn worker_loop(shared: &Shared, id: WorkerId, retire: &Receiver<()>) {
    let _notice = ExitNotice { shared, id };
    if shared.priority == Priority::Background {
        lower_this_thread();
    }
    shared.emit(Event::WorkerStarted { worker: id });
    loop {
        if let Err(TryRecvError::Disconnected) = retire.try_recv() {
            break;
        }
        if !shared.wait_while_paused(retire) {
            break;
        }
        // Files put back by a systemic failure go first once resumed.
        let held = lock(&shared.held).pop_front();
        let group = if let Some((job, _)) = held {
            vec![job]
        } else {
            select! {
            recv(retire) -> _ => break,
            recv(shared.queue) -> msg => match msg {
                Ok(group) => group,
                Err(_) => break, // queue drained and closed: the batch is done
            },
            }
        };
        shared.busy.fetch_add(1, Ordering::AcqRel);
        shared.run_group(id, &group);
        shared.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Control of a running batch. Dropping it cancels the batch and waits for every thread.
pub struct PoolHandle {
    shared: Arc<Shared>,
    events: Receiver<Event>,
    supervisor: Option<JoinHandle<()>>,
}

/// A cheap, cloneable way to cancel a batch from elsewhere (a signal handler, say).
#[derive(Clone)]
pub struct Canceller(Arc<Shared>);

impl Canceller {
    /// Cancels the batch: queued jobs end as cancelled, work in hand stops at the next stage.
    pub fn cancel(&self) {
        cancel(&self.0);
    }
}

/// A cloneable handle on a running batch's controls (pause, resume, the worker count,
/// cancel) for a thread that does not own its [`PoolHandle`] (a hot folder's window).
#[derive(Clone)]
pub struct Controls(Arc<Shared>);

impl Controls {
    /// See [`PoolHandle::pause`].
    pub fn pause(&self) {
        pause(&self.0);
    }

    /// See [`PoolHandle::resume`].
    pub fn resume(&self) {
        resume(&self.0);
    }

    /// See [`PoolHandle::set_workers`].
    pub fn set_workers(&self, workers: usize) {
        self.0.resize_crew(workers);
    }

    /// See [`PoolHandle::cancel`].
    pub fn cancel(&self) {
        cancel(&self.0);
    }
}

/// Stops workers taking new jobs; jobs in hand finish.
fn pause(shared: &Shared) {
    let mut open = lock(&shared.gate_open);
    if open.is_some() || shared.cancelled.load(Ordering::Acquire) {
        return;
    }
    let (tx, rx) = bounded::<()>(0);
    *lock(&shared.gate) = Some(rx);
    *open = Some(tx);
    shared.paused.store(true, Ordering::Release);
    shared.emit(Event::Paused);
}

/// Lets workers take jobs again.
fn resume(shared: &Shared) {
    let mut open = lock(&shared.gate_open);
    if open.is_none() {
        return;
    }
    shared.paused.store(false, Ordering::Release);
    *lock(&shared.gate) = None;
    drop(open.take());
    shared.emit(Event::Resumed);
}

fn cancel(shared: &Shared) {
    if !shared.cancelled.swap(true, Ordering::AcqRel) {
        shared.emit(Event::Cancelling);
    }
    // Wake paused workers so they can drain the queue as cancelled.
    let mut open = lock(&shared.gate_open);
    shared.paused.store(false, Ordering::Release);
    drop(open.take());
}

/// Starts a batch over `jobs` with `workers` workers scheduled at `priority`. Events arrive on
/// [`PoolHandle::events`]; `waker` is called after each one.
pub fn start(
    jobs: Arc<[Job]>,
    processor: Arc<dyn Processor>,
    workers: usize,
    priority: Priority,
    waker: Waker,
) -> std::io::Result<PoolHandle> {
    start_with(jobs, processor, workers, priority, waker, OnSystemic::Stop)
}

/// [`start`], with what to do at a systemic failure.
pub fn start_with(
    jobs: Arc<[Job]>,
    processor: Arc<dyn Processor>,
    workers: usize,
    priority: Priority,
    waker: Waker,
    on_systemic: OnSystemic,
) -> std::io::Result<PoolHandle> {
    let workers = workers.clamp(1, MAX_WORKERS);
    let (event_tx, event_rx) = unbounded();
    // A short queue keeps back-pressure on the feeder while never starving a worker.
    let (queue_tx, queue_rx) = bounded::<Vec<JobId>>(MAX_WORKERS.min(64));
    let (exits_tx, exits_rx) = unbounded();
    let shared = Arc::new(Shared {
        jobs,
        processor,
        events: event_tx,
        waker,
        queue: queue_rx,
        cancelled: AtomicBool::new(false),
        paused: AtomicBool::new(false),
        gate: Mutex::new(None),
        gate_open: Mutex::new(None),
        crew: Mutex::new(Crew::default()),
        busy: AtomicUsize::new(0),
        exits: exits_tx,
        priority,
        on_systemic,
        held: Mutex::new(std::collections::VecDeque::new()),
    });
    shared.emit(Event::BatchStarted {
        total: shared.jobs.len(),
        workers,
    });
    shared.resize_crew(workers);
    let feeder_shared = Arc::clone(&shared);
    let supervisor = std::thread::Builder::new()
        .name("conveyor-feeder".into())
        .spawn(move || supervise(&feeder_shared, queue_tx, &exits_rx))?;
    Ok(PoolHandle {
        shared,
        events: event_rx,
        supervisor: Some(supervisor),
    })
}

/// Lowers the calling thread by [`BACKGROUND_NICE`] steps (at most to 19, the lowest). On
/// Linux a thread's niceness is its own (`setpriority` with a thread id), and the threads it
/// starts afterwards (its decode pool, an AV1 helper process) inherit it. A refusal leaves the
/// thread as it was: it only costs responsiveness.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_this_thread() {
    // SAFETY: these calls take and return plain integers and touch no memory.
    let tid = unsafe { libc::gettid() };
    let Ok(tid) = libc::id_t::try_from(tid) else {
        return;
    };
    // SAFETY: as above. (-1 is both a niceness and the error value; either way the result
    // stays within the valid range.)
    let now = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
    let lower = now.saturating_add(BACKGROUND_NICE).min(19);
    // SAFETY: as above.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, lower) };
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

/// Feeds the queue, then joins workers as they end, then reports the batch finished. Workers
/// stay in the crew until their thread has ended, so a resize meanwhile sees them.
fn supervise(shared: &Shared, queue: Sender<Vec<JobId>>, exits: &Receiver<WorkerId>) {
    // The feeder wakes each time a worker takes a job: above the workers it would preempt one
    // at every wake (a million context switches for a million tiny files), so it runs at
    // their level.
    if shared.priority == Priority::Background {
        lower_this_thread();
    }
    let mut group: Vec<JobId> = Vec::new();
    let send = |group: &mut Vec<JobId>| {
        if group.is_empty() {
            return;
        }
        if let Err(e) = queue.send(std::mem::take(group)) {
            // Unreachable while we hold a receiver in `shared`; end the jobs rather than lose
            // them.
            for job in e.0 {
                shared.emit(Event::Finished {
                    worker: None,
                    job,
                    outcome: internal("internal error: job queue closed".into()),
                    millis: 0,
                });
            }
        }
    };
    for (id, job) in shared.jobs.iter().enumerate() {
        // One input's outputs to convert go to one worker together.
        if group
            .last()
            .is_some_and(|&last| shared.jobs[last].input != job.input)
        {
            send(&mut group);
        }
        let outcome = if shared.cancelled.load(Ordering::Acquire) {
            Some(Outcome::Cancelled)
        } else if let Action::Skip(reason) = &job.action {
            Some(Outcome::Skipped(reason.to_string()))
        } else {
            None
        };
        if let Some(outcome) = outcome {
            shared.emit(Event::Finished {
                worker: None,
                job: id,
                outcome,
                millis: 0,
            });
            continue;
        }
        group.push(id);
    }
    send(&mut group);
    // Workers leave once the closed queue is drained (or when retired).
    drop(queue);
    loop {
        {
            let mut crew = lock(&shared.crew);
            if crew.entries.is_empty() {
                crew.closed = true;
                break;
            }
        }
        let Ok(id) = exits.recv() else { break };
        let entry = {
            let mut crew = lock(&shared.crew);
            let at = crew.entries.iter().position(|e| e.id == id);
            at.map(|i| crew.entries.swap_remove(i))
        };
        // A worker thread catches job panics itself; a join error would mean the loop itself
        // panicked, which there is nobody to tell about but the log.
        if let Some(entry) = entry
            && entry.thread.join().is_err()
        {
            eprintln!("conveyor: worker {} stopped abnormally", entry.id);
        }
    }
    // A job put back with no worker left to run it (the last one retired meanwhile) ends as
    // what put it back.
    let held: Vec<(JobId, Failure)> = lock(&shared.held).drain(..).collect();
    for (id, failure) in held {
        let outcome = if shared.cancelled.load(Ordering::Acquire) {
            Outcome::Cancelled
        } else {
            Outcome::Failed(failure)
        };
        shared.emit(Event::Finished {
            worker: None,
            job: id,
            outcome,
            millis: 0,
        });
    }
    // Belt and braces: a job still queued with no worker left must still end exactly once.
    while let Ok(group) = shared.queue.try_recv() {
        for id in group {
            let outcome = if shared.cancelled.load(Ordering::Acquire) {
                Outcome::Cancelled
            } else {
                internal("internal error: no worker was left to run this job".into())
            };
            shared.emit(Event::Finished {
                worker: None,
                job: id,
                outcome,
                millis: 0,
            });
        }
    }
    shared.emit(Event::BatchFinished {
        cancelled: shared.cancelled.load(Ordering::Acquire),
    });
}

impl PoolHandle {
    /// The event stream. Drain it with `try_iter()` each frame, or iterate it to block.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Changes the worker count while the batch runs: new workers pull at once; surplus workers
    /// (the newest) finish the image in hand and retire.
    pub fn set_workers(&self, workers: usize) {
        self.shared.resize_crew(workers);
    }

    /// The worker count asked for.
    pub fn workers(&self) -> usize {
        lock(&self.shared.crew).target
    }

    /// How many workers are running a job right now.
    pub fn busy(&self) -> usize {
        self.shared.busy.load(Ordering::Acquire)
    }

    /// Stops workers taking new jobs; jobs in hand finish.
    pub fn pause(&self) {
        pause(&self.shared);
    }

    /// Lets workers take jobs again.
    pub fn resume(&self) {
        resume(&self.shared);
    }

    /// Whether the batch is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
    }

    /// Cancels the batch: queued jobs end as cancelled, work in hand stops at the next stage.
    pub fn cancel(&self) {
        cancel(&self.shared);
    }

    /// Whether cancel was requested.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Acquire)
    }

    /// Pause, resume, the worker count and cancel, from another thread.
    pub fn controls(&self) -> Controls {
        Controls(Arc::clone(&self.shared))
    }

    /// A handle that can cancel this batch from another thread.
    pub fn canceller(&self) -> Canceller {
        Canceller(Arc::clone(&self.shared))
    }

    /// Whether every job has ended and every thread is joined.
    pub fn is_finished(&self) -> bool {
        self.supervisor.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Blocks until every job has ended and every thread is joined.
    pub fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        if let Some(handle) = self.supervisor.take()
            && handle.join().is_err()
        {
            eprintln!("conveyor: the job feeder stopped abnormally");
        }
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            self.cancel();
            self.join();
        }
    }
}
