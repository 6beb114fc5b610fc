//! What the window remembers across launches: the recipe form, worker count and presets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::recipe::{Recipe, ResizeSpec};

pub use super::quality_form::{QualityForm, QualityMode, VisualTarget};

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

/// One output's form: the recipe and the resize and quality controls that shape it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputForm {
    /// The recipe (its `resize` and targets mirror the forms below).
    pub recipe: Recipe,
    /// The resize controls.
    pub resize_form: ResizeForm,
    /// The quality controls.
    pub quality_form: QualityForm,
    /// The naming template as typed (it may not parse yet); `None` shows the recipe's.
    #[serde(skip)]
    pub name_text: Option<String>,
    /// Why the typed template does not parse.
    #[serde(skip)]
    pub name_error: Option<String>,
    /// The sub-folder as typed; `None` shows the recipe's.
    #[serde(skip)]
    pub subfolder_text: Option<String>,
    /// Why the typed sub-folder is refused.
    #[serde(skip)]
    pub subfolder_error: Option<String>,
}

impl Default for OutputForm {
    fn default() -> Self {
        let form = ResizeForm::default();
        OutputForm {
            recipe: Recipe {
                resize: form.spec(),
                ..Recipe::default()
            },
            resize_form: form,
            quality_form: QualityForm::default(),
            name_text: None,
            name_error: None,
            subfolder_text: None,
            subfolder_error: None,
        }
    }
}

impl OutputForm {
    /// A form showing `recipe`.
    pub fn from_recipe(recipe: Recipe) -> OutputForm {
        let mut form = OutputForm::default();
        form.set(recipe);
        form
    }

    /// Shows `recipe`, keeping the controls' other remembered numbers.
    pub fn set(&mut self, recipe: Recipe) {
        self.resize_form.set(recipe.resize);
        self.quality_form.set(&recipe);
        self.recipe = recipe;
        self.name_text = None;
        self.name_error = None;
        self.subfolder_text = None;
        self.subfolder_error = None;
    }

    /// Why the form cannot make a recipe yet (a template or sub-folder being typed).
    pub fn error(&self) -> Option<&str> {
        self.name_error
            .as_deref()
            .or(self.subfolder_error.as_deref())
    }

    /// The recipe the form describes.
    pub fn current_recipe(&self) -> Recipe {
        let mut recipe = Recipe {
            resize: self.resize_form.spec(),
            ..self.recipe.clone()
        };
        self.quality_form.apply(&mut recipe);
        recipe
    }

    /// The sub-folder's text as shown in the form.
    pub fn subfolder_text(&mut self) -> &mut String {
        let folder = &self.recipe.subfolder;
        self.subfolder_text.get_or_insert_with(|| folder.clone())
    }

    /// The naming template's text as shown in the form.
    pub fn name_text(&mut self) -> &mut String {
        let template = &self.recipe.name_template;
        self.name_text.get_or_insert_with(|| template.to_string())
    }
}

/// Everything persisted between launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The outputs made from every input, each with its form; never empty. The first one's
    /// on-exist policy is the batch's.
    pub outputs: Vec<OutputForm>,
    /// Worker count.
    pub workers: usize,
    /// Settings from before recipes had several outputs (one recipe and its forms, presets
    /// kept here rather than as files): read once, moved into `outputs` and preset files.
    #[serde(skip_serializing)]
    pub recipe: Option<Recipe>,
    #[serde(skip_serializing)]
    #[doc(hidden)]
    pub resize_form: Option<ResizeForm>,
    #[serde(skip_serializing)]
    #[doc(hidden)]
    pub quality_form: Option<QualityForm>,
    /// Presets saved by earlier versions, by name (now each is a recipe file).
    #[serde(skip_serializing)]
    pub presets: BTreeMap<String, Recipe>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            outputs: vec![OutputForm::default()],
            workers: crate::engine::pool::default_workers(),
            recipe: None,
            resize_form: None,
            quality_form: None,
            presets: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// The key the settings are stored under.
    pub const KEY: &'static str = "conveyor-settings";

    /// Moves settings of earlier versions into today's shape; never leaves `outputs` empty.
    /// Returns the presets they held, for the caller to write as files.
    pub fn normalise(&mut self) -> BTreeMap<String, Recipe> {
        if let Some(recipe) = self.recipe.take() {
            let mut form = OutputForm {
                recipe,
                ..OutputForm::default()
            };
            if let Some(r) = self.resize_form.take() {
                form.resize_form = r;
            }
            if let Some(q) = self.quality_form.take() {
                form.quality_form = q;
            }
            self.outputs = vec![form];
        }
        if self.outputs.is_empty() {
            self.outputs.push(OutputForm::default());
        }
        std::mem::take(&mut self.presets)
    }

    /// The first output's form.
    pub fn first(&self) -> &OutputForm {
        static DEFAULT: std::sync::LazyLock<OutputForm> =
            std::sync::LazyLock::new(OutputForm::default);
        self.outputs.first().unwrap_or(&DEFAULT)
    }

    /// The first output's form, for changing it.
    pub fn first_mut(&mut self) -> &mut OutputForm {
        if self.outputs.is_empty() {
            self.outputs.push(OutputForm::default());
        }
        &mut self.outputs[0]
    }

    /// The first output's recipe.
    pub fn current_recipe(&self) -> Recipe {
        self.first().current_recipe()
    }

    /// Every output's recipe, in order, each with the batch's on-exist policy.
    pub fn current_recipes(&self) -> Vec<Recipe> {
        let on_exist = self.first().recipe.on_exist;
        self.outputs
            .iter()
            .map(|f| Recipe {
                on_exist,
                ..f.current_recipe()
            })
            .collect()
    }

    /// Shows `recipes` (one form per output), keeping the batch's on-exist policy.
    pub fn set_recipes(&mut self, recipes: Vec<Recipe>) {
        let on_exist = self.first().recipe.on_exist;
        let mut forms: Vec<OutputForm> = recipes
            .into_iter()
            .map(|r| OutputForm::from_recipe(Recipe { on_exist, ..r }))
            .collect();
        if forms.is_empty() {
            forms.push(OutputForm::default());
        }
        self.outputs = forms;
    }

    /// Adds a copy of output `index` after it (the form duplicated, so the user edits from
    /// there); returns the new output's index.
    pub fn duplicate_output(&mut self, index: usize) -> usize {
        let index = index.min(self.outputs.len().saturating_sub(1));
        let copy = self.outputs.get(index).cloned().unwrap_or_default();
        self.outputs.insert(index + 1, copy);
        // An exact copy would write its original's files: it gets a sub-folder of its own
        // ("output-2", or "small-2" beside "small") for the user to rename.
        let base = self.outputs[index].recipe.subfolder.clone();
        for k in 2.. {
            if crate::engine::recipe_file::first_collision(&self.current_recipes()).is_none() {
                break;
            }
            let form = &mut self.outputs[index + 1];
            form.recipe.subfolder = if base.is_empty() {
                format!("output-{k}")
            } else {
                format!("{base}-{k}")
            };
            form.subfolder_text = None;
            form.subfolder_error = None;
        }
        index + 1
    }

    /// Removes output `index`, unless it is the last one left.
    pub fn remove_output(&mut self, index: usize) -> bool {
        if self.outputs.len() < 2 || index >= self.outputs.len() {
            return false;
        }
        let on_exist = self.first().recipe.on_exist;
        self.outputs.remove(index);
        self.first_mut().recipe.on_exist = on_exist;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::format::Format;
    use crate::engine::recipe::OutputFormat;

    #[test]
    fn settings_of_earlier_versions_move_into_the_outputs() {
        let old = r#"{"recipe": {"quality": 70, "format": "FORMAT"},
            "resize_form": {"mode": "Long", "width": 1, "height": 1, "amount": 800},
            "workers": 3, "presets": {"web": {"quality": 60}}}"#
            .replace("FORMAT", Format::Webp.name());
        let mut s: Settings = serde_json::from_str(&old).expect("old settings read");
        let presets = s.normalise();
        assert_eq!(s.outputs.len(), 1);
        let r = s.current_recipe();
        assert_eq!(r.quality, 70);
        assert_eq!(r.format, OutputFormat::To(Format::Webp));
        assert_eq!(r.resize, Some(ResizeSpec::Long(800)));
        assert_eq!(presets.get("web").map(|p| p.quality), Some(60));
        let json = serde_json::to_string(&s).expect("serialise");
        let back: Settings = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, s);
    }

    #[test]
    fn outputs_are_duplicated_and_removed_but_never_all() {
        let mut s = Settings::default();
        s.first_mut().recipe.on_exist = crate::engine::recipe::OnExist::Rename;
        let i = s.duplicate_output(0);
        s.outputs[i]
            .resize_form
            .set(Some(ResizeSpec::Fit(480, 480)));
        assert_eq!(s.outputs.len(), 2);
        let recipes = s.current_recipes();
        assert_eq!(
            recipes[1].subfolder, "output-2",
            "a copy writes files of its own"
        );
        assert!(crate::engine::recipe_file::first_collision(&recipes).is_none());
        assert_eq!(recipes[1].resize, Some(ResizeSpec::Fit(480, 480)));
        assert_eq!(recipes[0].resize, Some(ResizeSpec::Fit(1600, 1600)));
        assert!(s.remove_output(0));
        assert!(!s.remove_output(0), "the last output stays");
        assert_eq!(s.current_recipe().resize, Some(ResizeSpec::Fit(480, 480)));
        assert_eq!(
            s.current_recipe().on_exist,
            crate::engine::recipe::OnExist::Rename,
            "the batch's policy survives removing the first output"
        );
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
