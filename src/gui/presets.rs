//! Presets are recipe files: the built-in ones, and the user's in the app's config folder
//! (`<config>/conveyor/presets/NAME.toml`), listed by name. Any `.toml` can be imported and the
//! current recipe exported, in the same format `conveyor run --recipe` reads.

use std::path::{Path, PathBuf};

use crate::engine::format::Format;
use crate::engine::recipe::{MetadataMode, OutputFormat, Recipe, ResizeSpec};
use crate::engine::recipe_file;

/// A preset the menu offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Its name (for a user preset, the file's name without `.toml`).
    pub name: String,
    /// Its file, for a user preset; built-in presets have none.
    pub path: Option<PathBuf>,
}

/// The name of the built-in responsive-web preset.
pub const WEB_RESPONSIVE: &str = "Web, responsive";
/// The name of the built-in sharing preset.
pub const SHARE_NO_LOCATION: &str = "Share, no location";
/// The name of the built-in e-mail preset.
pub const EMAIL_SMALL: &str = "E-mail, small";

/// The built-in presets' names, in menu order.
pub const BUILT_IN: [&str; 3] = [WEB_RESPONSIVE, SHARE_NO_LOCATION, EMAIL_SMALL];

/// A built-in preset's outputs.
pub fn built_in(name: &str) -> Option<Vec<Recipe>> {
    let sized = |side: u32, format: Format, quality: u8| Recipe {
        resize: Some(ResizeSpec::Fit(side, side)),
        format: OutputFormat::To(format),
        quality,
        subfolder: side.to_string(),
        ..Recipe::default()
    };
    Some(match name {
        // Three WebP sizes for srcset, and a JPEG fallback at the largest.
        WEB_RESPONSIVE => vec![
            sized(480, Format::Webp, 80),
            sized(960, Format::Webp, 80),
            sized(1920, Format::Webp, 80),
            sized(1920, Format::Jpeg, 85),
        ],
        SHARE_NO_LOCATION => vec![Recipe {
            resize: Some(ResizeSpec::Long(2048)),
            format: OutputFormat::To(Format::Jpeg),
            quality: 88,
            metadata: MetadataMode::StripLocation,
            keep_dates: true,
            ..Recipe::default()
        }],
        EMAIL_SMALL => vec![Recipe {
            resize: Some(ResizeSpec::Long(1280)),
            format: OutputFormat::To(Format::Jpeg),
            quality: 75,
            metadata: MetadataMode::Strip,
            ..Recipe::default()
        }],
        _ => return None,
    })
}

/// Where the user's presets live: `$XDG_CONFIG_HOME/conveyor/presets` (or `~/.config/…`),
/// `%APPDATA%\conveyor\presets` on Windows, `~/Library/Application Support/conveyor/presets`
/// on macOS.
pub fn default_dir() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
    };
    base.map(|b| b.join("conveyor").join("presets"))
}

/// The built-in presets, then the user's (`dir/*.toml`, by name).
pub fn list(dir: Option<&Path>) -> Vec<Preset> {
    let mut user: Vec<Preset> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
        })
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_owned();
            Some(Preset {
                name,
                path: Some(p),
            })
        })
        .collect();
    user.sort_by_key(|p| p.name.to_lowercase());
    BUILT_IN
        .iter()
        .map(|n| Preset {
            name: (*n).to_owned(),
            path: None,
        })
        .chain(user)
        .collect()
}

/// A preset's outputs; an error is one line for the user.
pub fn load(preset: &Preset) -> Result<Vec<Recipe>, String> {
    match &preset.path {
        Some(path) => recipe_file::read(path).map_err(|e| e.to_string()),
        None => built_in(&preset.name).ok_or_else(|| format!("no preset '{}'", preset.name)),
    }
}

/// A file name for a preset called `name`: letters, digits and `-_ ,.()` kept, anything else
/// (path separators included) made `_`.
pub fn file_name(name: &str) -> String {
    let clean: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_,.()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_owned();
    format!("{}.toml", if clean.is_empty() { "preset" } else { &clean })
}

/// Writes `recipes` as the recipe file `path` (durably, replacing it whole).
pub fn write(path: &Path, recipes: &[Recipe]) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    crate::engine::durable::write(path, recipe_file::to_toml(recipes).as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Saves `recipes` as the user preset `name` in `dir`; returns its file.
pub fn save(dir: &Path, name: &str, recipes: &[Recipe]) -> Result<PathBuf, String> {
    let path = dir.join(file_name(name));
    write(&path, recipes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_valid_recipes_and_files_round_trip() {
        for name in BUILT_IN {
            let recipes = built_in(name).expect("built in");
            assert!(recipe_file::first_collision(&recipes).is_none(), "{name}");
            for r in &recipes {
                r.validate().expect(name);
            }
        }
        assert_eq!(built_in(WEB_RESPONSIVE).map(|r| r.len()), Some(4));
        let dir = tempfile::tempdir().expect("tmp");
        let recipes = built_in(WEB_RESPONSIVE).expect("built in");
        let path = save(dir.path(), "My/web", &recipes).expect("saved");
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some("My_web.toml")
        );
        let listed = list(Some(dir.path()));
        assert_eq!(listed.len(), BUILT_IN.len() + 1);
        let mine = listed.last().expect("the user's preset");
        assert_eq!(mine.name, "My_web");
        assert_eq!(load(mine), Ok(recipes));
    }
}
