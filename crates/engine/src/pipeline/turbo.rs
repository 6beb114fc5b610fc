//! The `turbo` cargo feature: JPEG decoding at a DCT scale through mozjpeg's libjpeg-turbo code
//! with its SIMD ([`super::mozjpeg`]; the default effort's encoder is in `encode.rs`).
//! Assembling the SIMD needs nasm, so the default build leaves it out.

use image::DynamicImage;

use crate::job::JobError;

use super::mozjpeg;

/// Decodes a JPEG's pixels at `eighths`/8 of its `stored` size, as an image, when Conveyor's own
/// scaled decoder did not (it takes this build's progressive JPEGs; `admitted`: it admitted the
/// memory but did not follow the data): this build does not
/// hand out planes (measured on W2: the same speed as through RGB, 0.05 dB more for 1.5 % more
/// bytes; docs/BENCHMARKS.md). `None` when the library does not
/// take it (CMYK and YCCK, 12-bit and lossless JPEGs, data it rejects or warns about): then the
/// `image` crate's decoder runs and reports any error.
pub fn decode_jpeg_at(
    data: &[u8],
    stored: (u32, u32),
    eighths: u32,
    admitted: bool,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Option<Result<super::pixels::Pixels, JobError>> {
    let (w, h, channels, pixels) = match mozjpeg::decode_at(data, stored, eighths, admitted, admit)?
    {
        Ok(decoded) => decoded,
        Err(e) => return Some(Err(e)),
    };
    let image = if channels == 1 {
        image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
    };
    image.map(|image| Ok(super::pixels::Pixels::Image(image)))
}
