//! Every recipe option, declared once ([`OPTIONS`]): its key in recipe files, its command-line
//! flag and help, how its value is read and written, which format control it needs, and
//! whether it shapes the output. Recipe files (`recipe_file.rs`), the command line's flags
//! (`cli/args.rs` builds them from this table), `conveyor recipe show`, *Copy as command*
//! ([`to_args`]), a front end's options over a base recipe ([`RecipePatch`]) and the journal's
//! [`fingerprint`] all go through it. The tests below check that every field of [`Recipe`] has
//! exactly one declaration, and that the fingerprint moves with every option that shapes the
//! output and with no other.

use super::edit::{EditList, OPERATIONS};
use super::format::{Control, Format};
use super::hash::fnv1a;
use super::name::NameTemplate;
use super::recipe::{
    DEFAULT_EFFORT, MAX_EFFORT, OutputFormat, ParseError, Recipe, ResizeSpec, clean_subfolder,
};
use super::units::{human_bytes, parse_size};

/// An option's value as a recipe file or a command line gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (every command-line value is text; the option parses it).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A switch.
    Bool(bool),
}

impl Value {
    /// What kind of value this is, for "expected …, found …".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Int(_) => "a whole number",
            Value::Float(_) => "a number with a fraction",
            Value::Bool(_) => "true or false",
        }
    }

    /// The value as one command-line argument.
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Float(x) => format!("{x:?}"),
            Value::Bool(b) => b.to_string(),
        }
    }

    /// The value as TOML.
    pub fn toml(&self) -> String {
        match self {
            Value::Text(s) => quoted(s),
            other => other.text(),
        }
    }
}

/// `s` as a TOML basic string.
pub fn quoted(s: &str) -> String {
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

/// What an option's value changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    /// What the output is (its pixels, bytes, tags or file time): the option is part of the
    /// recipe's [`fingerprint`], so the journal redoes outputs made with another value.
    Output,
    /// Where the output goes or what it is called (the journal keeps names apart).
    Place,
    /// What a run does about files already there: it belongs to a run, so recipe files
    /// neither read nor write it.
    Run,
}

/// One recipe option.
#[derive(Debug)]
pub struct RecipeOption {
    /// The key in recipe files, in a [`RecipePatch`] and in the command line's argument ids.
    pub key: &'static str,
    /// The long command-line flag (without `--`); `None`: recipe files only.
    pub flag: Option<&'static str>,
    /// The flag's value name in help; `None`: a switch (present means on).
    pub value_name: Option<&'static str>,
    /// The help text (with the default).
    pub help: fn() -> String,
    /// What the option changes.
    pub shapes: Shapes,
    /// The format control it needs (`None`: any format): a format without it ignores the
    /// value, so the fingerprint of that format's outputs leaves it out.
    pub control: Option<Control>,
    /// The recipe's value; `None` when unset (no resize, no size limit).
    pub get: fn(&Recipe) -> Option<Value>,
    /// Whether recipe files and *Copy as command* write the value for this recipe (all but
    /// effort always: effort only where it is not the default or the format takes it).
    pub shown: fn(&Recipe) -> bool,
    /// Sets the value, or says in one sentence why it cannot be.
    pub set: fn(&mut Recipe, &Value) -> Result<(), String>,
    /// A valid value that is not the default (tests set every option to it).
    pub example: fn() -> Value,
    /// The values it takes when they are a fixed list (shell completion offers them); empty
    /// for free text and switches.
    pub choices: fn() -> Vec<&'static str>,
}

impl RecipeOption {
    /// Checks `value` alone (on a default recipe), for a command-line parser.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        (self.set)(&mut Recipe::default(), value)
    }

    /// Whether `value` leaves the output as if the option were not there: unset, or a switch
    /// that is off. The fingerprint leaves such values out, so adding an option whose default
    /// is off or unset keeps every earlier output vouched for.
    fn inert(value: Option<&Value>) -> bool {
        matches!(value, None | Some(Value::Bool(false)))
    }
}

fn always(_: &Recipe) -> bool {
    true
}

fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::Text(s) => Ok(s.clone()),
        // Chroma 420 and the like read naturally as numbers.
        Value::Int(n) => Ok(n.to_string()),
        other => Err(format!("expected text, found {}", other.kind())),
    }
}

fn parsed<T: std::str::FromStr<Err = ParseError>>(v: &Value) -> Result<T, String> {
    text(v)?.parse().map_err(|e: ParseError| e.0)
}

fn switch(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Text(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(format!("expected true or false, found {}", other.kind())),
    }
}

fn whole(v: &Value, lo: i64, hi: i64) -> Result<u8, String> {
    let n = match v {
        Value::Int(n) => *n,
        Value::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a whole number from {lo} to {hi}"))?,
        other => {
            return Err(format!(
                "expected a whole number {lo}-{hi}, found {}",
                other.kind()
            ));
        }
    };
    if !(lo..=hi).contains(&n) {
        return Err(format!("{n} is outside {lo}-{hi}"));
    }
    u8::try_from(n).map_err(|_| format!("{n} is outside {lo}-{hi}"))
}

/// The `--format` help, from the format table.
fn format_help() -> String {
    let names: Vec<&str> = OutputFormat::choices().iter().map(|c| c.name()).collect();
    format!("Output format: {} [default: keep]", names.join(", "))
}

/// The `--quality` help, from the format table.
fn quality_help() -> String {
    let labels: Vec<&str> = Format::writable()
        .filter(|f| f.takes(Control::Quality))
        .map(Format::label)
        .collect();
    format!(
        "Quality for {} (lossy), 1-100 [default: 85]",
        labels.join(" and ")
    )
}

/// Whether `r`'s effort is worth writing: it is not the default, or its format takes it.
fn shows_effort(r: &Recipe) -> bool {
    r.effort != DEFAULT_EFFORT
        || matches!(r.format, OutputFormat::To(f) if f.takes(Control::Effort))
}

/// A size in the largest binary unit that divides it exactly ("300K"), else in bytes.
fn size_value(bytes: u64) -> Value {
    [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
        .iter()
        .find(|(unit, _)| bytes.is_multiple_of(*unit))
        .map_or(Value::Int(bytes as i64), |(unit, s)| {
            Value::Text(format!("{}{s}", bytes / unit))
        })
}

/// A switch: `--flag` on the command line, `key = true` in recipe files, off by default.
macro_rules! switch_option {
    ($key:literal, $flag:literal, $field:ident, $control:expr, $help:literal) => {
        RecipeOption {
            key: $key,
            flag: Some($flag),
            value_name: None,
            help: || $help.into(),
            shapes: Shapes::Output,
            control: $control,
            get: |r| Some(Value::Bool(r.$field)),
            shown: always,
            set: |r, v| {
                r.$field = switch(v)?;
                Ok(())
            },
            example: || Value::Bool(true),
            choices: Vec::new,
        }
    };
}

/// A value parsed from text by its type's `FromStr` and written back by its `Display`.
macro_rules! text_option {
    ($key:literal, $flag:literal, $name:literal, $field:ident, $shapes:expr, $control:expr,
     $example:expr, $help:expr, $choices:expr) => {
        RecipeOption {
            key: $key,
            flag: Some($flag),
            value_name: Some($name),
            help: $help,
            shapes: $shapes,
            control: $control,
            get: |r| Some(Value::Text(r.$field.to_string())),
            shown: always,
            set: |r, v| {
                r.$field = parsed(v)?;
                Ok(())
            },
            example: || Value::Text($example.into()),
            choices: $choices,
        }
    };
}

/// Every recipe option, in the order recipe files, help and *Copy as command* list them.
pub static OPTIONS: &[RecipeOption] = &[
    RecipeOption {
        key: "subfolder",
        flag: None,
        value_name: None,
        help: || "A folder under the output folder for this output".into(),
        shapes: Shapes::Place,
        control: None,
        get: |r| (!r.subfolder.is_empty()).then(|| Value::Text(r.subfolder.clone())),
        shown: always,
        set: |r, v| {
            r.subfolder = clean_subfolder(&text(v)?)?;
            Ok(())
        },
        example: || Value::Text("small".into()),
        choices: Vec::new,
    },
    RecipeOption {
        key: "resize",
        flag: Some("resize"),
        value_name: Some("SPEC"),
        help: || {
            "Resize: fit:WxH, fill:WxH, exact:WxH, scale:N%, long:N, short:N, width:N, \
             height:N [default: no resize]"
                .into()
        },
        shapes: Shapes::Output,
        control: None,
        get: |r| r.resize.map(|s| Value::Text(s.to_string())),
        shown: always,
        set: |r, v| {
            r.resize = Some(parsed::<ResizeSpec>(v)?);
            Ok(())
        },
        example: || Value::Text("fit:480x480".into()),
        choices: Vec::new,
    },
    RecipeOption {
        key: "edit",
        // The command line gives each edit as its own flag (`--crop`, `--rotate` …, in order;
        // see [`fold_edits`]); recipe files an array of one-key tables.
        flag: None,
        value_name: Some("EDITS"),
        help: || {
            "Edits in order, NAME=VALUE separated by ';': crop, rotate, flip, pad, and resize \
             where it happens among them [default: none]"
                .into()
        },
        shapes: Shapes::Output,
        control: None,
        get: |r| (!r.edits.is_empty()).then(|| Value::Text(r.edits.text(r.resize))),
        shown: always,
        set: |r, v| {
            let (list, resize) = EditList::parse(&text(v)?).map_err(|e| e.0)?;
            if resize.is_some() {
                r.resize = resize;
            }
            r.edits = list;
            Ok(())
        },
        example: || Value::Text("crop=16:9@north; rotate=90".into()),
        choices: Vec::new,
    },
    text_option!(
        "filter",
        "filter",
        "FILTER",
        filter,
        Shapes::Output,
        None,
        "bilinear",
        || {
            "Resampling filter: lanczos3, catmull-rom, bilinear, nearest [default: lanczos3]".into()
        },
        super::recipe::Filter::names
    ),
    RecipeOption {
        key: "format",
        flag: Some("format"),
        value_name: Some("FORMAT"),
        help: format_help,
        // The fingerprint takes the format each input resolves to instead (see `fingerprint`).
        shapes: Shapes::Output,
        control: None,
        get: |r| Some(Value::Text(r.format.name().into())),
        shown: always,
        set: |r, v| {
            r.format = parsed(v)?;
            Ok(())
        },
        example: || Value::Text(Format::Jpeg.name().into()),
        choices: || OutputFormat::choices().iter().map(|c| c.name()).collect(),
    },
    RecipeOption {
        key: "quality",
        flag: Some("quality"),
        value_name: Some("1-100"),
        help: quality_help,
        shapes: Shapes::Output,
        control: Some(Control::Quality),
        get: |r| Some(Value::Int(r.quality.into())),
        shown: always,
        set: |r, v| {
            r.quality = whole(v, 1, 100)?;
            Ok(())
        },
        example: || Value::Int(60),
        choices: Vec::new,
    },
    switch_option!(
        "lossless",
        "lossless",
        lossless,
        Some(Control::Lossless),
        "Lossless WebP, or AVIF in builds with the `aom` feature (PNG is always lossless)"
    ),
    text_option!(
        "chroma",
        "chroma",
        "420|444",
        chroma,
        Shapes::Output,
        Some(Control::Chroma),
        "444",
        || {
            "JPEG chroma subsampling: 420 (smaller files) or 444 (full-resolution colour) \
             [default: 420]"
                .into()
        },
        super::recipe::Chroma::names
    ),
    RecipeOption {
        key: "effort",
        flag: Some("effort"),
        value_name: Some("0-10"),
        help: || {
            "Encoder effort, 0 fastest to 10 smallest files: AVIF (rav1e speed 10 - N, at \
             least 1; with the `aom` feature libaom's cpu-used 11 - N, at most 9) and lossy \
             WebP (libwebp's method: N up to 6), PNG (from 5 oxipng's presets 2 to 6, 10 \
             with zopfli: lossless, up to 30 times slower) and JPEG (5-6 progressive with \
             optimised Huffman tables, same pixels; from 7 mozjpeg's trellis quantisation and \
             tables at the same visual quality) [default: 4: rav1e speed 6, libaom cpu-used \
             7, WebP method 4, the fast PNG and JPEG encoders]"
                .into()
        },
        shapes: Shapes::Output,
        control: Some(Control::Effort),
        get: |r| Some(Value::Int(r.effort.into())),
        shown: shows_effort,
        set: |r, v| {
            r.effort = whole(v, 0, i64::from(MAX_EFFORT))?;
            Ok(())
        },
        example: || Value::Int(8),
        choices: Vec::new,
    },
    text_option!(
        "background",
        "background",
        "#RRGGBB",
        background,
        Shapes::Output,
        None,
        "#102030",
        || {
            "What transparency becomes in formats without alpha, as #RRGGBB [default: #ffffff]"
                .into()
        },
        Vec::new
    ),
    text_option!(
        "metadata",
        "metadata",
        "MODE",
        metadata,
        Shapes::Output,
        None,
        "strip",
        || {
            "Metadata: keep (EXIF and ICC), strip (EXIF, XMP, comments; ICC stays) or \
             strip-location (only the GPS position goes) [default: keep]"
                .into()
        },
        super::recipe::MetadataMode::names
    ),
    RecipeOption {
        key: "name",
        flag: Some("name"),
        value_name: Some("TEMPLATE"),
        help: || {
            "Output file name before its extension; tokens {stem} {ext} {w} {h} {n} ({n:04}: \
             4 digits), {date} (taken: EXIF, else the file's time; {date:%Y-%m-%d_%H%M%S} as \
             strftime), {camera} (make and model) [default: {stem}]"
                .into()
        },
        shapes: Shapes::Place,
        control: None,
        get: |r| Some(Value::Text(r.name_template.as_str().into())),
        shown: always,
        set: |r, v| {
            r.name_template = text(v)?
                .parse::<NameTemplate>()
                .map_err(|e| e.to_string())?;
            Ok(())
        },
        example: || Value::Text("{stem}-small".into()),
        choices: Vec::new,
    },
    text_option!(
        "on_exist",
        "on-exist",
        "POLICY",
        on_exist,
        Shapes::Run,
        None,
        "rename",
        || "When the output exists: skip, overwrite, rename [default: skip]".into(),
        super::recipe::OnExist::names
    ),
    RecipeOption {
        key: "max_size",
        flag: Some("max-size"),
        value_name: Some("SIZE"),
        help: || {
            "Lossy outputs: the highest quality (not above --quality) whose file fits in SIZE \
             (200K, 1.5M; binary units); a file that cannot fit even at quality 10 fails \
             (over_size)"
                .into()
        },
        shapes: Shapes::Output,
        control: None,
        get: |r| r.max_size.map(size_value),
        shown: always,
        set: |r, v| {
            r.max_size = Some(match v {
                Value::Int(n) if *n > 0 => *n as u64,
                Value::Text(s) => parse_size(s)?,
                other => {
                    return Err(format!(
                        "expected a size such as \"150K\" or a number of bytes, found {}",
                        other.kind()
                    ));
                }
            });
            Ok(())
        },
        example: || Value::Text("300K".into()),
        choices: Vec::new,
    },
    RecipeOption {
        key: "target_score",
        flag: Some("target-score"),
        value_name: Some("0-100"),
        help: || {
            "Lossy outputs: the lowest quality (not above --quality) whose output scores at \
             least N by SSIMULACRA2 against the resized image (70 medium, 80 high, 90 visually \
             lossless)"
                .into()
        },
        shapes: Shapes::Output,
        control: None,
        get: |r| r.target_score.map(Value::Float),
        shown: always,
        set: |r, v| {
            let score = match v {
                Value::Int(n) => *n as f64,
                Value::Float(x) => *x,
                Value::Text(s) => s.trim().parse().map_err(|_| {
                    format!(
                        "'{s}' is not a score; use a number from 0 to 100 (70 medium, 80 high, \
                         90 visually lossless)"
                    )
                })?,
                other => {
                    return Err(format!("expected a number 0-100, found {}", other.kind()));
                }
            };
            if !(0.0..=100.0).contains(&score) {
                return Err(format!("{score} is outside 0-100"));
            }
            r.target_score = Some(score);
            Ok(())
        },
        example: || Value::Float(82.5),
        choices: Vec::new,
    },
    switch_option!(
        "smaller_only",
        "smaller-only",
        smaller_only,
        None,
        "When an output in the input's own format is not smaller than the input, keep the \
         original's bytes instead (the default now; it also wins over --reencode)"
    ),
    switch_option!(
        "reencode",
        "reencode",
        reencode,
        None,
        "Write every output re-encoded, even one larger than an original of the same format \
         and size (by default such an output keeps the original's bytes, unless --metadata \
         has something in it to remove)"
    ),
    RecipeOption {
        key: "png_colors",
        flag: Some("png-colors"),
        value_name: Some("2-256"),
        help: || {
            "PNG: reduce to a palette of at most N colours, dithered (lossy: smaller files for \
             flat artwork, logos and screenshots; visible on photos) [default: every colour]"
                .into()
        },
        shapes: Shapes::Output,
        control: Some(Control::Colors),
        get: |r| r.png_colors.map(|n| Value::Int(n.into())),
        shown: always,
        set: |r, v| {
            let n = match v {
                Value::Int(n) => *n,
                Value::Text(s) => s.trim().parse().map_err(|_| {
                    format!("'{s}' is not a number of colours; use a whole number from 2 to 256")
                })?,
                other => {
                    return Err(format!(
                        "expected a whole number 2-256, found {}",
                        other.kind()
                    ));
                }
            };
            if !(2..=256).contains(&n) {
                return Err(format!("{n} colours: a PNG palette holds 2 to 256"));
            }
            r.png_colors = u16::try_from(n).ok();
            Ok(())
        },
        example: || Value::Int(64),
        choices: Vec::new,
    },
    switch_option!(
        "keep_dates",
        "keep-dates",
        keep_dates,
        None,
        "Give each output its input's modification time"
    ),
    switch_option!(
        "allow_upscale",
        "allow-upscale",
        allow_upscale,
        None,
        "Allow outputs larger than their sources"
    ),
];

/// The option with this key.
pub fn option(key: &str) -> Option<&'static RecipeOption> {
    OPTIONS.iter().find(|o| o.key == key)
}

/// The keys a recipe file's `[[output]]` table may have, in the order files are written.
pub fn file_keys() -> impl Iterator<Item = &'static str> {
    OPTIONS
        .iter()
        .filter(|o| o.shapes != Shapes::Run)
        .map(|o| o.key)
}

/// A short fingerprint of everything that decides an output's content for `format` (not its
/// name or the on-exist policy): the journal tells by it whether an output was made with this
/// recipe. It hashes a canonical text: the resolved format, then `key=length:value` for every
/// option that shapes the output and applies to `format` (see [`RecipeOption::control`]),
/// leaving out unset values and switches that are off.
pub fn fingerprint(r: &Recipe, format: Format) -> String {
    let mut text = format!("v2 format={}", format.name());
    for o in OPTIONS {
        if o.shapes != Shapes::Output
            || o.key == "format"
            || o.control.is_some_and(|c| !format.takes(c))
        {
            continue;
        }
        let value = (o.get)(r);
        if RecipeOption::inert(value.as_ref()) {
            continue;
        }
        // Effort was AVIF's alone until formats gained it: elsewhere its default is left out,
        // so giving a format the control redid none of the outputs users have.
        if o.key == "effort" && format != Format::Avif && r.effort == DEFAULT_EFFORT {
            continue;
        }
        let mut value = value.map(|v| v.text()).unwrap_or_default();
        // What the edits read besides the picture (a watermark's file) counts too.
        if o.key == "edit" {
            let stamps = r.edits.stamps();
            if !stamps.is_empty() {
                value.push_str(&format!(" [{stamps}]"));
            }
        }
        text.push_str(&format!(" {}={}:{value}", o.key, value.len()));
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// The options the first fingerprint (before options were declared here) covered.
const V1_KEYS: &[&str] = &[
    "resize",
    "filter",
    "format",
    "quality",
    "lossless",
    "chroma",
    "effort",
    "background",
    "metadata",
    "max_size",
    "target_score",
    "smaller_only",
    "keep_dates",
    "allow_upscale",
];

/// The fingerprint versions up to 0.1 wrote into journals, so that their outputs stay vouched
/// for; `None` when the recipe sets an option those versions did not know (then no old output
/// can have been made with it). Its text is frozen: it spells out what Rust's `Debug` printed
/// for each value then.
pub fn legacy_fingerprint(r: &Recipe, format: Format) -> Option<String> {
    use super::recipe::{Chroma, Filter, MetadataMode};
    let newer = OPTIONS.iter().any(|o| {
        o.shapes == Shapes::Output
            && !V1_KEYS.contains(&o.key)
            && !RecipeOption::inert((o.get)(r).as_ref())
    });
    if newer {
        return None;
    }
    let resize = match r.resize {
        None => "None".to_owned(),
        Some(spec) => {
            let inner = match spec {
                ResizeSpec::Fit(w, h) => format!("Fit({w}, {h})"),
                ResizeSpec::Fill(w, h) => format!("Fill({w}, {h})"),
                ResizeSpec::Exact(w, h) => format!("Exact({w}, {h})"),
                ResizeSpec::Scale(n) => format!("Scale({n})"),
                ResizeSpec::Long(n) => format!("Long({n})"),
                ResizeSpec::Short(n) => format!("Short({n})"),
                ResizeSpec::Width(n) => format!("Width({n})"),
                ResizeSpec::Height(n) => format!("Height({n})"),
            };
            format!("Some({inner})")
        }
    };
    let filter = match r.filter {
        Filter::Lanczos3 => "Lanczos3",
        Filter::CatmullRom => "CatmullRom",
        Filter::Bilinear => "Bilinear",
        Filter::Nearest => "Nearest",
    };
    let chroma = match r.chroma {
        Chroma::S420 => "S420",
        Chroma::S444 => "S444",
    };
    let metadata = match r.metadata {
        MetadataMode::Keep => "Keep",
        MetadataMode::Strip => "Strip",
        MetadataMode::StripLocation => "StripLocation",
    };
    let [red, green, blue] = r.background.0;
    let mut text = format!(
        "v1 {} {resize} {filter} q{} lossless={} {chroma} Rgb([{red}, {green}, {blue}]) \
         {metadata} upscale={}",
        format.name(),
        r.quality,
        r.lossless,
        r.allow_upscale
    );
    if let Some(max) = r.max_size {
        text.push_str(&format!(" max_size={max}"));
    }
    if let Some(score) = r.target_score {
        text.push_str(&format!(" target_score={score}"));
    }
    if r.smaller_only {
        text.push_str(" smaller_only");
    }
    if r.keep_dates {
        text.push_str(" keep_dates");
    }
    // Frozen: only AVIF took an effort then.
    if format == Format::Avif {
        text.push_str(&format!(" effort={}", r.effort));
    }
    Some(format!("{:016x}", fnv1a(text.as_bytes())))
}

/// Recipe options given by a front end (command-line flags): each one set replaces the base
/// recipe's value, the others leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipePatch {
    values: Vec<(&'static str, Value)>,
}

impl RecipePatch {
    /// Sets option `key` to `value`, checked first: an unknown key or a bad value is the
    /// error, in one sentence.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), String> {
        let o = option(key).ok_or_else(|| format!("there is no recipe option '{key}'"))?;
        o.check(&value)
            .map_err(|e| format!("{}: {e}", o.flag.unwrap_or(o.key)))?;
        self.values.retain(|(k, _)| *k != o.key);
        self.values.push((o.key, value));
        Ok(())
    }

    /// This patch with `key` set to `value` (for tests and launchers); see [`RecipePatch::set`].
    pub fn with(mut self, key: &str, value: Value) -> Result<Self, String> {
        self.set(key, value)?;
        Ok(self)
    }

    /// The value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `base` with every option of the patch applied.
    pub fn apply(&self, mut base: Recipe) -> Recipe {
        for (key, value) in &self.values {
            if let Some(o) = option(key) {
                // Checked when set, so it applies.
                if (o.set)(&mut base, value).is_err() {
                    debug_assert!(false, "{key} was checked when set");
                }
            }
        }
        base
    }
}

/// The `conveyor run` options that make `r` (every one written out, as recipe files do, plus
/// the on-exist policy); `subfolder` has no option and is left out.
pub fn to_args(r: &Recipe) -> Vec<String> {
    let mut args = Vec::new();
    for o in OPTIONS {
        // Edits are flags of their own, in order, the resize among them where it happens.
        if o.key == "resize" && !r.edits.is_empty() {
            continue;
        }
        if o.key == "edit" {
            let marked = r.edits.0.contains(&super::edit::Edit::Resize);
            if let (false, false, Some(spec)) = (r.edits.is_empty(), marked, r.resize) {
                args.extend(["--resize".to_owned(), spec.to_string()]);
            }
            for (name, value) in r.edits.entries(r.resize) {
                args.push(format!("--{name}"));
                if !value.is_empty() {
                    args.push(value);
                }
            }
            continue;
        }
        let (Some(flag), Some(value)) = (o.flag, (o.get)(r)) else {
            continue;
        };
        if !(o.shown)(r) {
            continue;
        }
        match value {
            Value::Bool(true) => args.push(format!("--{flag}")),
            Value::Bool(false) => {}
            v => {
                args.push(format!("--{flag}"));
                args.push(v.text());
            }
        }
    }
    args
}

/// The command line's edit flags (`--crop`, `--rotate`, `--flip`, `--pad`) as the `edit`
/// option's value: `given` holds each flag's place among the arguments, name and value, and
/// the `--resize` flag's place and value if given. `None` when no edit flag was given (a lone
/// `--resize` stays the plain option).
pub fn fold_edits(given: &[(usize, &str, String)]) -> Option<String> {
    if !given.iter().any(|(_, name, _)| *name != "resize") {
        return None;
    }
    let mut ordered: Vec<&(usize, &str, String)> = given.iter().collect();
    ordered.sort_by_key(|(at, ..)| *at);
    Some(
        ordered
            .iter()
            .map(|(_, name, value)| {
                if value.is_empty() {
                    (*name).to_owned()
                } else {
                    format!("{name}={value}")
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The command line's edit flags.
pub fn edit_flags() -> impl Iterator<Item = super::edit::Operation> {
    OPERATIONS.into_iter()
}

/// Options [`describe`] leaves out, and why: a test checks that every other option changes
/// the line.
pub const NOT_DESCRIBED: &[(&str, &str)] = &[
    (
        "subfolder",
        "the output's name (`recipe_file::output_name`) shows it",
    ),
    ("name", "the output's name shows it"),
    ("on_exist", "a run's policy, not what an output is"),
    ("chroma", "a JPEG detail; `recipe show` writes it"),
    ("effort", "an encoder's speed; `recipe show` writes it"),
    (
        "background",
        "only transparent inputs in opaque formats show it",
    ),
];

/// One line saying what an output does.
pub fn describe(r: &Recipe) -> String {
    let mut parts = vec![match r.resize {
        Some(spec) => format!("resize {spec} ({})", r.filter),
        None => "no resize".to_owned(),
    }];
    if !r.edits.is_empty() {
        let edits: Vec<String> = r
            .edits
            .entries(r.resize)
            .into_iter()
            .map(|(name, value)| match value.as_str() {
                "" => name.to_owned(),
                v => format!("{name} {v}"),
            })
            .collect();
        parts.push(format!("edits: {}", edits.join("; then ")));
    }
    let format = match r.format {
        OutputFormat::Keep => "each input's own format".to_owned(),
        OutputFormat::To(f) => f.label().to_owned(),
    };
    let lossy = match r.format {
        OutputFormat::To(f) => r.is_lossy(f),
        OutputFormat::Keep => true,
    };
    if lossy {
        let mut q = format!("{format} at quality {}", r.quality);
        if let Some(max) = r.max_size {
            q.push_str(&format!(", at most {}", human_bytes(max)));
        }
        if let Some(score) = r.target_score {
            q.push_str(&format!(", aiming at SSIMULACRA2 {score}"));
        }
        parts.push(q);
    } else {
        parts.push(format!("{format}, lossless"));
    }
    if let Some(n) = r.png_colors {
        parts.push(format!("PNG in at most {n} colours"));
    }
    parts.push(format!("metadata {}", r.metadata));
    if r.keep_dates {
        parts.push("input dates kept".into());
    }
    if r.smaller_only {
        parts.push("originals kept when smaller".into());
    } else if r.reencode {
        parts.push("every file re-encoded".into());
    }
    if r.allow_upscale {
        parts.push("may enlarge".into());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::Rgb;

    /// Every field `Recipe` has, by its serialised name.
    fn recipe_fields() -> Vec<String> {
        let json = serde_json::to_value(Recipe::default()).expect("a recipe serialises");
        let mut keys: Vec<String> = json
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    /// The field an option sets, found by setting it to its example on a default recipe.
    fn field_of(o: &RecipeOption) -> Vec<String> {
        let before = serde_json::to_value(Recipe::default()).expect("serialises");
        let mut r = Recipe::default();
        (o.set)(&mut r, &(o.example)()).expect("the example is valid");
        let after = serde_json::to_value(&r).expect("serialises");
        before
            .as_object()
            .expect("object")
            .iter()
            .filter(|(k, v)| after.get(k.as_str()) != Some(v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A field of `Recipe` with no declaration here fails this test: declare it in `OPTIONS`
    /// (and so say whether it shapes the output).
    #[test]
    fn every_recipe_field_is_declared_exactly_once() {
        let mut declared: Vec<String> = Vec::new();
        for o in OPTIONS {
            let fields = field_of(o);
            assert_eq!(
                fields.len(),
                1,
                "option {} must set exactly one field, sets {fields:?}",
                o.key
            );
            declared.extend(fields);
        }
        declared.sort();
        let mut unique = declared.clone();
        unique.dedup();
        assert_eq!(unique, declared, "two options set the same field");
        assert_eq!(
            declared,
            recipe_fields(),
            "every field of Recipe needs one declaration in OPTIONS"
        );
        let mut keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), OPTIONS.len(), "two options share a key");
    }

    #[test]
    fn examples_read_back_and_defaults_round_trip() {
        for o in OPTIONS {
            let mut r = Recipe::default();
            (o.set)(&mut r, &(o.example)()).expect("valid example");
            assert_ne!(
                r,
                Recipe::default(),
                "{}: the example is the default",
                o.key
            );
            let got = (o.get)(&r).expect("a set value reads back");
            let mut again = Recipe::default();
            (o.set)(&mut again, &got).expect("what get gives, set takes");
            assert_eq!(again, r, "{}", o.key);
            // Every value also goes through the command line as text.
            let mut by_text = Recipe::default();
            (o.set)(&mut by_text, &Value::Text(got.text())).expect("as text");
            assert_eq!(by_text, r, "{} as text", o.key);
        }
    }

    /// The fingerprint moves with every option that shapes the output (for a format that
    /// takes it) and with no other.
    #[test]
    fn the_fingerprint_follows_the_declarations() {
        let base = Recipe::default();
        for format in Format::writable() {
            for o in OPTIONS {
                let mut r = base.clone();
                (o.set)(&mut r, &(o.example)()).expect("valid example");
                let moves = fingerprint(&r, format) != fingerprint(&base, format);
                let should = o.shapes == Shapes::Output
                    && o.key != "format"
                    && o.control.is_none_or(|c| format.takes(c));
                assert_eq!(moves, should, "{} for {}", o.key, format.name());
            }
        }
        assert_ne!(
            fingerprint(&base, Format::Jpeg),
            fingerprint(&base, Format::Png),
            "the format is part of it"
        );
    }

    /// Pinned: changing the canonical text redoes every output users have. Change only with
    /// a note in the README of what one upgrade redoes.
    #[test]
    fn the_fingerprint_is_stable() {
        // What the default recipe's outputs carried before WebP took an effort (#40).
        for (format, before) in [
            (Format::Png, "cf7fb15c800e32dc"),
            (Format::Webp, "fee3924b32fd3a46"),
            (Format::Avif, "cf7c4701fde7ac9a"),
            (Format::Jpeg, "1e9a05f34a8b9c98"),
        ] {
            assert_eq!(
                fingerprint(&Recipe::default(), format),
                before,
                "{}",
                format.name()
            );
        }
        assert_eq!(
            fingerprint(&Recipe::default(), Format::Jpeg),
            format!("{:016x}", fnv1a(b"v2 format=jpeg filter=8:lanczos3 quality=2:85 chroma=3:420 background=7:#ffffff metadata=4:keep"))
        );
    }

    /// What versions before the option table wrote: `Recipe::fingerprint`'s text from `Debug`.
    fn old_v1(r: &Recipe, format: Format) -> String {
        let mut text = format!(
            "v1 {} {:?} {:?} q{} lossless={} {:?} {:?} {:?} upscale={}",
            format.name(),
            r.resize,
            r.filter,
            r.quality,
            r.lossless,
            r.chroma,
            r.background,
            r.metadata,
            r.allow_upscale
        );
        if let Some(max) = r.max_size {
            text.push_str(&format!(" max_size={max}"));
        }
        if let Some(score) = r.target_score {
            text.push_str(&format!(" target_score={score}"));
        }
        if r.smaller_only {
            text.push_str(" smaller_only");
        }
        if r.keep_dates {
            text.push_str(" keep_dates");
        }
        if format == Format::Avif {
            text.push_str(&format!(" effort={}", r.effort));
        }
        format!("{:016x}", fnv1a(text.as_bytes()))
    }

    #[test]
    fn the_legacy_fingerprint_is_what_old_journals_hold() {
        // Computed by version 0.1's code (FNV-1a of its Debug text), outside this crate.
        assert_eq!(
            legacy_fingerprint(&Recipe::default(), Format::Jpeg).as_deref(),
            Some("1a4217c5f9a06e86")
        );
        let webp = Recipe {
            resize: Some(ResizeSpec::Fit(480, 480)),
            quality: 80,
            ..Recipe::default()
        };
        assert_eq!(
            legacy_fingerprint(&webp, Format::Webp).as_deref(),
            Some("cd55335b8324933a")
        );
        let specs = [
            None,
            Some(ResizeSpec::Fill(3, 4)),
            Some(ResizeSpec::Exact(5, 6)),
            Some(ResizeSpec::Scale(50)),
            Some(ResizeSpec::Long(7)),
            Some(ResizeSpec::Short(8)),
            Some(ResizeSpec::Width(9)),
            Some(ResizeSpec::Height(10)),
        ];
        for (i, resize) in specs.into_iter().enumerate() {
            for format in Format::writable() {
                let mut r = Recipe {
                    resize,
                    background: Rgb([i as u8, 7, 200]),
                    quality: 50 + i as u8,
                    ..Recipe::default()
                };
                // Only the options those versions knew: with a newer one set there is no
                // legacy fingerprint (checked below).
                for o in OPTIONS
                    .iter()
                    .filter(|o| o.shapes == Shapes::Output && V1_KEYS.contains(&o.key))
                {
                    if o.key.len() % 8 == i % 8 {
                        (o.set)(&mut r, &(o.example)()).expect("valid");
                    }
                }
                assert_eq!(
                    legacy_fingerprint(&r, format),
                    Some(old_v1(&r, format)),
                    "{r:?} {}",
                    format.name()
                );
            }
        }
        let newer = Recipe {
            reencode: true,
            ..Recipe::default()
        };
        assert_eq!(legacy_fingerprint(&newer, Format::Jpeg), None);
    }

    #[test]
    fn a_patch_checks_its_values_and_applies_them() {
        let mut p = RecipePatch::default();
        assert!(p.set("quality", Value::Text("0".into())).is_err());
        assert!(p.set("bogus", Value::Bool(true)).is_err());
        p.set("quality", Value::Text("70".into())).expect("valid");
        p.set("keep_dates", Value::Bool(true)).expect("valid");
        let r = p.apply(Recipe::default());
        assert_eq!((r.quality, r.keep_dates), (70, true));
        assert!(RecipePatch::default().is_empty() && !p.is_empty());
    }

    #[test]
    fn every_option_is_described_or_says_why_not() {
        // WebP takes quality and lossless both.
        let base = Recipe {
            format: OutputFormat::To(Format::Webp),
            ..Recipe::default()
        };
        for o in OPTIONS {
            let mut r = base.clone();
            (o.set)(&mut r, &(o.example)()).expect("valid");
            let exempt = NOT_DESCRIBED.iter().any(|(k, _)| *k == o.key);
            let changes = describe(&r) != describe(&base);
            // Filter shows with a resize.
            let changes = changes || {
                r.resize = Some(ResizeSpec::Long(9));
                let mut b = base.clone();
                b.resize = r.resize;
                describe(&r) != describe(&b)
            };
            assert_eq!(changes, !exempt, "{}", o.key);
        }
    }

    #[test]
    fn copy_as_command_reads_back_through_a_patch() {
        let mut r = Recipe::default();
        for o in OPTIONS {
            (o.set)(&mut r, &(o.example)()).expect("valid");
        }
        r.subfolder.clear();
        r.format = OutputFormat::To(Format::Avif);
        r.edits = EditList::parse(
            "crop=3:2@south; resize=fit:90x90; flip=v; grayscale; sharpen; adjust=contrast=5",
        )
        .expect("valid")
        .0;
        let args = to_args(&r);
        let mut patch = RecipePatch::default();
        let mut edits = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let flag = args[i].trim_start_matches("--");
            if flag == "resize" || OPERATIONS.iter().any(|o| o.name == flag) {
                // A flag whose value may be left out is followed by another flag then.
                match args.get(i + 1).filter(|v| !v.starts_with("--")) {
                    Some(value) => {
                        edits.push((i, flag, value.clone()));
                        i += 2;
                    }
                    None => {
                        edits.push((i, flag, String::new()));
                        i += 1;
                    }
                }
                continue;
            }
            let o = OPTIONS
                .iter()
                .find(|o| o.flag == Some(flag))
                .expect("a declared flag");
            if o.value_name.is_some() {
                patch
                    .set(o.key, Value::Text(args[i + 1].clone()))
                    .expect("valid");
                i += 2;
            } else {
                patch.set(o.key, Value::Bool(true)).expect("valid");
                i += 1;
            }
        }
        let folded = fold_edits(&edits).expect("edit flags");
        patch.set("edit", Value::Text(folded)).expect("valid");
        assert_eq!(patch.apply(Recipe::default()), r, "{args:?}");
    }

    #[test]
    fn edit_flags_fold_in_their_order_and_a_resize_first_means_no_marker() {
        let given = [
            (5, "rotate", "90".to_owned()),
            (1, "crop", "16:9".to_owned()),
            (3, "resize", "fit:80x80".to_owned()),
        ];
        let text = fold_edits(&given).expect("edits");
        assert_eq!(text, "crop=16:9; resize=fit:80x80; rotate=90");
        assert_eq!(fold_edits(&[(1, "resize", "fit:8x8".to_owned())]), None);
        let first = fold_edits(&[
            (1, "resize", "fit:8x8".to_owned()),
            (2, "flip", "h".to_owned()),
        ])
        .expect("edits");
        let mut a = Recipe::default();
        (option("edit").expect("declared").set)(&mut a, &Value::Text(first)).expect("valid");
        let b = Recipe {
            resize: Some(ResizeSpec::Fit(8, 8)),
            edits: EditList::parse("flip=h").expect("valid").0,
            ..Recipe::default()
        };
        assert_eq!(a, b, "resize, then edits: one recipe however it is written");
        assert_eq!(fingerprint(&a, Format::Png), fingerprint(&b, Format::Png));
    }
}
