//! Recipe files: TOML with one or more `[[output]]` tables, one per output made from every
//! input. Keys are the long option names with `_` for `-`, plus `subfolder`. Reading refuses an
//! unknown key, a bad value, an empty list and two outputs that would write the same path, each
//! with the line and the reason; writing gives the file for a list of recipes (so a command
//! line, or the app's recipe, becomes a file).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::options::{self, Shapes, Value};
use super::recipe::{OutputFormat, Recipe};

pub use super::options::to_args;
pub use super::recipe::clean_subfolder;

/// Why a recipe file was refused: where, and why, for one line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeFileError {
    /// The file (empty when the text did not come from a file).
    pub path: PathBuf,
    /// The 1-based line, when one is to blame.
    pub line: Option<usize>,
    /// The reason, one sentence.
    pub reason: String,
}

impl fmt::Display for RecipeFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self.reason.replace('\n', " ");
        match self.line {
            Some(line) => write!(f, "{}:{line}: {reason}", self.path.display()),
            None => write!(f, "{}: {reason}", self.path.display()),
        }
    }
}

impl std::error::Error for RecipeFileError {}

/// One `[[output]]` table: its keys and values with where they are.
type OutputTable = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    output: Vec<Spanned<OutputTable>>,
}

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(1, |before| {
        before.bytes().filter(|&b| b == b'\n').count() + 1
    })
}

/// Reads a recipe file.
pub fn read(path: &Path) -> Result<Vec<Recipe>, RecipeFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| RecipeFileError {
        path: path.to_path_buf(),
        line: None,
        reason: format!("cannot read the recipe file ({e})"),
    })?;
    let mut recipes = parse(&text, path)?;
    // A watermark named in a recipe file is found beside the file.
    if let Some(dir) = path.parent() {
        for r in &mut recipes {
            r.edits.relative_to(dir);
        }
    }
    Ok(recipes)
}

/// Parses recipe-file text (`path` names it in errors). Every output starts from the default
/// recipe; keys the table leaves out keep the default.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Recipe>, RecipeFileError> {
    let err = |line: Option<usize>, reason: String| RecipeFileError {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let file: FileToml = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        err(line, e.message().trim().to_owned())
    })?;
    if file.output.is_empty() {
        return Err(err(
            None,
            "the recipe has no [[output]] table; add at least one, e.g. [[output]] with format = \
             \"webp\""
                .into(),
        ));
    }
    let mut recipes = Vec::with_capacity(file.output.len());
    let mut lines = Vec::with_capacity(file.output.len());
    for table in &file.output {
        let line = line_of(text, table.span().start);
        let recipe = output(table.get_ref(), text).map_err(|(at, reason)| err(Some(at), reason))?;
        recipe.validate().map_err(|e| err(Some(line), e.0))?;
        recipes.push(recipe);
        lines.push(line);
    }
    if let Some((i, j)) = first_collision(&recipes) {
        return Err(err(
            Some(lines[j]),
            format!(
                "outputs {} (line {}) and {} would both write {}; give one another name, \
                 subfolder or format",
                i + 1,
                lines[i],
                j + 1,
                output_name(&recipes[j])
            ),
        ));
    }
    Ok(recipes)
}

/// One output's recipe from its table, through the option table; an error carries the line of
/// the bad key or value.
fn output(table: &OutputTable, text: &str) -> Result<Recipe, (usize, String)> {
    let mut r = Recipe::default();
    for (key, value) in table {
        let at = |s: std::ops::Range<usize>| line_of(text, s.start);
        let option = options::option(key.get_ref()).filter(|o| o.shapes != Shapes::Run);
        let Some(option) = option else {
            let keys: Vec<&str> = options::file_keys().collect();
            return Err((
                at(key.span()),
                format!(
                    "unknown field `{}`; a key of [[output]] is one of {}",
                    key.get_ref(),
                    keys.join(", ")
                ),
            ));
        };
        let v = match value.get_ref() {
            // The edits: an array of one-key tables, in order.
            toml::Value::Array(items) if option.key == "edit" => {
                let text = edit_text(items).map_err(|why| (at(value.span()), why))?;
                let twice = table.keys().any(|k| k.get_ref() == "resize")
                    && items.iter().any(|i| i.get("resize").is_some());
                if twice {
                    return Err((
                        at(value.span()),
                        "resize is given twice: as `resize` and in `edit`; keep one".into(),
                    ));
                }
                Value::Text(text)
            }
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(n) => Value::Int(*n),
            toml::Value::Float(x) => Value::Float(*x),
            toml::Value::Boolean(b) => Value::Bool(*b),
            other => {
                return Err((
                    at(value.span()),
                    format!(
                        "{}: expected one value, found {}",
                        option.key,
                        other.type_str()
                    ),
                ));
            }
        };
        (option.set)(&mut r, &v)
            .map_err(|why| (at(value.span()), format!("{}: {why}", option.key)))?;
    }
    Ok(r)
}

/// `edit = [{ crop = "16:9" }, { rotate = 90 }]` as the `edit` option's text.
fn edit_text(items: &[toml::Value]) -> Result<String, String> {
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let one = item
            .as_table()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.iter().next());
        let Some((name, value)) = one else {
            return Err(
                "edit: each edit is a table with one key, e.g. { crop = \"16:9@north\" }".into(),
            );
        };
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(n) => n.to_string(),
            // `{ sharpen = true }`, `{ grayscale = true }`: the edit with its defaults.
            toml::Value::Boolean(true) => "true".into(),
            toml::Value::Boolean(false) => {
                return Err(format!(
                    "edit: {name} = false: leave the edit out of the list instead"
                ));
            }
            other => {
                return Err(format!(
                    "edit: {name} takes text, found {}",
                    other.type_str()
                ));
            }
        };
        entries.push(format!("{name}={value}"));
    }
    Ok(entries.join("; "))
}

/// The name an output has in its recipe, for reports and errors: its sub-folder, naming
/// template and extension (`small/{stem}.webp`; `.*` for the input's own format).
pub fn output_name(r: &Recipe) -> String {
    let ext = match r.format {
        OutputFormat::Keep => "*",
        OutputFormat::To(f) => f.extension(),
    };
    let folder = if r.subfolder.is_empty() {
        String::new()
    } else {
        format!("{}/", r.subfolder)
    };
    format!("{folder}{}.{ext}", r.name_template.as_str())
}

/// The first pair of outputs that would write the same path for some input: same sub-folder
/// (compared ignoring case, as some volumes do), same template, formats that can resolve to one
/// extension, and (when the template names the size) the same geometry.
pub fn first_collision(recipes: &[Recipe]) -> Option<(usize, usize)> {
    let same_ext = |a: OutputFormat, b: OutputFormat| match (a, b) {
        (OutputFormat::To(x), OutputFormat::To(y)) => x.extension() == y.extension(),
        // `keep` writes every writable format's extension for some input.
        _ => true,
    };
    for j in 1..recipes.len() {
        for i in 0..j {
            let (a, b) = (&recipes[i], &recipes[j]);
            let collide = a.subfolder.to_lowercase() == b.subfolder.to_lowercase()
                && a.name_template.as_str() == b.name_template.as_str()
                && same_ext(a.format, b.format)
                && (!a.name_template.needs_size()
                    || (a.resize == b.resize && a.allow_upscale == b.allow_upscale));
            if collide {
                return Some((i, j));
            }
        }
    }
    None
}

/// The recipe file for `recipes`: every key written out, so the file means the same whatever
/// later versions choose as defaults. Reads back to the same recipes (the on-exist policy
/// belongs to a run, not to a recipe, and is not written).
pub fn to_toml(recipes: &[Recipe]) -> String {
    let mut out = String::from(
        "# Conveyor recipe: one [[output]] table per file made from every input.\n\
         # Use it with `conveyor run INPUT --out DIR --recipe THIS.toml`.\n",
    );
    for r in recipes {
        out.push_str("\n[[output]]\n");
        // A resize among the edits is written in its place there.
        let marked = r.edits.0.contains(&crate::edit::Edit::Resize);
        for o in options::OPTIONS.iter().filter(|o| o.shapes != Shapes::Run) {
            if o.key == "resize" && marked {
                continue;
            }
            if o.key == "edit" && !r.edits.is_empty() {
                let items: Vec<String> = r
                    .edits
                    .entries(r.resize)
                    .into_iter()
                    .map(|(name, value)| match value.as_str() {
                        "" => format!("{{ {name} = true }}"),
                        v => format!("{{ {name} = {} }}", options::quoted(v)),
                    })
                    .collect();
                out.push_str(&format!("edit = [{}]\n", items.join(", ")));
                continue;
            }
            if let Some(value) = (o.get)(r).filter(|_| (o.shown)(r)) {
                out.push_str(&format!("{} = {}\n", o.key, value.toml()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::{MetadataMode, ResizeSpec};

    fn parse_str(text: &str) -> Result<Vec<Recipe>, RecipeFileError> {
        parse(text, Path::new("r.toml"))
    }

    #[test]
    fn edits_are_an_ordered_array_of_tables_and_write_back() {
        let text = "[[output]]\nformat = \"webp\"\nedit = [{ crop = \"3:2@north\" }, \
                    { resize = \"fit:800x800\" }, { rotate = 90 }, { flip = \"h\" }]\n";
        let recipes = parse_str(text).expect("valid");
        let r = &recipes[0];
        assert_eq!(r.resize, Some(ResizeSpec::Fit(800, 800)));
        assert_eq!(
            r.edits.text(r.resize),
            "crop=3:2@north; resize=fit:800x800; rotate=90; flip=h"
        );
        let written = to_toml(&recipes);
        assert!(
            written.contains("edit = [{ crop = \"3:2@north\" }, { resize = \"fit:800x800\" }"),
            "{written}"
        );
        assert!(!written.contains("\nresize ="), "{written}");
        assert_eq!(parse_str(&written).expect("reads back"), recipes);
        for (bad, why) in [
            (
                "[[output]]\nedit = [{ resize = \"fit:8x8\" }]\nresize = \"fit:9x9\"\n",
                "resize is given twice",
            ),
            (
                "[[output]]\nedit = [{ crop = \"16:9\", rotate = 90 }]\n",
                "one key",
            ),
            (
                "[[output]]\nedit = [{ rotate = 360 }]\n",
                "not a whole turn",
            ),
            ("[[output]]\nedit = [{ blur = 3 }]\n", "not an edit"),
        ] {
            let e = parse_str(bad).expect_err(bad);
            assert_eq!(e.line, Some(2), "{e}");
            assert!(e.reason.contains(why), "{e}");
        }
    }

    #[test]
    fn reads_several_outputs_and_writes_them_back() {
        let text = "[[output]]\nresize = \"fit:480x480\"\nformat = \"webp\"\nquality = 80\n\
                    subfolder = \"small\"\n\n[[output]]\nresize = \"long:1920\"\nformat = \
                    \"jpeg\"\nchroma = 444\nmetadata = \"strip-location\"\nkeep_dates = true\n\
                    max_size = \"300K\"\ntarget_score = 80\n";
        let recipes = parse_str(text).expect("valid");
        assert_eq!(recipes.len(), 2);
        assert_eq!(recipes[0].resize, Some(ResizeSpec::Fit(480, 480)));
        assert_eq!(recipes[0].subfolder, "small");
        assert_eq!(recipes[0].quality, 80);
        assert_eq!(recipes[1].metadata, MetadataMode::StripLocation);
        assert_eq!(recipes[1].max_size, Some(300 * 1024));
        assert_eq!(recipes[1].target_score, Some(80.0));
        assert!(recipes[1].keep_dates);
        let back = parse_str(&to_toml(&recipes)).expect("round trip");
        assert_eq!(back, recipes);
        let odd = Recipe {
            max_size: Some(150_001),
            target_score: Some(82.5),
            subfolder: "a \"b\"/c".into(),
            ..Recipe::default()
        };
        assert_eq!(
            parse_str(&to_toml(std::slice::from_ref(&odd))),
            Ok(vec![odd])
        );
    }

    #[test]
    fn refuses_bad_files_with_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[[output]]\nformat = \"webp\"\nsize = 3\n",
                3,
                "unknown field",
            ),
            ("[[output]]\n\nquality = \"high\"\n", 3, "quality"),
            ("[[output]]\nquality = 300\n", 2, "outside 1-100"),
            ("[[output]]\nresize = \"fit:abc\"\n", 2, "resize"),
            (
                "[[output]]\nformat = \"webp\"\n[[output]]\nformat = \"webp\"\n",
                3,
                "both write",
            ),
            (
                "[[output]]\nsubfolder = \"../up\"\n",
                2,
                "leaves the output folder",
            ),
            (
                "[[output]]\nformat = \"png\"\nmax_size = \"100K\"\n",
                1,
                "lossy",
            ),
            ("[[output]]\nlossless = \"yes\"\n", 2, "true or false"),
        ];
        for (text, line, what) in cases {
            let e = parse_str(text).expect_err(text);
            assert_eq!(e.line, Some(*line), "{text}: {e}");
            assert!(e.to_string().contains(what), "{text}: {e}");
            assert!(e.to_string().starts_with("r.toml:"), "{e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let empty = parse_str("# nothing\n").expect_err("empty");
        assert!(empty.reason.contains("no [[output]]"), "{empty}");
    }

    #[test]
    fn sized_templates_collide_only_at_the_same_size() {
        let t = |resize: &str| {
            format!(
                "[[output]]\nresize = \"{resize}\"\nname = \"{{stem}}-{{w}}\"\nformat = \"webp\"\n"
            )
        };
        assert!(parse_str(&(t("fit:480x480") + &t("fit:960x960"))).is_ok());
        assert!(parse_str(&(t("fit:480x480") + &t("fit:480x480"))).is_err());
        // `keep` may resolve to JPEG, so it collides with a JPEG output of the same name.
        let keep = "[[output]]\nformat = \"keep\"\n[[output]]\nformat = \"jpeg\"\n";
        assert!(parse_str(keep).is_err());
    }
}
