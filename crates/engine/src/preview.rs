//! Previews for a front end: small thumbnails of a source and its output, a trial conversion of
//! one input in memory (before and after, with the output's size, quality and score), and an
//! estimate of a whole batch from a sample of its files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::DynamicImage;
use image::imageops::FilterType;

use super::format::Format;
use super::job::{Action, Flow, Job};
use super::pipeline::decode::{self, DecodeLimits};
use super::pipeline::resize::orient;
use super::pipeline::{Pipeline, Rendered};
use super::recipe::Recipe;
use super::remote::{Location, Store};

/// A decoded, downscaled image ready to upload as a texture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The full image's width (after orientation).
    pub width: u32,
    /// The full image's height (after orientation).
    pub height: u32,
    /// File size in bytes.
    pub bytes: u64,
    /// Preview width.
    pub preview_width: u32,
    /// Preview height.
    pub preview_height: u32,
    /// Preview pixels, RGBA8, row-major.
    pub rgba: Vec<u8>,
}

/// Decodes `path` (at a reduced scale where `shrink` allows) and orients it.
fn decode_oriented(path: &Path, shrink: &[decode::ShrinkFor]) -> Result<DynamicImage, String> {
    let decoded = decode::decode(path, &DecodeLimits::default(), shrink, &mut |_| Ok(()))
        .map_err(|e| e.to_string())?;
    let image = decoded.image.into_image().map_err(|e| e.to_string())?;
    Ok(orient(image, decoded.orientation))
}

/// A thumbnail of `path` showing `small`, for an image of `size` pixels.
fn thumbnail_of(path: &Path, small: &DynamicImage, (width, height): (u32, u32)) -> Thumbnail {
    let rgba = small.to_rgba8();
    Thumbnail {
        width,
        height,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        preview_width: rgba.width(),
        preview_height: rgba.height(),
        rgba: rgba.into_raw(),
    }
}

/// Decodes `path` and shrinks it to fit `max_side` for display. Meant for a background thread.
pub fn thumbnail(path: &Path, max_side: u32) -> Result<Thumbnail, String> {
    let image = decode_oriented(path, &[])?;
    let size = (image.width(), image.height());
    let small = if size.0 > max_side || size.1 > max_side {
        image.thumbnail(max_side, max_side)
    } else {
        image
    };
    Ok(thumbnail_of(path, &small, size))
}

/// A small picture of `path` for a file list: decoded at a reduced scale where the format
/// allows it (JPEG), so it is cheap even for large photos. `width` and `height` are the
/// image's own, from its header. Meant for a background thread.
pub fn icon(path: &Path, max_side: u32) -> Result<Thumbnail, String> {
    let shrink = decode::ShrinkFor {
        spec: super::recipe::ResizeSpec::Fit(max_side, max_side),
        allow_upscale: false,
        filter: super::recipe::Filter::CatmullRom,
        planes: false,
        before: None,
    };
    let image = decode_oriented(path, &[shrink])?;
    let size = super::header::probe(path).map_or((image.width(), image.height()), |h| h.size);
    Ok(thumbnail_of(
        path,
        &image.thumbnail(max_side, max_side),
        size,
    ))
}

/// One input converted in memory with a recipe: what a preview before the run shows.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The source, oriented and scaled to the output's size, so the two line up pixel for pixel.
    pub before: Thumbnail,
    /// The output, decoded back from the bytes a batch would write.
    pub after: Thumbnail,
    /// The source file's size.
    pub input_bytes: u64,
    /// The output file's size.
    pub output_bytes: u64,
    /// The quality the encoder used (lossy outputs).
    pub quality: Option<u8>,
    /// The SSIMULACRA2 score, when a visual target computed it.
    pub score: Option<f64>,
    /// Things the user should know.
    pub warnings: Vec<String>,
    /// How long the conversion took on one core.
    pub seconds: f64,
}

fn rgba_thumbnail(image: &DynamicImage, bytes: u64, full: (u32, u32)) -> Thumbnail {
    let rgba = image.to_rgba8();
    Thumbnail {
        width: full.0,
        height: full.1,
        bytes,
        preview_width: rgba.width(),
        preview_height: rgba.height(),
        rgba: rgba.into_raw(),
    }
}

/// A local file with an input's contents: the file itself, or for an object in storage a
/// temporary copy with the same extension (the output format of `keep` follows it), removed
/// when dropped.
pub enum Local {
    /// A file on this machine.
    File(PathBuf),
    /// A copy of an object.
    Copy(tempfile::TempPath),
}

impl Local {
    /// The local file.
    pub fn path(&self) -> &Path {
        match self {
            Local::File(p) => p,
            Local::Copy(t) => t,
        }
    }
}

/// `path` as a [`Local`] file, fetching it through `store` if it is an object.
pub fn local(path: &Path, store: Option<&dyn Store>) -> Result<Local, String> {
    let Some(object) = Location::parse(path) else {
        return Ok(Local::File(path.to_path_buf()));
    };
    let object = object?;
    let store = store.ok_or_else(|| format!("{object}: object storage is not connected"))?;
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut copy = tempfile::Builder::new()
        .prefix(".conveyor-preview-")
        .suffix(&suffix)
        .tempfile()
        .map_err(|e| format!("cannot make a temporary copy of {object}: {e}"))?;
    store
        .fetch(&object, copy.as_file_mut())
        .map_err(|e| e.reason)?;
    Ok(Local::Copy(copy.into_temp_path()))
}

/// Converts `path` with `recipe` exactly as a batch would, in memory (nothing is written), and
/// returns both sides for display, at most `max_side` pixels a side (both scaled alike).
pub fn trial(path: &Path, recipe: &Recipe, max_side: u32) -> Result<Trial, String> {
    let (done, format, input_bytes, seconds) = render_one(path, recipe)?;
    let after = decode::decode_bytes(&done.bytes, format)
        .map_err(|e| format!("cannot read the output back: {e}"))?;
    let source = decode_oriented(path, &[])?;
    let (w, h) = (after.width(), after.height());
    let (sw, sh) = if w > max_side || h > max_side {
        let k = f64::from(max_side) / f64::from(w.max(h));
        (
            ((f64::from(w) * k).round() as u32).max(1),
            ((f64::from(h) * k).round() as u32).max(1),
        )
    } else {
        (w, h)
    };
    // Resized only, the source is shown at the output's scale; edits that crop, turn or pad
    // change its shape: then the source is shown whole in its own shape, fitted alike.
    let (iw, ih) = (source.width(), source.height());
    let same_shape = (u64::from(iw) * u64::from(h)).abs_diff(u64::from(ih) * u64::from(w))
        <= u64::from(iw) * u64::from(h) / 50;
    let before = if same_shape {
        source.resize_exact(sw, sh, FilterType::Triangle)
    } else if iw > max_side || ih > max_side {
        source.resize(max_side, max_side, FilterType::Triangle)
    } else {
        source.clone()
    };
    let after_shown = if (sw, sh) == (w, h) {
        after
    } else {
        after.resize_exact(sw, sh, FilterType::Triangle)
    };
    Ok(Trial {
        before: rgba_thumbnail(&before, input_bytes, (source.width(), source.height())),
        after: rgba_thumbnail(&after_shown, done.bytes.len() as u64, (w, h)),
        input_bytes,
        output_bytes: done.bytes.len() as u64,
        quality: done.quality,
        score: done.score,
        warnings: done.warnings,
        seconds,
    })
}

/// The source alone, oriented and scaled to fit `max_side`: what the preview shows as Before
/// when the recipe gives no output for it (a size target it cannot meet).
pub fn source(path: &Path, max_side: u32) -> Result<Thumbnail, String> {
    let input_bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let image = decode_oriented(path, &[])?;
    let (w, h) = (image.width(), image.height());
    let shown = if w > max_side || h > max_side {
        image.resize(max_side, max_side, FilterType::Triangle)
    } else {
        image
    };
    Ok(rgba_thumbnail(&shown, input_bytes, (w, h)))
}

/// `path` converted with `recipe` in memory, as a batch would: the output, its format, the
/// input's size and the seconds it took on one core.
fn render_one(path: &Path, recipe: &Recipe) -> Result<(Rendered, Format, u64, f64), String> {
    let (mut outputs, input_bytes, seconds) = render_outputs(path, std::slice::from_ref(recipe))?;
    let (done, format) = outputs.pop().ok_or("no output")?;
    Ok((done, format, input_bytes, seconds))
}

/// Every output of one input with its format, the input's size and the seconds taken.
type RenderedAll = (Vec<(Rendered, Format)>, u64, f64);

/// `path` converted in memory into every output of `recipes` from one decode, as a batch
/// would: each output with its format, the input's size and the seconds it all took on one
/// core. Fails if any output fails.
fn render_outputs(path: &Path, recipes: &[Recipe]) -> Result<RenderedAll, String> {
    let input_bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let ext = path.extension().unwrap_or_default().to_string_lossy();
    let jobs: Vec<Job> = recipes
        .iter()
        .enumerate()
        .map(|(i, recipe)| Job {
            output_index: i,
            input: path.to_path_buf(),
            output: PathBuf::new(),
            format: recipe.format.resolve(&ext),
            input_bytes,
            action: Action::Convert,
            note: None,
            replace: false,
            journal: None,
        })
        .collect();
    let refs: Vec<&Job> = jobs.iter().collect();
    let started = Instant::now();
    let mut outputs = Vec::with_capacity(jobs.len());
    let mut failure = None;
    Pipeline::with_outputs(recipes.to_vec()).render_all(
        &refs,
        &mut |_, _, _| Flow::Continue,
        &mut |i, result, _| match result {
            Ok(done) => outputs.push((done, jobs[i].format)),
            Err(e) => failure = Some(e.to_string()),
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    Ok((outputs, input_bytes, started.elapsed().as_secs_f64()))
}

/// What a whole batch will probably produce, from a few of its files.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Files converted to make the estimate.
    pub sampled: usize,
    /// Sampled files that could not be converted, with why: the batch will fail them too.
    pub failed: Vec<(PathBuf, String)>,
    /// Estimated total output bytes.
    pub total_bytes: u64,
    /// Estimated wall time with the given workers, in seconds.
    pub seconds: f64,
}

/// Up to `count` of `files` spread over their formats and sizes: each format's median file
/// first, then files at evenly spaced size ranks.
pub fn sample(files: &[(PathBuf, u64)], count: usize) -> Vec<usize> {
    let mut by_size: Vec<usize> = (0..files.len()).collect();
    by_size.sort_by_key(|&i| files[i].1);
    let ext = |i: usize| {
        files[i]
            .0
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let mut chosen: Vec<usize> = Vec::new();
    let mut formats: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in &by_size {
        formats.entry(ext(i)).or_default().push(i);
    }
    for group in formats.values() {
        if chosen.len() < count {
            chosen.push(group[group.len() / 2]);
        }
    }
    // The remaining places at evenly spaced size ranks, smallest and largest included.
    let n = by_size.len();
    let slots = count.min(n).saturating_sub(chosen.len());
    for j in 0..slots {
        let rank = if slots == 1 {
            n / 2
        } else {
            j * (n - 1) / (slots - 1)
        };
        let i = by_size[rank.min(n - 1)];
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    for &i in &by_size {
        if chosen.len() >= count.min(n) {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen
}

/// Estimates the output size and time of converting every one of `files` (path, bytes) into
/// every output of `recipes` (one decode each) on `workers` workers, by converting up to `count` of them in memory ([`sample`]):
/// each file's output is its size times its format's sampled ratio, and its time its size times
/// its format's sampled seconds per byte. `None` when no sample converts.
pub fn estimate(
    files: &[(PathBuf, u64)],
    recipes: &[Recipe],
    workers: usize,
    count: usize,
    store: Option<&dyn Store>,
) -> Option<Estimate> {
    // Per extension: (input bytes, output bytes, seconds) of the samples that converted.
    let mut seen: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    let mut sampled = 0;
    let mut failed = Vec::new();
    for i in sample(files, count) {
        let (path, _) = &files[i];
        // An object is fetched first (not timed: a batch fetches ahead of its workers).
        let Ok(copy) = local(path, store) else {
            continue;
        };
        // Only sizes and time: no pictures to decode for display.
        let (outputs, input_bytes, seconds) = match render_outputs(copy.path(), recipes) {
            Ok(done) => done,
            Err(why) => {
                failed.push((path.clone(), why));
                continue;
            }
        };
        sampled += 1;
        let e = seen.entry(ext_of(path)).or_default();
        e.0 += input_bytes;
        e.1 += outputs
            .iter()
            .map(|(o, _)| o.bytes.len() as u64)
            .sum::<u64>();
        e.2 += seconds;
    }
    let all = seen
        .values()
        .fold((0, 0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    if sampled == 0 || all.0 == 0 {
        return (!failed.is_empty()).then_some(Estimate {
            sampled: 0,
            failed,
            total_bytes: 0,
            seconds: 0.0,
        });
    }
    let rates = |ext: &str| {
        let (i, o, s) = seen.get(ext).filter(|v| v.0 > 0).copied().unwrap_or(all);
        (o as f64 / i as f64, s / i as f64)
    };
    let (mut total, mut seconds) = (0.0, 0.0);
    for (path, bytes) in files {
        let (ratio, spb) = rates(&ext_of(path));
        total += *bytes as f64 * ratio;
        seconds += *bytes as f64 * spb;
    }
    // Workers beyond the cores share them: the batch is no faster than the cores allow.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    Some(Estimate {
        sampled,
        failed,
        total_bytes: total.round() as u64,
        seconds: seconds / workers.clamp(1, cores.max(1)) as f64,
    })
}

fn ext_of(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preview's Before is the source in its own shape when the edits change the shape
    /// (here a square crop of a 3:1 picture), and at the output's size when they do not.
    #[test]
    fn before_keeps_the_sources_shape_when_edits_change_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.png");
        image::RgbImage::from_fn(300, 100, |x, y| image::Rgb([x as u8, y as u8, 90]))
            .save(&path)
            .unwrap();
        let mut recipe = Recipe {
            format: crate::recipe::OutputFormat::To(crate::format::Format::Png),
            ..Recipe::default()
        };
        recipe.edits = crate::edit::EditList::parse("crop=1:1").unwrap().0;
        let t = trial(&path, &recipe, 200).unwrap();
        assert_eq!((t.after.preview_width, t.after.preview_height), (100, 100));
        assert_eq!((t.before.preview_width, t.before.preview_height), (200, 67));
        recipe.edits = crate::edit::EditList::default();
        recipe.resize = Some(crate::spec::ResizeSpec::Fit(150, 150));
        let t = trial(&path, &recipe, 200).unwrap();
        assert_eq!((t.before.preview_width, t.before.preview_height), (150, 50));
        assert_eq!((t.after.preview_width, t.after.preview_height), (150, 50));
    }

    #[test]
    fn the_sample_covers_every_format_and_the_range_of_sizes() {
        let mut files: Vec<(PathBuf, u64)> = (0..40)
            .map(|i| (PathBuf::from(format!("p{i}.jpg")), 1000 + i * 100))
            .collect();
        files.push((PathBuf::from("logo.png"), 50));
        let picked = sample(&files, 8);
        assert_eq!(picked.len(), 8);
        assert!(picked.contains(&40), "the one PNG");
        let sizes: Vec<u64> = picked.iter().map(|&i| files[i].1).collect();
        assert!(sizes.iter().any(|&b| b >= 4500) && sizes.iter().any(|&b| b <= 1500));
        let distinct: std::collections::BTreeSet<_> = picked.iter().collect();
        assert_eq!(distinct.len(), 8);
        assert_eq!(sample(&files[..3], 8).len(), 3);
    }
}
