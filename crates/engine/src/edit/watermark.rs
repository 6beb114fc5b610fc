//! `--watermark logo.png@southeast,opacity=0.5,scale=20%,margin=16`: an image laid over the
//! picture, placed by gravity and a margin from the edges it sits at, scaled to a share of
//! the picture's width, faded by an opacity, or tiled over the whole picture. Blended as
//! ImageMagick's `composite -dissolve` does (its alpha times the opacity, over the picture, in
//! the stored sRGB values).
//!
//! The logo is read once per batch (kept by path, read again when its size or time changes).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use image::{DynamicImage, RgbaImage};

use super::Gravity;
use crate::spec::{ParseError, ResizeSpec};

/// A logo over the picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    /// The logo's file (PNG with transparency, usually).
    pub path: PathBuf,
    /// Where it sits.
    pub gravity: Gravity,
    /// 0 (invisible) to 1 (as the file has it).
    pub opacity: f64,
    /// Its width as a share of the picture's width (per cent); `None`: its own size.
    pub scale: Option<f64>,
    /// Pixels between it and the edges it sits at.
    pub margin: u32,
    /// Repeated over the whole picture (gravity and margin then unused).
    pub tile: bool,
}

impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.gravity != Gravity::Center {
            write!(f, "@{}", self.gravity)?;
        }
        if self.opacity != 1.0 {
            write!(f, ",opacity={}", self.opacity)?;
        }
        if let Some(scale) = self.scale {
            write!(f, ",scale={scale}%")?;
        }
        if self.margin != 0 {
            write!(f, ",margin={}", self.margin)?;
        }
        if self.tile {
            write!(f, ",tile")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Watermark {
    type Err = ParseError;

    /// `PATH[@GRAVITY][,opacity=O][,scale=S%][,margin=M][,tile]`.
    fn from_str(v: &str) -> Result<Watermark, ParseError> {
        let mut parts = v.split(',');
        let head = parts.next().unwrap_or_default().trim();
        let (path, gravity) = match head.rsplit_once('@') {
            Some((p, g)) => (p, g.parse()?),
            None => (head, Gravity::Center),
        };
        if path.is_empty() {
            return Err(ParseError(
                "watermark takes FILE[@GRAVITY][,opacity=O][,scale=S%][,margin=M][,tile]".into(),
            ));
        }
        let mut w = Watermark {
            path: PathBuf::from(path),
            gravity,
            opacity: 1.0,
            scale: None,
            margin: 0,
            tile: false,
        };
        for part in parts.map(str::trim) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let number = || option_number(part, value);
            match key {
                "opacity" => {
                    w.opacity = number()?;
                    if !(0.0..=1.0).contains(&w.opacity) {
                        return Err(ParseError(format!("opacity={value} is outside 0 to 1")));
                    }
                }
                "scale" => {
                    let s = number()?;
                    if !(s > 0.0 && s <= 100.0) {
                        return Err(ParseError(format!(
                            "scale={value}: a share of the picture's width, above 0% up to 100%"
                        )));
                    }
                    w.scale = Some(s);
                }
                "margin" => {
                    w.margin = value
                        .parse()
                        .map_err(|_| ParseError(format!("margin={value} is not a whole number")))?;
                }
                "tile" if value.is_empty() || value == "true" => w.tile = true,
                _ => {
                    return Err(ParseError(format!(
                        "'{part}': a watermark takes opacity=, scale=, margin= and tile"
                    )));
                }
            }
        }
        Ok(w)
    }
}

/// The number in an option's `value` (a trailing '%' allowed); why not, naming the `part`.
pub fn option_number(part: &str, value: &str) -> Result<f64, ParseError> {
    value
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| ParseError(format!("'{part}': {value} is not a number")))
}

/// Things read from files (logos, fonts), kept by path with the size and time each file had:
/// read once per batch, again when the file changes.
pub struct FileCache<T>(Mutex<Option<HashMap<PathBuf, Kept<T>>>>);

/// A value read from a file, with the size and time the file had.
type Kept<T> = (u64, Option<SystemTime>, T);

impl<T: Clone> FileCache<T> {
    /// An empty cache.
    pub const fn new() -> FileCache<T> {
        FileCache(Mutex::new(None))
    }

    /// What `read` makes of the file at `path` (`what` names it in the message when the file
    /// is not there).
    pub fn get(
        &self,
        path: &Path,
        what: &str,
        read: impl FnOnce(&Path) -> Result<T, String>,
    ) -> Result<T, String> {
        let Some((bytes, modified)) = stamp(path) else {
            return Err(format!(
                "the {what} {} cannot be read (it does not exist or is not readable)",
                path.display()
            ));
        };
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = kept.get_or_insert_with(HashMap::new);
        if let Some((b, m, value)) = kept.get(path)
            && (*b, *m) == (bytes, modified)
        {
            return Ok(value.clone());
        }
        let value = read(path)?;
        kept.insert(path.to_path_buf(), (bytes, modified, value.clone()));
        Ok(value)
    }
}

/// The largest logo read (a logo is laid whole over every picture).
const LOGO_MAX_PIXELS: u64 = 100_000_000;

/// Logos read so far.
static LOGOS: FileCache<Arc<RgbaImage>> = FileCache::new();

/// The file's size and time, for the fingerprint (a logo or font replaced under its name redoes
/// the outputs) and the cache.
pub fn stamp(path: &Path) -> Option<(u64, Option<SystemTime>)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()))
}

/// The logo at `path`, read once (and again when the file changes); why not, for people.
pub fn logo(path: &Path) -> Result<Arc<RgbaImage>, String> {
    LOGOS.get(path, "watermark", |path| {
        let not_image = |e: &dyn std::fmt::Display| {
            format!(
                "the watermark {} is not an image I can read: {e}",
                path.display()
            )
        };
        let data = std::fs::read(path).map_err(|e| not_image(&e))?;
        // HEIC, AVIF and JPEG XL through Conveyor's codecs (upright, as their containers say);
        // the rest through the image crate.
        let image = match crate::format::Format::sniff(&data) {
            Some(f) if f.spec().image.is_none() => {
                crate::codec::decode(&data, f, LOGO_MAX_PIXELS)
                    .map_err(|e| not_image(&e))?
                    .image
            }
            _ => image::load_from_memory(&data).map_err(|e| not_image(&e))?,
        };
        if u64::from(image.width()) * u64::from(image.height()) > LOGO_MAX_PIXELS {
            return Err(format!(
                "the watermark {} is {}x{}: larger than a logo can be (at most 100 megapixels)",
                path.display(),
                image.width(),
                image.height()
            ));
        }
        Ok(Arc::new(image.into_rgba8()))
    })
}

/// Lays `w` over `image`.
pub fn apply(w: &Watermark, image: DynamicImage) -> Result<DynamicImage, String> {
    let logo = logo(&w.path)?;
    let (iw, ih) = (image.width(), image.height());
    let logo = match w.scale {
        Some(share) => {
            let width = ((f64::from(iw) * share / 100.0).round() as u32).max(1);
            let g = ResizeSpec::Width(width).geometry(logo.width(), logo.height(), true);
            let scaled = crate::pipeline::resize::resize_to(
                DynamicImage::ImageRgba8((*logo).clone()),
                g,
                (logo.width(), logo.height()),
                crate::spec::Filter::Lanczos3,
            );
            Arc::new(scaled.into_rgba8())
        }
        None => logo,
    };
    let alpha = image.color().has_alpha();
    let mut canvas = image.into_rgba8();
    let opacity = w.opacity as f32;
    let places: Vec<(i64, i64)> = if w.tile {
        let (lw, lh) = (
            i64::from(logo.width().max(1)),
            i64::from(logo.height().max(1)),
        );
        (0..i64::from(ih))
            .step_by(lh as usize)
            .flat_map(|y| (0..i64::from(iw)).step_by(lw as usize).map(move |x| (x, y)))
            .collect()
    } else {
        vec![place(w, (iw, ih), (logo.width(), logo.height()))]
    };
    for (x, y) in places {
        blend(&mut canvas, &logo, x, y, opacity);
    }
    Ok(if alpha {
        DynamicImage::ImageRgba8(canvas)
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(canvas).into_rgb8())
    })
}

/// Where the logo's top left goes: the gravity's place, `margin` in from the edges it sits at
/// (none along a centred axis), as ImageMagick's `-gravity G -geometry +M+M` puts it.
fn place(w: &Watermark, image: (u32, u32), (lw, lh): (u32, u32)) -> (i64, i64) {
    place_box(
        w.gravity,
        i64::from(w.margin),
        image,
        (i64::from(lw), i64::from(lh)),
    )
}

/// Where a `(bw, bh)` box's top left goes on an `(iw, ih)` picture at gravity `g`, `m` in
/// from the edges it sits at (none along a centred axis).
pub fn place_box(g: Gravity, m: i64, (iw, ih): (u32, u32), (bw, bh): (i64, i64)) -> (i64, i64) {
    let x = match g {
        Gravity::West | Gravity::NorthWest | Gravity::SouthWest => m,
        Gravity::East | Gravity::NorthEast | Gravity::SouthEast => i64::from(iw) - bw - m,
        _ => i64::from(iw / 2) - bw / 2,
    };
    let y = match g {
        Gravity::North | Gravity::NorthWest | Gravity::NorthEast => m,
        Gravity::South | Gravity::SouthWest | Gravity::SouthEast => i64::from(ih) - bh - m,
        _ => i64::from(ih / 2) - bh / 2,
    };
    (x, y)
}

/// `logo` over `canvas` at (`x`, `y`), its alpha times `opacity` (parts outside are cut).
fn blend(canvas: &mut RgbaImage, logo: &RgbaImage, x: i64, y: i64, opacity: f32) {
    let (cw, ch) = (i64::from(canvas.width()), i64::from(canvas.height()));
    for (lx, ly, p) in logo.enumerate_pixels() {
        let (cx, cy) = (x + i64::from(lx), y + i64::from(ly));
        if cx < 0 || cy < 0 || cx >= cw || cy >= ch {
            continue;
        }
        let a = f32::from(p.0[3]) / 255.0 * opacity;
        if a <= 0.0 {
            continue;
        }
        let (Ok(cx), Ok(cy)) = (u32::try_from(cx), u32::try_from(cy)) else {
            continue;
        };
        over(canvas.get_pixel_mut(cx, cy), [p.0[0], p.0[1], p.0[2]], a);
    }
}

/// `color` at alpha `a` over the pixel `d` (its own alpha kept in account), in stored values.
pub fn over(d: &mut image::Rgba<u8>, color: [u8; 3], a: f32) {
    let da = f32::from(d.0[3]) / 255.0;
    let out_a = a + da * (1.0 - a);
    for (out, &src) in d.0.iter_mut().zip(&color) {
        let v = (f32::from(src) * a + f32::from(*out) * da * (1.0 - a)) / out_a;
        *out = v.round().clamp(0.0, 255.0) as u8;
    }
    d.0[3] = (out_a * 255.0).round().clamp(0.0, 255.0) as u8;
}
