//! Recipe files: TOML with one or more `[[output]]` tables, one per output made from every
//! input. Keys are the long option names with `_` for `-`, plus `subfolder`. Reading refuses an
//! unknown key, a bad value, an empty list and two outputs that would write the same path, each
//! with the line and the reason; writing gives the file for a list of recipes (so a command
//! line, or the app's recipe, becomes a file).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use super::format::Control;
use super::name::NameTemplate;
use super::recipe::{DEFAULT_EFFORT, MAX_EFFORT, OutputFormat, Recipe};
use super::units::parse_size;

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

/// The keys an `[[output]]` table may have, in the order [`to_toml`] writes them.
pub const KEYS: &[&str] = &[
    "subfolder",
    "resize",
    "filter",
    "format",
    "quality",
    "lossless",
    "chroma",
    "effort",
    "background",
    "metadata",
    "name",
    "max_size",
    "target_score",
    "smaller_only",
    "keep_dates",
    "allow_upscale",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    output: Vec<Spanned<OutputToml>>,
}

type Field = Option<Spanned<Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputToml {
    subfolder: Field,
    resize: Field,
    filter: Field,
    format: Field,
    quality: Field,
    lossless: Field,
    chroma: Field,
    effort: Field,
    background: Field,
    metadata: Field,
    name: Field,
    max_size: Field,
    target_score: Field,
    smaller_only: Field,
    keep_dates: Field,
    allow_upscale: Field,
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
    parse(&text, path)
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
        let mut reason = e.message().trim().to_owned();
        if reason.starts_with("unknown field") {
            reason = format!(
                "{reason}; a key of [[output]] is one of {}",
                KEYS.join(", ")
            );
        }
        err(line, reason)
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

/// One output's recipe from its table; an error carries the line of the bad value.
fn output(t: &OutputToml, text: &str) -> Result<Recipe, (usize, String)> {
    let mut r = Recipe::default();
    let bad = |v: &Spanned<Value>, key: &str, why: String| {
        (line_of(text, v.span().start), format!("{key}: {why}"))
    };
    let string = |v: &Spanned<Value>, key: &str| -> Result<String, (usize, String)> {
        match v.get_ref() {
            Value::String(s) => Ok(s.clone()),
            // Chroma 420 and the like read naturally as numbers.
            Value::Integer(n) => Ok(n.to_string()),
            other => Err(bad(
                v,
                key,
                format!("expected text, found {}", other.type_str()),
            )),
        }
    };
    let boolean = |v: &Spanned<Value>, key: &str| -> Result<bool, (usize, String)> {
        v.get_ref().as_bool().ok_or_else(|| {
            bad(
                v,
                key,
                format!("expected true or false, found {}", v.get_ref().type_str()),
            )
        })
    };
    macro_rules! parsed {
        ($field:ident, $key:literal, $target:expr) => {
            if let Some(v) = &t.$field {
                $target = string(v, $key)?
                    .parse()
                    .map_err(|e: super::recipe::ParseError| bad(v, $key, e.0))?;
            }
        };
    }
    if let Some(v) = &t.subfolder {
        r.subfolder =
            clean_subfolder(&string(v, "subfolder")?).map_err(|why| bad(v, "subfolder", why))?;
    }
    if let Some(v) = &t.resize {
        r.resize = Some(
            string(v, "resize")?
                .parse()
                .map_err(|e: super::recipe::ParseError| bad(v, "resize", e.0))?,
        );
    }
    parsed!(filter, "filter", r.filter);
    parsed!(format, "format", r.format);
    parsed!(chroma, "chroma", r.chroma);
    parsed!(background, "background", r.background);
    parsed!(metadata, "metadata", r.metadata);
    if let Some(v) = &t.name {
        r.name_template = string(v, "name")?
            .parse::<NameTemplate>()
            .map_err(|e| bad(v, "name", e.to_string()))?;
    }
    if let Some(v) = &t.quality {
        r.quality = match v.get_ref() {
            Value::Integer(q) if (1..=100).contains(q) => *q as u8,
            Value::Integer(q) => return Err(bad(v, "quality", format!("{q} is outside 1-100"))),
            other => {
                return Err(bad(
                    v,
                    "quality",
                    format!("expected a whole number 1-100, found {}", other.type_str()),
                ));
            }
        };
    }
    if let Some(v) = &t.effort {
        r.effort = match v.get_ref() {
            Value::Integer(e) if (0..=i64::from(MAX_EFFORT)).contains(e) => *e as u8,
            Value::Integer(e) => {
                return Err(bad(v, "effort", format!("{e} is outside 0-{MAX_EFFORT}")));
            }
            other => {
                return Err(bad(
                    v,
                    "effort",
                    format!(
                        "expected a whole number 0-{MAX_EFFORT}, found {}",
                        other.type_str()
                    ),
                ));
            }
        };
    }
    if let Some(v) = &t.max_size {
        r.max_size = Some(match v.get_ref() {
            Value::Integer(n) if *n > 0 => *n as u64,
            Value::String(s) => parse_size(s).map_err(|e| bad(v, "max_size", e))?,
            other => {
                return Err(bad(
                    v,
                    "max_size",
                    format!(
                        "expected a size such as \"150K\" or a number of bytes, found {}",
                        other.type_str()
                    ),
                ));
            }
        });
    }
    if let Some(v) = &t.target_score {
        let score = match v.get_ref() {
            Value::Integer(n) => *n as f64,
            Value::Float(x) => *x,
            other => {
                return Err(bad(
                    v,
                    "target_score",
                    format!("expected a number 0-100, found {}", other.type_str()),
                ));
            }
        };
        if !(0.0..=100.0).contains(&score) {
            return Err(bad(v, "target_score", format!("{score} is outside 0-100")));
        }
        r.target_score = Some(score);
    }
    if let Some(v) = &t.lossless {
        r.lossless = boolean(v, "lossless")?;
    }
    if let Some(v) = &t.smaller_only {
        r.smaller_only = boolean(v, "smaller_only")?;
    }
    if let Some(v) = &t.keep_dates {
        r.keep_dates = boolean(v, "keep_dates")?;
    }
    if let Some(v) = &t.allow_upscale {
        r.allow_upscale = boolean(v, "allow_upscale")?;
    }
    Ok(r)
}

/// A sub-folder as written: relative, `/`-separated, no `..`, no empty parts.
pub fn clean_subfolder(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if text.starts_with(['/', '\\']) || text.contains(':') {
        return Err(format!(
            "'{text}' is not a folder under the output folder; use a relative name such as \
             \"small\""
        ));
    }
    if parts.contains(&"..") {
        return Err(format!(
            "'{text}' leaves the output folder ('..' is not allowed)"
        ));
    }
    Ok(parts.join("/"))
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

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
        let mut line = |key: &str, value: String| {
            out.push_str(&format!("{key} = {value}\n"));
        };
        if !r.subfolder.is_empty() {
            line("subfolder", quoted(&r.subfolder));
        }
        if let Some(resize) = r.resize {
            line("resize", quoted(&resize.to_string()));
        }
        line("filter", quoted(r.filter.name()));
        line("format", quoted(r.format.name()));
        line("quality", r.quality.to_string());
        line("lossless", r.lossless.to_string());
        line("chroma", quoted(r.chroma.name()));
        if shows_effort(r) {
            line("effort", r.effort.to_string());
        }
        line("background", quoted(&r.background.to_string()));
        line("metadata", quoted(r.metadata.name()));
        line("name", quoted(r.name_template.as_str()));
        if let Some(max) = r.max_size {
            // In the largest binary unit that divides it exactly, else in bytes.
            let text = [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
                .iter()
                .find(|(unit, _)| max % unit == 0)
                .map_or(max.to_string(), |(unit, s)| {
                    quoted(&format!("{}{s}", max / unit))
                });
            line("max_size", text);
        }
        if let Some(score) = r.target_score {
            line("target_score", format!("{score:?}"));
        }
        line("smaller_only", r.smaller_only.to_string());
        line("keep_dates", r.keep_dates.to_string());
        line("allow_upscale", r.allow_upscale.to_string());
    }
    out
}

/// Whether `r`'s effort is worth writing: it is not the default, or its format takes it.
fn shows_effort(r: &Recipe) -> bool {
    r.effort != DEFAULT_EFFORT
        || matches!(r.format, OutputFormat::To(f) if f.takes(Control::Effort))
}

/// The `conveyor run` options that make `r` (every one written out, as in [`to_toml`], plus
/// the on-exist policy); `subfolder` has no option and is left out.
pub fn to_args(r: &Recipe) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut opt = |name: &str, value: String| {
        args.push(format!("--{name}"));
        args.push(value);
    };
    if let Some(resize) = r.resize {
        opt("resize", resize.to_string());
    }
    opt("filter", r.filter.name().to_owned());
    opt("format", r.format.name().to_owned());
    opt("quality", r.quality.to_string());
    opt("chroma", r.chroma.name().to_owned());
    if shows_effort(r) {
        opt("effort", r.effort.to_string());
    }
    opt("background", r.background.to_string());
    opt("metadata", r.metadata.name().to_owned());
    opt("name", r.name_template.as_str().to_owned());
    opt("on-exist", r.on_exist.name().to_owned());
    if let Some(max) = r.max_size {
        opt("max-size", max.to_string());
    }
    if let Some(score) = r.target_score {
        opt("target-score", format!("{score:?}"));
    }
    for (on, flag) in [
        (r.lossless, "--lossless"),
        (r.allow_upscale, "--allow-upscale"),
        (r.smaller_only, "--smaller-only"),
        (r.keep_dates, "--keep-dates"),
    ] {
        if on {
            args.push(flag.to_owned());
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::recipe::{MetadataMode, ResizeSpec};

    fn parse_str(text: &str) -> Result<Vec<Recipe>, RecipeFileError> {
        parse(text, Path::new("r.toml"))
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
