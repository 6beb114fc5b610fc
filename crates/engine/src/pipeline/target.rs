//! Size and visual targets: the quality a lossy output is encoded at when the recipe says "under
//! 200 KB" (`--max-size`) or "looks at least this good" (`--target-score`, SSIMULACRA2) instead
//! of a quality number. The resized image is encoded at a few qualities, each guess interpolated
//! from the encoder's own response so far (log size, or score, against quality) inside a bracket
//! that shrinks by at least a quarter every step; a target costs about 4-6 encodes.

use fast_ssim2::{PixelDescriptor, PixelSlice, Ssimulacra2Reference};
use image::DynamicImage;

use crate::format::Format;
use crate::job::{ErrorKind, Flow, JobError};
use crate::recipe::Recipe;
use crate::units::human_bytes;

use super::encode;
use super::metadata::Carry;

/// The lowest quality a search goes down to.
pub const FLOOR: u8 = 10;
/// The most encodes one search makes after its first two.
const MAX_STEPS: usize = 6;

/// The encoded output and how it was chosen.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The quality used (lossy outputs only).
    pub quality: Option<u8>,
    /// Its SSIMULACRA2 score against the resized image, when a visual target asked for it.
    pub score: Option<f64>,
    /// How many times the image was encoded.
    pub encodes: usize,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

/// SSIMULACRA2's view of an image, computed once and compared with every candidate. An image
/// with transparency is seen over a dark and over a light background (as libjxl's
/// `ssimulacra2` tool does), and a candidate scores the worse of the two: what is under a
/// transparent pixel is never seen, and lossy encoders rightly do not keep it.
pub struct Reference(Vec<(Option<u8>, Ssimulacra2Reference)>);

/// The backgrounds an image with transparency is seen over (sRGB 0.1 and 0.9).
const BACKGROUNDS: [u8; 2] = [26, 230];

fn measure_error(e: impl std::fmt::Display) -> JobError {
    JobError::failed(
        ErrorKind::Encode,
        format!("cannot measure the image's look: {e}"),
    )
}

/// Runs `f` on `image` as an 8-bit sRGB pixel view, the form SSIMULACRA2 takes; with
/// `background`, a transparent image is first composited over that grey.
fn with_srgb<T>(
    image: &DynamicImage,
    background: Option<u8>,
    f: impl FnOnce(&PixelSlice<'_>) -> Result<T, fast_ssim2::Ssimulacra2Error>,
) -> Result<T, JobError> {
    let rgb = match background {
        Some(bg) if image.color().has_alpha() => {
            let rgba = image.to_rgba8();
            let (w, h) = rgba.dimensions();
            let mut rgb = image::RgbImage::new(w, h);
            for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
                let a = u32::from(px.0[3]);
                for c in 0..3 {
                    let v = u32::from(px.0[c]) * a + u32::from(bg) * (255 - a);
                    out.0[c] = ((v + 127) / 255) as u8;
                }
            }
            rgb
        }
        _ => image.to_rgb8(),
    };
    let (w, h) = rgb.dimensions();
    let slice = PixelSlice::new(
        rgb.as_raw(),
        w,
        h,
        w as usize * 3,
        PixelDescriptor::RGB8_SRGB,
    )
    .map_err(measure_error)?;
    f(&slice).map_err(measure_error)
}

impl Reference {
    /// The reference for `image` (the resized image, before encoding).
    pub fn new(image: &DynamicImage) -> Result<Reference, JobError> {
        let backgrounds: Vec<Option<u8>> = if image.color().has_alpha() {
            BACKGROUNDS.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        backgrounds
            .into_iter()
            .map(|bg| with_srgb(image, bg, Ssimulacra2Reference::new).map(|r| (bg, r)))
            .collect::<Result<Vec<_>, _>>()
            .map(Reference)
    }

    /// The SSIMULACRA2 score of the encoded `bytes` (decoded again) against this reference:
    /// the worst over the backgrounds.
    pub fn score(&self, bytes: &[u8], format: Format) -> Result<f64, JobError> {
        let decoded = super::decode::decode_bytes(bytes, format)
            .map_err(|e| JobError::failed(ErrorKind::Encode, format!("cannot read back: {e}")))?;
        let mut worst = f64::INFINITY;
        for (bg, reference) in &self.0 {
            // An output without alpha (JPEG) is compared as it is.
            let score = with_srgb(&decoded, *bg, |slice| reference.compare(slice))?;
            worst = worst.min(score);
        }
        Ok(worst)
    }
}

/// One image being encoded at several qualities.
struct Probe<'a> {
    image: &'a DynamicImage,
    format: Format,
    recipe: &'a Recipe,
    carry: &'a Carry,
    progress: &'a mut dyn FnMut(f32) -> Flow,
    /// More than one encode may be needed (a size or visual target): the share of one encode
    /// is not the share of the stage, so only stage starts are reported.
    searching: bool,
    reference: Option<Reference>,
    encodes: usize,
}

impl Probe<'_> {
    fn encode(&mut self, quality: u8) -> Result<Vec<u8>, JobError> {
        if (self.progress)(0.0) == Flow::Cancel {
            return Err(JobError::Cancelled);
        }
        self.encodes += 1;
        let progress = &mut *self.progress;
        let searching = self.searching;
        encode::encode_at(
            self.image,
            self.format,
            self.recipe,
            quality,
            self.carry,
            &mut |done| progress(if searching { 0.0 } else { done }),
        )
    }

    fn score(&mut self, bytes: &[u8]) -> Result<f64, JobError> {
        if self.reference.is_none() {
            self.reference = Some(Reference::new(self.image)?);
        }
        match &self.reference {
            Some(reference) => reference.score(bytes, self.format),
            None => Err(measure_error("no reference")),
        }
    }
}

/// The next quality to try strictly between `low` and `high` (which differ by at least 2):
/// `guess`, kept out of the outer quarters of the bracket so it always shrinks.
fn next_between(low: u8, high: u8, guess: f64) -> u8 {
    let (lo, hi) = (f64::from(low), f64::from(high));
    let margin = ((hi - lo) / 4.0).floor().max(1.0);
    let q = guess.round().clamp(lo + margin, hi - margin);
    q as u8
}

/// Encodes `image` (already prepared for `format`) the way `recipe` asks: at its quality, or
/// searched for its size and visual targets. `progress` is called before every encode and, for
/// a single encode, with the share of it done where the encoder says; it may stop the job.
pub fn encode_for(
    image: &DynamicImage,
    format: Format,
    recipe: &Recipe,
    carry: &Carry,
    progress: &mut dyn FnMut(f32) -> Flow,
) -> Result<Chosen, JobError> {
    let mut probe = Probe {
        image,
        format,
        recipe,
        carry,
        progress,
        searching: recipe.is_lossy(format)
            && (recipe.target_score.is_some() || recipe.max_size.is_some()),
        reference: None,
        encodes: 0,
    };
    if !recipe.is_lossy(format) {
        let bytes = probe.encode(recipe.quality)?;
        if let Some(max) = recipe.max_size
            && bytes.len() as u64 > max
        {
            return Err(JobError::failed(
                ErrorKind::OverSize,
                format!(
                    "{} is lossless, so its size cannot be traded for quality: {} is over the {} \
                     limit; nothing was written",
                    format.label(),
                    human_bytes(bytes.len() as u64),
                    human_bytes(max)
                ),
            ));
        }
        return Ok(Chosen {
            bytes,
            encodes: probe.encodes,
            ..Chosen::default()
        });
    }
    let mut warnings = Vec::new();
    let top = recipe.quality;
    let (mut quality, mut bytes, mut score) = match recipe.target_score {
        Some(target) => lowest_reaching(&mut probe, target, &mut warnings)?,
        None => (top, probe.encode(top)?, None),
    };
    if let Some(max) = recipe.max_size
        && bytes.len() as u64 > max
    {
        (quality, bytes) = highest_fitting(&mut probe, max, quality, bytes)?;
        if let Some(target) = recipe.target_score {
            let s = probe.score(&bytes)?;
            warnings.push(format!(
                "scores {s:.1}, under the target {target}: the {} limit came first",
                human_bytes(max)
            ));
            score = Some(s);
        }
    }
    Ok(Chosen {
        bytes,
        quality: Some(quality),
        score,
        encodes: probe.encodes,
        warnings,
    })
}

/// How far apart two qualities may be when a search stops: the answer is then at most one
/// quality step from the best.
const TOLERANCE: u8 = 2;
/// How much each quality step typically moves the SSIMULACRA2 score (JPEG and WebP, middle
/// qualities): the first guess before the image's own response is known.
const SCORE_PER_STEP: f64 = 0.6;
/// How much each quality step typically moves the log of the file size.
const LOG_SIZE_PER_STEP: f64 = 0.025;
/// SSIMULACRA2 implementations (and the JPEG decoders in front of them) differ by a few tenths
/// on the same files: the search aims this far above the target so that any faithful
/// implementation agrees the target is met.
pub const SCORE_MARGIN: f64 = 0.25;

/// A quality's guess from a straight line through `(q0, v0)` with `slope`, where it reaches `v`.
fn along(q0: u8, v0: f64, slope: f64, v: f64) -> f64 {
    f64::from(q0) + (v - v0) / slope
}

/// The lowest quality from [`FLOOR`] to the recipe's whose output scores at least `target`
/// (plus [`SCORE_MARGIN`]), with its bytes and score; the recipe's quality (with a warning) if
/// even that falls short.
fn lowest_reaching(
    probe: &mut Probe<'_>,
    target: f64,
    warnings: &mut Vec<String>,
) -> Result<(u8, Vec<u8>, Option<f64>), JobError> {
    let aim = (target + SCORE_MARGIN).min(100.0);
    let top = probe.recipe.quality;
    let top_bytes = probe.encode(top)?;
    let top_score = probe.score(&top_bytes)?;
    if top_score < aim {
        // Said without a command-line flag: the window shows it too.
        warnings.push(if top >= 100 {
            format!("scores {top_score:.1} even at quality 100, under the target {target}")
        } else {
            format!(
                "scores {top_score:.1} at quality {top}, the highest allowed, under the target \
                 {target}; a higher quality limit would allow more"
            )
        });
        return Ok((top, top_bytes, Some(top_score)));
    }
    let floor = FLOOR.min(top);
    // The lowest passing point, and the highest failing one once known.
    let mut pass = (top, top_bytes, top_score);
    let mut fail: Option<(u8, f64)> = None;
    for _ in 0..MAX_STEPS {
        let low = fail.map_or(floor, |f| f.0);
        if pass.0 <= floor || (fail.is_some() && pass.0 - low <= TOLERANCE) {
            break;
        }
        let q = match fail {
            Some((fq, fs)) => {
                let slope = (pass.2 - fs) / f64::from(pass.0 - fq);
                next_between(fq, pass.0, along(fq, fs, slope.max(1e-6), aim).ceil())
            }
            // Aim a little low, so the first guess usually brackets the answer.
            None => (along(pass.0, pass.2, SCORE_PER_STEP, aim) - 2.0)
                .round()
                .clamp(f64::from(floor), f64::from(pass.0 - 1)) as u8,
        };
        let bytes = probe.encode(q)?;
        let s = probe.score(&bytes)?;
        if s >= aim {
            pass = (q, bytes, s);
        } else {
            fail = Some((q, s));
        }
    }
    Ok((pass.0, pass.1, Some(pass.2)))
}

/// The highest quality from [`FLOOR`] up to `top` (whose output, `top_bytes`, is over `max`)
/// whose output fits in `max` bytes; an `over_size` failure giving the smallest size reached if
/// none does.
fn highest_fitting(
    probe: &mut Probe<'_>,
    max: u64,
    top: u8,
    top_bytes: Vec<u8>,
) -> Result<(u8, Vec<u8>), JobError> {
    let ln = |b: &[u8]| (b.len() as f64).max(1.0).ln();
    let limit = (max as f64).ln();
    let floor = FLOOR.min(top);
    // The highest failing point, and the lowest passing one once known.
    let mut fail = (top, ln(&top_bytes));
    let mut smallest = top_bytes.len() as u64;
    drop(top_bytes);
    let mut pass: Option<(u8, f64, Vec<u8>)> = None;
    let mut steps = 0;
    loop {
        if let Some(p) = &pass
            && (fail.0 - p.0 <= 1 || p.2.len() as f64 >= 0.97 * max as f64 || steps >= MAX_STEPS)
        {
            break;
        }
        let q = match &pass {
            Some((pq, ps, _)) => {
                let slope = (fail.1 - ps) / f64::from(fail.0 - pq);
                next_between(*pq, fail.0, along(*pq, *ps, slope.max(1e-9), limit).floor())
            }
            // Nothing fits yet: the model's guess, a little low; the floor once guesses run out.
            None if fail.0 <= floor => break,
            None if steps >= MAX_STEPS => floor,
            None => (along(fail.0, fail.1, LOG_SIZE_PER_STEP, limit) - 2.0)
                .round()
                .clamp(f64::from(floor), f64::from(fail.0 - 1)) as u8,
        };
        steps += 1;
        let bytes = probe.encode(q)?;
        smallest = smallest.min(bytes.len() as u64);
        if bytes.len() as u64 <= max {
            pass = Some((q, ln(&bytes), bytes));
        } else {
            fail = (q, ln(&bytes));
        }
    }
    match pass {
        Some((q, _, bytes)) => Ok((q, bytes)),
        None => Err(JobError::failed(
            ErrorKind::OverSize,
            format!(
                "cannot fit in {}: the smallest output, at quality {}, is {}; nothing was \
                 written",
                human_bytes(max),
                fail.0,
                human_bytes(smallest)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_stay_inside_the_bracket_and_shrink_it() {
        assert_eq!(next_between(10, 85, 11.0), 28);
        assert_eq!(next_between(10, 85, 84.0), 67);
        assert_eq!(next_between(10, 85, 50.4), 50);
        assert_eq!(next_between(40, 42, 40.0), 41);
        assert_eq!(next_between(40, 42, 99.0), 41);
    }
}
