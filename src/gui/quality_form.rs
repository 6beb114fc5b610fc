//! The quality controls' state: fixed quality, a size target or a visual target, each mode's
//! value remembered across switches (persisted with the rest of the settings).

use serde::{Deserialize, Serialize};

use crate::engine::recipe::{OutputFormat, Recipe};

/// How the quality of lossy outputs is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QualityMode {
    /// A quality number (the slider).
    Quality,
    /// The highest quality whose file fits a size.
    MaxSize,
    /// The lowest quality that looks at least this good.
    Visual,
}

impl QualityMode {
    /// Every mode in menu order.
    pub const ALL: [QualityMode; 3] = [
        QualityMode::Quality,
        QualityMode::MaxSize,
        QualityMode::Visual,
    ];

    /// Menu text.
    pub fn label(self) -> &'static str {
        match self {
            QualityMode::Quality => "Quality",
            QualityMode::MaxSize => "Max file size",
            QualityMode::Visual => "Visual quality",
        }
    }
}

/// The named visual targets (SSIMULACRA2 scores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VisualTarget {
    /// 70: medium; fine on screens.
    Good,
    /// 80: high.
    High,
    /// 90: visually lossless.
    VisuallyLossless,
}

impl VisualTarget {
    /// Every target, lowest first.
    pub const ALL: [VisualTarget; 3] = [
        VisualTarget::Good,
        VisualTarget::High,
        VisualTarget::VisuallyLossless,
    ];

    /// The SSIMULACRA2 score it stands for.
    pub fn score(self) -> f64 {
        match self {
            VisualTarget::Good => 70.0,
            VisualTarget::High => 80.0,
            VisualTarget::VisuallyLossless => 90.0,
        }
    }

    /// Menu text, with the number.
    pub fn label(self) -> String {
        let name = match self {
            VisualTarget::Good => "Good",
            VisualTarget::High => "High",
            VisualTarget::VisuallyLossless => "Visually lossless",
        };
        format!("{name} (score {})", self.score())
    }

    /// The named target nearest to `score`.
    pub fn nearest(score: f64) -> VisualTarget {
        VisualTarget::ALL
            .into_iter()
            .min_by(|a, b| {
                (a.score() - score)
                    .abs()
                    .total_cmp(&(b.score() - score).abs())
            })
            .unwrap_or(VisualTarget::High)
    }
}

/// The quality controls' state; remembers each mode's value across switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityForm {
    /// The chosen mode.
    pub mode: QualityMode,
    /// The size limit in KiB.
    pub max_kib: u32,
    /// The visual target.
    pub visual: VisualTarget,
    /// The fixed quality from before Visual quality raised the cap to 100, given back when
    /// another mode is chosen.
    pub quality_before_visual: Option<u8>,
}

impl Default for QualityForm {
    fn default() -> Self {
        QualityForm {
            mode: QualityMode::Quality,
            max_kib: 200,
            visual: VisualTarget::High,
            quality_before_visual: None,
        }
    }
}

impl QualityForm {
    /// `recipe` with the size and visual targets this form describes.
    /// A lossless output format (PNG, lossless WebP) takes neither.
    pub fn apply(&self, recipe: &mut Recipe) {
        let lossy = match recipe.format {
            OutputFormat::Keep => true,
            OutputFormat::To(format) => recipe.is_lossy(format),
        };
        recipe.max_size = (lossy && self.mode == QualityMode::MaxSize)
            .then(|| u64::from(self.max_kib.max(1)) * 1024);
        recipe.target_score =
            (lossy && self.mode == QualityMode::Visual).then(|| self.visual.score());
    }

    /// Sets the form to show `recipe`'s targets, keeping the other modes' values.
    pub fn set(&mut self, recipe: &Recipe) {
        if let Some(score) = recipe.target_score {
            self.mode = QualityMode::Visual;
            self.visual = VisualTarget::nearest(score);
        } else if let Some(max) = recipe.max_size {
            self.mode = QualityMode::MaxSize;
            self.max_kib = u32::try_from(max.div_ceil(1024)).unwrap_or(u32::MAX);
        } else {
            self.mode = QualityMode::Quality;
        }
    }
}
