//! The rows the batch view keeps: one per live worker, the stopped workers together, and one
//! per finished file.

use crate::engine::event::WorkerId;
use crate::engine::job::{Converted, ErrorKind, Failure, JobId, Outcome, Stage, Status};

/// One worker's live line.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRow {
    /// Worker number.
    pub id: WorkerId,
    /// The job in hand.
    pub job: Option<JobId>,
    /// The stage of the job in hand.
    pub stage: Option<Stage>,
    /// Progress through the job in hand, 0..1 (each stage weighted by the time it has taken in
    /// this batch, see [`WorkerBars`]).
    pub progress: f32,
    /// Images this worker has finished.
    pub done: usize,
    /// Of those, converted.
    pub converted: usize,
    /// Of those, failed.
    pub failed: usize,
    /// Asked to stop; finishing the image in hand.
    pub retiring: bool,
}

impl WorkerRow {
    /// Holds no job any more (it ended, or was put back by a halt).
    pub(super) fn go_idle(&mut self) {
        self.job = None;
        self.stage = None;
        self.progress = 0.0;
    }
}

/// What the workers that have stopped did, together: their rows go, their counts stay on
/// screen, so the rows always add up to what the workers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retired {
    /// Workers stopped (retired by a lower count, or at the batch's end).
    pub count: usize,
    /// Images they converted.
    pub converted: usize,
    /// Images they failed.
    pub failed: usize,
}

/// One finished file. Kept small: the texts shown are made when a row is drawn, so a
/// 100,000-file batch costs no string work per event.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The job.
    pub job: JobId,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Non-fatal remarks on a converted file.
    pub warnings: Vec<String>,
    /// Output size in pixels, when written.
    pub size: Option<(u32, u32)>,
    /// Output bytes, when written.
    pub output_bytes: Option<u64>,
    /// The quality the encoder used.
    pub quality: Option<u8>,
    /// The SSIMULACRA2 score, when a visual target computed it.
    pub score: Option<f64>,
    /// What kind of failure, for the report (failures only).
    pub kind: Option<ErrorKind>,
    /// The worker that ran it, if any.
    pub worker: Option<WorkerId>,
    /// The worker's time on it, in milliseconds.
    pub millis: u32,
}

impl ResultRow {
    /// How the job ended, as its `Finished` event said (for the report: the window keeps
    /// the rows, not the events).
    pub fn outcome(&self) -> Outcome {
        let reason = || self.reason.clone().unwrap_or_default();
        match self.status {
            Status::Ok => Outcome::Ok(Converted {
                output_bytes: self.output_bytes.unwrap_or(0),
                quality: self.quality,
                score: self.score,
                width: self.size.map_or(0, |s| s.0),
                height: self.size.map_or(0, |s| s.1),
                warnings: self.warnings.clone(),
            }),
            Status::Skipped => Outcome::Skipped(reason()),
            Status::Failed => Outcome::Failed(Failure {
                kind: self.kind.unwrap_or(ErrorKind::Io),
                reason: reason(),
                systemic: false,
            }),
            Status::Cancelled | Status::Planned => Outcome::Cancelled,
        }
    }
}
