//! Messages from the pool to a front end. One enum, one direction.

use super::job::{JobId, Outcome, Stage};

/// A worker's number, 1-based, unique within one batch (a worker started later gets a new one).
pub type WorkerId = usize;

/// What the pool tells a front end.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The batch began with this many jobs and this many workers asked for.
    BatchStarted {
        /// Jobs in the batch.
        total: usize,
        /// Workers asked for.
        workers: usize,
    },
    /// A worker thread started and is pulling jobs.
    WorkerStarted {
        /// The new worker.
        worker: WorkerId,
    },
    /// The requested worker count changed while the batch runs.
    WorkersChanged {
        /// The new target.
        target: usize,
    },
    /// A worker was asked to stop; it finishes the image in hand first.
    WorkerRetiring {
        /// The worker asked to stop.
        worker: WorkerId,
    },
    /// A worker has stopped and its thread is gone.
    WorkerRetired {
        /// The worker that stopped.
        worker: WorkerId,
    },
    /// A worker took a job.
    Started {
        /// Who took it.
        worker: WorkerId,
        /// Which job.
        job: JobId,
    },
    /// A job entered a stage, or moved on within it.
    Stage {
        /// Who is working.
        worker: WorkerId,
        /// On which job.
        job: JobId,
        /// The stage.
        stage: Stage,
        /// How much of the stage is done, 0..1: 0 as it starts; more only where the codec says
        /// how far it is (a lossy WebP encode).
        done: f32,
    },
    /// A job ended. `worker` is `None` for jobs that never reached a worker (skipped in the plan,
    /// or cancelled while still queued).
    Finished {
        /// Who ran it, if anyone.
        worker: Option<WorkerId>,
        /// Which job.
        job: JobId,
        /// How it ended.
        outcome: Outcome,
        /// Time spent on it by the worker, in milliseconds.
        millis: u64,
    },
    /// A job met a failure of the whole batch (the output disk full or unwritable, object
    /// storage refusing it), see [`crate::pool::OnSystemic`]. With `held` the job was put back
    /// (it has not ended, and runs again first on resume) and the pool paused; without, the job
    /// ended as failed and the pool cancels the rest.
    Halted {
        /// Who ran it.
        worker: WorkerId,
        /// Which job.
        job: JobId,
        /// What happened, in words.
        reason: String,
        /// Put back rather than ended.
        held: bool,
    },
    /// Workers stopped taking new jobs.
    Paused,
    /// Workers took up new jobs again.
    Resumed,
    /// Cancel was requested; queued jobs end as cancelled, work in hand stops at the next stage.
    Cancelling,
    /// Every job has ended and every worker thread has been joined.
    BatchFinished {
        /// Whether the batch was cancelled.
        cancelled: bool,
    },
}

impl Event {
    /// The same event with its job renumbered by `to` (a pool that runs some of a batch's
    /// jobs, or one of several batches shown as one, numbers its own from 0).
    pub fn with_jobs(self, to: impl Fn(JobId) -> JobId) -> Event {
        match self {
            Event::Started { worker, job } => Event::Started {
                worker,
                job: to(job),
            },
            Event::Stage {
                worker,
                job,
                stage,
                done,
            } => Event::Stage {
                worker,
                job: to(job),
                stage,
                done,
            },
            Event::Finished {
                worker,
                job,
                outcome,
                millis,
            } => Event::Finished {
                worker,
                job: to(job),
                outcome,
                millis,
            },
            Event::Halted {
                worker,
                job,
                reason,
                held,
            } => Event::Halted {
                worker,
                job: to(job),
                reason,
                held,
            },
            other => other,
        }
    }
}
