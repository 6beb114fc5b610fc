//! What the window remembers across launches: the recipe form, worker count and presets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::recipe::{OutputFormat, Recipe, ResizeSpec};

/// The resize modes offered in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResizeMode {
    /// Keep the size.
    None,
    /// Fit inside a box.
    Fit,
    /// Cover a box and crop.
    Fill,
    /// Stretch to a box.
    Exact,
    /// Percentage.
    Scale,
    /// Longest edge.
    Long,
    /// Shortest edge.
    Short,
    /// Width.
    Width,
    /// Height.
    Height,
}

impl ResizeMode {
    /// Every mode in menu order.
    pub const ALL: [ResizeMode; 9] = [
        ResizeMode::None,
        ResizeMode::Fit,
        ResizeMode::Fill,
        ResizeMode::Exact,
        ResizeMode::Scale,
        ResizeMode::Long,
        ResizeMode::Short,
        ResizeMode::Width,
        ResizeMode::Height,
    ];

    /// Menu text.
    pub fn label(self) -> &'static str {
        match self {
            ResizeMode::None => "Keep size",
            ResizeMode::Fit => "Fit inside",
            ResizeMode::Fill => "Fill and crop",
            ResizeMode::Exact => "Stretch to",
            ResizeMode::Scale => "Scale by %",
            ResizeMode::Long => "Longest edge",
            ResizeMode::Short => "Shortest edge",
            ResizeMode::Width => "Width",
            ResizeMode::Height => "Height",
        }
    }

    /// Whether the mode takes a box (W×H) rather than one number.
    pub fn takes_box(self) -> bool {
        matches!(self, ResizeMode::Fit | ResizeMode::Fill | ResizeMode::Exact)
    }
}

/// The resize controls' state; remembers numbers across mode switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeForm {
    /// The chosen mode.
    pub mode: ResizeMode,
    /// Box width.
    pub width: u32,
    /// Box height.
    pub height: u32,
    /// The single number (pixels or percent).
    pub amount: u32,
}

impl Default for ResizeForm {
    fn default() -> Self {
        ResizeForm {
            mode: ResizeMode::Fit,
            width: 1600,
            height: 1600,
            amount: 1600,
        }
    }
}

impl ResizeForm {
    /// The spec the form describes.
    pub fn spec(&self) -> Option<ResizeSpec> {
        let (w, h, n) = (self.width.max(1), self.height.max(1), self.amount.max(1));
        Some(match self.mode {
            ResizeMode::None => return None,
            ResizeMode::Fit => ResizeSpec::Fit(w, h),
            ResizeMode::Fill => ResizeSpec::Fill(w, h),
            ResizeMode::Exact => ResizeSpec::Exact(w, h),
            ResizeMode::Scale => ResizeSpec::Scale(n),
            ResizeMode::Long => ResizeSpec::Long(n),
            ResizeMode::Short => ResizeSpec::Short(n),
            ResizeMode::Width => ResizeSpec::Width(n),
            ResizeMode::Height => ResizeSpec::Height(n),
        })
    }

    /// Sets the form to show `spec`, keeping unrelated numbers.
    pub fn set(&mut self, spec: Option<ResizeSpec>) {
        let Some(spec) = spec else {
            self.mode = ResizeMode::None;
            return;
        };
        let (mode, box_size, amount) = match spec {
            ResizeSpec::Fit(w, h) => (ResizeMode::Fit, Some((w, h)), None),
            ResizeSpec::Fill(w, h) => (ResizeMode::Fill, Some((w, h)), None),
            ResizeSpec::Exact(w, h) => (ResizeMode::Exact, Some((w, h)), None),
            ResizeSpec::Scale(n) => (ResizeMode::Scale, None, Some(n)),
            ResizeSpec::Long(n) => (ResizeMode::Long, None, Some(n)),
            ResizeSpec::Short(n) => (ResizeMode::Short, None, Some(n)),
            ResizeSpec::Width(n) => (ResizeMode::Width, None, Some(n)),
            ResizeSpec::Height(n) => (ResizeMode::Height, None, Some(n)),
        };
        self.mode = mode;
        if let Some((w, h)) = box_size {
            self.width = w;
            self.height = h;
        }
        if let Some(n) = amount {
            self.amount = n;
        }
    }
}

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
}

impl Default for QualityForm {
    fn default() -> Self {
        QualityForm {
            mode: QualityMode::Quality,
            max_kib: 200,
            visual: VisualTarget::High,
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

/// Everything persisted between launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The recipe (its `resize` mirrors `resize_form`).
    pub recipe: Recipe,
    /// The resize controls.
    pub resize_form: ResizeForm,
    /// The quality controls.
    pub quality_form: QualityForm,
    /// Worker count.
    pub workers: usize,
    /// Saved recipes by name.
    pub presets: BTreeMap<String, Recipe>,
}

impl Default for Settings {
    fn default() -> Self {
        let form = ResizeForm::default();
        Settings {
            recipe: Recipe {
                resize: form.spec(),
                ..Recipe::default()
            },
            resize_form: form,
            quality_form: QualityForm::default(),
            workers: crate::engine::pool::default_workers(),
            presets: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// The key the settings are stored under.
    pub const KEY: &'static str = "conveyor-settings";

    /// The recipe with the resize form applied.
    pub fn current_recipe(&self) -> Recipe {
        let mut recipe = Recipe {
            resize: self.resize_form.spec(),
            ..self.recipe.clone()
        };
        self.quality_form.apply(&mut recipe);
        recipe
    }

    /// Saves the current recipe under `name` (replacing one of the same name).
    pub fn save_preset(&mut self, name: &str) {
        let name = name.trim();
        if !name.is_empty() {
            self.presets.insert(name.to_owned(), self.current_recipe());
        }
    }

    /// Loads the preset `name` into the form. Returns false if there is none.
    pub fn load_preset(&mut self, name: &str) -> bool {
        let Some(recipe) = self.presets.get(name).cloned() else {
            return false;
        };
        self.resize_form.set(recipe.resize);
        self.quality_form.set(&recipe);
        self.recipe = recipe;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::format::Format;
    use crate::engine::recipe::OutputFormat;

    #[test]
    fn presets_round_trip_the_whole_recipe() {
        let mut s = Settings::default();
        s.resize_form.set(Some(ResizeSpec::Long(800)));
        s.recipe.format = OutputFormat::To(Format::Webp);
        s.recipe.quality = 70;
        s.save_preset(" web ");
        s.resize_form.set(None);
        s.recipe.format = OutputFormat::To(Format::Png);
        assert!(s.load_preset("web"));
        assert_eq!(s.current_recipe().resize, Some(ResizeSpec::Long(800)));
        assert_eq!(s.recipe.format, OutputFormat::To(Format::Webp));
        assert_eq!(s.recipe.quality, 70);
        assert!(!s.load_preset("missing"));
        let json = serde_json::to_string(&s).expect("serialise");
        let back: Settings = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, s);
    }

    #[test]
    fn the_form_remembers_numbers_across_modes() {
        let mut f = ResizeForm::default();
        f.set(Some(ResizeSpec::Fit(300, 200)));
        f.mode = ResizeMode::Width;
        f.amount = 640;
        f.mode = ResizeMode::Fit;
        assert_eq!(f.spec(), Some(ResizeSpec::Fit(300, 200)));
    }
}
