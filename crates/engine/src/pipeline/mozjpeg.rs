//! mozjpeg (libjpeg-turbo with Mozilla's encoder work), built from source by cc through
//! `mozjpeg-sys`: JPEG at a higher effort in every build (progressive scans, optimised Huffman
//! tables, trellis quantisation), and with the `turbo` feature (its SIMD, assembled by nasm)
//! the JPEG decoder at a DCT scale and the default effort's encoder, which in its "fastest"
//! profile writes what libjpeg-turbo writes. One library, so the two cannot clash over the
//! `jpeg_*` symbols as libjpeg-turbo and mozjpeg linked side by side did.
//!
//! libjpeg reports an error by calling `error_exit`, which must not return: here it unwinds
//! (`std::panic::resume_unwind`, which runs no panic hook) through the C code (built with
//! `-fexceptions`, the `unwinding` feature) to the `catch_unwind` around each call, and a guard
//! frees what the library held. Warnings stop the work too, as TurboJPEG reported them: a
//! damaged file is then read by the `image` crate's decoder, which says what is wrong.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_uint, c_ulong};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg_sys as ffi;

use super::metadata::Carry;
use crate::job::{ErrorKind, JobError};
use crate::recipe::Chroma;

/// The first effort that takes mozjpeg's encoder in place of the fast one.
pub const FIRST_EFFORT: u8 = 5;

/// The first effort with trellis quantisation and scans chosen per image.
const TRELLIS_EFFORT: u8 = 7;

/// The quality for mozjpeg's tables (ImageMagick's, its default) that looks as libjpeg's
/// standard tables do at `quality`: on photos and artwork resized to 1600 px, the SSIMULACRA2
/// of the default effort at 60, 70, 75, 85 and 90 is reached by mozjpeg's tables about 4, 3,
/// 2, 1 and 1 higher (docs/BENCHMARKS.md, "Smallest files").
pub fn mozjpeg_quality(quality: c_int) -> c_int {
    (quality + (100 - quality) / 10).clamp(1, 100)
}

/// What the library said when it gave up (its message, from `format_message`).
struct Stopped(String);

unsafe extern "C-unwind" fn stop(cinfo: &mut ffi::jpeg_common_struct) {
    let mut message = String::from("the JPEG library stopped");
    // SAFETY: `err` is the error manager this module installed; format_message writes at most
    // JMSG_LENGTH_MAX (200) bytes with a terminating NUL.
    unsafe {
        if let Some(err) = cinfo.err.as_ref()
            && let Some(format) = err.format_message
        {
            let mut buffer = [0u8; 200];
            format(cinfo, &*buffer.as_mut_ptr().cast::<[u8; 80]>());
            let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            message = String::from_utf8_lossy(&buffer[..end]).into_owned();
        }
    }
    resume_unwind(Box::new(Stopped(message)));
}

unsafe extern "C-unwind" fn warn(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level < 0 {
        // SAFETY: as for `stop`.
        unsafe { stop(cinfo) }
    }
}

fn error_manager() -> Box<ffi::jpeg_error_mgr> {
    // SAFETY: jpeg_std_error fills every field of a zeroed manager.
    unsafe {
        let mut err: Box<ffi::jpeg_error_mgr> = Box::new(std::mem::zeroed());
        ffi::jpeg_std_error(&mut err);
        err.error_exit = Some(stop);
        err.emit_message = Some(warn);
        err
    }
}

/// What a caught unwind said: the library's message, or a panic's.
fn reason(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<Stopped>() {
        Ok(stopped) => stopped.0,
        Err(other) => other
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| other.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the JPEG library failed".into()),
    }
}

/// How to encode: the fast profile (libjpeg-turbo's output) or mozjpeg's search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// libjpeg-turbo's baseline JPEG with the standard Huffman tables.
    Fastest,
    /// Progressive, optimised Huffman tables; from [`TRELLIS_EFFORT`] trellis quantisation and
    /// scans chosen per image as well.
    Effort(u8),
}

/// A compressor and its output buffer, destroyed and freed however the work ends.
struct Compressor {
    cinfo: ffi::jpeg_compress_struct,
    _err: Box<ffi::jpeg_error_mgr>,
    buffer: *mut u8,
    size: c_ulong,
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: cinfo was created by jpeg_create_compress; the buffer, if any, was allocated
        // by the library with malloc for jpeg_mem_dest.
        unsafe {
            ffi::jpeg_destroy_compress(&mut self.cinfo);
            if !self.buffer.is_null() {
                libc::free(self.buffer.cast());
            }
        }
    }
}

/// Encodes 8-bit RGB (or grey, `channels` 1) pixels as JPEG with `carry`'s EXIF and ICC blocks.
pub fn encode(
    pixels: &[u8],
    (w, h): (u32, u32),
    channels: usize,
    quality: u8,
    chroma: Chroma,
    carry: &Carry,
    profile: Profile,
) -> Result<Vec<u8>, JobError> {
    let stride = w as usize * channels;
    if pixels.len() < stride * h as usize || !(channels == 1 || channels == 3) {
        return Err(JobError::failed(
            ErrorKind::Encode,
            "cannot encode JPEG: the pixels do not fill the image",
        ));
    }
    let run = || {
        let mut err = error_manager();
        // SAFETY: every libjpeg call below is made in the order its documentation gives, on a
        // struct created here; rows point into `pixels`, which outlives the compressor.
        unsafe {
            let mut c = Box::new(Compressor {
                cinfo: std::mem::zeroed(),
                _err: Box::new(std::mem::zeroed()),
                buffer: std::ptr::null_mut(),
                size: 0,
            });
            c.cinfo.common.err = &mut *err;
            c._err = err;
            ffi::jpeg_create_compress(&mut c.cinfo);
            let Compressor {
                cinfo,
                buffer,
                size,
                ..
            } = &mut *c;
            ffi::jpeg_mem_dest(cinfo, buffer, size);
            cinfo.image_width = w;
            cinfo.image_height = h;
            cinfo.input_components = channels as c_int;
            cinfo.in_color_space = if channels == 1 {
                ffi::J_COLOR_SPACE::JCS_GRAYSCALE
            } else {
                ffi::J_COLOR_SPACE::JCS_RGB
            };
            let profile_value = match profile {
                Profile::Fastest => ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST,
                Profile::Effort(_) => ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_MAX_COMPRESSION,
            };
            ffi::jpeg_c_set_int_param(
                cinfo,
                ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                profile_value as c_int,
            );
            ffi::jpeg_set_defaults(cinfo);
            let mut quality = c_int::from(quality.clamp(1, 100));
            if let Profile::Effort(effort) = profile {
                cinfo.optimize_coding = 1;
                if effort < TRELLIS_EFFORT {
                    // The same quantised blocks as the default effort, coded smaller: libjpeg's
                    // standard tables, no trellis, progressive scans.
                    ffi::jpeg_c_set_int_param(cinfo, ffi::J_INT_PARAM::JINT_BASE_QUANT_TBL_IDX, 0);
                    for param in [
                        ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT,
                        ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT_DC,
                        ffi::J_BOOLEAN_PARAM::JBOOLEAN_OPTIMIZE_SCANS,
                        ffi::J_BOOLEAN_PARAM::JBOOLEAN_OVERSHOOT_DERINGING,
                    ] {
                        ffi::jpeg_c_set_bool_param(cinfo, param, 0);
                    }
                    ffi::jpeg_simple_progression(cinfo);
                } else {
                    // mozjpeg's own settings (what sharp's `mozjpeg: true` asks for), with the
                    // quality raised to where its tables look as the standard ones do.
                    quality = mozjpeg_quality(quality);
                }
            }
            ffi::jpeg_set_quality(cinfo, quality, 1);
            if channels == 3 {
                let factor = match chroma {
                    Chroma::S420 => 2,
                    Chroma::S444 => 1,
                };
                let luma = &mut *cinfo.comp_info;
                luma.h_samp_factor = factor;
                luma.v_samp_factor = factor;
                for i in 1..3 {
                    let component = &mut *cinfo.comp_info.add(i);
                    component.h_samp_factor = 1;
                    component.v_samp_factor = 1;
                }
            }
            ffi::jpeg_start_compress(cinfo, 1);
            // A block too large for its segment is left out; the pixels are right without it.
            if let Some(exif) = &carry.exif
                && exif.len() + 6 <= 65533
            {
                let block = [b"Exif\0\0".as_slice(), exif].concat();
                ffi::jpeg_write_marker(cinfo, 0xE1, block.as_ptr(), block.len() as c_uint);
            }
            if let Some(icc) = &carry.icc
                && icc.len() <= 255 * (65533 - 14)
            {
                ffi::jpeg_write_icc_profile(cinfo, icc.as_ptr(), icc.len() as c_uint);
            }
            let rows: Vec<*const u8> = (0..h as usize)
                .map(|y| pixels.as_ptr().add(y * stride))
                .collect();
            let mut next = 0;
            while next < rows.len() {
                let wrote = ffi::jpeg_write_scanlines(
                    cinfo,
                    rows.as_ptr().add(next),
                    (rows.len() - next) as u32,
                );
                if wrote == 0 {
                    break;
                }
                next += wrote as usize;
            }
            ffi::jpeg_finish_compress(cinfo);
            if buffer.is_null() {
                return Vec::new();
            }
            std::slice::from_raw_parts(*buffer, *size as usize).to_vec()
        }
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(jpeg) if !jpeg.is_empty() => Ok(jpeg),
        Ok(_) => Err(JobError::failed(
            ErrorKind::Encode,
            "cannot encode JPEG: the encoder wrote nothing",
        )),
        Err(payload) => Err(JobError::failed(
            ErrorKind::Encode,
            format!("cannot encode JPEG: {}", reason(payload)),
        )),
    }
}

/// A decompressor, destroyed however the work ends.
#[cfg(feature = "turbo")]
struct Decompressor {
    dinfo: ffi::jpeg_decompress_struct,
    _err: Box<ffi::jpeg_error_mgr>,
}

#[cfg(feature = "turbo")]
impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: dinfo was created by jpeg_create_decompress.
        unsafe { ffi::jpeg_destroy_decompress(&mut self.dinfo) }
    }
}

/// Decoded pixels: width, height, channels (1 grey, 3 RGB) and the 8-bit samples.
#[cfg(feature = "turbo")]
pub type Decoded = (u32, u32, usize, Vec<u8>);

/// A JPEG's pixels at `eighths`/8 of its size: `(width, height, channels, pixels)`, 8-bit grey
/// or RGB. `None` when the library does not take the file (CMYK and YCCK, 12-bit and lossless
/// JPEGs, damaged data, a size other than `stored`); `Some(Err)` when `admit` refuses the memory.
#[cfg(feature = "turbo")]
pub fn decode_at(
    data: &[u8],
    stored: (u32, u32),
    eighths: u32,
    admitted: bool,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Option<Result<Decoded, JobError>> {
    let mut refused = None;
    let run = || {
        let mut err = error_manager();
        // SAFETY: as in `encode`; rows point into `pixels`, sized from the output dimensions
        // the library computed.
        unsafe {
            let mut d = Box::new(Decompressor {
                dinfo: std::mem::zeroed(),
                _err: Box::new(std::mem::zeroed()),
            });
            d.dinfo.common.err = &mut *err;
            d._err = err;
            ffi::jpeg_create_decompress(&mut d.dinfo);
            let dinfo = &mut d.dinfo;
            ffi::jpeg_mem_src(dinfo, data.as_ptr(), data.len() as c_ulong);
            ffi::jpeg_read_header(dinfo, 1);
            if (dinfo.image_width, dinfo.image_height) != stored {
                return None;
            }
            let channels = match dinfo.jpeg_color_space {
                ffi::J_COLOR_SPACE::JCS_GRAYSCALE => {
                    dinfo.out_color_space = ffi::J_COLOR_SPACE::JCS_GRAYSCALE;
                    1
                }
                ffi::J_COLOR_SPACE::JCS_YCbCr | ffi::J_COLOR_SPACE::JCS_RGB => {
                    dinfo.out_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
                    3
                }
                _ => return None,
            };
            dinfo.scale_num = match eighths {
                1 | 2 | 4 => eighths,
                _ => 8,
            };
            dinfo.scale_denom = 8;
            ffi::jpeg_calc_output_dimensions(dinfo);
            let (w, h) = (dinfo.output_width, dinfo.output_height);
            let bytes = u64::from(w) * u64::from(h) * channels as u64;
            if !admitted && let Err(e) = admit(bytes.saturating_mul(3) + data.len() as u64) {
                refused = Some(e);
                return None;
            }
            ffi::jpeg_start_decompress(dinfo);
            let stride = w as usize * channels;
            let mut pixels = vec![0u8; stride * h as usize];
            while dinfo.output_scanline < h {
                let mut row = pixels
                    .as_mut_ptr()
                    .add(dinfo.output_scanline as usize * stride);
                if ffi::jpeg_read_scanlines(dinfo, &mut row, 1) == 0 {
                    return None;
                }
            }
            ffi::jpeg_finish_decompress(dinfo);
            Some((w, h, channels, pixels))
        }
    };
    let decoded = catch_unwind(AssertUnwindSafe(run)).ok().flatten();
    match (decoded, refused) {
        (_, Some(e)) => Some(Err(e)),
        (Some(image), None) => Some(Ok(image)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 3)
            .map(|i| {
                let (p, c) = (i / 3, i % 3);
                let (x, y) = (p % w, p / w);
                ((x * 7 + y * 3 + c * 40 + (x * y) % 13) % 256) as u8
            })
            .collect()
    }

    #[test]
    fn a_higher_effort_writes_a_smaller_jpeg_of_the_same_image() {
        let px = photo(96, 64);
        let carry = Carry::default();
        let fast = encode(&px, (96, 64), 3, 85, Chroma::S420, &carry, Profile::Fastest).unwrap();
        let small = encode(
            &px,
            (96, 64),
            3,
            85,
            Chroma::S420,
            &carry,
            Profile::Effort(10),
        )
        .unwrap();
        assert!(
            small.len() < fast.len(),
            "{} >= {}",
            small.len(),
            fast.len()
        );
        for jpeg in [&fast, &small] {
            let image = image::load_from_memory(jpeg).unwrap();
            assert_eq!((image.width(), image.height()), (96, 64));
        }
    }

    #[test]
    fn an_encoder_error_comes_back_as_a_message() {
        // 70000 rows is past JPEG's 65535: libjpeg calls error_exit.
        let px = vec![0u8; 70_000];
        let e = encode(
            &px,
            (1, 70_000),
            1,
            85,
            Chroma::S420,
            &Carry::default(),
            Profile::Fastest,
        )
        .unwrap_err();
        let e = e.to_string();
        assert!(e.contains("cannot encode JPEG"), "{e}");
        assert!(e.contains("65500") || e.contains("large"), "{e}");
    }
}
