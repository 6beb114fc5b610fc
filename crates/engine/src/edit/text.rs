//! `--text '© {date:%Y}@southeast,size=4%,color=ffffff,opacity=0.8,shadow'`: a line of text
//! over the picture, its tokens (`{date}` / `{date:FORMAT}`, `{camera}`, `{stem}`, `{ext}`)
//! filled in from each photo. The font is DejaVu Sans Bold (built in; Bitstream Vera licence,
//! `assets/fonts/LICENSE.txt`) unless a TrueType/OpenType file is named (`font=FILE`).
//!
//! Size: the font's em as a share of the picture's shorter side (`4%`) or in pixels (`24`), as
//! ImageMagick's `-pointsize` at 72 dpi. The text's inked box (not its line box) is placed by
//! gravity, `margin` pixels in from the edges it sits at (half the size by default). Blended in
//! the stored sRGB values as the logo watermark is: shadow (down and right, softened), then
//! outline, then the letters.

use std::fmt;
use std::path::PathBuf;

use ab_glyph::{Font, FontArc, PxScale, ScaleFont, point};
use image::{DynamicImage, RgbaImage};

use super::Gravity;
use super::watermark::FileCache;
use crate::name::{Facts, Tokens};
use crate::spec::{ParseError, Rgb};

/// The font used when none is named: DejaVu Sans Bold.
static BUILT_IN: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The tokens a text may use.
pub const TEXT_TOKENS: [&str; 4] = ["date", "camera", "stem", "ext"];

/// How big the letters are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// The em as a share of the picture's shorter side, per cent.
    Percent(f64),
    /// The em in pixels.
    Pixels(u32),
}

/// A line of text over the picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The text as written, tokens and all.
    pub text: String,
    tokens: Tokens,
    /// Where it sits.
    pub gravity: Gravity,
    /// How big.
    pub size: Size,
    /// The letters' colour.
    pub color: Rgb,
    /// 0 (invisible) to 1.
    pub opacity: f64,
    /// Pixels between the inked text and the edges it sits at; `None`: half the size.
    pub margin: Option<u32>,
    /// A TrueType/OpenType file; `None`: the built-in DejaVu Sans Bold.
    pub font: Option<PathBuf>,
    /// A ring around the letters in this colour.
    pub outline: Option<Rgb>,
    /// A soft shadow down and to the right in this colour.
    pub shadow: Option<Rgb>,
}

/// `text`'s tokens, checked.
fn tokens(text: &str) -> Result<Tokens, ParseError> {
    Tokens::parse(text, &TEXT_TOKENS).map_err(|e| ParseError(e.0))
}

const DEFAULT_SIZE: Size = Size::Percent(4.0);
const DEFAULT_GRAVITY: Gravity = Gravity::SouthEast;
const WHITE: Rgb = Rgb([255, 255, 255]);
const BLACK: Rgb = Rgb([0, 0, 0]);

impl Text {
    /// `text` with the defaults: white, 4 % of the shorter side, bottom right.
    pub fn new(text: &str) -> Result<Text, ParseError> {
        Ok(Text {
            text: text.to_owned(),
            tokens: tokens(text)?,
            gravity: DEFAULT_GRAVITY,
            size: DEFAULT_SIZE,
            color: WHITE,
            opacity: 1.0,
            margin: None,
            font: None,
            outline: None,
            shadow: None,
        })
    }

    /// Changes the text (its tokens checked); unchanged if they are not right.
    pub fn set_text(&mut self, text: &str) -> Result<(), ParseError> {
        self.tokens = tokens(text)?;
        self.text = text.to_owned();
        Ok(())
    }

    /// Whether filling it in needs what the photo says (its date or camera).
    pub fn needs_photo(&self) -> bool {
        self.tokens.needs_photo()
    }

    /// The text for one photo.
    pub fn render(&self, facts: &Facts<'_>) -> String {
        self.tokens
            .render(facts, false)
            .to_string_lossy()
            .into_owned()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if self.gravity != DEFAULT_GRAVITY {
            write!(f, "@{}", self.gravity)?;
        }
        match self.size {
            s if s == DEFAULT_SIZE => {}
            Size::Percent(p) => write!(f, ",size={p}%")?,
            Size::Pixels(px) => write!(f, ",size={px}")?,
        }
        if self.color != WHITE {
            write!(f, ",color={}", self.color.hex())?;
        }
        if self.opacity != 1.0 {
            write!(f, ",opacity={}", self.opacity)?;
        }
        if let Some(m) = self.margin {
            write!(f, ",margin={m}")?;
        }
        if let Some(font) = &self.font {
            write!(f, ",font={}", font.display())?;
        }
        match self.outline {
            Some(BLACK) => write!(f, ",outline")?,
            Some(c) => write!(f, ",outline={}", c.hex())?,
            None => {}
        }
        match self.shadow {
            Some(BLACK) => write!(f, ",shadow")?,
            Some(c) => write!(f, ",shadow={}", c.hex())?,
            None => {}
        }
        Ok(())
    }
}

/// The option names a text's value may end with.
const KEYS: [&str; 7] = [
    "size", "color", "opacity", "margin", "font", "outline", "shadow",
];

impl std::str::FromStr for Text {
    type Err = ParseError;

    /// `TEXT[@GRAVITY][,size=S%|PX][,color=RRGGBB][,opacity=O][,margin=M][,font=FILE]
    /// [,outline[=RRGGBB]][,shadow[=RRGGBB]]`. Options are read from the end, so the text
    /// itself may hold commas and '@' ("© 2024, Jane", "me@example.com").
    fn from_str(v: &str) -> Result<Text, ParseError> {
        let pieces: Vec<&str> = v.split(',').collect();
        let mut first_option = pieces.len();
        while first_option > 1 {
            let piece = pieces[first_option - 1].trim();
            let key = piece.split_once('=').map_or(piece, |(k, _)| k).trim();
            if KEYS.contains(&key) {
                first_option -= 1;
            } else {
                break;
            }
        }
        let head = pieces[..first_option].join(",");
        let (text, gravity) = match head.rsplit_once('@') {
            Some((t, g)) => match g.parse::<Gravity>() {
                Ok(g) => (t.to_owned(), g),
                Err(_) => (head.clone(), DEFAULT_GRAVITY),
            },
            None => (head.clone(), DEFAULT_GRAVITY),
        };
        if text.contains(';') {
            return Err(ParseError(format!(
                "'{text}': a text may not hold ';' (it separates edits in a list); use ',' or '·'"
            )));
        }
        if text.trim().is_empty() {
            return Err(ParseError(
                "text takes TEXT[@GRAVITY][,size=4%][,color=ffffff][,opacity=0.8][,margin=M]\
                 [,font=FILE][,outline][,shadow], e.g. '© {date:%Y}@southeast,shadow'"
                    .into(),
            ));
        }
        let mut t = Text::new(&text)?;
        t.gravity = gravity;
        for part in pieces[first_option..].iter().map(|p| p.trim()) {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (part, ""),
            };
            let number = || super::watermark::option_number(part, value);
            match key {
                "size" if value.ends_with('%') => {
                    let p = number()?;
                    if !(p > 0.0 && p <= 50.0) {
                        return Err(ParseError(format!(
                            "size={value}: a share of the shorter side, above 0% up to 50%"
                        )));
                    }
                    t.size = Size::Percent(p);
                }
                "size" => match value.parse::<u32>() {
                    Ok(px) if (1..=2000).contains(&px) => t.size = Size::Pixels(px),
                    _ => {
                        return Err(ParseError(format!(
                            "size={value}: pixels (1 to 2000) or a share such as 4%"
                        )));
                    }
                },
                "color" | "colour" => t.color = value.parse()?,
                "opacity" => {
                    t.opacity = number()?;
                    if !(0.0..=1.0).contains(&t.opacity) {
                        return Err(ParseError(format!("opacity={value} is outside 0 to 1")));
                    }
                }
                "margin" => {
                    t.margin = Some(value.parse().map_err(|_| {
                        ParseError(format!("margin={value} is not a whole number"))
                    })?);
                }
                "font" if !value.is_empty() => t.font = Some(PathBuf::from(value)),
                "outline" | "shadow" => {
                    let c = match value {
                        "" | "true" => BLACK,
                        v => v.parse()?,
                    };
                    if key == "outline" {
                        t.outline = Some(c);
                    } else {
                        t.shadow = Some(c);
                    }
                }
                _ => {
                    return Err(ParseError(format!(
                        "'{part}': a text takes size=, color=, opacity=, margin=, font=, \
                         outline and shadow"
                    )));
                }
            }
        }
        Ok(t)
    }
}

/// Fonts read so far.
static FONTS: FileCache<FontArc> = FileCache::new();

/// The font `t` names (read once, again when its file changes), or the built-in one.
pub fn font(t: &Text) -> Result<FontArc, String> {
    let Some(path) = &t.font else {
        return FontArc::try_from_slice(BUILT_IN)
            .map_err(|_| "the built-in font cannot be read (a damaged build)".to_owned());
    };
    FONTS.get(path, "font", |path| {
        let data = std::fs::read(path)
            .map_err(|e| format!("the font {} cannot be read: {e}", path.display()))?;
        FontArc::try_from_vec(data).map_err(|_| {
            format!(
                "{} is not a font I can read: name a TrueType (.ttf) or OpenType (.otf) file",
                path.display()
            )
        })
    })
}

/// The largest text rasterised (its inked box and room): 64 megapixels of coverage.
const MAX_TEXT_PIXELS: usize = 64_000_000;

/// Coverage (0–1) of a rendered text, row by row.
struct Mask {
    w: usize,
    h: usize,
    cover: Vec<f32>,
}

impl Mask {
    fn at(&self, x: i64, y: i64) -> f32 {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 {
            0.0
        } else {
            self.cover[y as usize * self.w + x as usize]
        }
    }
}

/// `line` in `font` with an em of `em` pixels: its coverage over its inked box, `pad` pixels
/// of room on every side.
fn rasterize(font: &FontArc, line: &str, em: f32, pad: usize) -> Result<Option<Mask>, String> {
    let units = font.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(em * font.height_unscaled() / units);
    let scaled = font.as_scaled(scale);
    let mut caret = 0.0f32;
    let mut previous = None;
    let mut outlines = Vec::new();
    for c in line.chars() {
        if c.is_control() {
            continue;
        }
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, scaled.ascent()));
        caret += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            outlines.push(outline);
        }
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for o in &outlines {
        let b = o.px_bounds();
        (x0, y0) = (x0.min(b.min.x), y0.min(b.min.y));
        (x1, y1) = (x1.max(b.max.x), y1.max(b.max.y));
    }
    if outlines.is_empty() || x1 <= x0 || y1 <= y0 {
        return Ok(None);
    }
    let (w, h) = ((x1 - x0) as usize + 2 * pad, (y1 - y0) as usize + 2 * pad);
    if w.saturating_mul(h) > MAX_TEXT_PIXELS {
        return Err(format!(
            "the text would be {w}×{h} pixels, larger than any picture it could go on: make it \
             shorter or smaller (size=)"
        ));
    }
    let mut cover = vec![0f32; w * h];
    for o in &outlines {
        let b = o.px_bounds();
        let (ox, oy) = (
            (b.min.x - x0) as i64 + pad as i64,
            (b.min.y - y0) as i64 + pad as i64,
        );
        o.draw(|x, y, c| {
            let (x, y) = (ox + i64::from(x), oy + i64::from(y));
            if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                let v = &mut cover[y as usize * w + x as usize];
                *v = (*v + c).min(1.0);
            }
        });
    }
    Ok(Some(Mask { w, h, cover }))
}

/// `mask` grown by `r` pixels (the outline's ring).
fn dilate(mask: &Mask, r: i64) -> Mask {
    let mut cover = vec![0f32; mask.w * mask.h];
    let offsets: Vec<(i64, i64)> = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
        .filter(|(dx, dy)| dx * dx + dy * dy <= r * r + r)
        .collect();
    for y in 0..mask.h as i64 {
        for x in 0..mask.w as i64 {
            let mut best = 0f32;
            for (dx, dy) in &offsets {
                best = best.max(mask.at(x + dx, y + dy));
                if best >= 1.0 {
                    break;
                }
            }
            cover[y as usize * mask.w + x as usize] = best;
        }
    }
    Mask {
        w: mask.w,
        h: mask.h,
        cover,
    }
}

/// `mask` softened by a box blur of radius `r`, twice (close to a Gaussian).
fn soften(mask: &Mask, r: i64) -> Mask {
    let mut m = Mask {
        w: mask.w,
        h: mask.h,
        cover: mask.cover.clone(),
    };
    let n = (2 * r + 1) as f32;
    for _ in 0..2 {
        for horizontal in [true, false] {
            let mut next = vec![0f32; m.w * m.h];
            for y in 0..m.h as i64 {
                for x in 0..m.w as i64 {
                    let sum: f32 = (-r..=r)
                        .map(|d| {
                            if horizontal {
                                m.at(x + d, y)
                            } else {
                                m.at(x, y + d)
                            }
                        })
                        .sum();
                    next[y as usize * m.w + x as usize] = sum / n;
                }
            }
            m.cover = next;
        }
    }
    m
}

/// Lays `t` over `image`, its tokens filled in from `facts`.
pub fn apply(t: &Text, image: DynamicImage, facts: &Facts<'_>) -> Result<DynamicImage, String> {
    let line = t.render(facts);
    let font = font(t)?;
    let (iw, ih) = (image.width(), image.height());
    let em = match t.size {
        Size::Percent(p) => (f64::from(iw.min(ih)) * p / 100.0) as f32,
        Size::Pixels(px) => px as f32,
    }
    .max(1.0);
    // Room for the outline and the shadow around the inked box.
    // (The ring and the blur are capped: their cost grows with their radius squared.)
    let ring = if t.outline.is_some() {
        (em / 16.0).round().clamp(1.0, 12.0) as i64
    } else {
        0
    };
    let (drop, blur) = if t.shadow.is_some() {
        (
            (em / 20.0).round().clamp(1.0, 40.0) as i64,
            (em / 24.0).round().clamp(1.0, 12.0) as i64,
        )
    } else {
        (0, 0)
    };
    let pad = (ring + drop + 2 * blur) as usize;
    let Some(letters) = rasterize(&font, &line, em, pad)? else {
        return Ok(image); // nothing to ink (spaces only)
    };
    let margin = t.margin.map_or(f64::from(em) / 2.0, f64::from).round() as i64;
    // The inked box (inside the pad) placed by gravity.
    let (bw, bh) = (
        letters.w as i64 - 2 * pad as i64,
        letters.h as i64 - 2 * pad as i64,
    );
    let (x, y) = super::watermark::place_box(t.gravity, margin, (iw, ih), (bw, bh));
    let (x, y) = (x - pad as i64, y - pad as i64);
    let alpha = image.color().has_alpha();
    let mut canvas = image.into_rgba8();
    let opacity = t.opacity as f32;
    if let Some(c) = t.shadow {
        let base = if ring > 0 {
            dilate(&letters, ring)
        } else {
            Mask {
                w: letters.w,
                h: letters.h,
                cover: letters.cover.clone(),
            }
        };
        let shadow = soften(&base, blur);
        blend(&mut canvas, &shadow, x + drop, y + drop, c, opacity * 0.7);
    }
    if let Some(c) = t.outline {
        blend(&mut canvas, &dilate(&letters, ring), x, y, c, opacity);
    }
    blend(&mut canvas, &letters, x, y, t.color, opacity);
    Ok(if alpha {
        DynamicImage::ImageRgba8(canvas)
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(canvas).into_rgb8())
    })
}

/// `color` over `canvas` through `mask` at (`x`, `y`), times `opacity`.
fn blend(canvas: &mut RgbaImage, mask: &Mask, x: i64, y: i64, color: Rgb, opacity: f32) {
    let (cw, ch) = (i64::from(canvas.width()), i64::from(canvas.height()));
    for my in 0..mask.h as i64 {
        let cy = y + my;
        if cy < 0 || cy >= ch {
            continue;
        }
        for mx in 0..mask.w as i64 {
            let cx = x + mx;
            if cx < 0 || cx >= cw {
                continue;
            }
            let a = mask.cover[my as usize * mask.w + mx as usize] * opacity;
            if a <= 0.0 {
                continue;
            }
            super::watermark::over(canvas.get_pixel_mut(cx as u32, cy as u32), color.0, a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_as_written_with_commas_and_at_signs_in_the_text() {
        for v in [
            "© {date:%Y}",
            "© {date:%Y}@south,size=3%,color=ffcc00,opacity=0.8",
            "Jane, 2024@northwest,size=24,margin=10,outline,shadow=202020",
            "me@example.com@center,font=fonts/x.ttf",
        ] {
            let t: Text = v.parse().unwrap();
            assert_eq!(t.to_string(), v);
        }
        let t: Text = "a@b.com".parse().unwrap();
        assert_eq!(
            (t.text.as_str(), t.gravity),
            ("a@b.com", Gravity::SouthEast)
        );
        let t: Text = "2024, Jane, shadow".parse().unwrap();
        assert_eq!(
            t.text, "2024, Jane",
            "a bare known flag at the end is an option"
        );
        for bad in [
            "",
            "@south",
            "x,size=0%",
            "x,size=60%",
            "x,opacity=2",
            "{nope}",
            "x,color=red",
        ] {
            assert!(bad.parse::<Text>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_text_larger_than_any_picture_is_refused_not_allocated() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::new(64, 64));
        let mut t: Text = "A long line of text that no picture could ever hold at this size"
            .parse()
            .unwrap();
        t.size = Size::Pixels(2000);
        let why = apply(&t, photo, &Facts::default()).unwrap_err();
        assert!(why.contains("make it shorter or smaller"), "{why}");
    }

    #[test]
    fn the_inked_text_sits_where_the_gravity_says() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            400,
            300,
            image::Rgb([20, 40, 60]),
        ));
        for (g, want) in [
            (Gravity::SouthEast, (None, None, Some(390), Some(290))),
            (Gravity::NorthWest, (Some(10), Some(10), None, None)),
        ] {
            let mut t: Text = "Hello".parse().unwrap();
            t.gravity = g;
            t.margin = Some(10);
            t.size = Size::Pixels(40);
            let out = apply(&t, photo.clone(), &Facts::default())
                .unwrap()
                .into_rgb8();
            let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
            for (x, y, p) in out.enumerate_pixels() {
                if p.0 != [20, 40, 60] {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                }
            }
            let close = |got: u32, want: Option<u32>| want.is_none_or(|w| got.abs_diff(w) <= 1);
            assert!(
                close(x0, want.0) && close(y0, want.1) && close(x1, want.2) && close(y1, want.3),
                "{g:?}: inked {x0},{y0}–{x1},{y1}"
            );
            assert!(x1 - x0 > 80 && y1 - y0 > 20, "{g:?}: a word 40 px high");
        }
    }
}
