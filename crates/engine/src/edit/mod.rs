//! Edits: an ordered list of operations per output, applied after the picture is turned
//! upright. Each operation is written as its command-line flag and value (`crop 16:9@north`,
//! `rotate 90`, `flip h`, `pad 1600x1600@center`, `resize fit:800x800`): the command line takes
//! the flags in the order given, recipe files an array of one-key tables in order
//! (`edit = [{ crop = "16:9" }, { resize = "fit:800x800" }]`), and the journal's fingerprint the
//! whole list ([`EditList`]'s text), so a change in any operation re-does the output.
//!
//! `resize` in the list marks where the recipe's resize happens (its spec stays the recipe's
//! `resize`, declared once); a list without it resizes first and then edits.

use image::DynamicImage;

use super::spec::{ParseError, ResizeSpec, Rgb};

mod geometry;
mod smart;
mod text;
mod tone;
mod turn;
mod watermark;

pub use geometry::{Crop, Fill, Gravity, Length, Pad, PadTo, TRIM_TOLERANCE, crop_box};
use geometry::{pad, parse_crop, trim_box};
pub use smart::Interest;
pub use text::{Size as TextSize, Text};
pub use tone::{Adjust, Sharpen};
pub use watermark::Watermark;

use crate::name::Facts;

/// A mirror axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Left and right swap.
    Horizontal,
    /// Top and bottom swap.
    Vertical,
}

/// One operation of an output's edit list.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Keep part of the picture.
    Crop(Crop),
    /// Turn clockwise by this many quarter turns (1–3).
    Rotate(u8),
    /// Turn clockwise by any other angle, in degrees, onto a larger canvas of the background.
    Turn(f64),
    /// Mirror.
    Flip(Axis),
    /// A canvas around the picture: fitted inside W×H, or margins; filled with the recipe's
    /// background, a colour, or transparency.
    Pad(Pad),
    /// Grey (alpha kept).
    Grayscale,
    /// Brightness, contrast, saturation, gamma.
    Adjust(Adjust),
    /// An unsharp mask.
    Sharpen(Sharpen),
    /// A logo over the picture.
    Watermark(Watermark),
    /// A line of text over the picture.
    Text(Text),
    /// The recipe's resize happens here.
    Resize,
}

/// How an edit's flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// A value is needed (`--crop 16:9`).
    Value,
    /// A value may follow (`--sharpen` or `--sharpen 0.8`).
    Maybe,
}

/// One operation's command-line flag (and recipe-file key), how it takes its value, the value's
/// name in help, and the help.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The flag and key.
    pub name: &'static str,
    /// Whether its value may be left out.
    pub takes: Takes,
    /// The value's name in help.
    pub value_name: &'static str,
    /// The help text.
    pub help: &'static str,
}

/// Every operation the command line and recipe files name (`resize` aside: it is the
/// recipe's own option).
pub const OPERATIONS: [Operation; 9] = [
    Operation {
        name: "crop",
        takes: Takes::Value,
        value_name: "SPEC",
        help: "Crop, in the order given with the other edits: an aspect ratio W:H[@GRAVITY] \
               (16:9@north; gravity center [default], north, northeast … northwest, or \
               attention / entropy: where the picture is most interesting, as libvips's smart \
               crop), a box X,Y,W,H in pixels or per cent (10%,10%,80%,80%), or trim[:LEVELS] \
               (the uniform border cut away, tolerance 10 levels by default)",
    },
    Operation {
        name: "rotate",
        takes: Takes::Value,
        value_name: "DEGREES",
        help: "Rotate clockwise by DEGREES (90, 180 and 270 exactly; any other angle onto a \
               larger canvas filled with --background, as ImageMagick's -rotate), after the \
               EXIF orientation is applied, in the order given with the other edits",
    },
    Operation {
        name: "flip",
        takes: Takes::Value,
        value_name: "AXIS",
        help: "Mirror: h (left and right swap) or v (top and bottom swap), in the order given \
               with the other edits",
    },
    Operation {
        name: "pad",
        takes: Takes::Value,
        value_name: "WxH[@GRAVITY]|+MARGINS",
        help: "A canvas around the picture, in the order given with the other edits: WxH \
               fits it inside (shrinking only) at a gravity [default: center]; +20, +10,20 \
               or +T,R,B,L adds margins in pixels; filled with --background, or \
               ,transparent or ,color=RRGGBB (e.g. 1600x1600@south,transparent)",
    },
    Operation {
        name: "grayscale",
        takes: Takes::Maybe,
        value_name: "true",
        help: "Grey (Rec. 709 weights, as ImageMagick's -colorspace Gray), in the order given \
               with the other edits",
    },
    Operation {
        name: "adjust",
        takes: Takes::Value,
        value_name: "LIST",
        help: "Tones, in the order given with the other edits: brightness=B,contrast=C \
               (-100 to 100, as ImageMagick's -brightness-contrast), saturation=S (-100 to \
               100), gamma=G (above 1 lightens); e.g. brightness=10,saturation=-20",
    },
    Operation {
        name: "watermark",
        takes: Takes::Value,
        value_name: "FILE[@GRAVITY][,…]",
        help: "Lay an image over the picture, in the order given with the other edits: \
               FILE[@GRAVITY][,opacity=O][,scale=S%][,margin=M][,tile] (scale: a share of \
               the picture's width; margin: pixels from the edges; tile: repeated all over); \
               e.g. logo.png@southeast,opacity=0.5,scale=20%,margin=16",
    },
    Operation {
        name: "text",
        takes: Takes::Value,
        value_name: "TEXT[@GRAVITY][,…]",
        help: "Write a line of text over the picture, in the order given with the other edits: \
               TEXT[@GRAVITY][,size=S%|PX][,color=RRGGBB][,opacity=O][,margin=M][,font=FILE]\
               [,outline[=RRGGBB]][,shadow[=RRGGBB]]; tokens {date} / {date:%Y} (when the \
               photo was taken), {camera}, {stem}, {ext}; defaults: bottom right, white, 4% of \
               the shorter side, DejaVu Sans Bold; e.g. '© {date:%Y}@southeast,shadow'",
    },
    Operation {
        name: "sharpen",
        takes: Takes::Maybe,
        value_name: "AMOUNT",
        help: "Unsharp mask, in the order given with the other edits (after --resize to \
               sharpen the downscaled picture): AMOUNT[,radius=R][,threshold=T] [default: \
               0.75,radius=0.75,threshold=2, as ImageMagick's -unsharp 0x0.75+0.75+0.008]",
    },
];

impl Edit {
    /// The operation's name: its command-line flag and recipe-file key.
    pub fn name(&self) -> &'static str {
        match self {
            Edit::Crop(_) => "crop",
            Edit::Rotate(_) | Edit::Turn(_) => "rotate",
            Edit::Flip(_) => "flip",
            Edit::Pad(_) => "pad",
            Edit::Grayscale => "grayscale",
            Edit::Adjust(_) => "adjust",
            Edit::Sharpen(_) => "sharpen",
            Edit::Watermark(_) => "watermark",
            Edit::Text(_) => "text",
            Edit::Resize => "resize",
        }
    }

    /// The operation's value as its flag takes it (`resize`'s is the recipe's).
    pub fn value(&self, resize: Option<ResizeSpec>) -> String {
        match self {
            Edit::Crop(Crop::Aspect { w, h, gravity }) => match gravity {
                Gravity::Center => format!("{w}:{h}"),
                g => format!("{w}:{h}@{g}"),
            },
            Edit::Crop(Crop::Smart { w, h, by }) => match by {
                Interest::Attention => format!("{w}:{h}@attention"),
                Interest::Entropy => format!("{w}:{h}@entropy"),
            },
            Edit::Crop(Crop::Trim { tolerance }) if *tolerance == TRIM_TOLERANCE => "trim".into(),
            Edit::Crop(Crop::Trim { tolerance }) => format!("trim:{tolerance}"),
            Edit::Crop(Crop::Box { x, y, w, h }) => format!("{x},{y},{w},{h}"),
            Edit::Rotate(q) => (u32::from(*q) * 90).to_string(),
            Edit::Turn(d) => d.to_string(),
            Edit::Flip(Axis::Horizontal) => "h".into(),
            Edit::Flip(Axis::Vertical) => "v".into(),
            Edit::Pad(p) => p.to_string(),
            Edit::Grayscale => String::new(),
            Edit::Adjust(a) => {
                let d = Adjust::default();
                let mut parts = Vec::new();
                for (name, v, dv) in [
                    ("brightness", a.brightness, d.brightness),
                    ("contrast", a.contrast, d.contrast),
                    ("saturation", a.saturation, d.saturation),
                    ("gamma", a.gamma, d.gamma),
                ] {
                    if v != dv {
                        parts.push(format!("{name}={v}"));
                    }
                }
                parts.join(",")
            }
            Edit::Sharpen(sh) => {
                let d = Sharpen::default();
                if *sh == d {
                    return String::new();
                }
                let mut text = sh.amount.to_string();
                if sh.radius != d.radius {
                    text.push_str(&format!(",radius={}", sh.radius));
                }
                if sh.threshold != d.threshold {
                    text.push_str(&format!(",threshold={}", sh.threshold));
                }
                text
            }
            Edit::Watermark(w) => w.to_string(),
            Edit::Text(t) => t.to_string(),
            Edit::Resize => resize.map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    /// Parses operation `name`'s `value` (`resize` is checked and marked; its spec is the
    /// caller's to keep).
    pub fn parse(name: &str, value: &str) -> Result<Edit, ParseError> {
        let v = value.trim();
        match name {
            "crop" => parse_crop(v).map(Edit::Crop),
            "rotate" => match v.trim_end_matches('°').trim().parse::<f64>() {
                Ok(d) if d.is_finite() && d.rem_euclid(360.0) != 0.0 => {
                    let d = d.rem_euclid(360.0);
                    if d.rem_euclid(90.0) == 0.0 {
                        Ok(Edit::Rotate((d / 90.0) as u8))
                    } else {
                        // Written as the user would: -7 rather than 353.
                        Ok(Edit::Turn(if d > 180.0 { d - 360.0 } else { d }))
                    }
                }
                Ok(_) | Err(_) => Err(ParseError(format!(
                    "'{value}': rotate takes degrees clockwise (90, 180, 270 or any angle \
                     such as 12.5 or -3; not a whole turn)"
                ))),
            },
            "flip" => match v.to_ascii_lowercase().as_str() {
                "h" | "horizontal" | "x" => Ok(Edit::Flip(Axis::Horizontal)),
                "v" | "vertical" | "y" => Ok(Edit::Flip(Axis::Vertical)),
                _ => Err(ParseError(format!(
                    "'{value}': flip takes h (left and right swap) or v (top and bottom)"
                ))),
            },
            "pad" => v.parse().map(Edit::Pad),
            "grayscale" | "greyscale" => match v {
                "" | "true" => Ok(Edit::Grayscale),
                _ => Err(ParseError(format!("'{value}': grayscale takes no value"))),
            },
            "adjust" => parse_adjust(v).map(Edit::Adjust),
            "sharpen" => parse_sharpen(v).map(Edit::Sharpen),
            "watermark" => v.parse().map(Edit::Watermark),
            // A text keeps its spaces: only the line's ends are trimmed.
            "text" => v.parse().map(Edit::Text),
            "resize" => v.parse::<ResizeSpec>().map(|_| Edit::Resize),
            other => Err(ParseError(format!(
                "'{other}' is not an edit: use {} or resize",
                OPERATIONS.map(|o| o.name).join(", ")
            ))),
        }
    }

    /// Changes the picture's geometry or pixels (everything but the resize marker does).
    fn apply(
        &self,
        image: DynamicImage,
        background: Rgb,
        facts: &Facts<'_>,
    ) -> Result<DynamicImage, String> {
        Ok(match *self {
            Edit::Crop(crop) => {
                let (mut x, mut y, w, h) = crop_box(crop, image.width(), image.height())?;
                let (mut w, mut h) = (w, h);
                match crop {
                    Crop::Smart { by, .. } => (x, y) = smart::place(&image, w, h, by),
                    Crop::Trim { tolerance } => (x, y, w, h) = trim_box(&image, tolerance),
                    _ => {}
                }
                image.crop_imm(x, y, w, h)
            }
            Edit::Rotate(1) => image.rotate90(),
            Edit::Rotate(2) => image.rotate180(),
            Edit::Rotate(_) => image.rotate270(),
            Edit::Turn(d) => turn::turn(image, d, background),
            Edit::Flip(Axis::Horizontal) => image.fliph(),
            Edit::Flip(Axis::Vertical) => image.flipv(),
            Edit::Pad(p) => pad(image, p, background),
            Edit::Grayscale => tone::grayscale(image),
            Edit::Adjust(a) => tone::adjust(image, a),
            Edit::Sharpen(sh) => tone::sharpen(image, sh),
            Edit::Watermark(ref w) => watermark::apply(w, image)?,
            Edit::Text(ref t) => text::apply(t, image, facts)?,
            Edit::Resize => image,
        })
    }
}

/// `key=value` pairs separated by commas, the first possibly bare (`0.8,radius=1`): each key
/// (bare: `first`) with its number.
fn numbers<'a>(v: &'a str, first: &'a str) -> Result<Vec<(&'a str, f64)>, ParseError> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(i, part)| {
            let (key, number) = match part.split_once('=') {
                Some((k, n)) => (k.trim(), n.trim()),
                None if i == 0 => (first, part),
                None => {
                    return Err(ParseError(format!("'{part}': write it as NAME=NUMBER")));
                }
            };
            number
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| (key, n))
                .ok_or_else(|| ParseError(format!("'{part}': {number} is not a number")))
        })
        .collect()
}

fn parse_adjust(v: &str) -> Result<Adjust, ParseError> {
    let mut a = Adjust::default();
    let given = numbers(v, "brightness")?;
    if given.is_empty() {
        return Err(ParseError(
            "adjust takes brightness=B,contrast=C,saturation=S,gamma=G (any of them)".into(),
        ));
    }
    for (key, n) in given {
        let percent = |n: f64| {
            if (-100.0..=100.0).contains(&n) {
                Ok(n)
            } else {
                Err(ParseError(format!("{key}={n} is outside -100 to 100")))
            }
        };
        match key {
            "brightness" => a.brightness = percent(n)?,
            "contrast" => a.contrast = percent(n)?,
            "saturation" => a.saturation = percent(n)?,
            "gamma" if (0.1..=10.0).contains(&n) => a.gamma = n,
            "gamma" => return Err(ParseError(format!("gamma={n} is outside 0.1 to 10"))),
            other => {
                return Err(ParseError(format!(
                    "'{other}' is not a tone: use brightness, contrast, saturation or gamma"
                )));
            }
        }
    }
    Ok(a)
}

fn parse_sharpen(v: &str) -> Result<Sharpen, ParseError> {
    let mut s = Sharpen::default();
    if v == "true" {
        return Ok(s);
    }
    for (key, n) in numbers(v, "amount")? {
        match key {
            "amount" if (0.0..=10.0).contains(&n) => s.amount = n,
            "radius" if (0.1..=50.0).contains(&n) => s.radius = n,
            "threshold" if (0.0..=255.0).contains(&n) => s.threshold = n,
            "amount" | "radius" | "threshold" => {
                return Err(ParseError(format!(
                    "{key}={n} is out of range (amount 0-10, radius 0.1-50, threshold 0-255)"
                )));
            }
            other => {
                return Err(ParseError(format!(
                    "'{other}': sharpen takes AMOUNT[,radius=R][,threshold=T]"
                )));
            }
        }
    }
    Ok(s)
}

/// An output's edits, in order. (Saved in the window's settings as `NAME=VALUE` texts, the
/// resize marker as `resize`.)
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "Vec<String>", try_from = "Vec<String>")]
pub struct EditList(pub Vec<Edit>);

impl From<EditList> for Vec<String> {
    fn from(list: EditList) -> Vec<String> {
        list.0
            .iter()
            .map(|e| match e {
                Edit::Resize => "resize".to_owned(),
                e if e.value(None).is_empty() => e.name().to_owned(),
                e => format!("{}={}", e.name(), e.value(None)),
            })
            .collect()
    }
}

impl TryFrom<Vec<String>> for EditList {
    type Error = String;

    fn try_from(saved: Vec<String>) -> Result<EditList, String> {
        saved
            .iter()
            .map(|entry| match entry.split_once('=') {
                _ if entry == "resize" => Ok(Edit::Resize),
                Some((name, value)) => Edit::parse(name, value).map_err(|e| e.0),
                None => Edit::parse(entry, "").map_err(|e| e.0),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(EditList)
    }
}

impl EditList {
    /// `edits` as one list means them: a resize first is what a list without the marker does,
    /// so it is left out (a command line that gives `--resize` before `--crop` and a recipe
    /// that resizes and then crops have one fingerprint).
    pub fn normal(mut edits: Vec<Edit>) -> EditList {
        if edits.first() == Some(&Edit::Resize) {
            edits.remove(0);
        }
        EditList(edits)
    }

    /// No edits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The edits before the resize, and after it (a list without the marker resizes first).
    pub fn around_resize(&self) -> (&[Edit], &[Edit]) {
        match self.0.iter().position(|e| *e == Edit::Resize) {
            Some(at) => (&self.0[..at], &self.0[at + 1..]),
            None => (&[], &self.0),
        }
    }

    /// Whether an edit before the resize changes the geometry the resize starts from.
    pub fn changes_geometry_before_resize(&self) -> bool {
        !self.around_resize().0.is_empty()
    }

    /// Whether every edit before the resize does the same to the picture at any scale (a
    /// crop to a ratio or in per cent, a turn, a flip, tones), so the picture may be decoded
    /// smaller for the resize (shrink-on-load). Not so for pixel sizes (a box in pixels, a
    /// pad, a trim's tolerance against noise, a sharpening radius, a logo at its own size).
    pub fn scale_free_before_resize(&self) -> bool {
        self.around_resize().0.iter().all(|e| match e {
            Edit::Crop(Crop::Aspect { .. } | Crop::Smart { .. }) => true,
            Edit::Crop(Crop::Box { x, y, w, h }) => {
                [x, y, w, h].iter().all(|l| matches!(l, Length::Percent(_)))
            }
            Edit::Rotate(_) | Edit::Turn(_) | Edit::Flip(_) => true,
            Edit::Grayscale | Edit::Adjust(_) => true,
            _ => false,
        })
    }

    /// The size the edits before the resize leave of a `size` picture, as far as it can be
    /// told without the pixels (a trim's is the whole picture's).
    pub fn size_before_resize(&self, size: (u32, u32)) -> (u32, u32) {
        EditList::size_through(self.around_resize().0, size)
    }

    /// The size `edits` (part of a list) leave of a `size` picture, as far as it can be told
    /// without the pixels (a trim's is the whole picture's).
    pub fn size_through(edits: &[Edit], size: (u32, u32)) -> (u32, u32) {
        let mut size = size;
        for e in edits {
            size = match e {
                Edit::Crop(crop) => {
                    crop_box(*crop, size.0, size.1).map_or(size, |(_, _, w, h)| (w, h))
                }
                Edit::Rotate(1 | 3) => (size.1, size.0),
                Edit::Turn(d) => {
                    let (_, _, w, h) = turn::canvas(size.0, size.1, *d);
                    (w, h)
                }
                Edit::Pad(p) => p.size(size),
                _ => size,
            };
        }
        size
    }

    /// What the edits read besides the picture, as they are now (each watermark's size and
    /// time): part of the fingerprint, so a logo replaced under its name redoes the outputs.
    pub fn stamps(&self) -> String {
        let stamp = |path: &std::path::Path| {
            let (bytes, modified) = watermark::stamp(path).unwrap_or((0, None));
            let secs = modified
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{bytes}:{secs}", path.display())
        };
        self.0
            .iter()
            .filter_map(|e| match e {
                Edit::Watermark(w) => Some(stamp(&w.path)),
                Edit::Text(t) => t.font.as_deref().map(stamp),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Why the edits cannot run at all (a watermark that cannot be read), before a batch.
    pub fn check(&self) -> Result<(), String> {
        for e in &self.0 {
            if let Edit::Watermark(w) = e {
                if w.path.as_os_str().is_empty() {
                    return Err("the watermark has no image yet: choose one".into());
                }
                watermark::logo(&w.path)?;
            }
            if let Edit::Text(t) = e {
                text::font(t)?;
            }
        }
        Ok(())
    }

    /// Whether an edit fills in what the photo says (a text's `{date}` or `{camera}`).
    pub fn needs_photo(&self) -> bool {
        self.0
            .iter()
            .any(|e| matches!(e, Edit::Text(t) if t.needs_photo()))
    }

    /// Watermarks named relative to `dir` (a recipe file's folder) made whole.
    pub fn relative_to(&mut self, dir: &std::path::Path) {
        for e in &mut self.0 {
            if let Edit::Watermark(w) = e
                && w.path.is_relative()
                && !w.path.as_os_str().is_empty()
            {
                w.path = dir.join(&w.path);
            }
            if let Edit::Text(t) = e
                && let Some(font) = &mut t.font
                && font.is_relative()
            {
                *font = dir.join(&*font);
            }
        }
    }

    /// `(name, value)` of each edit, in order, `resize` with `resize`'s spec: what the
    /// command line and recipe files write.
    pub fn entries(&self, resize: Option<ResizeSpec>) -> Vec<(&'static str, String)> {
        self.0.iter().map(|e| (e.name(), e.value(resize))).collect()
    }

    /// The list as one line (`crop=16:9@north; resize=fit:800x800`): the fingerprint's and a
    /// patch's value.
    pub fn text(&self, resize: Option<ResizeSpec>) -> String {
        self.entries(resize)
            .iter()
            .map(|(n, v)| {
                if v.is_empty() {
                    (*n).to_owned()
                } else {
                    format!("{n}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Parses [`Self::text`]: the list, and the resize spec it carries (if any).
    pub fn parse(text: &str) -> Result<(EditList, Option<ResizeSpec>), ParseError> {
        let mut list = Vec::new();
        let mut resize = None;
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            // A bare name: an edit that needs no value (grayscale, sharpen's defaults).
            let (name, value) = entry
                .split_once('=')
                .or_else(|| entry.split_once(' '))
                .unwrap_or((entry, ""));
            let (name, value) = (name.trim(), value.trim());
            let edit = Edit::parse(name, value)?;
            if edit == Edit::Resize {
                if resize.is_some() {
                    return Err(ParseError("resize is in the edit list twice".into()));
                }
                resize = Some(value.parse()?);
            }
            list.push(edit);
        }
        Ok((EditList::normal(list), resize))
    }

    /// Applies `edits` (part of a list) to `image` in order; a text's tokens come from
    /// `facts`.
    pub fn apply(
        edits: &[Edit],
        mut image: DynamicImage,
        background: Rgb,
        facts: &Facts<'_>,
    ) -> Result<DynamicImage, String> {
        for e in edits {
            image = e.apply(image, background, facts)?;
        }
        Ok(image)
    }

    /// Why `edits` would make a picture larger than `max_pixels` from a `size` one (a pad to a
    /// huge canvas, a turn of a picture already at the limit), before anything is allocated.
    pub fn check_size(edits: &[Edit], size: (u32, u32), max_pixels: u64) -> Result<(), String> {
        let mut at = size;
        for e in edits {
            let next = EditList::size_through(std::slice::from_ref(e), at);
            let pixels = u64::from(next.0) * u64::from(next.1);
            if pixels > max_pixels && pixels > u64::from(at.0) * u64::from(at.1) {
                return Err(format!(
                    "{} {} would make a {}×{} picture ({} megapixels), more than the limit of {} \
                     (--max-pixels)",
                    e.name(),
                    e.value(None),
                    next.0,
                    next.1,
                    pixels / 1_000_000,
                    max_pixels / 1_000_000
                ));
            }
            at = next;
        }
        Ok(())
    }

    /// Checks, then applies `edits` to `image` (see [`EditList::apply`] and
    /// [`EditList::check_size`]).
    pub fn apply_within(
        edits: &[Edit],
        image: DynamicImage,
        background: Rgb,
        facts: &Facts<'_>,
        max_pixels: u64,
    ) -> Result<DynamicImage, String> {
        EditList::check_size(edits, (image.width(), image.height()), max_pixels)?;
        let image = EditList::apply(edits, image, background, facts)?;
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_edit_reads_back_as_it_is_written() {
        for (name, value) in [
            ("crop", "16:9"),
            ("crop", "3:2@north"),
            ("crop", "10,20,800,600"),
            ("crop", "10%,10%,80%,80%"),
            ("crop", "3:2@attention"),
            ("crop", "1:1@entropy"),
            ("crop", "trim"),
            ("crop", "trim:30"),
            ("rotate", "90"),
            ("rotate", "270"),
            ("rotate", "12.5"),
            ("rotate", "-3"),
            ("flip", "h"),
            ("flip", "v"),
            ("pad", "1600x1600"),
            ("pad", "400x300@southeast"),
            ("pad", "400x300,transparent"),
            ("pad", "400x300@north,color=ff0000"),
            ("pad", "+20"),
            ("pad", "+10,20"),
            ("pad", "+1,2,3,4,transparent"),
            ("grayscale", ""),
            ("adjust", "brightness=10,saturation=-20"),
            ("adjust", "gamma=1.2"),
            ("sharpen", ""),
            ("sharpen", "1.5"),
            ("sharpen", "0.5,radius=2,threshold=0"),
            (
                "watermark",
                "logo.png@southeast,opacity=0.5,scale=20%,margin=16",
            ),
            ("watermark", "marks/mark.png,tile"),
        ] {
            let e = Edit::parse(name, value).unwrap();
            assert_eq!((e.name(), e.value(None).as_str()), (name, value));
        }
        assert_eq!(Edit::parse("rotate", "-90").unwrap(), Edit::Rotate(3));
        assert_eq!(
            Edit::parse("sharpen", "true").unwrap(),
            Edit::Sharpen(Sharpen::default())
        );
        assert_eq!(
            Edit::parse("adjust", "5").unwrap().value(None),
            "brightness=5",
            "a bare figure is the brightness"
        );
        assert_eq!(
            Edit::parse("crop", "16:9@ne").unwrap().value(None),
            "16:9@northeast"
        );
        for (name, bad) in [
            ("crop", "16:0"),
            ("crop", "1,2,3"),
            ("crop", "0,0,0,10"),
            ("crop", "1,2,3,4@north"),
            ("crop", "16:9@up"),
            ("crop", "1,2,3,4@attention"),
            ("crop", "trim:300"),
            ("crop", "trimmed"),
            ("rotate", "360"),
            ("rotate", "x"),
            ("flip", "d"),
            ("pad", "1600"),
            ("pad", "+1,2,3"),
            ("pad", "+x"),
            ("pad", "10x10,color=red"),
            ("blur", "3"),
            ("grayscale", "2"),
            ("adjust", ""),
            ("adjust", "brightness=101"),
            ("adjust", "warmth=3"),
            ("adjust", "gamma=0"),
            ("sharpen", "amount=x"),
            ("sharpen", "0.5,1"),
            ("sharpen", "radius=0"),
            ("watermark", ""),
            ("watermark", "a.png,opacity=2"),
            ("watermark", "a.png,scale=0%"),
            ("watermark", "a.png,blur=1"),
            ("watermark", "a.png@up"),
        ] {
            assert!(Edit::parse(name, bad).is_err(), "{name} {bad}");
        }
    }

    #[test]
    fn a_list_reads_back_with_its_resize_in_place() {
        let text = "crop=3:2@south; resize=fit:800x800; rotate=90; flip=h";
        let (list, resize) = EditList::parse(text).unwrap();
        assert_eq!(resize, Some(ResizeSpec::Fit(800, 800)));
        assert_eq!(list.text(resize), text);
        let (before, after) = list.around_resize();
        assert_eq!((before.len(), after.len()), (1, 2));
        assert!(list.changes_geometry_before_resize());
        assert!(EditList::parse("resize=fit:1x1; resize=fit:2x2").is_err());
        let bare = "grayscale; sharpen; adjust=contrast=5";
        assert_eq!(EditList::parse(bare).unwrap().0.text(None), bare);
        let (plain, none) = EditList::parse("rotate=180").unwrap();
        assert_eq!((plain.around_resize().0.len(), none), (0, None));
    }

    #[test]
    fn aspect_crops_keep_the_largest_part_where_the_gravity_says() {
        let aspect = |w, h, gravity| Crop::Aspect { w, h, gravity };
        // 400×300 to 16:9: full width, 225 high.
        assert_eq!(
            crop_box(aspect(16, 9, Gravity::Center), 400, 300),
            Ok((0, 38, 400, 225))
        );
        assert_eq!(
            crop_box(aspect(16, 9, Gravity::South), 400, 300),
            Ok((0, 75, 400, 225))
        );
        // To 1:1: full height.
        assert_eq!(
            crop_box(aspect(1, 1, Gravity::East), 400, 300),
            Ok((100, 0, 300, 300))
        );
        assert_eq!(
            crop_box(aspect(1, 1, Gravity::NorthWest), 400, 300),
            Ok((0, 0, 300, 300))
        );
        let boxed = Crop::Box {
            x: Length::Percent(50.0),
            y: Length::Px(10),
            w: Length::Px(1000),
            h: Length::Percent(10.0),
        };
        assert_eq!(crop_box(boxed, 400, 300), Ok((200, 10, 200, 30)));
        let outside = Crop::Box {
            x: Length::Px(500),
            y: Length::Px(0),
            w: Length::Px(10),
            h: Length::Px(10),
        };
        let e = crop_box(outside, 400, 300).unwrap_err();
        assert!(e.contains("outside the 400×300 picture"), "{e}");
    }

    /// A logo replaced under its name changes the list's stamps (so the fingerprint, so the
    /// outputs are redone); one that cannot be read stops the batch before it starts.
    #[test]
    fn a_watermark_is_checked_and_stamped_by_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let logo = dir.path().join("logo.png");
        let list = EditList(vec![
            Edit::parse("watermark", &format!("{}@south", logo.display())).unwrap(),
        ]);
        let e = list.check().unwrap_err();
        assert!(e.contains("logo.png cannot be read"), "{e}");
        image::RgbaImage::from_pixel(4, 2, image::Rgba([1, 2, 3, 255]))
            .save(&logo)
            .unwrap();
        list.check().unwrap();
        let before = list.stamps();
        image::RgbaImage::from_pixel(8, 2, image::Rgba([1, 2, 3, 255]))
            .save(&logo)
            .unwrap();
        assert_ne!(list.stamps(), before);
        let mut relative = EditList(vec![Edit::parse("watermark", "logo.png").unwrap()]);
        relative.relative_to(dir.path());
        relative.check().unwrap();
        let empty = EditList(vec![Edit::parse("watermark", "x.png").unwrap()]);
        let mut blank = empty.clone();
        if let Some(Edit::Watermark(w)) = blank.0.first_mut() {
            w.path = std::path::PathBuf::new();
        }
        assert!(blank.check().unwrap_err().contains("no image yet"));
    }

    #[test]
    fn pad_fits_and_fills_with_the_background() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            200,
            100,
            image::Rgb([10, 20, 30]),
        ));
        let red = Rgb([255, 0, 0]);
        let padded = EditList::apply(
            &[Edit::Pad(Pad {
                to: PadTo::Canvas {
                    w: 100,
                    h: 100,
                    gravity: Gravity::North,
                },
                fill: Fill::Background,
            })],
            image,
            red,
            &Facts::default(),
        )
        .unwrap()
        .to_rgb8();
        assert_eq!(padded.dimensions(), (100, 100));
        assert_eq!(
            padded.get_pixel(50, 10).0,
            [10, 20, 30],
            "the picture on top"
        );
        assert_eq!(padded.get_pixel(50, 90).0, [255, 0, 0], "the rest filled");
    }
}
