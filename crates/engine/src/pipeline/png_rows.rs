//! PNG read row by row from the file, never whole. With one resizing output the rows go
//! straight into a strip resize ([`resize::resize_rows`]), so a job holds a strip of the source
//! and the output instead of the file, the whole image and its premultiplied copy; otherwise
//! the rows fill the image, still without a copy of the file in memory.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use fast_image_resize::PixelType;
use image::error::{
    DecodingError, ImageError, ImageFormatHint, LimitError, LimitErrorKind, ParameterError,
    ParameterErrorKind,
};
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageBuffer, ImageFormat};

use super::resize;
use crate::format::Format;
use crate::job::{ErrorKind, JobError};
use crate::recipe::{Filter, ResizeSpec};

/// How far from the end to look for IEND, to tell a file cut short from a damaged one.
const TAIL: u64 = 4096;

/// The `image` crate's reading of a png error, so messages match its decoder's.
fn from_png(err: png::DecodingError) -> ImageError {
    match err {
        png::DecodingError::IoError(e) => ImageError::IoError(e),
        e @ png::DecodingError::Format(_) => ImageError::Decoding(DecodingError::new(
            ImageFormatHint::Exact(ImageFormat::Png),
            e,
        )),
        e @ png::DecodingError::Parameter(_) => ImageError::Parameter(ParameterError::from_kind(
            ParameterErrorKind::Generic(e.to_string()),
        )),
        png::DecodingError::LimitsExceeded => {
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory))
        }
    }
}

/// A decoded image's colour type and the matching resize pixel type.
fn layout(color: png::ColorType, depth: png::BitDepth) -> Option<(ColorType, PixelType)> {
    use png::BitDepth::{Eight, Sixteen};
    use png::ColorType as C;
    Some(match (color, depth) {
        (C::Grayscale, Eight) => (ColorType::L8, PixelType::U8),
        (C::GrayscaleAlpha, Eight) => (ColorType::La8, PixelType::U8x2),
        (C::Rgb, Eight) => (ColorType::Rgb8, PixelType::U8x3),
        (C::Rgba, Eight) => (ColorType::Rgba8, PixelType::U8x4),
        (C::Grayscale, Sixteen) => (ColorType::L16, PixelType::U16),
        (C::GrayscaleAlpha, Sixteen) => (ColorType::La16, PixelType::U16x2),
        (C::Rgb, Sixteen) => (ColorType::Rgb16, PixelType::U16x3),
        (C::Rgba, Sixteen) => (ColorType::Rgba16, PixelType::U16x4),
        _ => return None,
    })
}

/// 8-bit samples as an image of `color`.
fn image8(color: ColorType, (w, h): (u32, u32), samples: Vec<u8>) -> Option<DynamicImage> {
    Some(match color {
        ColorType::L8 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::La8 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::Rgb8 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::Rgba8 => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, samples)?),
        _ => return None,
    })
}

/// 16-bit samples as an image of `color`.
fn image16(color: ColorType, (w, h): (u32, u32), samples: Vec<u16>) -> Option<DynamicImage> {
    Some(match color {
        ColorType::L16 => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::La16 => DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::Rgb16 => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, samples)?),
        ColorType::Rgba16 => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, samples)?),
        _ => return None,
    })
}

/// A still PNG's pixels and what came with them.
pub(super) struct Rows {
    /// The pixels as stored (orientation not applied), or the one output's when `resized`.
    pub image: DynamicImage,
    /// The EXIF orientation.
    pub orientation: Orientation,
    /// The embedded ICC profile.
    pub icc: Option<Vec<u8>>,
    /// The raw EXIF block.
    pub exif: Option<Vec<u8>>,
    /// The stored size.
    pub size: (u32, u32),
    /// Whether `image` is already the output's final size and crop.
    pub resized: bool,
}

/// What the caller asks of [`decode`], and how it judges sizes and words errors.
pub(super) struct Ask<'a> {
    /// The largest single allocation the decoder may make.
    pub max_alloc: u64,
    /// The one output's resize (spec, whether enlarging is allowed, filter), when there is
    /// exactly one output and it resizes.
    pub resize: Option<(ResizeSpec, bool, Filter)>,
    /// Refuses a header's size.
    pub check_size: &'a dyn Fn(u32, u32) -> Result<(), JobError>,
    /// Words a decoder error, given the file's last bytes (to tell a file cut short).
    pub describe: &'a dyn Fn(&ImageError, &[u8]) -> JobError,
}

/// Decodes `file` (of `len` bytes, positioned at its start) when it is a still PNG: `None`
/// when it is not a PNG, or is an animated one (whose frames need the whole file), leaving the
/// file at its start for the whole-file path. `admit` is called with the memory the job will
/// hold before any pixel is decoded. With `ask.resize` the image comes back at that output's
/// final size and crop, with `resized` set.
pub(super) fn decode(
    file: &mut File,
    len: u64,
    ask: &Ask<'_>,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Result<Option<Rows>, JobError> {
    let io = |e: std::io::Error| {
        JobError::failed(
            ErrorKind::of_io(&e),
            format!("cannot read the file: {}", crate::job::io_words(&e)),
        )
    };
    let mut head = [0u8; 8];
    let got = file.read(&mut head).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    if Format::sniff(&head[..got]) != Some(Format::Png) {
        return Ok(None);
    }
    // The end of the file, to tell a cut-short file (no IEND) from damage in the middle.
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .map_err(io)?;
    file.by_ref()
        .take(TAIL)
        .read_to_end(&mut tail)
        .map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let fail = |e: png::DecodingError| (ask.describe)(&from_png(e), &tail);

    let bytes = usize::try_from(ask.max_alloc).unwrap_or(usize::MAX);
    let mut decoder = png::Decoder::new_with_limits(
        BufReader::with_capacity(1 << 16, file.try_clone().map_err(io)?),
        png::Limits { bytes },
    );
    let (w, h) = decoder.read_header_info().map_err(fail)?.size();
    (ask.check_size)(w, h)?;
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(fail)?;
    let info = reader.info();
    if info.animation_control.is_some() {
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        return Ok(None);
    }
    let icc = info.icc_profile.as_ref().map(|p| p.to_vec());
    let exif = info.exif_metadata.as_ref().map(|e| e.to_vec());
    let interlaced = info.interlaced;
    let orientation = exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (png_color, depth) = reader.output_color_type();
    let Some((color, pixel)) = layout(png_color, depth) else {
        return Err(JobError::failed(
            ErrorKind::Unsupported,
            format!("unsupported PNG variant: {png_color:?} at {depth:?}"),
        ));
    };
    let sixteen = depth == png::BitDepth::Sixteen;

    // One resizing output, stored upright, rows in order: resize while reading. (A rotated
    // PNG is rare; an interlaced one delivers its rows in seven passes.)
    let geometry = match ask.resize {
        Some((spec, allow_upscale, filter))
            if orientation == Orientation::NoTransforms && !interlaced =>
        {
            let g = spec.geometry(w, h, allow_upscale);
            (g.output != (w, h) || g.scaled != g.output).then_some((g, filter))
        }
        _ => None,
    };
    let size = (w, h);
    let (image, resized) = match geometry {
        Some((g, filter)) => {
            let out = u64::from(g.output.0) * u64::from(g.output.1) * pixel.size() as u64;
            admit(resize::strip_bytes(size, pixel, g) + out.saturating_mul(3))?;
            let short = || {
                JobError::failed(
                    ErrorKind::Corrupt,
                    "corrupt PNG data: fewer rows than its header says",
                )
            };
            let image = if sixteen {
                let samples = resize::resize_rows::<u16>(size, pixel, g, filter, &mut |row| {
                    reader
                        .read_row(bytemuck::cast_slice_mut(row))
                        .map_err(fail)?
                        .ok_or_else(short)?;
                    row.iter_mut().for_each(|v| *v = u16::from_be(*v));
                    Ok(())
                })?;
                image16(color, g.output, samples)
            } else {
                let samples = resize::resize_rows::<u8>(size, pixel, g, filter, &mut |row| {
                    reader.read_row(row).map_err(fail)?.ok_or_else(short)?;
                    Ok(())
                })?;
                image8(color, g.output, samples)
            };
            (image, true)
        }
        None => {
            let total = u64::from(w) * u64::from(h) * pixel.size() as u64;
            admit(total.saturating_mul(3))?;
            let samples = usize::try_from(total).unwrap_or(usize::MAX) / (1 + usize::from(sixteen));
            let image = if sixteen {
                let mut buf = vec![0u16; samples];
                reader
                    .next_frame(bytemuck::cast_slice_mut(&mut buf))
                    .map_err(fail)?;
                buf.iter_mut().for_each(|v| *v = u16::from_be(*v));
                image16(color, size, buf)
            } else {
                let mut buf = vec![0u8; samples];
                reader.next_frame(&mut buf).map_err(fail)?;
                image8(color, size, buf)
            };
            (image, false)
        }
    };
    let image = image.ok_or_else(|| {
        JobError::failed(
            ErrorKind::Panic,
            "internal error: PNG samples do not fit the image",
        )
    })?;
    Ok(Some(Rows {
        image,
        orientation,
        icc,
        exif,
        size,
        resized,
    }))
}
