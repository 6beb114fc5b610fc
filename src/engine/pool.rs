//! The worker pool: a bounded job channel fed from the plan, a live-resizable crew of named
//! worker threads, pause / resume / cancel, and an event channel back to the front end.
//!
//! Every job ends in exactly one `Event::Finished`: the feeder ends plan-skipped jobs and jobs it
//! never queued because of a cancel; a worker ends every job it receives.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, select, unbounded};

use super::event::{Event, WorkerId};
use super::job::{
    Action, ErrorKind, Failure, Flow, Job, JobError, JobId, Outcome, Processor, Stage,
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
    })
}

/// A closure the pool calls after each event it sends, so a front end can wake up (the GUI
/// passes one that requests a repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The largest worker count accepted.
pub const MAX_WORKERS: usize = 256;

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
    queue: Receiver<JobId>,
    cancelled: AtomicBool,
    paused: AtomicBool,
    /// While paused: a receiver that disconnects on resume. Workers wait on it.
    gate: Mutex<Option<Receiver<()>>>,
    gate_open: Mutex<Option<Sender<()>>>,
    crew: Mutex<Crew>,
    busy: AtomicUsize,
    /// Each worker sends its id here as its thread ends, so the supervisor can join it.
    exits: Sender<WorkerId>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (they guard plain data
    // updated in single statements), so recover from poisoning rather than propagate it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn emit(&self, event: Event) {
        // The front end may have gone away; there is no one left to tell then.
        let _ = self.events.send(event);
        (self.waker)();
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

    fn run_job(&self, worker: WorkerId, job_id: JobId) {
        let start = Instant::now();
        let finish = |outcome: Outcome| {
            self.emit(Event::Finished {
                worker: Some(worker),
                job: job_id,
                outcome,
                millis: start.elapsed().as_millis() as u64,
            });
        };
        let Some(job) = self.jobs.get(job_id) else {
            finish(internal(format!("internal error: no job {job_id}")));
            return;
        };
        if self.cancelled.load(Ordering::Acquire) {
            finish(Outcome::Cancelled);
            return;
        }
        self.emit(Event::Started {
            worker,
            job: job_id,
        });
        let mut progress = |stage: Stage| {
            if self.cancelled.load(Ordering::Acquire) {
                return Flow::Cancel;
            }
            self.emit(Event::Stage {
                worker,
                job: job_id,
                stage,
            });
            Flow::Continue
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.processor.process(job, &mut progress)
        }));
        finish(match result {
            Ok(Ok(done)) => Outcome::Ok(done),
            Ok(Err(JobError::Failed(failure))) => Outcome::Failed(failure),
            Ok(Err(JobError::Cancelled)) => Outcome::Cancelled,
            Err(payload) => internal(format!(
                "internal error while converting: {}",
                panic_message(payload.as_ref())
            )),
        });
    }
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
    shared.emit(Event::WorkerStarted { worker: id });
    loop {
        if let Err(TryRecvError::Disconnected) = retire.try_recv() {
            break;
        }
        if !shared.wait_while_paused(retire) {
            break;
        }
        let job = select! {
            recv(retire) -> _ => break,
            recv(shared.queue) -> msg => match msg {
                Ok(job) => job,
                Err(_) => break, // queue drained and closed: the batch is done
            },
        };
        shared.busy.fetch_add(1, Ordering::AcqRel);
        shared.run_job(id, job);
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

fn cancel(shared: &Shared) {
    if !shared.cancelled.swap(true, Ordering::AcqRel) {
        shared.emit(Event::Cancelling);
    }
    // Wake paused workers so they can drain the queue as cancelled.
    let mut open = lock(&shared.gate_open);
    shared.paused.store(false, Ordering::Release);
    drop(open.take());
}

/// Starts a batch over `jobs` with `workers` workers. Events arrive on [`PoolHandle::events`];
/// `waker` is called after each one.
pub fn start(
    jobs: Arc<[Job]>,
    processor: Arc<dyn Processor>,
    workers: usize,
    waker: Waker,
) -> std::io::Result<PoolHandle> {
    let workers = workers.clamp(1, MAX_WORKERS);
    let (event_tx, event_rx) = unbounded();
    // A short queue keeps back-pressure on the feeder while never starving a worker.
    let (queue_tx, queue_rx) = bounded::<JobId>(MAX_WORKERS.min(64));
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

/// Feeds the queue, then joins workers as they end, then reports the batch finished. Workers
/// stay in the crew until their thread has ended, so a resize meanwhile sees them.
fn supervise(shared: &Shared, queue: Sender<JobId>, exits: &Receiver<WorkerId>) {
    for (id, job) in shared.jobs.iter().enumerate() {
        let outcome = if shared.cancelled.load(Ordering::Acquire) {
            Some(Outcome::Cancelled)
        } else if let Action::Skip(reason) = &job.action {
            Some(Outcome::Skipped(reason.clone()))
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
        if let Err(e) = queue.send(id) {
            // Unreachable while we hold a receiver in `shared`; end the job rather than lose it.
            shared.emit(Event::Finished {
                worker: None,
                job: e.0,
                outcome: internal("internal error: job queue closed".into()),
                millis: 0,
            });
        }
    }
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
    // Belt and braces: a job still queued with no worker left must still end exactly once.
    while let Ok(id) = shared.queue.try_recv() {
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
        let mut open = lock(&self.shared.gate_open);
        if open.is_some() || self.shared.cancelled.load(Ordering::Acquire) {
            return;
        }
        let (tx, rx) = bounded::<()>(0);
        *lock(&self.shared.gate) = Some(rx);
        *open = Some(tx);
        self.shared.paused.store(true, Ordering::Release);
        self.shared.emit(Event::Paused);
    }

    /// Lets workers take jobs again.
    pub fn resume(&self) {
        let mut open = lock(&self.shared.gate_open);
        if open.is_none() {
            return;
        }
        self.shared.paused.store(false, Ordering::Release);
        *lock(&self.shared.gate) = None;
        drop(open.take());
        self.shared.emit(Event::Resumed);
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
