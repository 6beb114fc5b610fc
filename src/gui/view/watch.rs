//! A hot folder in one view: each batch of arrivals adds its jobs after the last's, its pool's
//! events are numbered into the view's, and between batches the view waits (its workers idle,
//! its clock running) rather than finishing. It finishes when the watch stops.

use std::path::Path;
use std::sync::Arc;

use super::BatchView;
use crate::engine::event::Event;
use crate::engine::job::{Job, JobId, Outcome};

/// The jobs a view shows: one batch's, or a hot folder's batches one after the other (kept as
/// the pools' own lists: copying them into one would cost each arrival the whole history).
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    parts: Vec<Arc<[Job]>>,
    /// Where each part's numbering starts.
    starts: Vec<JobId>,
    len: usize,
}

impl Jobs {
    /// One batch's jobs.
    pub fn one(jobs: Arc<[Job]>) -> Jobs {
        let mut all = Jobs::default();
        all.push(jobs);
        all
    }

    /// Adds a batch's jobs after the others; the number its first job gets.
    pub fn push(&mut self, jobs: Arc<[Job]>) -> JobId {
        let start = self.len;
        self.len += jobs.len();
        self.starts.push(start);
        self.parts.push(jobs);
        start
    }

    /// The job numbered `id`.
    pub fn get(&self, id: JobId) -> Option<&Job> {
        if let [one] = self.parts.as_slice() {
            return one.get(id);
        }
        let part = self.starts.partition_point(|&s| s <= id).checked_sub(1)?;
        let start = self.starts.get(part)?;
        self.parts.get(part)?.get(id - start)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The same lists as `other` (not copies: the same batch).
    pub fn same_as(&self, other: &Jobs) -> bool {
        self.parts.len() == other.parts.len()
            && self
                .parts
                .iter()
                .zip(&other.parts)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// Every job, in numbering order.
    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        self.parts.iter().flat_map(|p| p.iter())
    }
}

/// The input bytes of the jobs that convert (the ETA's measure), for a batch's jobs or an
/// arrival's.
pub(super) fn bytes_to_convert(jobs: &[Job]) -> u64 {
    jobs.iter()
        .filter(|j| j.action == crate::engine::job::Action::Convert)
        .map(|j| j.input_bytes)
        .sum()
}

/// What a view of a hot folder knows besides a batch's figures.
#[derive(Debug, Clone)]
pub struct Watching {
    /// When watching started, as the clock on the wall said it ("14:05").
    pub since: String,
    /// The files there at the start have been dealt with.
    pub caught_up: bool,
    /// A batch of arrivals is being converted (otherwise: waiting for files).
    pub busy: bool,
    /// The current batch's first job in the view's numbering.
    offset: JobId,
}

impl BatchView {
    /// A view of a hot folder over `root` that started at `since` (wall-clock time to show).
    pub fn watching(root: &Path, workers: usize, since: String) -> BatchView {
        let mut view = BatchView::new(Arc::from(Vec::new()), root, workers);
        view.watching = Some(Watching {
            since,
            caught_up: false,
            busy: false,
            offset: 0,
        });
        view
    }

    /// A batch of arrivals starts with `jobs`: the pool events that follow number them from 0.
    pub fn arrivals(&mut self, jobs: Arc<[Job]>) {
        let n = jobs.len();
        self.bytes_left += bytes_to_convert(&jobs);
        let offset = self.jobs.push(jobs);
        self.total += n;
        self.row_of.resize(self.total, usize::MAX);
        // Rows of workers the new pool will not have (the count was lowered meanwhile; a
        // pool numbers its workers from 1).
        let target = self.target_workers;
        let gone: Vec<_> = self
            .workers
            .range(target + 1..)
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            if let Some(row) = self.workers.remove(&id) {
                self.retire(&row);
            }
        }
        if let Some(w) = &mut self.watching {
            w.offset = offset;
            w.busy = true;
        }
    }

    /// Applies an event of the current arrival batch's pool. Its start and end are the
    /// watch's business: at its end the workers wait for the next files (their rows stay).
    pub fn apply_arrival(&mut self, event: Event, now: f64) {
        let Some(offset) = self.watching.as_ref().map(|w| w.offset) else {
            self.apply(&event, now);
            return;
        };
        match event {
            Event::BatchStarted { workers, .. } => {
                self.tick(now);
                self.target_workers = workers;
            }
            Event::BatchFinished { .. } => {
                self.tick(now);
                if let Some(w) = &mut self.watching {
                    w.busy = false;
                }
                for row in self.workers.values_mut() {
                    row.go_idle();
                }
            }
            // Each batch's pool announces its count as it starts: a mark on the chart only
            // when the count changed.
            Event::WorkersChanged { target } if target == self.target_workers => {
                self.tick(now);
            }
            // A worker of the last batch, started again: its row (and its count) goes on.
            Event::WorkerStarted { worker } if self.workers.contains_key(&worker) => {
                self.tick(now);
            }
            // A worker that ended with its batch (not one let go): it waits for the next.
            Event::WorkerRetired { worker }
                if self.workers.get(&worker).is_some_and(|r| !r.retiring) =>
            {
                self.tick(now);
                if let Some(row) = self.workers.get_mut(&worker) {
                    row.go_idle();
                }
            }
            other => {
                let event = other.with_jobs(|job| job + offset);
                self.apply(&event, now);
            }
        }
    }

    /// An input renamed in the watched folder whose output followed it: a skipped file.
    pub fn followed(&mut self, job: Job, why: String, now: f64) {
        let offset = self.jobs.len();
        self.jobs.push(Arc::from(vec![job]));
        self.total += 1;
        self.row_of.resize(self.total, usize::MAX);
        self.apply(
            &Event::Finished {
                worker: None,
                job: offset,
                outcome: Outcome::Skipped(why),
                millis: 0,
            },
            now,
        );
    }

    /// The watch has stopped: the view finishes as a batch does.
    pub fn stop_watching(&mut self, cancelled: bool, now: f64) {
        if let Some(w) = &mut self.watching {
            w.busy = false;
        }
        self.apply(&Event::BatchFinished { cancelled }, now);
    }

    /// "watching — 12 converted since 14:05" (while it runs).
    pub fn watch_text(&self) -> Option<String> {
        let w = self.watching.as_ref()?;
        let mut text = format!("watching — {} converted since {}", self.ok, w.since);
        if self.failed > 0 {
            text.push_str(&format!(", {} failed", self.failed));
        }
        Some(text)
    }
}
