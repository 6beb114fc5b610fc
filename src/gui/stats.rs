//! Frame timing during a batch, printed when it ends if `CONVEYOR_FRAME_STATS` is set: how the
//! window's cost per frame was measured for a 100,000-file batch.

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
}

impl FrameStats {
    /// Collecting when the environment asks for it.
    pub fn from_env() -> FrameStats {
        FrameStats {
            enabled: std::env::var_os("CONVEYOR_FRAME_STATS").is_some(),
            ..FrameStats::default()
        }
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

    /// Prints the figures for the batch that just ended (with `rows` results) and starts afresh.
    pub fn report(&mut self, rows: usize) {
        if self.enabled {
            eprintln!(
                "conveyor frame stats ({} result rows): events {}; drawing {}; whole frame {}",
                rows,
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
