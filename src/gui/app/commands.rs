//! What the recipe panel's preset and command buttons do: load, save and delete presets
//! (recipe files), import and export any recipe file, and *Copy as command*.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::ConveyorApp;
use crate::engine::hash::fnv1a;
use crate::engine::recipe::Recipe;
use crate::engine::recipe_file;
use crate::gui::presets::{self, Preset};

/// `arg` as one word for a POSIX shell: unchanged when it is plain, else single-quoted.
pub fn shell_word(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=%+,@".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `conveyor run` command line that does what the window would: the inputs, the output
/// folder, the worker count and the recipe, as options when it has one output in the output
/// folder itself, else as `--recipe FILE` (written into `recipe_dir`, named by its content).
pub fn command_for(
    inputs: &[PathBuf],
    out: &Path,
    recipes: &[Recipe],
    workers: usize,
    recipe_dir: Option<&Path>,
) -> Result<String, String> {
    let mut words: Vec<String> = vec!["conveyor".into(), "run".into()];
    words.extend(inputs.iter().map(|p| shell_word(p.as_os_str())));
    words.push("--out".into());
    words.push(shell_word(out.as_os_str()));
    words.push("-j".into());
    words.push(workers.to_string());
    match recipes {
        [one] if one.subfolder.is_empty() => {
            words.extend(
                recipe_file::to_args(one)
                    .iter()
                    .map(|a| shell_word(OsStr::new(a))),
            );
        }
        _ => {
            let dir = recipe_dir.ok_or("no folder to write the recipe file into")?;
            let text = recipe_file::to_toml(recipes);
            let file = dir.join(format!("recipe-{:016x}.toml", fnv1a(text.as_bytes())));
            presets::write(&file, recipes)?;
            words.push("--recipe".into());
            words.push(shell_word(file.as_os_str()));
            // The policy for existing files is the run's, not the file's.
            if let Some(first) = recipes.first() {
                words.push("--on-exist".into());
                words.push(first.on_exist.name().into());
            }
        }
    }
    Ok(words.join(" "))
}

impl ConveyorApp {
    /// Looks for presets again (after one was saved, deleted or imported).
    pub(super) fn refresh_presets(&mut self) {
        if let Some(dir) = &self.presets_dir {
            // Presets an earlier version kept in its settings become files once.
            for (name, recipe) in std::mem::take(&mut self.legacy_presets) {
                let path = dir.join(presets::file_name(&name));
                if !path.exists()
                    && let Err(e) = presets::write(&path, &[recipe])
                {
                    self.message = Some(format!("Could not keep the preset '{name}': {e}"));
                }
            }
        }
        self.presets = presets::list(self.presets_dir.as_deref());
    }

    /// Keeps user presets in `dir` instead of the config folder (tests use a temporary one).
    pub fn with_presets_dir(mut self, dir: PathBuf) -> ConveyorApp {
        self.presets_dir = Some(dir);
        self.refresh_presets();
        self
    }

    /// The presets the menu offers.
    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    /// The last command *Copy as command* put on the clipboard.
    pub fn copied_command(&self) -> Option<&str> {
        self.copied_command.as_deref()
    }

    /// Replaces the outputs with `recipes`, showing the first.
    pub(super) fn show_recipes(&mut self, recipes: Vec<Recipe>) {
        self.settings.set_recipes(recipes);
        self.open_output = 0;
    }

    /// Loads a preset's outputs into the form.
    pub(super) fn load_preset(&mut self, preset: &Preset) {
        match presets::load(preset) {
            Ok(recipes) => {
                self.show_recipes(recipes);
                self.chosen_preset = Some(preset.name.clone());
                self.message = None;
            }
            Err(e) => self.message = Some(format!("Could not load the preset: {e}")),
        }
    }

    /// Saves every output as the user preset `name`.
    pub(super) fn save_preset(&mut self, name: &str) {
        let Some(dir) = self.presets_dir.clone() else {
            self.message = Some("There is no config folder to keep presets in.".into());
            return;
        };
        match presets::save(&dir, name, &self.settings.current_recipes()) {
            Ok(path) => {
                self.refresh_presets();
                self.chosen_preset = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                self.preset_name.clear();
                self.message = Some(format!("Preset saved to {}", path.display()));
            }
            Err(e) => self.message = Some(format!("Could not save the preset: {e}")),
        }
    }

    /// Deletes a user preset's file.
    pub(super) fn delete_preset(&mut self, preset: &Preset) {
        let Some(path) = &preset.path else { return };
        match std::fs::remove_file(path) {
            Ok(()) => {
                self.chosen_preset = None;
                self.refresh_presets();
            }
            Err(e) => self.message = Some(format!("Could not delete the preset: {e}")),
        }
    }

    /// Loads the recipe file `path` (the answer to *Import…*).
    pub(super) fn import_recipe(&mut self, path: &Path) {
        match recipe_file::read(path) {
            Ok(recipes) => {
                let n = recipes.len();
                self.show_recipes(recipes);
                self.chosen_preset = None;
                self.message = Some(format!(
                    "Imported {} ({n} output{})",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                ));
            }
            Err(e) => self.message = Some(format!("Could not import: {e}")),
        }
    }

    /// Writes the recipe to `path` (the answer to *Export…*).
    pub(super) fn export_recipe(&mut self, path: &Path) {
        self.message = Some(
            match presets::write(path, &self.settings.current_recipes()) {
                Ok(()) => format!("Recipe saved to {}", path.display()),
                Err(e) => format!("Could not export the recipe: {e}"),
            },
        );
    }

    /// The command line for the current input, output folder, workers and recipe.
    pub(super) fn command_line(&self) -> Result<String, String> {
        let input = self
            .input
            .as_ref()
            .ok_or("Choose a folder first: the command names it.")?;
        let out = self.output_dir().ok_or("There is no output folder yet.")?;
        if let Some(e) = self.settings.outputs.iter().find_map(|f| f.error()) {
            return Err(format!("Fix the recipe first: {e}"));
        }
        let recipes = self.settings.current_recipes();
        let recipe_dir = self
            .presets_dir
            .as_ref()
            .and_then(|d| d.parent())
            .map(|d| d.join("recipes"));
        command_for(
            &input.paths,
            &out,
            &recipes,
            self.settings.workers,
            recipe_dir.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_what_a_shell_would_split() {
        assert_eq!(shell_word(OsStr::new("/a/b.jpg")), "/a/b.jpg");
        assert_eq!(shell_word(OsStr::new("fit:10x10")), "fit:10x10");
        assert_eq!(shell_word(OsStr::new("my photos")), "'my photos'");
        assert_eq!(shell_word(OsStr::new("{stem}")), "'{stem}'");
        assert_eq!(shell_word(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_word(OsStr::new("")), "''");
    }
}
