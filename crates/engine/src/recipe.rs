//! What to do to every image: resize, output format, quality, metadata and naming.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::format::{Control, Format};
use super::name::NameTemplate;
use super::spec::named_enum;
pub use super::spec::{Filter, Geometry, ParseError, ResizeSpec, Rgb};

/// The output format: each input's own format, or one format for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum OutputFormat {
    /// Same format as the input (PNG for an input whose format Conveyor cannot write).
    Keep,
    /// This format.
    To(Format),
}

impl OutputFormat {
    /// Every choice, in the order shown to users: keep, then every writable format.
    pub fn choices() -> Vec<OutputFormat> {
        std::iter::once(OutputFormat::Keep)
            .chain(Format::writable().map(OutputFormat::To))
            .collect()
    }

    /// The name used on the command line and in settings.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Keep => "keep",
            OutputFormat::To(f) => f.name(),
        }
    }

    /// The concrete format an input with extension `ext` becomes.
    pub fn resolve(self, ext: &str) -> Format {
        match self {
            OutputFormat::To(f) => f,
            OutputFormat::Keep => Format::from_extension(ext)
                .filter(|f| f.spec().encodes)
                .unwrap_or(Format::Png),
        }
    }

    /// The extension of the output an input with extension `ext` gets: with `Keep`, the
    /// input's own spelling of its format (`.tiff` stays `.tiff`, `.JPEG` becomes `.jpeg`);
    /// otherwise the format's usual one.
    pub fn extension_for(self, ext: &str) -> &'static str {
        let format = self.resolve(ext);
        format
            .spec()
            .extensions
            .iter()
            .copied()
            .find(|e| self == OutputFormat::Keep && ext.eq_ignore_ascii_case(e))
            .unwrap_or_else(|| format.extension())
    }

    /// Whether a recipe control can change this choice's outputs (for `Keep`: some format's).
    pub fn takes(self, control: Control) -> bool {
        match self {
            OutputFormat::To(f) => f.takes(control),
            OutputFormat::Keep => Format::writable().any(|f| f.takes(control)),
        }
    }

    /// Whether outputs may be flattened onto the background (for `Keep`: some formats are).
    pub fn may_flatten(self) -> bool {
        match self {
            OutputFormat::To(f) => !f.spec().alpha,
            OutputFormat::Keep => true,
        }
    }
}

impl FromStr for OutputFormat {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("keep") {
            return Ok(OutputFormat::Keep);
        }
        match s.parse::<Format>() {
            Ok(f) if f.spec().encodes => Ok(OutputFormat::To(f)),
            Ok(f) => Err(ParseError(format!(
                "Conveyor reads {} but does not write it",
                f.label()
            ))),
            Err(_) => {
                let names: Vec<&str> = OutputFormat::choices().iter().map(|c| c.name()).collect();
                Err(ParseError(format!(
                    "'{s}' is not one of {}",
                    names.join(", ")
                )))
            }
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<OutputFormat> for String {
    fn from(f: OutputFormat) -> String {
        f.name().to_owned()
    }
}

impl TryFrom<String> for OutputFormat {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

named_enum!(
    /// What happens to EXIF, XMP and comments.
    MetadataMode {
        /// Copy EXIF and the ICC profile into outputs that can carry them.
        Keep => "keep",
        /// Drop EXIF, XMP and comments; the ICC profile stays, since dropping it shifts colours.
        Strip => "strip",
        /// Keep everything but where the photo was taken: the EXIF GPS directory is removed,
        /// camera, dates, copyright and the ICC profile stay.
        StripLocation => "strip-location",
    }
);

named_enum!(
    /// Chroma subsampling of JPEG outputs.
    Chroma {
        /// Colour at half resolution both ways: smaller files, what cameras and the web use.
        S420 => "420",
        /// Colour at full resolution: sharper red edges and text, larger files.
        S444 => "444",
    }
);

named_enum!(
    /// What to do when the output file already exists.
    OnExist {
        /// Leave the existing file and report the input as skipped (re-running resumes a batch).
        Skip => "skip",
        /// Replace the existing file (atomically).
        Overwrite => "overwrite",
        /// Write beside it under the next free `-N` name.
        Rename => "rename",
    }
);

/// The encoder effort a recipe has unless told otherwise: rav1e speed 6, or libaom cpu-used 7
/// with the `aom` feature. On photos at quality 60 (docs/BENCHMARKS.md, W6) rav1e's efforts 2 to 8 make
/// files within 1 % of each other and effort 0 makes them 21 % larger three times as fast, so
/// the default sits at the fast end of the flat part; libaom below cpu-used 7 is 7× slower
/// and more for a few per cent.
pub const DEFAULT_EFFORT: u8 = 4;
/// The highest encoder effort.
pub const MAX_EFFORT: u8 = 10;

/// Everything that decides what one input becomes; the same for every image in a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipe {
    /// How to resize, or `None` to keep the size.
    pub resize: Option<ResizeSpec>,
    /// Resampling filter.
    pub filter: Filter,
    /// Output format.
    pub format: OutputFormat,
    /// Quality 1–100 for lossy formats.
    pub quality: u8,
    /// Lossless output for formats that have it (WebP; AVIF with the `aom` feature).
    pub lossless: bool,
    /// JPEG chroma subsampling.
    pub chroma: Chroma,
    /// Encoder effort 0 (fastest) to 10 (smallest files), for formats that take it (AVIF).
    pub effort: u8,
    /// What transparency becomes in formats without alpha.
    pub background: Rgb,
    /// Keep or strip metadata.
    pub metadata: MetadataMode,
    /// Output file name before its extension; tokens `{stem} {ext} {w} {h} {n} {date} {camera}`.
    pub name_template: NameTemplate,
    /// What to do when an output exists.
    pub on_exist: OnExist,
    /// Allow outputs larger than their sources.
    pub allow_upscale: bool,
    /// For lossy outputs: the highest quality not above `quality` whose output fits in this many
    /// bytes. Lossless outputs over it fail.
    pub max_size: Option<u64>,
    /// For lossy outputs: the lowest quality not above `quality` whose output scores at least
    /// this (SSIMULACRA2, 0-100) against the resized image.
    pub target_score: Option<f64>,
    /// Keep the original's bytes when an output in its own format is not smaller. Now what
    /// happens anyway unless `reencode` is set; kept so recipes that say it still mean it.
    pub smaller_only: bool,
    /// Write the re-encoded file even when it is larger than an original of the same format
    /// and size (by default such an output keeps the original's bytes).
    pub reencode: bool,
    /// PNG: reduce to a palette of at most this many colours (2-256), dithered: smaller files
    /// for flat artwork, at a visible cost on photos. `None`: every colour kept.
    pub png_colors: Option<u16>,
    /// Give each output its input's modification time.
    pub keep_dates: bool,
    /// A folder under the output folder for this output (`/`-separated, relative; empty: the
    /// output folder itself). Used by recipes with several outputs.
    pub subfolder: String,
    /// Crop, rotate, flip, pad … in order, and where the resize happens among them.
    pub edits: crate::edit::EditList,
}

impl Recipe {
    /// Whether an output in the input's own format and size that is not smaller than the
    /// input keeps the original's bytes: unless re-encoding was asked for (`--smaller-only`
    /// asks for keeping even then).
    pub fn keeps_originals(&self) -> bool {
        self.smaller_only || !self.reencode
    }

    /// The size an output of a `size` picture (upright) has: the edits before the resize, the
    /// resize, the edits after, as far as they can be told without pixels (a trim's is the
    /// untrimmed size).
    pub fn output_size(&self, size: (u32, u32)) -> (u32, u32) {
        let (before, after) = self.edits.around_resize();
        let size = crate::edit::EditList::size_through(before, size);
        let size = match self.resize {
            Some(spec) => spec.geometry(size.0, size.1, self.allow_upscale).output,
            None => size,
        };
        crate::edit::EditList::size_through(after, size)
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            resize: None,
            filter: Filter::Lanczos3,
            format: OutputFormat::Keep,
            quality: 85,
            lossless: false,
            chroma: Chroma::S420,
            effort: DEFAULT_EFFORT,
            background: Rgb([255, 255, 255]),
            metadata: MetadataMode::Keep,
            name_template: NameTemplate::default(),
            on_exist: OnExist::Skip,
            allow_upscale: false,
            max_size: None,
            target_score: None,
            smaller_only: false,
            reencode: false,
            png_colors: None,
            keep_dates: false,
            subfolder: String::new(),
            edits: crate::edit::EditList::default(),
        }
    }
}

impl Recipe {
    /// Whether `format`'s output trades size for quality under this recipe (JPEG, WebP unless
    /// lossless): only those take `--max-size` and `--target-score` searches.
    pub fn is_lossy(&self, format: Format) -> bool {
        format.takes(Control::Quality) && !(self.lossless && format.takes(Control::Lossless))
    }

    /// Checks every field a user can set to an out-of-range value.
    pub fn validate(&self) -> Result<(), ParseError> {
        if !(1..=100).contains(&self.quality) {
            return Err(ParseError(format!(
                "quality {} is outside 1-100",
                self.quality
            )));
        }
        if self.effort > MAX_EFFORT {
            return Err(ParseError(format!(
                "effort {} is outside 0-{MAX_EFFORT}",
                self.effort
            )));
        }
        if let Some(score) = self.target_score
            && !(0.0..=100.0).contains(&score)
        {
            return Err(ParseError(format!("target score {score} is outside 0-100")));
        }
        if let OutputFormat::To(format) = self.format
            && !self.is_lossy(format)
        {
            let why = |option: &str, what: &str| {
                ParseError(format!(
                    "{option} needs a lossy output (JPEG, AVIF, or WebP without --lossless): {} output \
                     here is lossless, so its {what} cannot be traded for quality",
                    format.label()
                ))
            };
            if self.max_size.is_some() {
                return Err(why("--max-size", "size"));
            }
            if self.target_score.is_some() {
                return Err(why("--target-score", "look"));
            }
        }
        Ok(())
    }
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
    if text.chars().any(char::is_control) {
        return Err(format!(
            "the sub-folder {text:?} contains a control character (such as a line break or NUL)"
        ));
    }
    if let Some(long) = parts.iter().find(|p| p.len() > 255) {
        return Err(format!(
            "the sub-folder name '{long}' is {} bytes long; folder names end at 255 bytes",
            long.len()
        ));
    }
    if let Some(reserved) = parts.iter().find(|p| super::name::is_reserved(p)) {
        return Err(format!(
            "the sub-folder '{reserved}' starts with {}, which Conveyor keeps for its own files \
             (its journal and temporary files); choose another name",
            super::name::RESERVED_PREFIX
        ));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_resize_mode() {
        assert_eq!("fit:300x200".parse(), Ok(ResizeSpec::Fit(300, 200)));
        assert_eq!("FILL:10X20".parse(), Ok(ResizeSpec::Fill(10, 20)));
        assert_eq!("exact:5x6".parse(), Ok(ResizeSpec::Exact(5, 6)));
        assert_eq!("scale:50%".parse(), Ok(ResizeSpec::Scale(50)));
        assert_eq!("long:1600".parse(), Ok(ResizeSpec::Long(1600)));
        assert_eq!("short:10".parse(), Ok(ResizeSpec::Short(10)));
        assert_eq!("width:7".parse(), Ok(ResizeSpec::Width(7)));
        assert_eq!("height:8".parse(), Ok(ResizeSpec::Height(8)));
        for bad in [
            "fit:0x10", "fit:10", "long:-1", "bogus:1", "fit", "scale:0%",
        ] {
            assert!(bad.parse::<ResizeSpec>().is_err(), "{bad} parsed");
        }
        let spec = ResizeSpec::Fit(3, 4);
        assert_eq!(spec.to_string().parse(), Ok(spec));
    }

    #[test]
    fn geometry_keeps_aspect_and_never_enlarges_by_default() {
        let g = ResizeSpec::Fit(300, 300).geometry(4000, 3000, false);
        assert_eq!(g.output, (300, 225));
        assert_eq!(
            ResizeSpec::Fit(300, 300).geometry(100, 50, false).output,
            (100, 50)
        );
        assert_eq!(
            ResizeSpec::Fit(300, 300).geometry(100, 50, true).output,
            (300, 150)
        );
        let fill = ResizeSpec::Fill(100, 100).geometry(400, 200, false);
        assert_eq!(fill.scaled, (200, 100));
        assert_eq!(fill.output, (100, 100));
        assert_eq!(
            ResizeSpec::Exact(10, 90).geometry(40, 40, false).output,
            (10, 40)
        );
        assert_eq!(
            ResizeSpec::Scale(50).geometry(101, 11, false).output,
            (51, 6)
        );
        assert_eq!(
            ResizeSpec::Long(100).geometry(50, 200, false).output,
            (25, 100)
        );
        assert_eq!(
            ResizeSpec::Short(100).geometry(400, 200, false).output,
            (200, 100)
        );
        assert_eq!(
            ResizeSpec::Width(10).geometry(1000, 1, false).output,
            (10, 1)
        );
        assert_eq!(
            ResizeSpec::Height(10).geometry(30, 20, false).output,
            (15, 10)
        );
    }

    #[test]
    fn colours_formats_and_templates() {
        assert_eq!("#ff8000".parse(), Ok(Rgb([255, 128, 0])));
        assert!("#ff80".parse::<Rgb>().is_err());
        assert_eq!(Rgb([1, 2, 3]).to_string(), "#010203");
        assert_eq!("JPEG".parse(), Ok(OutputFormat::To(Format::Jpeg)));
        assert_eq!("keep".parse(), Ok(OutputFormat::Keep));
        assert!("jpg2".parse::<OutputFormat>().is_err());
        assert_eq!(OutputFormat::Keep.resolve("TIFF"), Format::Tiff);
        assert_eq!(OutputFormat::Keep.resolve("txt"), Format::Png);
    }
}
