//! AVIF through libaom (the `aom` feature). rav1e, which writes AVIF in builds without it, has
//! no lossless mode and is several times slower; with this feature libaom writes every AVIF.
//! Lossless pictures are coded 4:4:4 under the identity matrix (G, B and R as the three planes,
//! full range), so every 8-bit sample comes back exactly; lossy ones 4:4:4 BT.601 full-range
//! YCbCr, as ravif does. Alpha, when any pixel is not opaque, is a second, monochrome item at
//! the same quantizer (or lossless). avif-serialize (the container writer ravif uses) wraps
//! them.
//!
//! `unsafe`: one call into the C shim `aom.c` (compiled by build.rs against the system's libaom
//! headers), with plane pointers that outlive the call and are `width * height` bytes each, and
//! the buffer it returns read once and freed by the shim's own `free`. Nothing unsafe leaves
//! this file.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_uint};

use avif_serialize::constants::MatrixCoefficients;
use image::DynamicImage;

use crate::job::{ErrorKind, JobError};

unsafe extern "C" {
    fn conveyor_aom_encode(
        planes: *const *const u8,
        width: c_uint,
        height: c_uint,
        monochrome: c_int,
        matrix: c_int,
        cq_level: c_int,
        cpu_used: c_int,
        out: *mut *mut u8,
        out_len: *mut usize,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn conveyor_aom_free(p: *mut u8);
}

/// CICP matrix coefficients: identity (G, B, R planes) and BT.601.
const IDENTITY: c_int = 0;
const BT601: c_int = 6;

/// libaom's `cpu-used` (0 slowest … 9 fastest in all-intra mode) for an effort of 0 (fastest)
/// to 10 (smallest): 11 − effort, at most 9, so the default effort 4 is cpu-used 7. Lossless
/// coding is slow below that: on three 1600-px photos, one worker, cpu-used 9 took 1.6 s, 7
/// took 4.4 s, 5 took 27.5 s, 3 took 101 s and 1 took 215 s; against 7, 9 was 2.7 % larger,
/// 5 only 2.0 % smaller and 1 only 2.7 % smaller.
pub fn cpu_used(effort: u8) -> u8 {
    11u8.saturating_sub(effort).min(9)
}

/// libaom's quantizer (`cq-level`, 0-63) for a quality of 1-100, so that a quality means
/// about the same in either build: ravif's curve gives the AV1 quantizer index (0-255) rav1e
/// would be given, and 0.3 × index − 12.2 is the level at which libaom's outputs matched
/// rav1e's PSNR on ten 1600-px photos at qualities 40, 60 and 85 (libaom codes fewer bits at
/// the same index, so its level is lower). 95 and above are level 0 (near lossless).
pub fn cq_level(quality: u8) -> u8 {
    let q = f32::from(quality.clamp(1, 100)) / 100.0;
    let x = if q >= 0.82 {
        (1.0 - q) * 2.6
    } else if q > 0.25 {
        q.mul_add(-0.5, 0.875)
    } else {
        1.0 - q
    };
    let index = x * 255.0;
    index.mul_add(0.3, -12.2).round().clamp(0.0, 63.0) as u8
}

/// One AV1 still picture: three planes or one (monochrome), `width * height` each.
/// `cq_level` None is lossless.
fn av1(
    planes: &[&[u8]],
    (width, height): (u32, u32),
    matrix: c_int,
    cq_level: Option<u8>,
    cpu_used: u8,
) -> Result<Vec<u8>, String> {
    let n = width as usize * height as usize;
    if planes.iter().any(|p| p.len() != n) || !matches!(planes.len(), 1 | 3) {
        return Err("planes do not match the picture's size".into());
    }
    let pointers: Vec<*const u8> = (0..3)
        .map(|i| planes[i.min(planes.len() - 1)].as_ptr())
        .collect();
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    let mut err = [0 as c_char; 256];
    // SAFETY: see the module comment; `pointers` holds three valid planes of `n` bytes (the
    // monochrome case reads only the first), `out`, `len` and `err` are live for the call.
    let r = unsafe {
        conveyor_aom_encode(
            pointers.as_ptr(),
            width,
            height,
            c_int::from(planes.len() == 1),
            matrix,
            cq_level.map_or(-1, c_int::from),
            c_int::from(cpu_used),
            &mut out,
            &mut len,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if r != 0 || out.is_null() {
        // SAFETY: the shim always writes a NUL-terminated message into `err` on failure (and
        // the buffer starts zeroed).
        let message = unsafe { CStr::from_ptr(err.as_ptr()) };
        return Err(message.to_string_lossy().into_owned());
    }
    // SAFETY: on success `out` points at `len` bytes the shim allocated; copied, then freed.
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    unsafe { conveyor_aom_free(out) };
    Ok(bytes)
}

/// BT.601 full-range YCbCr of an 8-bit RGB pixel, rounded (ravif's conversion).
fn ycbcr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = (b - y) * (0.5 / (1.0 - 0.114)) + 128.0;
    let cr = (r - y) * (0.5 / (1.0 - 0.299)) + 128.0;
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// The pixels as RGB, and their alpha if any pixel is not opaque.
fn split(image: &DynamicImage) -> (Vec<[u8; 3]>, Option<Vec<u8>>) {
    match image {
        DynamicImage::ImageRgba8(px) => {
            let rgb = px.pixels().map(|p| [p[0], p[1], p[2]]).collect();
            let alpha: Vec<u8> = px.pixels().map(|p| p[3]).collect();
            (rgb, alpha.iter().any(|&a| a != u8::MAX).then_some(alpha))
        }
        other => (other.to_rgb8().pixels().map(|p| p.0).collect(), None),
    }
}

/// The three planes of `pixels` through `f`, one sample each.
fn planes(pixels: &[[u8; 3]], f: impl Fn([u8; 3]) -> [u8; 3]) -> [Vec<u8>; 3] {
    let mut planes = [(); 3].map(|_| Vec::with_capacity(pixels.len()));
    for &p in pixels {
        for (plane, v) in planes.iter_mut().zip(f(p)) {
            plane.push(v);
        }
    }
    planes
}

/// Encodes 8-bit RGB or RGBA pixels (see `encode::prepare`) as 8-bit AVIF on this thread:
/// lossy at `quality`, or lossless (exact) when `quality` is None. (A 10-bit lossy path was
/// measured too: 1.5× slower, 5 % smaller only at quality 85 and above, larger at 60.)
pub fn encode(
    image: &DynamicImage,
    quality: Option<u8>,
    effort: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, JobError> {
    let size = (image.width(), image.height());
    let (rgb, alpha) = split(image);
    let fail = |what: &str, e: String| {
        JobError::failed(
            ErrorKind::Encode,
            format!("cannot encode AVIF ({what}): {e}"),
        )
    };
    let (speed, cq) = (cpu_used(effort), quality.map(cq_level));
    // Lossless: G, B, R under the identity matrix; lossy: Y, Cb, Cr.
    let (matrix, [a, b, c]) = match quality {
        None => (IDENTITY, planes(&rgb, |[r, g, b]| [g, b, r])),
        Some(_) => (BT601, planes(&rgb, ycbcr)),
    };
    let colour = av1(&[&a, &b, &c], size, matrix, cq, speed);
    let alpha = alpha.map(|a| av1(&[&a], size, IDENTITY, cq, speed));
    let colour = colour.map_err(|e| fail("image", e))?;
    let alpha = alpha.transpose().map_err(|e| fail("alpha", e))?;
    let mut container = avif_serialize::Aviffy::new();
    container
        .set_matrix_coefficients(if quality.is_some() {
            MatrixCoefficients::Bt601
        } else {
            MatrixCoefficients::Rgb
        })
        .set_full_color_range(true)
        .set_chroma_subsampling((false, false))
        .set_seq_profile(1);
    if let Some(exif) = exif {
        container.set_exif(exif.to_vec());
    }
    let mut file = Vec::new();
    let (w, h) = size;
    container
        .write(&mut file, &colour, alpha.as_deref(), w, h, 8)
        .map_err(|e| fail("container", e.to_string()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pictures() -> [DynamicImage; 2] {
        let rgba = image::RgbaImage::from_fn(37, 23, |x, y| {
            image::Rgba([
                (x * 7) as u8,
                (y * 11) as u8,
                (x * y) as u8,
                (255 - x * 3) as u8,
            ])
        });
        let rgb = DynamicImage::ImageRgba8(rgba.clone()).to_rgb8();
        [DynamicImage::ImageRgba8(rgba), DynamicImage::ImageRgb8(rgb)]
    }

    #[test]
    fn every_sample_comes_back_exactly_with_and_without_alpha() {
        for image in pictures() {
            let file = encode(&image, None, 6, None).unwrap();
            let back = super::super::avif::decode(&file, 1 << 20).unwrap().image;
            assert_eq!(back.color().has_alpha(), image.color().has_alpha());
            assert_eq!(back.to_rgba8(), image.to_rgba8(), "lossless");
        }
    }

    #[test]
    fn lossy_pictures_come_back_close_and_smaller_at_lower_quality() {
        for image in pictures() {
            let fine = encode(&image, Some(95), 6, None).unwrap();
            let coarse = encode(&image, Some(30), 6, None).unwrap();
            assert!(
                coarse.len() < fine.len(),
                "{} < {}",
                coarse.len(),
                fine.len()
            );
            let back = super::super::avif::decode(&fine, 1 << 20).unwrap().image;
            assert_eq!(back.color().has_alpha(), image.color().has_alpha());
            let (a, b) = (back.to_rgba8(), image.to_rgba8());
            let worst = a
                .as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            assert!(worst <= 24, "largest difference {worst}");
        }
    }

    #[test]
    fn effort_maps_onto_cpu_used_and_quality_onto_cq_level() {
        assert_eq!(cpu_used(0), 9);
        assert_eq!(cpu_used(2), 9);
        assert_eq!(cpu_used(4), 7);
        assert_eq!(cpu_used(10), 1);
        assert_eq!(cpu_used(u8::MAX), 0);
        assert_eq!(cq_level(100), 0);
        assert_eq!(cq_level(95), 0);
        assert_eq!(cq_level(60), 32);
        assert_eq!(cq_level(1), 63);
        let levels: Vec<u8> = (1..=100).map(cq_level).collect();
        assert!(levels.windows(2).all(|w| w[0] >= w[1]), "{levels:?}");
    }
}
