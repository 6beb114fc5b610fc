//! The geometry of edits: gravities, lengths in pixels or per cent, what a crop keeps (a ratio
//! at a gravity or where the picture is most interesting, a box, a trimmed border) and the
//! pad; parsed as the command line writes them.

use std::fmt;
use std::str::FromStr;

use image::{DynamicImage, imageops};

use super::smart::Interest;
use crate::spec::{ParseError, ResizeSpec, Rgb};

/// Where a crop or a padded picture sits: the centre or one of the eight compass points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gravity {
    /// The middle.
    #[default]
    Center,
    /// Top, centred across.
    North,
    /// Top right.
    NorthEast,
    /// Right, centred down.
    East,
    /// Bottom right.
    SouthEast,
    /// Bottom, centred across.
    South,
    /// Bottom left.
    SouthWest,
    /// Left, centred down.
    West,
    /// Top left.
    NorthWest,
}

impl Gravity {
    const NAMES: [(&'static str, Gravity); 9] = [
        ("center", Gravity::Center),
        ("north", Gravity::North),
        ("northeast", Gravity::NorthEast),
        ("east", Gravity::East),
        ("southeast", Gravity::SouthEast),
        ("south", Gravity::South),
        ("southwest", Gravity::SouthWest),
        ("west", Gravity::West),
        ("northwest", Gravity::NorthWest),
    ];

    /// Every gravity's name, as `crop …@NAME` takes it.
    pub fn names() -> Vec<&'static str> {
        Gravity::NAMES.iter().map(|(n, _)| *n).collect()
    }

    /// Where a `part`-long span sits in a `whole`-long one: 0 (start), the middle or the end;
    /// `across` picks the axis. The middle is `whole / 2 - part / 2`, each half rounded down,
    /// as ImageMagick's `-gravity` places crops and extents (a pixel off would be a shifted
    /// picture against every other tool's output).
    fn offset(self, whole: u32, part: u32, across: bool) -> u32 {
        let room = whole.saturating_sub(part);
        let (start, end) = if across {
            (
                matches!(
                    self,
                    Gravity::West | Gravity::NorthWest | Gravity::SouthWest
                ),
                matches!(
                    self,
                    Gravity::East | Gravity::NorthEast | Gravity::SouthEast
                ),
            )
        } else {
            (
                matches!(
                    self,
                    Gravity::North | Gravity::NorthWest | Gravity::NorthEast
                ),
                matches!(
                    self,
                    Gravity::South | Gravity::SouthWest | Gravity::SouthEast
                ),
            )
        };
        if start {
            0
        } else if end {
            room
        } else {
            (whole / 2).saturating_sub(part / 2).min(room)
        }
    }
}

impl fmt::Display for Gravity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Gravity::NAMES
            .iter()
            .find(|(_, g)| g == self)
            .map_or("center", |(n, _)| n);
        f.write_str(name)
    }
}

impl FromStr for Gravity {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Gravity, ParseError> {
        let t = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let t = match t.as_str() {
            "centre" | "middle" => "center",
            "n" | "top" => "north",
            "s" | "bottom" => "south",
            "e" | "right" => "east",
            "w" | "left" => "west",
            "ne" => "northeast",
            "nw" => "northwest",
            "se" => "southeast",
            "sw" => "southwest",
            other => other,
        };
        Gravity::NAMES
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, g)| *g)
            .ok_or_else(|| {
                ParseError(format!(
                    "'{s}' is not a gravity: use {}",
                    Gravity::names().join(", ")
                ))
            })
    }
}

/// A length along one side: pixels, or a share of the side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Pixels.
    Px(u32),
    /// Per cent of the side (0–100).
    Percent(f64),
}

impl Length {
    /// In pixels along a `side`-long side (a share rounds to the nearest pixel).
    fn of(self, side: u32) -> u32 {
        match self {
            Length::Px(n) => n,
            Length::Percent(p) => (f64::from(side) * p / 100.0).round() as u32,
        }
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Length::Px(n) => write!(f, "{n}"),
            Length::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Length {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Length, ParseError> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(Length::Percent(p)),
                _ => Err(ParseError(format!("'{s}' is not a share from 0% to 100%"))),
            };
        }
        t.trim_end_matches("px")
            .parse()
            .map(Length::Px)
            .map_err(|_| ParseError(format!("'{s}' is not a number of pixels or a share (10%)")))
    }
}

/// What `crop` keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crop {
    /// The largest part of this aspect ratio (width:height), placed by gravity.
    Aspect {
        /// Width part of the ratio.
        w: u32,
        /// Height part of the ratio.
        h: u32,
        /// Where the kept part sits.
        gravity: Gravity,
    },
    /// The largest part of this aspect ratio placed where the picture is most interesting.
    Smart {
        /// Width part of the ratio.
        w: u32,
        /// Height part of the ratio.
        h: u32,
        /// What is looked for.
        by: Interest,
    },
    /// The picture without its border: the rows and columns at the edges whose every pixel is
    /// within `tolerance` levels (0–255, the channels' root mean square difference, as
    /// ImageMagick's `-fuzz`) of the top-left pixel's colour.
    Trim {
        /// How far from the border's colour a pixel may be and still be border.
        tolerance: u8,
    },
    /// A box: left, top, width, height (each in pixels or per cent of its side).
    Box {
        /// Left edge.
        x: Length,
        /// Top edge.
        y: Length,
        /// Width.
        w: Length,
        /// Height.
        h: Length,
    },
}

/// `SPEC@GRAVITY` → (SPEC, gravity); no `@`: the centre.
pub(super) fn split_gravity(v: &str) -> Result<(&str, Gravity), ParseError> {
    match v.rsplit_once('@') {
        Some((spec, g)) => Ok((spec.trim(), g.parse()?)),
        None => Ok((v, Gravity::Center)),
    }
}

/// How far from the border's colour a pixel may be by default and still be trimmed: JPEG's
/// noise around a flat border, not the picture's own pale edge.
pub const TRIM_TOLERANCE: u8 = 10;

pub(super) fn parse_crop(v: &str) -> Result<Crop, ParseError> {
    if let Some(rest) = v.trim().strip_prefix("trim") {
        let tolerance = match rest.strip_prefix(':') {
            None if rest.is_empty() => TRIM_TOLERANCE,
            Some(t) => t.trim().parse().map_err(|_| {
                ParseError(format!(
                    "'{v}': trim takes a tolerance from 0 to 255 levels (trim:10)"
                ))
            })?,
            None => return Err(ParseError(format!("'{v}': write trim or trim:TOLERANCE"))),
        };
        return Ok(Crop::Trim { tolerance });
    }
    for (word, by) in [
        ("attention", Interest::Attention),
        ("entropy", Interest::Entropy),
    ] {
        if let Some(ratio) = v
            .rsplit_once('@')
            .filter(|(_, g)| g.trim().eq_ignore_ascii_case(word))
            .map(|(r, _)| r)
        {
            return match parse_crop(ratio)? {
                Crop::Aspect { w, h, .. } => Ok(Crop::Smart { w, h, by }),
                _ => Err(ParseError(format!(
                    "'{v}': @{word} places a ratio (3:2@{word}), not a box"
                ))),
            };
        }
    }
    let (spec, gravity) = split_gravity(v)?;
    if let Some((w, h)) = spec.split_once(':') {
        return match (w.trim().parse::<u32>(), h.trim().parse::<u32>()) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok(Crop::Aspect { w, h, gravity }),
            _ => Err(ParseError(format!(
                "'{v}': an aspect ratio is two whole numbers, e.g. 16:9"
            ))),
        };
    }
    let parts: Vec<&str> = spec.split(',').collect();
    if let [x, y, w, h] = parts.as_slice() {
        if v.contains('@') {
            return Err(ParseError(format!(
                "'{v}': a crop box has no gravity (it says where it is)"
            )));
        }
        let (x, y, w, h) = (x.parse()?, y.parse()?, w.parse()?, h.parse()?);
        if matches!(w, Length::Px(0)) || matches!(h, Length::Px(0)) {
            return Err(ParseError(format!("'{v}': the box has no area")));
        }
        return Ok(Crop::Box { x, y, w, h });
    }
    Err(ParseError(format!(
        "'{v}': crop takes an aspect ratio W:H[@GRAVITY] (16:9@north) or a box X,Y,W,H \
         (10,20,800,600 or 10%,10%,80%,80%)"
    )))
}

/// The part of a `w`×`h` picture `crop` keeps: left, top, width, height. A box reaching past
/// the picture is cut at its edge; one wholly outside it is an error for that file.
pub fn crop_box(crop: Crop, w: u32, h: u32) -> Result<(u32, u32, u32, u32), String> {
    match crop {
        // Found in the picture (`trim_box`): the whole picture here.
        Crop::Trim { .. } => Ok((0, 0, w, h)),
        // Its size; where it goes is the picture's business (`smart::place`).
        Crop::Smart { w: aw, h: ah, .. } => crop_box(
            Crop::Aspect {
                w: aw,
                h: ah,
                gravity: Gravity::Center,
            },
            w,
            h,
        ),
        Crop::Aspect {
            w: aw,
            h: ah,
            gravity,
        } => {
            // The widest part of the ratio that fits: full height, or full width.
            let (cw, ch) = if u64::from(w) * u64::from(ah) > u64::from(h) * u64::from(aw) {
                let cw = (f64::from(h) * f64::from(aw) / f64::from(ah)).round() as u32;
                (cw.clamp(1, w), h)
            } else {
                let ch = (f64::from(w) * f64::from(ah) / f64::from(aw)).round() as u32;
                (w, ch.clamp(1, h))
            };
            Ok((
                gravity.offset(w, cw, true),
                gravity.offset(h, ch, false),
                cw,
                ch,
            ))
        }
        Crop::Box { x, y, w: bw, h: bh } => {
            let (x, y, bw, bh) = (x.of(w), y.of(h), bw.of(w), bh.of(h));
            if x >= w || y >= h || bw == 0 || bh == 0 {
                return Err(format!(
                    "the crop box {x},{y},{bw},{bh} lies outside the {w}×{h} picture"
                ));
            }
            Ok((x, y, bw.min(w - x), bh.min(h - y)))
        }
    }
}

/// The part of `image` inside its border: rows and columns at the edges whose every pixel is
/// within `tolerance` of the top-left pixel (alpha included). A picture that is all border is
/// kept whole (nothing would be left).
pub(super) fn trim_box(image: &DynamicImage, tolerance: u8) -> (u32, u32, u32, u32) {
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    let Some(corner) = rgba.get_pixel_checked(0, 0).map(|p| p.0) else {
        return (0, 0, w, h);
    };
    // The colour distance as ImageMagick's -fuzz measures it: the root mean square of the
    // channels' differences (a pixel off by 15 in one channel is 8.7 away).
    let limit = 3 * u32::from(tolerance) * u32::from(tolerance);
    let border = |x: u32, y: u32| {
        let p = rgba.get_pixel(x, y).0;
        let squares: u32 = (0..3)
            .map(|c| u32::from(p[c].abs_diff(corner[c])).pow(2))
            .sum();
        squares <= limit && p[3].abs_diff(corner[3]) <= tolerance
    };
    let row_is_border = |y: u32| (0..w).all(|x| border(x, y));
    let column_is_border = |x: u32, top: u32, bottom: u32| (top..bottom).all(|y| border(x, y));
    let Some(top) = (0..h).find(|&y| !row_is_border(y)) else {
        return (0, 0, w, h);
    };
    let bottom = (top..h)
        .rev()
        .find(|&y| !row_is_border(y))
        .map_or(h, |y| y + 1);
    let left = (0..w)
        .find(|&x| !column_is_border(x, top, bottom))
        .unwrap_or(0);
    let right = (left..w)
        .rev()
        .find(|&x| !column_is_border(x, top, bottom))
        .map_or(w, |x| x + 1);
    (left, top, right - left, bottom - top)
}

/// What a pad fills its new room with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fill {
    /// The recipe's background colour.
    #[default]
    Background,
    /// Nothing: transparent (formats without alpha get the background colour).
    Transparent,
    /// This colour.
    Color(Rgb),
}

/// How a pad makes its canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadTo {
    /// Fit inside W×H (shrinking only), placed by gravity: a `contain` resize.
    Canvas {
        /// Canvas width.
        w: u32,
        /// Canvas height.
        h: u32,
        /// Where the picture sits on it.
        gravity: Gravity,
    },
    /// Extend by margins, in pixels: top, right, bottom, left.
    Margins([u32; 4]),
}

/// A canvas around the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    /// Its size.
    pub to: PadTo,
    /// What fills the new room.
    pub fill: Fill,
}

impl fmt::Display for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            PadTo::Canvas { w, h, gravity } => {
                write!(f, "{w}x{h}")?;
                if gravity != Gravity::Center {
                    write!(f, "@{gravity}")?;
                }
            }
            PadTo::Margins([t, r, b, l]) => {
                if t == r && r == b && b == l {
                    write!(f, "+{t}")?;
                } else if t == b && r == l {
                    write!(f, "+{t},{r}")?;
                } else {
                    write!(f, "+{t},{r},{b},{l}")?;
                }
            }
        }
        match self.fill {
            Fill::Background => Ok(()),
            Fill::Transparent => write!(f, ",transparent"),
            Fill::Color(c) => write!(f, ",color={}", c.hex()),
        }
    }
}

impl FromStr for Pad {
    type Err = ParseError;

    /// `WxH[@GRAVITY]` or `+ALL` / `+V,H` / `+T,R,B,L` (margins, as CSS orders them), then
    /// `,transparent` or `,color=RRGGBB`.
    fn from_str(v: &str) -> Result<Pad, ParseError> {
        let v = v.trim();
        // The fill, after the last comma when it names one.
        let (spec, fill) = match v.rsplit_once(',') {
            Some((spec, "transparent")) => (spec, Fill::Transparent),
            Some((spec, last)) if last.trim().starts_with("color=") => {
                let c = last.trim().trim_start_matches("color=").parse()?;
                (spec, Fill::Color(c))
            }
            _ => (v, Fill::Background),
        };
        let to = if let Some(margins) = spec.trim().strip_prefix('+') {
            let n: Vec<u32> = margins
                .split(',')
                .map(|m| m.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ParseError(format!(
                        "'{v}': margins are whole pixels: +20, +10,20 or +10,20,10,20"
                    ))
                })?;
            PadTo::Margins(match n[..] {
                [a] => [a; 4],
                [v, h] => [v, h, v, h],
                [t, r, b, l] => [t, r, b, l],
                _ => {
                    return Err(ParseError(format!(
                        "'{v}': give one margin (+20), two (+10,20: top and bottom, sides) or \
                         four (+T,R,B,L)"
                    )));
                }
            })
        } else {
            let (size, gravity) = split_gravity(spec)?;
            let (w, h) = size
                .split_once(['x', 'X'])
                .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
                .filter(|&(w, h): &(u32, u32)| w > 0 && h > 0)
                .ok_or_else(|| {
                    ParseError(format!(
                        "'{v}': pad takes WxH[@GRAVITY] (1600x1600) or margins (+20), then \
                         ,transparent or ,color=RRGGBB if not the background colour"
                    ))
                })?;
            PadTo::Canvas { w, h, gravity }
        };
        Ok(Pad { to, fill })
    }
}

impl Pad {
    /// The canvas's size for a `size` picture.
    pub fn size(&self, (iw, ih): (u32, u32)) -> (u32, u32) {
        match self.to {
            PadTo::Canvas { w, h, .. } => (w, h),
            PadTo::Margins([t, r, b, l]) => (
                iw.saturating_add(l).saturating_add(r),
                ih.saturating_add(t).saturating_add(b),
            ),
        }
    }
}

/// Puts `image` on `p`'s canvas: fitted inside a W×H canvas (shrinking only, Lanczos 3) by
/// gravity, or with margins around it; the room filled as `p` says (`background` for the
/// recipe's colour). An opaque fill keeps a picture's own transparency only where it is
/// opaque; a transparent one gives the output alpha.
pub(super) fn pad(image: DynamicImage, p: Pad, background: Rgb) -> DynamicImage {
    let (iw, ih) = (image.width(), image.height());
    let (image, (x, y)) = match p.to {
        PadTo::Canvas { w, h, gravity } => {
            let image = if iw > w || ih > h {
                let g = ResizeSpec::Fit(w, h).geometry(iw, ih, false);
                crate::pipeline::resize::resize_to(
                    image,
                    g,
                    (iw, ih),
                    crate::spec::Filter::Lanczos3,
                )
            } else {
                image
            };
            let at = (
                gravity.offset(w, image.width(), true),
                gravity.offset(h, image.height(), false),
            );
            (image, at)
        }
        PadTo::Margins([t, _, _, l]) => (image, (l, t)),
    };
    let (w, h) = p.size((iw, ih));
    let color = match p.fill {
        Fill::Background => Some(background),
        Fill::Transparent => None,
        Fill::Color(c) => Some(c),
    };
    match color {
        None => {
            let mut canvas = image::RgbaImage::new(w, h);
            imageops::replace(&mut canvas, &image.to_rgba8(), i64::from(x), i64::from(y));
            DynamicImage::ImageRgba8(canvas)
        }
        Some(Rgb([r, g, b])) if image.color().has_alpha() => {
            let mut canvas = image::RgbaImage::from_pixel(w, h, image::Rgba([r, g, b, 255]));
            imageops::overlay(&mut canvas, &image.to_rgba8(), i64::from(x), i64::from(y));
            DynamicImage::ImageRgba8(canvas)
        }
        Some(Rgb([r, g, b])) => {
            let mut canvas = image::RgbImage::from_pixel(w, h, image::Rgb([r, g, b]));
            imageops::replace(&mut canvas, &image.to_rgb8(), i64::from(x), i64::from(y));
            DynamicImage::ImageRgb8(canvas)
        }
    }
}
