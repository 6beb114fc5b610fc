//! Lossless AVIF through libaom (the `aom` feature): rav1e, which writes every other AVIF, has
//! no lossless mode. The picture is coded 4:4:4 under the identity matrix (G, B and R as the
//! three planes, full range), so every 8-bit sample comes back exactly; alpha, when any pixel
//! is not opaque, is a second, monochrome lossless item. avif-serialize (the container writer
//! ravif uses) wraps the two.
//!
//! `unsafe`: one call into the C shim `aom.c` (compiled by build.rs against the system's libaom
//! headers), with plane pointers that outlive the call and are `width * height` bytes each, and
//! the buffer it returns read once and freed by the shim's own `free`. Nothing unsafe leaves
//! this file.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_uint};

use image::DynamicImage;

use crate::engine::job::{ErrorKind, JobError};

unsafe extern "C" {
    fn conveyor_aom_lossless(
        planes: *const *const u8,
        width: c_uint,
        height: c_uint,
        monochrome: c_int,
        cpu_used: c_int,
        out: *mut *mut u8,
        out_len: *mut usize,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn conveyor_aom_free(p: *mut u8);
}

/// libaom's `cpu-used` (0 slowest … 9 fastest in all-intra mode) for an effort of 0 (fastest)
/// to 10 (smallest): 11 − effort, at most 9, so the default effort 4 is cpu-used 7. Lossless
/// coding is slow below that: on three 1600-px photos, one worker, cpu-used 9 took 1.6 s, 7
/// took 4.4 s, 5 took 27.5 s, 3 took 101 s and 1 took 215 s; against 7, 9 was 2.7 % larger,
/// 5 only 2.0 % smaller and 1 only 2.7 % smaller.
pub fn cpu_used(effort: u8) -> u8 {
    11u8.saturating_sub(effort).min(9)
}

/// One AV1 still picture: three planes (G, B, R) or one (monochrome), `width * height` each.
fn av1(planes: &[&[u8]], width: u32, height: u32, cpu_used: u8) -> Result<Vec<u8>, String> {
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
        conveyor_aom_lossless(
            pointers.as_ptr(),
            width,
            height,
            c_int::from(planes.len() == 1),
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

/// Encodes 8-bit RGB or RGBA pixels (see `encode::prepare`) as a lossless AVIF on this thread.
pub fn encode_lossless(
    image: &DynamicImage,
    effort: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, JobError> {
    let (w, h) = (image.width(), image.height());
    let n = w as usize * h as usize;
    let (mut g, mut b, mut r) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut alpha = None;
    match image {
        DynamicImage::ImageRgba8(px) => {
            let mut a = Vec::with_capacity(n);
            for p in px.pixels() {
                r.push(p[0]);
                g.push(p[1]);
                b.push(p[2]);
                a.push(p[3]);
            }
            if a.iter().any(|&v| v != u8::MAX) {
                alpha = Some(a);
            }
        }
        other => {
            for p in other.to_rgb8().pixels() {
                r.push(p[0]);
                g.push(p[1]);
                b.push(p[2]);
            }
        }
    }
    let fail = |what: &str, e: String| {
        JobError::failed(
            ErrorKind::Encode,
            format!("cannot encode lossless AVIF ({what}): {e}"),
        )
    };
    let speed = cpu_used(effort);
    let colour = av1(&[&g, &b, &r], w, h, speed).map_err(|e| fail("image", e))?;
    let alpha = match &alpha {
        Some(a) => Some(av1(&[a], w, h, speed).map_err(|e| fail("alpha", e))?),
        None => None,
    };
    let mut container = avif_serialize::Aviffy::new();
    container
        .set_matrix_coefficients(avif_serialize::constants::MatrixCoefficients::Rgb)
        .set_full_color_range(true)
        .set_chroma_subsampling((false, false))
        .set_seq_profile(1);
    if let Some(exif) = exif {
        container.set_exif(exif.to_vec());
    }
    let mut file = Vec::new();
    container
        .write(&mut file, &colour, alpha.as_deref(), w, h, 8)
        .map_err(|e| fail("container", e.to_string()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_comes_back_exactly_with_and_without_alpha() {
        let rgba = image::RgbaImage::from_fn(37, 23, |x, y| {
            image::Rgba([
                (x * 7) as u8,
                (y * 11) as u8,
                (x * y) as u8,
                (255 - x * 3) as u8,
            ])
        });
        for image in [
            DynamicImage::ImageRgba8(rgba.clone()),
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8()),
        ] {
            let file = encode_lossless(&image, 6, None).unwrap();
            let back = super::super::avif::decode(&file, 1 << 20).unwrap().image;
            assert_eq!(back.color().has_alpha(), image.color().has_alpha());
            assert_eq!(back.to_rgba8(), image.to_rgba8(), "lossless");
        }
    }

    #[test]
    fn effort_maps_onto_cpu_used_from_fastest_to_slowest() {
        assert_eq!(cpu_used(0), 9);
        assert_eq!(cpu_used(2), 9);
        assert_eq!(cpu_used(4), 7);
        assert_eq!(cpu_used(10), 1);
        assert_eq!(cpu_used(u8::MAX), 0);
    }
}
