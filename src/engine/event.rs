//! Messages from the pool to a front end. One enum, one direction.

use std::fmt;

use serde::Serialize;

/// A worker's number, 1-based, unique within one batch (a worker started later gets a new one).
pub type WorkerId = usize;

/// A job's index in the plan.
pub type JobId = usize;

/// A step of the pipeline; each job passes through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading and decoding the source.
    Decode,
    /// Orienting and resizing.
    Resize,
    /// Encoding the output format.
    Encode,
    /// Writing the temporary file and renaming it into place.
    Write,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 4] = [Stage::Decode, Stage::Resize, Stage::Encode, Stage::Write];

    /// The stage's position in the pipeline, 0-based.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Fraction of the whole job done when this stage is `fraction` complete.
    pub fn overall(self, fraction: f32) -> f32 {
        (self.index() as f32 + fraction.clamp(0.0, 1.0)) / Stage::ALL.len() as f32
    }

    /// Lower-case name for display.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Resize => "resize",
            Stage::Encode => "encode",
            Stage::Write => "write",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A successful conversion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Converted {
    /// Bytes written.
    pub output_bytes: u64,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Things a user should know that did not stop the conversion.
    pub warnings: Vec<String>,
}

/// How one job ended. Every job ends exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Converted and written.
    Ok(Converted),
    /// Not converted on purpose (the output exists, not a regular file, …).
    Skipped(String),
    /// Could not be converted; the reason is a sentence a person understands.
    Failed(String),
    /// Abandoned because the batch was cancelled.
    Cancelled,
}

impl Outcome {
    /// The status word used in reports.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

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
    /// A job entered a stage, or moved within one (`fraction` 0..1 of that stage).
    Stage {
        /// Who is working.
        worker: WorkerId,
        /// On which job.
        job: JobId,
        /// The stage.
        stage: Stage,
        /// How far through the stage, 0..1.
        fraction: f32,
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
