//! PNG at a higher effort: oxipng's search over the prepared pixels — lossless colour-type,
//! bit-depth and palette reductions, a filter chosen per row, libdeflate at its strongest and
//! zopfli at the top — carrying the same ICC and EXIF blocks as the default encoder. The
//! default effort does not come here: it keeps the `image` crate's fast encoder.

use std::num::NonZeroU64;

use image::DynamicImage;
use oxipng::{BitDepth, ColorType, Deflater, Options, RawImage, StripChunks, ZopfliOptions};

use super::metadata::Carry;
use crate::job::{ErrorKind, JobError};

/// The lowest effort that takes the search; below it, the fast encoder.
pub const FIRST_EFFORT: u8 = 5;

/// oxipng's options for an effort of at least [`FIRST_EFFORT`]: its presets 2 (its own
/// default) to 6 (`-o max`) for efforts 5 to 9, and at 10 preset 6 with zopfli in place of
/// libdeflate (the encoder keeps the smaller of that and effort 9's file).
pub fn options(effort: u8) -> Options {
    let preset = effort.saturating_sub(3).clamp(2, 6);
    let mut options = Options::from_preset(preset);
    if effort >= 10 {
        // Filters are judged with libdeflate, then only the winner goes through zopfli: judging
        // every filter with zopfli took 20 times as long for half a percent (docs/BENCHMARKS.md).
        options.fast_evaluation = true;
        options.deflater = Deflater::Zopfli(ZopfliOptions {
            // zopfli's advice for large inputs: a few passes carry most of the gain.
            iteration_count: NonZeroU64::MIN.saturating_add(4),
            ..ZopfliOptions::default()
        });
    }
    // Only the blocks Conveyor chose to carry are added below; keep them all.
    options.strip = StripChunks::None;
    options
}

fn failed(why: impl std::fmt::Display) -> JobError {
    JobError::failed(ErrorKind::Encode, format!("cannot encode PNG: {why}"))
}

/// The raw rows of `image` as PNG stores them (16-bit samples big-endian), its colour type and
/// depth.
fn raw(image: &DynamicImage) -> (ColorType, BitDepth, Vec<u8>) {
    fn be(samples: &[u16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_be_bytes()).collect()
    }
    let rgb = ColorType::RGB {
        transparent_color: None,
    };
    let grey = ColorType::Grayscale {
        transparent_shade: None,
    };
    match image {
        DynamicImage::ImageLuma8(px) => (grey, BitDepth::Eight, px.as_raw().clone()),
        DynamicImage::ImageLumaA8(px) => (
            ColorType::GrayscaleAlpha,
            BitDepth::Eight,
            px.as_raw().clone(),
        ),
        DynamicImage::ImageRgb8(px) => (rgb, BitDepth::Eight, px.as_raw().clone()),
        DynamicImage::ImageRgba8(px) => (ColorType::RGBA, BitDepth::Eight, px.as_raw().clone()),
        DynamicImage::ImageLuma16(px) => (grey, BitDepth::Sixteen, be(px.as_raw())),
        DynamicImage::ImageLumaA16(px) => (
            ColorType::GrayscaleAlpha,
            BitDepth::Sixteen,
            be(px.as_raw()),
        ),
        DynamicImage::ImageRgb16(px) => (rgb, BitDepth::Sixteen, be(px.as_raw())),
        DynamicImage::ImageRgba16(px) => (ColorType::RGBA, BitDepth::Sixteen, be(px.as_raw())),
        other if other.color().has_alpha() => (
            ColorType::RGBA,
            BitDepth::Sixteen,
            be(other.to_rgba16().as_raw()),
        ),
        other => (rgb, BitDepth::Sixteen, be(other.to_rgb16().as_raw())),
    }
}

/// Encodes prepared pixels as a PNG at `effort` (at least [`FIRST_EFFORT`]).
pub fn encode(image: &DynamicImage, effort: u8, carry: &Carry) -> Result<Vec<u8>, JobError> {
    let (colour, depth, data) = raw(image);
    let raw = RawImage::new(image.width(), image.height(), colour, depth, data).map_err(failed)?;
    encode_raw(raw, effort, carry)
}

/// Encodes prepared pixels as a palette PNG of at most `colors` colours (2-256), quantised and
/// dithered (Floyd-Steinberg) by quantizr, then written by oxipng at `effort` (at least its
/// quick search: a palette image is one byte a pixel). An image with no more colours than
/// that keeps every pixel exactly.
pub fn encode_palette(
    image: &DynamicImage,
    colors: u16,
    effort: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    let quantizable = quantizr::Image::new(rgba.as_raw(), w as usize, h as usize)
        .map_err(|e| failed(format!("cannot reduce it to a palette ({e:?})")))?;
    let mut options = quantizr::Options::default();
    options
        .set_max_colors(i32::from(colors.clamp(2, 256)))
        .map_err(|e| failed(format!("cannot reduce it to {colors} colours ({e:?})")))?;
    let mut result = quantizr::QuantizeResult::quantize(&quantizable, &options);
    result
        .set_dithering_level(1.0)
        .map_err(|e| failed(format!("{e:?}")))?;
    let mut indexes = vec![0u8; w as usize * h as usize];
    result
        .remap_image(&quantizable, &mut indexes)
        .map_err(|e| failed(format!("cannot map it to its palette ({e:?})")))?;
    let palette = result.get_palette();
    let entries = palette
        .entries
        .iter()
        .take(palette.count as usize)
        .map(|c| oxipng::RGBA8::new(c.r, c.g, c.b, c.a))
        .collect();
    let raw = RawImage::new(
        w,
        h,
        ColorType::Indexed { palette: entries },
        BitDepth::Eight,
        indexes,
    )
    .map_err(failed)?;
    encode_raw(raw, effort.max(FIRST_EFFORT), carry)
}

/// Encodes an image oxipng holds at `effort`, with `carry`'s blocks.
pub fn encode_raw(mut raw: RawImage, effort: u8, carry: &Carry) -> Result<Vec<u8>, JobError> {
    if let Some(icc) = &carry.icc {
        raw.add_icc_profile(icc);
    }
    if let Some(exif) = &carry.exif {
        raw.add_png_chunk(*b"eXIf", exif.clone());
    }
    let best = raw
        .create_optimized_png(&options(effort.min(9)))
        .map_err(failed)?;
    if effort < 10 {
        return Ok(best);
    }
    // zopfli on the filters libdeflate judged best is usually smaller, but not always: the
    // full search at 9 can find filters that beat it (small flat images); keep the smaller.
    let zopfli = raw.create_optimized_png(&options(effort)).map_err(failed)?;
    Ok(if zopfli.len() < best.len() {
        zopfli
    } else {
        best
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efforts_climb_oxipngs_presets_to_zopfli() {
        assert_eq!(options(5).filters, Options::from_preset(2).filters);
        assert_eq!(options(8).filters, Options::from_preset(5).filters);
        assert_eq!(options(9).filters, Options::from_preset(6).filters);
        assert!(matches!(
            options(9).deflater,
            Deflater::Libdeflater { compression: 12 }
        ));
        assert!(matches!(options(10).deflater, Deflater::Zopfli(_)));
        assert!(matches!(options(7).strip, StripChunks::None));
    }
}
