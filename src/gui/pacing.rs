//! How often the window draws while a batch runs and nobody touches it (#41): as often as a CPU
//! budget allows, never more than 30 times a second. Every frame is drawn whole; with software
//! rendering (no GPU: Mesa's llvmpipe threads rasterise the window) a frame of this window
//! costs about 12 ms of CPU, so 30 frames a second took a fifth of a two-core machine from the
//! workers. The pacer measures what drawing costs (the window thread's CPU and the
//! rasteriser's) about once a second and sets the interval between progress frames so that it
//! stays within [`BUDGET`] of the machine; input (a click, a key, the pointer moving) is drawn
//! at once, whatever the interval. While a batch runs egui's own animations (a scroll bar
//! fading in, a panel opening) are off: each asks for frames of its own until it settles, and
//! a list that grows restarts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

/// The share of the machine (all its cores) drawing may take while a batch runs.
pub const BUDGET: f64 = 0.025;
/// The shortest interval between progress frames: 30 a second.
pub const FASTEST: Duration = Duration::from_millis(33);
/// The longest: the numbers still change twice a second.
pub const SLOWEST: Duration = Duration::from_millis(500);
/// How often the cost is measured.
const SAMPLE: Duration = Duration::from_millis(500);
/// How soon a batch's first measure is taken.
const FIRST_SAMPLE: Duration = Duration::from_millis(200);

/// The interval between progress frames, shared with the batch's waker.
#[derive(Debug, Clone)]
pub struct Interval(Arc<AtomicU64>);

impl Default for Interval {
    fn default() -> Interval {
        Interval(Arc::new(AtomicU64::new(FASTEST.as_micros() as u64)))
    }
}

impl Interval {
    /// The interval now.
    pub fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, d: Duration) {
        self.0.store(
            d.as_micros().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }
}

/// Measures drawing's cost while a batch runs and sets the [`Interval`].
#[derive(Debug)]
pub struct Pacer {
    /// The interval it sets.
    pub interval: Interval,
    cores: f64,
    last: Option<(Instant, f64)>,
    /// How long the current measure runs.
    sample: Duration,
    /// egui's animation time, kept while animations are off.
    animation_time: Option<f32>,
}

impl Default for Pacer {
    fn default() -> Pacer {
        Pacer {
            interval: Interval::default(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
            last: None,
            sample: FIRST_SAMPLE,
            animation_time: None,
        }
    }
}

impl Pacer {
    /// A batch starts: measured afresh, from the rate the last one settled on (drawing costs
    /// what it cost then) or the fastest.
    pub fn restart(&mut self) {
        self.last = None;
        self.sample = FIRST_SAMPLE;
    }

    /// Turns egui's animations off while a batch `running`, and back on after.
    pub fn still(&mut self, ctx: &egui::Context, running: bool) {
        match (running, self.animation_time) {
            (true, None) => {
                self.animation_time = Some(ctx.global_style().animation_time);
                ctx.all_styles_mut(|s| s.animation_time = 0.0);
            }
            (false, Some(time)) => {
                ctx.all_styles_mut(|s| s.animation_time = time);
                self.animation_time = None;
            }
            _ => {}
        }
    }

    /// Called on the window thread once a frame while a batch runs: about once a second,
    /// measures what drawing took since the last time and adjusts the interval.
    pub fn frame(&mut self, now: Instant) {
        // /proc is read only when a measure is due, never on every frame.
        match self.last {
            None => self.last = drawing_cpu_seconds().map(|cpu| (now, cpu)),
            // The first measure of a batch comes sooner: until then it draws at the rate
            // the last batch settled on, or the fastest.
            Some((then, before)) if now.duration_since(then) >= self.sample => {
                let Some(cpu) = drawing_cpu_seconds() else {
                    return;
                };
                self.sample = SAMPLE;
                let share = (cpu - before) / (now.duration_since(then).as_secs_f64() * self.cores);
                self.interval
                    .set(next_interval(self.interval.get(), share, BUDGET));
                self.last = Some((now, cpu));
            }
            Some(_) => {}
        }
    }
}

/// The interval after one at `interval` cost `share` of the machine, for a `budget`: the cost
/// per frame is about the same at any rate, so the rate scales by budget over share. Over
/// budget, straight there; under it, halfway (a measure is noisy, and a cheap second may
/// follow a costly one); within [`FASTEST`] and [`SLOWEST`].
pub fn next_interval(interval: Duration, share: f64, budget: f64) -> Duration {
    if !share.is_finite() || share <= 0.0 {
        return FASTEST.max(interval / 2);
    }
    let now = interval.as_secs_f64();
    let target = now * share / budget;
    let next = if target > now {
        target
    } else {
        (now * target).sqrt()
    };
    Duration::from_secs_f64(next.clamp(FASTEST.as_secs_f64(), SLOWEST.as_secs_f64()))
}

/// CPU seconds the window thread (the caller) and the software rasteriser's threads
/// (`llvmpipe-N`) have used; `None` where the system does not tell.
#[cfg(target_os = "linux")]
fn drawing_cpu_seconds() -> Option<f64> {
    let mut total = super::stats::thread_cpu_ms()? / 1000.0;
    let tick = 100.0; // USER_HZ, the unit of /proc's times on Linux
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.starts_with("llvmpipe") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // After the command name (in parentheses): utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let time = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (time(11), time(12)) {
            total += (user + system) / tick;
        }
    }
    Some(total)
}

#[cfg(not(target_os = "linux"))]
fn drawing_cpu_seconds() -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_grows_when_drawing_costs_too_much_and_shrinks_when_it_is_cheap() {
        // Over the budget: the rate falls to what the budget allows at once, and stays.
        let mut i = FASTEST;
        for _ in 0..3 {
            let frames_per_second = 1.0 / i.as_secs_f64();
            // 12 ms a frame on a two-core machine.
            let share = frames_per_second * 0.012 / 2.0;
            i = next_interval(i, share, BUDGET);
        }
        let settled = 0.012 / 2.0 / BUDGET;
        assert!(
            (i.as_secs_f64() - settled).abs() < 0.02,
            "{i:?} against {settled} s"
        );
        // Cheap drawing (a GPU): back to the fastest.
        for _ in 0..8 {
            i = next_interval(i, 0.001, BUDGET);
        }
        assert_eq!(i, FASTEST);
        // Never slower than twice a second, nor faster than 30 a second.
        assert_eq!(next_interval(SLOWEST, 1.0, BUDGET), SLOWEST);
        assert_eq!(next_interval(FASTEST, 0.0, BUDGET), FASTEST);
    }
}
