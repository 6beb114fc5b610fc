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
    /// AVIF (AV1 in HEIF).
    Avif,
    /// GIF, including animations.
    Gif,
    /// Windows bitmap.
    Bmp,
    /// TIFF.
    Tiff,
    /// The Quite OK Image format.
    Qoi,
    /// HEIC/HEIF (HEVC in HEIF): what phones take photos in.
    Heic,
    /// JPEG XL.
    Jxl,
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
    /// `--effort 0-10`: encoder speed against size.
    Effort,
    /// `--png-colors 2-256`: a palette, dithered.
    Colors,
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
    /// Other MIME types files of this format are given (a desktop opens them with Conveyor).
    pub other_mimes: &'static [&'static str],
    /// Any one of these identifies the content.
    pub magic: &'static [Magic],
    /// The `image` crate's name for it, when that crate's decoder and encoder are the ones
    /// used (`None`: Conveyor's own codec modules in `pipeline/` handle it).
    pub image: Option<image::ImageFormat>,
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
        other_mimes: &[],
        magic: &[Magic(&[(0, &[0xFF, 0xD8, 0xFF])])],
        image: Some(image::ImageFormat::Jpeg),
        decodes: true,
        encodes: true,
        alpha: false,
        deep: false,
        animated_in: false,
        animated_out: false,
        carries: EXIF_ICC,
        // Effort: from 5 mozjpeg (`pipeline::mozjpeg`).
        controls: &[Control::Quality, Control::Chroma, Control::Effort],
        max_side: 65535,
    },
    Spec {
        format: Format::Png,
        name: "png",
        label: "PNG",
        extensions: &["png"],
        mime: "image/png",
        other_mimes: &[],
        magic: &[Magic(&[(0, b"\x89PNG\r\n\x1a\n")])],
        image: Some(image::ImageFormat::Png),
        decodes: true,
        encodes: true,
        alpha: true,
        deep: true,
        animated_in: true,
        animated_out: false,
        carries: EXIF_ICC,
        // Effort: oxipng's search from effort 5; colours: a palette (`pipeline::png_small`).
        controls: &[Control::Effort, Control::Colors],
        max_side: u32::MAX,
    },
    Spec {
        format: Format::Webp,
        name: "webp",
        label: "WebP",
        extensions: &["webp"],
        mime: "image/webp",
        other_mimes: &[],
        magic: &[Magic(&[(0, b"RIFF"), (8, b"WEBP")])],
        image: Some(image::ImageFormat::WebP),
        decodes: true,
        encodes: true,
        alpha: true,
        deep: false,
        animated_in: true,
        animated_out: false,
        carries: EXIF_ICC,
        // Effort: libwebp's method, for lossy files.
        controls: &[Control::Quality, Control::Lossless, Control::Effort],
        max_side: 16383,
    },
    Spec {
        format: Format::Avif,
        name: "avif",
        label: "AVIF",
        extensions: &["avif"],
        mime: "image/avif",
        other_mimes: &[],
        magic: &[
            Magic(&[(4, b"ftyp"), (8, b"avif")]),
            Magic(&[(4, b"ftyp"), (8, b"avis")]),
        ],
        image: None,
        decodes: true,
        encodes: true,
        alpha: true,
        deep: false,
        animated_in: false,
        animated_out: false,
        // The ICC profile is added to the container (`codec::isobmff::with_icc`).
        carries: EXIF_ICC,
        // rav1e has no lossless mode; with the `aom` feature libaom writes every AVIF file.
        #[cfg(feature = "aom")]
        controls: &[Control::Quality, Control::Lossless, Control::Effort],
        #[cfg(not(feature = "aom"))]
        controls: &[Control::Quality, Control::Effort],
        max_side: 16384,
    },
    Spec {
        format: Format::Gif,
        name: "gif",
        label: "GIF",
        extensions: &["gif"],
        mime: "image/gif",
        other_mimes: &[],
        magic: &[Magic(&[(0, b"GIF87a")]), Magic(&[(0, b"GIF89a")])],
        image: Some(image::ImageFormat::Gif),
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
        other_mimes: &[],
        magic: &[Magic(&[(0, b"BM")])],
        image: Some(image::ImageFormat::Bmp),
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
        other_mimes: &[],
        magic: &[Magic(&[(0, b"II*\0")]), Magic(&[(0, b"MM\0*")])],
        image: Some(image::ImageFormat::Tiff),
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
        other_mimes: &[],
        magic: &[Magic(&[(0, b"qoif")])],
        image: Some(image::ImageFormat::Qoi),
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
    Spec {
        format: Format::Heic,
        name: "heic",
        label: "HEIC",
        extensions: &["heic", "heif", "hif"],
        mime: "image/heic",
        other_mimes: &["image/heif"],
        magic: &[
            Magic(&[(4, b"ftyp"), (8, b"heic")]),
            Magic(&[(4, b"ftyp"), (8, b"heix")]),
            Magic(&[(4, b"ftyp"), (8, b"heim")]),
            Magic(&[(4, b"ftyp"), (8, b"heis")]),
            Magic(&[(4, b"ftyp"), (8, b"hevc")]),
            Magic(&[(4, b"ftyp"), (8, b"hevx")]),
            Magic(&[(4, b"ftyp"), (8, b"mif1")]),
            Magic(&[(4, b"ftyp"), (8, b"msf1")]),
        ],
        image: None,
        decodes: true,
        encodes: false,
        alpha: true,
        deep: true,
        animated_in: false,
        animated_out: false,
        carries: NONE,
        controls: &[],
        max_side: u32::MAX,
    },
    Spec {
        format: Format::Jxl,
        name: "jxl",
        label: "JPEG XL",
        extensions: &["jxl"],
        mime: "image/jxl",
        other_mimes: &[],
        magic: &[
            Magic(&[(0, &[0xFF, 0x0A])]),
            Magic(&[(
                0,
                &[
                    0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
                ],
            )]),
        ],
        image: None,
        decodes: true,
        encodes: false,
        alpha: true,
        deep: true,
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
        let found = TABLE
            .iter()
            .find(|s| s.magic.iter().any(|m| m.matches(data)))
            .map(|s| s.format)?;
        // HEIF files share a container: one whose major brand is the generic `mif1` is AVIF
        // when its compatible brands say so.
        if found == Format::Heic && heif_brands(data).any(|b| b == b"avif" || b == b"avis") {
            return Some(Format::Avif);
        }
        Some(found)
    }

    /// The format the `image` crate calls `f`, if it is in the table and that crate reads it.
    pub fn from_image(f: image::ImageFormat) -> Option<Format> {
        TABLE.iter().find(|s| s.image == Some(f)).map(|s| s.format)
    }

    /// The extensions of the formats the `image` crate reads (a watermark's logo is read
    /// with it), for a file dialog's filter.
    pub fn image_crate_extensions() -> impl Iterator<Item = &'static str> {
        TABLE
            .iter()
            .filter(|s| s.decodes && s.image.is_some())
            .flat_map(|s| s.extensions.iter().copied())
    }

    /// Every readable extension, for the scan and help texts.
    pub fn input_extensions() -> impl Iterator<Item = &'static str> {
        TABLE
            .iter()
            .filter(|s| s.decodes)
            .flat_map(|s| s.extensions.iter().copied())
    }
}

/// The compatible brands of a HEIF file's `ftyp` box (none if it has none).
fn heif_brands(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let size = data
        .get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    data.get(16..size.min(data.len()))
        .unwrap_or_default()
        .chunks_exact(4)
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
            if let Some(image) = spec.image {
                assert_eq!(Format::from_image(image), Some(spec.format));
            }
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
        assert_eq!(Format::from_extension("HEIF"), Some(Format::Heic));
        let ftyp = |major: &[u8; 4], compatible: &[u8]| {
            let mut b = ((16 + compatible.len()) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(major);
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(compatible);
            b
        };
        assert_eq!(
            Format::sniff(&ftyp(b"heic", b"mif1heic")),
            Some(Format::Heic)
        );
        assert_eq!(Format::sniff(&ftyp(b"avif", b"mif1")), Some(Format::Avif));
        assert_eq!(
            Format::sniff(&ftyp(b"mif1", b"mif1miafavif")),
            Some(Format::Avif)
        );
        assert_eq!(
            Format::sniff(&ftyp(b"mif1", b"mif1heic")),
            Some(Format::Heic)
        );
        assert_eq!(Format::sniff(&ftyp(b"isom", b"mp41")), None);
        assert_eq!(Format::sniff(&[0xFF, 0x0A, 0xFA]), Some(Format::Jxl));
        assert!(!has_image_extension(std::path::Path::new("a/b.txt")));
    }
}
