//! *Retry failed*: the failed rows turned back into pending ones, and the retry pool's events
//! mapped onto this batch's job numbers, so the batch's history stays whole.

use super::BatchView;
use crate::engine::event::Event;
use crate::engine::job::{Job, Status};

impl BatchView {
    /// Turns the failed rows back into pending ones and returns their jobs, for a pool that
    /// runs them again; its events (see [`Self::translate`]) then update those rows in place,
    /// so the batch's history stays whole. `now` is seconds since the batch started: the time
    /// between the end and the retry is not counted as running.
    pub fn begin_retry(&mut self, now: f64) -> Vec<Job> {
        let rows = std::mem::take(&mut self.failed_rows);
        let mut map = Vec::with_capacity(rows.len());
        let mut jobs = Vec::with_capacity(rows.len());
        for i in rows {
            let Some(row) = self.results.get_mut(i) else {
                continue;
            };
            let Some(job) = self.jobs.get(row.job) else {
                continue;
            };
            map.push(row.job);
            self.bytes_left += job.input_bytes;
            jobs.push(job.clone());
            row.status = Status::Planned;
            row.reason = Some("retrying…".to_owned());
        }
        if jobs.is_empty() {
            return jobs;
        }
        self.failed -= jobs.len();
        self.retry_map = Some(map);
        self.finished = false;
        self.cancelling = false;
        self.paused = false;
        if now > self.now {
            self.paused_total += now - self.now;
            self.now = now;
        }
        jobs
    }

    /// How many jobs the current retry runs (0 when this is not a retry).
    pub fn retrying(&self) -> usize {
        self.retry_map.as_ref().map_or(0, Vec::len)
    }

    /// An event of the pool that runs this batch's jobs, in this batch's job numbers (a retry
    /// pool numbers its jobs from 0).
    pub fn translate(&self, event: Event) -> Event {
        let Some(map) = &self.retry_map else {
            return event;
        };
        event.with_jobs(|job| map.get(job).copied().unwrap_or(job))
    }
}
