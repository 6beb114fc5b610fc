//! Encoding the output format, with pixels converted to what the format can hold.

use std::io::Cursor;

use image::codecs::{
    bmp::BmpEncoder, gif::GifEncoder, png::PngEncoder, qoi::QoiEncoder, tiff::TiffEncoder,
    webp::WebPEncoder,
};
use image::{ColorType, DynamicImage, ImageEncoder, ImageError, RgbImage};

use crate::engine::format::{Control, Format};
use crate::engine::job::{ErrorKind, JobError};
use crate::engine::recipe::{Recipe, Rgb};

use super::metadata::Carry;

/// Composites `image` over an opaque background colour.
pub fn flatten(image: &DynamicImage, background: Rgb) -> RgbImage {
    let rgba = image.to_rgba8();
    let [br, bg, bb] = background.0.map(u32::from);
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = src.0.map(u32::from);
        let mix = |c: u32, back: u32| ((c * a + back * (255 - a) + 127) / 255) as u8;
        dst.0 = [mix(r, br), mix(g, bg), mix(b, bb)];
    }
    out
}

fn is_grey(c: ColorType) -> bool {
    matches!(
        c,
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16
    )
}

/// Converts pixels to a layout `format` stores, flattening alpha where it has none.
pub fn prepare(image: DynamicImage, format: Format, background: Rgb) -> DynamicImage {
    let c = image.color();
    match format {
        Format::Jpeg | Format::Bmp => {
            let flat = if c.has_alpha() {
                DynamicImage::ImageRgb8(flatten(&image, background))
            } else {
                image
            };
            if format == Format::Jpeg && is_grey(c) {
                DynamicImage::ImageLuma8(flat.to_luma8())
            } else if matches!(flat.color(), ColorType::Rgb8) {
                flat
            } else {
                DynamicImage::ImageRgb8(flat.to_rgb8())
            }
        }
        Format::Png | Format::Tiff => match c {
            ColorType::L8 | ColorType::Rgb8 | ColorType::Rgba8 | ColorType::L16 => image,
            ColorType::Rgb16 | ColorType::Rgba16 => image,
            ColorType::La8 if format == Format::Png => image,
            ColorType::La16 if format == Format::Png => image,
            ColorType::La8 => DynamicImage::ImageRgba8(image.to_rgba8()),
            ColorType::La16 => DynamicImage::ImageRgba16(image.to_rgba16()),
            _ if c.has_alpha() => DynamicImage::ImageRgba16(image.to_rgba16()),
            _ => DynamicImage::ImageRgb16(image.to_rgb16()),
        },
        // HEIC and JPEG XL are not written (`encode` says so); their arm only keeps the match whole.
        Format::Webp | Format::Qoi | Format::Avif | Format::Heic | Format::Jxl => {
            if c.has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            }
        }
        Format::Gif => DynamicImage::ImageRgba8(image.to_rgba8()),
    }
}

fn encode_error(format: Format, e: &ImageError) -> JobError {
    JobError::failed(
        ErrorKind::Encode,
        format!("cannot encode {}: {e}", format.label()),
    )
}

fn with_metadata<E: ImageEncoder>(mut encoder: E, carry: &Carry) -> E {
    // Encoders that cannot carry a block say so; the output is still correct without it.
    if let Some(icc) = &carry.icc {
        let _ = encoder.set_icc_profile(icc.clone());
    }
    if let Some(exif) = &carry.exif {
        let _ = encoder.set_exif_metadata(exif.clone());
    }
    encoder
}

/// Encodes prepared pixels (see [`prepare`]) as `format` at the recipe's quality.
pub fn encode(
    image: &DynamicImage,
    format: Format,
    recipe: &Recipe,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    encode_at(image, format, recipe, recipe.quality, carry)
}

/// Encodes prepared pixels (see [`prepare`]) as `format`, lossy formats at `quality`.
pub fn encode_at(
    image: &DynamicImage,
    format: Format,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    let (w, h) = (image.width(), image.height());
    let max = format.spec().max_side;
    if w > max || h > max {
        return Err(JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "{w}x{h} is too large for {} (at most {max} px a side); resize it or choose another format",
                format.label()
            ),
        ));
    }
    let mut out = Cursor::new(Vec::new());
    let fail = |e: ImageError| encode_error(format, &e);
    match format {
        Format::Jpeg => return encode_jpeg(image, recipe, quality, carry),
        Format::Png => {
            image
                .write_with_encoder(with_metadata(PngEncoder::new(&mut out), carry))
                .map_err(fail)?;
        }
        Format::Webp if recipe.lossless => {
            let enc = WebPEncoder::new_lossless(&mut out);
            image
                .write_with_encoder(with_metadata(enc, carry))
                .map_err(fail)?;
        }
        Format::Webp => {
            let webp = encode_lossy_webp(image, quality)?;
            return Ok(super::metadata::webp_with_metadata(
                webp,
                carry.icc.as_deref(),
                carry.exif.as_deref(),
            ));
        }
        Format::Gif => {
            image
                .write_with_encoder(GifEncoder::new(&mut out))
                .map_err(fail)?;
        }
        Format::Bmp => {
            image
                .write_with_encoder(BmpEncoder::new(&mut out))
                .map_err(fail)?;
        }
        Format::Tiff => {
            let enc = TiffEncoder::new(&mut out);
            image
                .write_with_encoder(with_metadata(enc, carry))
                .map_err(fail)?;
            // The tiff crate writes no EXIF; add its tags to the file it wrote.
            if let Some(exif) = &carry.exif {
                return Ok(super::tiff_exif::tiff_with_exif(out.into_inner(), exif));
            }
        }
        Format::Qoi => {
            image
                .write_with_encoder(QoiEncoder::new(&mut out))
                .map_err(fail)?;
        }
        Format::Avif => {
            return crate::engine::codec::avif::encode(
                image,
                quality,
                recipe.lossless && format.takes(Control::Lossless),
                recipe.effort,
                carry.exif.as_deref(),
                carry.icc.as_deref(),
            );
        }
        Format::Heic | Format::Jxl => {
            return Err(JobError::failed(
                ErrorKind::Unsupported,
                format!("Conveyor does not write {} images", format.label()),
            ));
        }
    }
    Ok(out.into_inner())
}

/// JPEG through libjpeg-turbo (the `turbo` feature).
#[cfg(feature = "turbo")]
fn encode_jpeg(
    image: &DynamicImage,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(px) => {
            super::turbo::encode_jpeg(px.as_raw(), (w, h), 1, quality, recipe.chroma, carry)
        }
        DynamicImage::ImageRgb8(px) => {
            super::turbo::encode_jpeg(px.as_raw(), (w, h), 3, quality, recipe.chroma, carry)
        }
        other => {
            let px = other.to_rgb8();
            super::turbo::encode_jpeg(px.as_raw(), (w, h), 3, quality, recipe.chroma, carry)
        }
    }
}

/// JPEG through jpeg-encoder (AVX2 where the CPU has it), with the recipe's chroma subsampling.
#[cfg(not(feature = "turbo"))]
fn encode_jpeg(
    image: &DynamicImage,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    use crate::engine::recipe::Chroma;
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType as JpegColour, Encoder, SamplingFactor};
    let (w, h) = (image.width(), image.height());
    let too_large = || {
        JobError::failed(
            ErrorKind::TooLarge,
            format!("{w}x{h} is too large for JPEG (at most 65535 px a side)"),
        )
    };
    let width = u16::try_from(w).map_err(|_| too_large())?;
    let height = u16::try_from(h).map_err(|_| too_large())?;
    let rgb;
    let (data, colour): (&[u8], JpegColour) = match image {
        DynamicImage::ImageLuma8(px) => (px.as_raw(), JpegColour::Luma),
        DynamicImage::ImageRgb8(px) => (px.as_raw(), JpegColour::Rgb),
        other => {
            rgb = other.to_rgb8();
            (rgb.as_raw(), JpegColour::Rgb)
        }
    };
    let mut out = Vec::with_capacity(data.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(match recipe.chroma {
        Chroma::S420 => SamplingFactor::R_4_2_0,
        Chroma::S444 => SamplingFactor::R_4_4_4,
    });
    // Averaging each 2x2 block (as libjpeg does) rather than taking its top-left pixel keeps
    // colour edges from stair-stepping.
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    // A block too large for its segment is left out; the pixels are still right without it.
    if let Some(exif) = &carry.exif {
        let _ = encoder.add_exif_metadata(exif);
    }
    if let Some(icc) = &carry.icc {
        let _ = encoder.add_icc_profile(icc);
    }
    encoder
        .encode(data, width, height, colour)
        .map_err(|e| JobError::failed(ErrorKind::Encode, format!("cannot encode JPEG: {e}")))?;
    Ok(out)
}

/// Lossy WebP through libwebp.
fn encode_lossy_webp(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, JobError> {
    let q = f32::from(quality.clamp(1, 100));
    match image {
        DynamicImage::ImageRgba8(px) => {
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), true, q)
        }
        DynamicImage::ImageRgb8(px) => {
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), false, q)
        }
        other => {
            let px: RgbImage = other.to_rgb8();
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), false, q)
        }
    }
}

fn encode_webp_pixels(
    data: &[u8],
    w: u32,
    h: u32,
    alpha: bool,
    q: f32,
) -> Result<Vec<u8>, JobError> {
    let encoder = if alpha {
        webp::Encoder::from_rgba(data, w, h)
    } else {
        webp::Encoder::from_rgb(data, w, h)
    };
    encoder
        .encode_simple(false, q)
        .map(|m| m.to_vec())
        .map_err(|e| JobError::failed(ErrorKind::Encode, format!("cannot encode WebP: {e:?}")))
}
