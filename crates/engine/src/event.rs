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

    /// The worker whose job this event is about (its stage, its start, its end).
    fn job_worker(&self) -> Option<WorkerId> {
        match self {
            Event::Started { worker, .. } | Event::Stage { worker, .. } => Some(*worker),
            Event::Finished { worker, .. } => *worker,
            _ => None,
        }
    }
}

/// Drops the stage reports that a later event of the same worker in `events` supersedes (its
/// next stage, its job's end, its next job). A front end that takes its events a frame at a
/// time, all at one instant, draws only a worker's last state: at 15,000 tiny files a second
/// most stage reports never reach the screen, and taking each costs the window's thread. What
/// is kept reads the same: each worker's last stage, every start and every end.
pub fn without_superseded_stages(events: &mut Vec<Event>) {
    // Workers with a later event, walking from the newest.
    let mut later: Vec<WorkerId> = Vec::new();
    let mut keep = vec![true; events.len()];
    for (i, event) in events.iter().enumerate().rev() {
        let Some(worker) = event.job_worker() else {
            continue;
        };
        if later.contains(&worker) {
            keep[i] = !matches!(event, Event::Stage { .. });
        } else {
            later.push(worker);
        }
    }
    let mut flags = keep.into_iter();
    events.retain(|_| flags.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(worker: WorkerId, job: JobId, stage: Stage, done: f32) -> Event {
        Event::Stage {
            worker,
            job,
            stage,
            done,
        }
    }

    #[test]
    fn only_the_stage_reports_a_worker_has_moved_on_from_are_dropped() {
        let finished = |worker, job| Event::Finished {
            worker: Some(worker),
            job,
            outcome: Outcome::Cancelled,
            millis: 0,
        };
        let mut events = vec![
            Event::Started { worker: 1, job: 0 },
            stage(1, 0, Stage::Decode, 0.0),
            Event::Started { worker: 2, job: 1 },
            stage(2, 1, Stage::Decode, 0.0),
            stage(1, 0, Stage::Encode, 0.0),
            stage(1, 0, Stage::Encode, 0.5),
            finished(1, 0),
            Event::Started { worker: 1, job: 2 },
            stage(1, 2, Stage::Decode, 0.0),
            Event::Paused,
            stage(2, 1, Stage::Resize, 0.0),
        ];
        without_superseded_stages(&mut events);
        assert_eq!(
            events,
            vec![
                Event::Started { worker: 1, job: 0 },
                Event::Started { worker: 2, job: 1 },
                finished(1, 0),
                Event::Started { worker: 1, job: 2 },
                stage(1, 2, Stage::Decode, 0.0),
                Event::Paused,
                stage(2, 1, Stage::Resize, 0.0),
            ]
        );
    }
}
