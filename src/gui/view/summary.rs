//! What the window reads off a batch: counts, rates, the clock, the results list.

use std::path::Path;

use super::text::{display_name, saving};
use super::{BatchView, ResultRow};
use crate::engine::job::{Job, JobId, Status};
use crate::engine::units::human_bytes;

/// Which results to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFilter {
    /// Every finished file.
    #[default]
    All,
    /// Only failures.
    Failed,
    /// Only skipped files.
    Skipped,
}

impl BatchView {
    /// Jobs that have ended.
    pub fn ended(&self) -> usize {
        self.ok + self.skipped + self.failed + self.cancelled
    }

    /// Jobs that ended other than by a cancel: converted, skipped or failed.
    pub fn done(&self) -> usize {
        self.ok + self.skipped + self.failed
    }

    /// Fraction of jobs done, 0..1. Cancelled jobs do not count: a cancelled batch's bar stops
    /// where the work stopped.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            1.0
        } else {
            self.done() as f32 / self.total as f32
        }
    }

    /// What has ended, split as a person counts it: "12 converted", then the failed, skipped
    /// and cancelled ones where there are any ("22 converted · 3 failed · 18 cancelled").
    pub fn outcome_text(&self) -> String {
        let mut parts = vec![format!("{} converted", self.ok)];
        for (n, what) in [
            (self.failed, "failed"),
            (self.skipped, "skipped"),
            (self.cancelled, "cancelled"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join(" · ")
    }

    /// The overall line: "Overall: 12 of 40 · 10 converted · 2 failed" (failures are never
    /// counted as done work).
    pub fn overall_text(&self) -> String {
        format!(
            "Overall: {} of {} · {}",
            self.ended(),
            self.total,
            self.outcome_text()
        )
    }

    /// Seconds of unpaused running so far.
    pub fn active_seconds(&self) -> f64 {
        let paused_now = self.paused_since.map_or(0.0, |since| self.now - since);
        (self.now - self.paused_total - paused_now).max(0.0)
    }

    /// Images converted per active second (failures and skips are not work done).
    pub fn images_per_second(&self) -> f64 {
        let t = self.active_seconds();
        if t > 0.0 { self.ran as f64 / t } else { 0.0 }
    }

    /// Input and output megabytes per active second.
    pub fn megabytes_per_second(&self) -> (f64, f64) {
        let t = self.active_seconds();
        if t > 0.0 {
            (
                self.bytes_in as f64 / t / 1e6,
                self.bytes_out as f64 / t / 1e6,
            )
        } else {
            (0.0, 0.0)
        }
    }

    /// What the converted files saved together: "saved 5.0 MiB (76 %)".
    pub fn saved_text(&self) -> String {
        format!(
            "{} ➡ {}: {}",
            human_bytes(self.bytes_in),
            human_bytes(self.bytes_out),
            saving(self.bytes_in, self.bytes_out)
        )
    }

    /// Estimated seconds to go, paused time excluded: the input bytes still to convert at the
    /// input bytes per second converted so far (files differ in size, so bytes tell the time
    /// left better than a count). `None` until something is converted.
    pub fn eta_seconds(&self) -> Option<f64> {
        let t = self.active_seconds();
        (self.bytes_in > 0 && t > 0.0 && !self.finished)
            .then(|| self.bytes_left as f64 / (self.bytes_in as f64 / t))
    }

    /// The indices into [`Self::results`] that `filter` lists.
    pub fn filtered_len(&self, filter: ResultFilter) -> usize {
        match filter {
            ResultFilter::All => self.results.len(),
            ResultFilter::Failed => self.failed_rows.len(),
            ResultFilter::Skipped => self.skipped_rows.len(),
        }
    }

    /// The `i`-th row that `filter` lists.
    pub fn filtered_row(&self, filter: ResultFilter, i: usize) -> Option<&ResultRow> {
        let index = match filter {
            ResultFilter::All if self.natural.is_empty() => Some(i),
            ResultFilter::All => self.natural.get(i).map(|&k| k as usize),
            ResultFilter::Failed => self.failed_rows.get(i).copied(),
            ResultFilter::Skipped => self.skipped_rows.get(i).copied(),
        }?;
        self.results.get(index)
    }

    /// The rows as the list shows them: in natural order once the batch has finished, in
    /// finishing order while it runs.
    pub fn listed(&self) -> impl Iterator<Item = &ResultRow> + '_ {
        (0..self.filtered_len(ResultFilter::All))
            .filter_map(move |i| self.filtered_row(ResultFilter::All, i))
    }

    /// The result row of `job`, once it has ended.
    pub fn row_of_job(&self, job: JobId) -> Option<&ResultRow> {
        self.row_of.get(job).and_then(|&i| self.results.get(i))
    }

    /// The jobs that failed, for "Retry failed".
    pub fn failed_jobs(&self) -> Vec<Job> {
        self.failed_rows
            .iter()
            .filter_map(|&i| self.results.get(i))
            .filter_map(|r| self.jobs.get(r.job).cloned())
            .collect()
    }

    /// The row's input, relative to the batch's input folder.
    /// With several outputs per input, the output's number and file name follow.
    pub fn row_name(&self, row: &ResultRow) -> String {
        let Some(j) = self.jobs.get(row.job) else {
            return String::new();
        };
        let input = display_name(&j.input, &self.root);
        let several = self.jobs.iter().take(64).any(|j| j.output_index > 0);
        if several {
            let file = j.output.file_name().unwrap_or_default().to_string_lossy();
            format!("{input}  (output {}: {file})", j.output_index + 1)
        } else {
            input
        }
    }

    /// Where the row's output goes, relative to the output folder (the full path if it is
    /// elsewhere), with the plan's note when the name had to change.
    pub fn row_output(&self, row: &ResultRow, out_dir: &Path) -> String {
        let Some(j) = self.jobs.get(row.job) else {
            return String::new();
        };
        let mut text = format!("Output: {}", display_name(&j.output, out_dir));
        if let Some(note) = &j.note {
            text.push_str(&format!(" ({note})"));
        }
        text
    }

    /// What the list says about a row: the reason, or the output's size and bytes.
    pub fn row_detail(&self, row: &ResultRow) -> String {
        match (row.status, row.size, row.output_bytes) {
            (Status::Ok, Some((w, h)), Some(out)) => {
                let input = self.jobs.get(row.job).map_or(0, |j| j.input_bytes);
                let mut detail = format!(
                    "{w}×{h}, {} ➡ {} ({})",
                    human_bytes(input),
                    human_bytes(out),
                    saving(input, out)
                );
                if let Some(q) = row.quality {
                    detail.push_str(&format!(", quality {q}"));
                }
                if let Some(score) = row.score {
                    detail.push_str(&format!(", score {score:.1}"));
                }
                if !row.warnings.is_empty() {
                    detail.push_str(" — ");
                    detail.push_str(&row.warnings.join("; "));
                }
                if let Some(note) = self.jobs.get(row.job).and_then(|j| j.note.as_ref()) {
                    detail.push_str(" — ");
                    detail.push_str(&note.to_string());
                }
                detail
            }
            (Status::Cancelled, ..) => "cancelled".to_owned(),
            _ => row.reason.clone().unwrap_or_default(),
        }
    }
}
