//! Frame timing during a batch, printed when it ends if `CONVEYOR_FRAME_STATS` is set, and of
//! the frames after it (browsing, filtering and scrolling its results), printed when the window
//! closes: how the window's cost per frame was measured for batches of up to a million files.

/// Frame times of the running batch, in milliseconds.
#[derive(Debug, Default)]
pub struct FrameStats {
    /// Whether to collect at all.
    pub enabled: bool,
    /// Event handling per frame.
    pub logic_ms: Vec<f32>,
    /// Drawing per frame.
    pub ui_ms: Vec<f32>,
    /// Whole frame, as eframe measures it.
    pub cpu_ms: Vec<f32>,
    /// The window thread's CPU time and involuntary context switches when the last whole frame
    /// was taken.
    last_usage: ThreadUsage,
}

/// What the window thread has used so far.
#[derive(Debug, Default, Clone, Copy)]
struct ThreadUsage {
    cpu_ms: f64,
    preempted: i64,
}

impl ThreadUsage {
    /// The calling thread's CPU time (user and system) and involuntary context switches; zero
    /// where the system does not say.
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn now() -> ThreadUsage {
        // SAFETY: `rusage` is plain data, valid when zeroed, and `getrusage` writes only into the
        // one we pass; RUSAGE_THREAD asks about the calling thread.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut r) } != 0 {
            return ThreadUsage::default();
        }
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
        ThreadUsage {
            cpu_ms: ms(r.ru_utime) + ms(r.ru_stime),
            preempted: r.ru_nivcsw,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn now() -> ThreadUsage {
        ThreadUsage::default()
    }
}

/// The calling thread's CPU time (user and system) in milliseconds, where the system tells.
pub fn thread_cpu_ms() -> Option<f64> {
    let usage = ThreadUsage::now();
    (cfg!(target_os = "linux")).then_some(usage.cpu_ms)
}

/// A whole frame slower than this is printed as it happens, with its parts.
const SLOW_FRAME_MS: f32 = 25.0;

impl FrameStats {
    /// Collecting when the environment asks for it.
    pub fn from_env() -> FrameStats {
        FrameStats {
            enabled: std::env::var_os("CONVEYOR_FRAME_STATS").is_some(),
            ..FrameStats::default()
        }
    }

    /// Takes eframe's measure of the previous frame (it is only known in the next one). A slow
    /// one is printed at once with its parts: our event handling and drawing, and how much CPU
    /// the window thread had and how often it was preempted since the previous measure, which
    /// tells a frame that worked from one that waited for a core.
    pub fn whole_frame(&mut self, ms: f32) {
        let usage = ThreadUsage::now();
        let cpu = usage.cpu_ms - self.last_usage.cpu_ms;
        let preempted = usage.preempted - self.last_usage.preempted;
        self.last_usage = usage;
        if self.enabled && ms > SLOW_FRAME_MS {
            // The first measure of a batch has no previous one to count from.
            let thread = if self.cpu_ms.is_empty() {
                String::new()
            } else {
                format!(", window thread CPU {cpu:.1} ms, preempted {preempted} times")
            };
            eprintln!(
                "conveyor slow frame {}: whole {ms:.1} ms{thread}; events {:.1} ms, drawing {:.1} ms",
                self.cpu_ms.len(),
                self.logic_ms.last().copied().unwrap_or(0.0),
                self.ui_ms.last().copied().unwrap_or(0.0),
            );
        }
        self.cpu_ms.push(ms);
    }

    fn summary(values: &mut [f32]) -> String {
        if values.is_empty() {
            return "no frames".into();
        }
        // The slowest frames' places in the batch (0 the first frame, 1 the last) say whether
        // they come from starting, running or finishing.
        let mut slowest: Vec<(usize, f32)> = values.iter().copied().enumerate().collect();
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        let last = values.len().saturating_sub(1).max(1) as f32;
        let places: Vec<String> = slowest
            .iter()
            .take(3)
            .map(|(i, ms)| format!("{ms:.1} ms at {:.2}", *i as f32 / last))
            .collect();
        values.sort_by(f32::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize];
        format!(
            "frames {} p50 {:.2} ms p99 {:.2} ms max {:.2} ms (slowest: {})",
            values.len(),
            at(0.5),
            at(0.99),
            at(1.0),
            places.join(", ")
        )
    }

    /// Prints the figures for the batch that just ended (with `rows` results, `elapsed`
    /// seconds from its start to its end as the batch says) and starts afresh.
    pub fn report(&mut self, rows: usize, elapsed: Option<f64>) {
        if self.enabled {
            eprintln!(
                "conveyor frame stats ({} result rows in {:.2} s): events {}; drawing {}; whole \
                 frame {}",
                rows,
                elapsed.unwrap_or(0.0),
                Self::summary(&mut self.logic_ms),
                Self::summary(&mut self.ui_ms),
                Self::summary(&mut self.cpu_ms)
            );
        }
        self.logic_ms.clear();
        self.ui_ms.clear();
        self.cpu_ms.clear();
    }

    /// Prints the figures for the frames since the last batch ended (its results browsed,
    /// filtered and scrolled, `rows` of them), when the window closes.
    pub fn report_after(&mut self, rows: usize) {
        if self.enabled && !self.cpu_ms.is_empty() {
            eprintln!(
                "conveyor frame stats after the batch ({rows} result rows browsed): events {}; \
                 drawing {}; whole frame {}",
                Self::summary(&mut self.logic_ms),
                Self::summary(&mut self.ui_ms),
                Self::summary(&mut self.cpu_ms)
            );
        }
        self.logic_ms.clear();
        self.ui_ms.clear();
        self.cpu_ms.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spins until the calling thread has used `ms` more CPU, or 10 s have passed.
    #[cfg(target_os = "linux")]
    fn spin_cpu(ms: f64) -> f64 {
        let start = ThreadUsage::now().cpu_ms;
        let wall = std::time::Instant::now();
        let mut x = 0u64;
        while ThreadUsage::now().cpu_ms - start < ms && wall.elapsed().as_secs() < 10 {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        ThreadUsage::now().cpu_ms - start
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn thread_usage_counts_this_threads_cpu_only() {
        let before = ThreadUsage::now();
        // Another thread's 80 ms of work is not ours (we wait for it asleep).
        let other = std::thread::spawn(|| spin_cpu(80.0)).join().unwrap();
        assert!(other >= 80.0, "the other thread used {other} ms");
        let after_other = ThreadUsage::now();
        assert!(
            after_other.cpu_ms - before.cpu_ms < 40.0,
            "{before:?} {after_other:?}"
        );
        // Our own work is.
        assert!(spin_cpu(30.0) >= 30.0);
        assert!(ThreadUsage::now().cpu_ms - after_other.cpu_ms >= 30.0);
        assert!(ThreadUsage::now().preempted >= before.preempted);
    }

    #[test]
    fn frames_are_kept_and_summarised() {
        let mut stats = FrameStats {
            enabled: true,
            ..FrameStats::default()
        };
        for ms in [4.0, 5.0, 40.0, 6.0] {
            stats.whole_frame(ms);
        }
        assert_eq!(stats.cpu_ms, [4.0, 5.0, 40.0, 6.0]);
        let text = FrameStats::summary(&mut stats.cpu_ms.clone());
        assert!(text.contains("max 40.00 ms"), "{text}");
        assert!(text.contains("40.0 ms at 0.67"), "{text}");
    }
}
