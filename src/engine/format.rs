//! THE format table: every image format Conveyor knows, with its names, extensions, MIME type,
//! magic bytes, what Conveyor can do with it and what it can carry. Scan, plan, recipe parsing,
//! decode, encode, the CLI help and the app's menus and input summary all read this table; adding
//! a format is one [`Format`] variant, its [`Spec`] row here, and its codec in `pipeline/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An image format. Its facts are in [`Format::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Format {
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// PNG, including APNG (first frame).
    Png,
    /// WebP, lossy or lossless.
    Webp,
    /// GIF, including animations.
    Gif,
    /// Windows bitmap.
    Bmp,
    /// TIFF.
    Tiff,
    /// The Quite OK Image format.
    Qoi,
}

/// A quality control a format's encoder takes from the recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `--quality` 1–100.
    Quality,
    /// `--lossless`.
    Lossless,
    /// `--chroma 420|444`.
    Chroma,
}

/// Which metadata blocks Conveyor writes into a format (with `--metadata keep`; ICC always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carries {
    /// EXIF (camera, date, GPS, …).
    pub exif: bool,
    /// The ICC colour profile.
    pub icc: bool,
    /// XMP.
    pub xmp: bool,
}

/// Magic bytes: `bytes` found at `offset` identify the format (all of a row's patterns must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic(pub &'static [(usize, &'static [u8])]);

impl Magic {
    fn matches(&self, data: &[u8]) -> bool {
        self.0
            .iter()
            .all(|(at, bytes)| data.get(*at..*at + bytes.len()) == Some(*bytes))
    }
}

/// Everything known about one format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The format.
    pub format: Format,
    /// The name on the command line, in reports and settings (lower case).
    pub name: &'static str,
    /// The name shown to people ("JPEG").
    pub label: &'static str,
    /// File extensions picked up as this format (any case); the first is written for outputs.
    pub extensions: &'static [&'static str],
    /// MIME type.
    pub mime: &'static str,
    /// Any one of these identifies the content.
    pub magic: &'static [Magic],
    /// The `image` crate's name for it (the decoder that reads it).
    pub image: image::ImageFormat,
    /// Conveyor reads it.
    pub decodes: bool,
    /// Conveyor writes it.
    pub encodes: bool,
    /// Outputs keep transparency (formats without it are flattened onto `--background`).
    pub alpha: bool,
    /// Outputs keep 16 bits per channel.
    pub deep: bool,
    /// The container can hold an animation (inputs are checked; stills take the first frame).
    pub animated_in: bool,
    /// Conveyor writes animations in it (animated input to the same format).
    pub animated_out: bool,
    /// Metadata carried into outputs.
    pub carries: Carries,
    /// The recipe's quality controls that apply.
    pub controls: &'static [Control],
    /// Largest side its encoder accepts.
    pub max_side: u32,
}

const NONE: Carries = Carries {
    exif: false,
    icc: false,
    xmp: false,
};
const EXIF_ICC: Carries = Carries {
    exif: true,
    icc: true,
    xmp: false,
};

/// The table, in the order shown to users.
const TABLE: &[Spec] = &[
    Spec {
        format: Format::Jpeg,
        name: "jpeg",
        label: "JPEG",
        extensions: &["jpg", "jpeg"],
        mime: "image/jpeg",
        magic: &[Magic(&[(0, &[0xFF, 0xD8, 0xFF])])],
        image: image::ImageFormat::Jpeg,
        decodes: true,
        encodes: true,
        alpha: false,
        deep: false,
        animated_in: false,
        animated_out: false,
        carries: EXIF_ICC,
        controls: &[Control::Quality, Control::Chroma],
        max_side: 65535,
    },
    Spec {
        format: Format::Png,
        name: "png",
        label: "PNG",
        extensions: &["png"],
        mime: "image/png",
        magic: &[Magic(&[(0, b"\x89PNG\r\n\x1a\n")])],
        image: image::ImageFormat::Png,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: true,
        animated_in: true,
        animated_out: false,
        carries: EXIF_ICC,
        controls: &[],
        max_side: u32::MAX,
    },
    Spec {
        format: Format::Webp,
        name: "webp",
        label: "WebP",
        extensions: &["webp"],
        mime: "image/webp",
        magic: &[Magic(&[(0, b"RIFF"), (8, b"WEBP")])],
        image: image::ImageFormat::WebP,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: false,
        animated_in: true,
        animated_out: false,
        carries: EXIF_ICC,
        controls: &[Control::Quality, Control::Lossless],
        max_side: 16383,
    },
    Spec {
        format: Format::Gif,
        name: "gif",
        label: "GIF",
        extensions: &["gif"],
        mime: "image/gif",
        magic: &[Magic(&[(0, b"GIF87a")]), Magic(&[(0, b"GIF89a")])],
        image: image::ImageFormat::Gif,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: false,
        animated_in: true,
        animated_out: true,
        carries: NONE,
        controls: &[],
        max_side: 65535,
    },
    Spec {
        format: Format::Bmp,
        name: "bmp",
        label: "BMP",
        extensions: &["bmp"],
        mime: "image/bmp",
        magic: &[Magic(&[(0, b"BM")])],
        image: image::ImageFormat::Bmp,
        decodes: true,
        encodes: true,
        alpha: false,
        deep: false,
        animated_in: false,
        animated_out: false,
        carries: NONE,
        controls: &[],
        max_side: u32::MAX,
    },
    Spec {
        format: Format::Tiff,
        name: "tiff",
        label: "TIFF",
        extensions: &["tif", "tiff"],
        mime: "image/tiff",
        magic: &[Magic(&[(0, b"II*\0")]), Magic(&[(0, b"MM\0*")])],
        image: image::ImageFormat::Tiff,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: true,
        animated_in: false,
        animated_out: false,
        carries: EXIF_ICC,
        controls: &[],
        max_side: u32::MAX,
    },
    Spec {
        format: Format::Qoi,
        name: "qoi",
        label: "QOI",
        extensions: &["qoi"],
        mime: "image/qoi",
        magic: &[Magic(&[(0, b"qoif")])],
        image: image::ImageFormat::Qoi,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: false,
        animated_in: false,
        animated_out: false,
        carries: NONE,
        controls: &[],
        max_side: u32::MAX,
    },
];

impl Format {
    /// Every format, in the order shown to users.
    pub fn all() -> impl Iterator<Item = Format> {
        TABLE.iter().map(|s| s.format)
    }

    /// Every format Conveyor writes, in the order shown to users.
    pub fn writable() -> impl Iterator<Item = Format> {
        TABLE.iter().filter(|s| s.encodes).map(|s| s.format)
    }

    /// This format's row of the table.
    pub fn spec(self) -> &'static Spec {
        // The table has one row per variant, in declaration order (checked by a test).
        &TABLE[self as usize]
    }

    /// The command-line name ("jpeg").
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The name shown to people ("JPEG").
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// The extension written for outputs ("jpg").
    pub fn extension(self) -> &'static str {
        self.spec().extensions[0]
    }

    /// Whether a recipe control applies to this format's output.
    pub fn takes(self, control: Control) -> bool {
        self.spec().controls.contains(&control)
    }

    /// The readable format whose extension is `ext` (any case).
    pub fn from_extension(ext: &str) -> Option<Format> {
        TABLE
            .iter()
            .find(|s| s.decodes && s.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
            .map(|s| s.format)
    }

    /// The format the content starts like, from its magic bytes.
    pub fn sniff(data: &[u8]) -> Option<Format> {
        TABLE
            .iter()
            .find(|s| s.magic.iter().any(|m| m.matches(data)))
            .map(|s| s.format)
    }

    /// The format the `image` crate calls `f`, if it is in the table.
    pub fn from_image(f: image::ImageFormat) -> Option<Format> {
        TABLE.iter().find(|s| s.image == f).map(|s| s.format)
    }

    /// Every readable extension, for the scan and help texts.
    pub fn input_extensions() -> impl Iterator<Item = &'static str> {
        TABLE
            .iter()
            .filter(|s| s.decodes)
            .flat_map(|s| s.extensions.iter().copied())
    }
}

/// Whether `path` has a readable format's extension (any case).
pub fn has_image_extension(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(std::ffi::OsStr::to_str)
        .and_then(Format::from_extension)
        .is_some()
}

/// Why a format name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a format; use one of {list}", list = names().join(", "))]
pub struct UnknownFormat(pub String);

fn names() -> Vec<&'static str> {
    TABLE.iter().map(|s| s.name).collect()
}

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        TABLE
            .iter()
            .find(|spec| {
                spec.name.eq_ignore_ascii_case(t)
                    || spec.extensions.iter().any(|e| e.eq_ignore_ascii_case(t))
            })
            .map(|spec| spec.format)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Format> for String {
    fn from(f: Format) -> String {
        f.name().to_owned()
    }
}

impl TryFrom<String> for Format {
    type Error = UnknownFormat;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_variant_in_order() {
        for (i, spec) in TABLE.iter().enumerate() {
            assert_eq!(spec.format as usize, i, "{} is out of place", spec.name);
            assert_eq!(spec.format.spec(), spec);
            assert!(!spec.extensions.is_empty() && !spec.magic.is_empty());
            assert_eq!(spec.name.parse(), Ok(spec.format));
            assert_eq!(Format::from_image(spec.image), Some(spec.format));
        }
        let mut exts: Vec<&str> = Format::input_extensions().collect();
        let n = exts.len();
        exts.sort_unstable();
        exts.dedup();
        assert_eq!(exts.len(), n, "an extension belongs to one format");
    }

    #[test]
    fn names_extensions_and_magic() {
        assert_eq!("JPEG".parse(), Ok(Format::Jpeg));
        assert_eq!("jpg".parse(), Ok(Format::Jpeg));
        assert!("jpg2".parse::<Format>().is_err());
        assert_eq!(Format::from_extension("TIF"), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(Format::sniff(b"MM\0*\0\0\0\x08"), Some(Format::Tiff));
        assert!(has_image_extension(std::path::Path::new("a/b.JPEG")));
        assert!(!has_image_extension(std::path::Path::new("a/b.txt")));
    }
}
