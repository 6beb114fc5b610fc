//! Text the window shows: savings, clocks, the window title, natural order of names.

use std::path::Path;

use super::{BatchView, InputSummary};
use crate::engine::job::Job;

pub(super) fn display_name(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// What a conversion from `input` to `output` bytes saved: "saved 62 %", "grew 5 %", or "same
/// size" (a file copied as it was).
pub fn saving(input: u64, output: u64) -> String {
    if input == output {
        return "same size".to_owned();
    }
    if input == 0 {
        return "grew from nothing".to_owned();
    }
    // The difference as a positive share, so a rounding to zero never prints as "-0".
    let percent = input.abs_diff(output) as f64 / input as f64 * 100.0;
    if output < input {
        format!("saved {percent:.0} %")
    } else {
        format!("grew {percent:.0} %")
    }
}

/// The window title: the app's name, the input and where the batch stands, so a glance at the
/// task bar (or a script watching the window) knows whether the batch is done.
pub fn window_title(
    input: Option<&str>,
    summary: Option<&InputSummary>,
    batch: Option<&BatchView>,
) -> String {
    let Some(input) = input else {
        return "Conveyor".to_owned();
    };
    let state = match (batch, summary) {
        (Some(v), _) if v.watching.is_some() && v.finished => {
            format!(
                "stopped watching: {}",
                v.outcome_text().replace(" · ", ", ")
            )
        }
        (Some(v), _) if v.watching.is_some() && v.paused => {
            format!("watching, paused: {} converted", v.ok)
        }
        (Some(v), _) if let Some(text) = v.watch_text() => text,
        (Some(v), _) if v.finished => {
            let mut parts = vec![format!("{} converted", v.ok)];
            if v.failed > 0 {
                parts.push(format!("{} failed", v.failed));
            }
            if v.skipped > 0 {
                parts.push(format!("{} skipped", v.skipped));
            }
            if v.cancelled > 0 {
                parts.push(format!("{} cancelled", v.cancelled));
            }
            let word = if v.cancelled > 0 {
                "stopped"
            } else {
                "finished"
            };
            format!("{word}: {}", parts.join(", "))
        }
        (Some(v), _) if v.paused => format!("paused at {} of {}", v.done(), v.total),
        (Some(v), _) => format!("{} of {} ({:.0}%)", v.done(), v.total, v.fraction() * 100.0),
        (None, Some(s)) => match s.images {
            1 => "1 image".to_owned(),
            n => format!("{n} images"),
        },
        (None, None) => "scanning…".to_owned(),
    };
    format!("Conveyor — {input} — {state}")
}

pub use crate::engine::name::natural_cmp;

/// Each job's place in natural order of its input (then output), for listing results: made
/// once, off the UI thread, so ordering a finished batch's rows is an integer sort.
pub fn natural_ranks(jobs: &[Job]) -> Vec<u32> {
    let names: Vec<std::borrow::Cow<'_, str>> =
        jobs.iter().map(|j| j.input.to_string_lossy()).collect();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| {
        natural_cmp(&names[a], &names[b])
            .then_with(|| jobs[a].output_index.cmp(&jobs[b].output_index))
    });
    let mut ranks = vec![0; jobs.len()];
    for (rank, job) in order.into_iter().enumerate() {
        ranks[job] = u32::try_from(rank).unwrap_or(u32::MAX);
    }
    ranks
}

/// Formats seconds as `m:ss` or `h:mm:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
