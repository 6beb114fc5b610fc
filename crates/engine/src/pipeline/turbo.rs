//! libjpeg-turbo for JPEG decoding (at a DCT scale) and encoding: the `turbo` cargo feature.
//! Building it needs cmake and nasm, so the default build leaves it out. Each worker thread keeps
//! its own TurboJPEG handles.

use std::cell::RefCell;

use image::DynamicImage;
use turbojpeg::{Colorspace, Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

use crate::job::{ErrorKind, JobError};
use crate::recipe::Chroma;

use super::metadata::Carry;

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = RefCell::new(Decompressor::new().ok());
    static COMPRESSOR: RefCell<Option<Compressor>> = RefCell::new(Compressor::new().ok());
}

/// Decodes a JPEG's pixels at `eighths`/8 of its `stored` size, as an image, when Conveyor's own
/// scaled decoder did not (it takes this build's progressive JPEGs; `admitted`: it admitted the
/// memory but did not follow the data): this build does not
/// hand out planes (measured on W2: the same speed as through RGB, 0.05 dB more for 1.5 % more
/// bytes; docs/BENCHMARKS.md). `None` when TurboJPEG does not
/// take it (CMYK and YCCK, 12-bit and lossless JPEGs, data it rejects): then the `image` crate's
/// decoder runs and reports any error.
pub fn decode_jpeg_at(
    data: &[u8],
    stored: (u32, u32),
    eighths: u32,
    admitted: bool,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Option<Result<super::pixels::Pixels, JobError>> {
    DECOMPRESSOR.with(|cell| {
        let mut handle = cell.borrow_mut();
        let decompressor = handle.as_mut()?;
        let header = decompressor.read_header(data).ok()?;
        if header.is_lossless
            || (header.width, header.height) != (stored.0 as usize, stored.1 as usize)
        {
            return None;
        }
        let (format, channels) = match header.colorspace {
            Colorspace::Gray => (PixelFormat::GRAY, 1),
            Colorspace::YCbCr | Colorspace::RGB => (PixelFormat::RGB, 3),
            _ => return None,
        };
        let factor = match eighths {
            1 => ScalingFactor::ONE_EIGHTH,
            2 => ScalingFactor::ONE_QUARTER,
            4 => ScalingFactor::ONE_HALF,
            _ => ScalingFactor::ONE,
        };
        decompressor.set_scaling_factor(factor).ok()?;
        let size = header.scaled(factor);
        let (w, h) = (size.width, size.height);
        let bytes = (w * h * channels) as u64;
        if !admitted && let Err(e) = admit(bytes.saturating_mul(3) + data.len() as u64) {
            return Some(Err(e));
        }
        let mut pixels = vec![0u8; w * h * channels];
        let image = Image {
            pixels: &mut pixels[..],
            width: w,
            pitch: w * channels,
            height: h,
            format,
        };
        decompressor.decompress(data, image).ok()?;
        let (w, h) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
        let image = if channels == 1 {
            image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        } else {
            image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        };
        image.map(|image| Ok(super::pixels::Pixels::Image(image)))
    })
}

/// Encodes 8-bit RGB (or grey, `channels` 1) pixels as a baseline JPEG with the EXIF and ICC
/// blocks of `carry`.
pub fn encode_jpeg(
    pixels: &[u8],
    (w, h): (u32, u32),
    channels: usize,
    quality: u8,
    chroma: Chroma,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    let fail = |e: turbojpeg::Error| {
        JobError::failed(ErrorKind::Encode, format!("cannot encode JPEG: {e}"))
    };
    let jpeg = COMPRESSOR.with(|cell| {
        let mut handle = cell.borrow_mut();
        let compressor = handle
            .as_mut()
            .ok_or_else(|| JobError::failed(ErrorKind::Encode, "cannot start the JPEG encoder"))?;
        compressor
            .set_quality(i32::from(quality.clamp(1, 100)))
            .map_err(fail)?;
        let subsamp = match (channels, chroma) {
            (1, _) => Subsamp::Gray,
            (_, Chroma::S420) => Subsamp::Sub2x2,
            (_, Chroma::S444) => Subsamp::None,
        };
        compressor.set_subsamp(subsamp).map_err(fail)?;
        let image = Image {
            pixels,
            width: w as usize,
            pitch: w as usize * channels,
            height: h as usize,
            format: if channels == 1 {
                PixelFormat::GRAY
            } else {
                PixelFormat::RGB
            },
        };
        compressor.compress_to_vec(image).map_err(fail)
    })?;
    Ok(with_segments(jpeg, carry))
}

/// `jpeg` with the EXIF (APP1) and ICC (APP2, in chunks) blocks inserted after its JFIF header.
/// A block too large for JPEG is left out; the pixels are still right without it.
fn with_segments(jpeg: Vec<u8>, carry: &Carry) -> Vec<u8> {
    const MAX_PAYLOAD: usize = 65533;
    let mut segments: Vec<(u8, Vec<u8>)> = Vec::new();
    if let Some(exif) = &carry.exif
        && exif.len() + 6 <= MAX_PAYLOAD
    {
        segments.push((0xE1, [b"Exif\0\0".as_slice(), exif].concat()));
    }
    if let Some(icc) = &carry.icc {
        const CHUNK: usize = MAX_PAYLOAD - 14;
        let count = icc.len().div_ceil(CHUNK);
        if let Ok(count) = u8::try_from(count) {
            for (i, part) in icc.chunks(CHUNK).enumerate() {
                let mut payload = b"ICC_PROFILE\0".to_vec();
                payload.extend([i as u8 + 1, count]);
                payload.extend_from_slice(part);
                segments.push((0xE2, payload));
            }
        }
    }
    if segments.is_empty() {
        return jpeg;
    }
    // After SOI, and after the APP0 (JFIF) segment when it comes first.
    let mut at = 2;
    if jpeg.get(2..4) == Some(&[0xFF, 0xE0])
        && let Some(len) = jpeg.get(4..6)
    {
        at = 4 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    if at > jpeg.len() {
        return jpeg;
    }
    let mut out =
        Vec::with_capacity(jpeg.len() + segments.iter().map(|s| s.1.len() + 4).sum::<usize>());
    out.extend_from_slice(&jpeg[..at]);
    for (marker, payload) in segments {
        out.extend([0xFF, marker]);
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend(payload);
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}
