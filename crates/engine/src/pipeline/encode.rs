//! Encoding the output format, with pixels converted to what the format can hold.

use std::io::Cursor;

use image::codecs::{
    bmp::BmpEncoder, gif::GifEncoder, png::PngEncoder, qoi::QoiEncoder, tiff::TiffEncoder,
    webp::WebPEncoder,
};
use image::{ColorType, DynamicImage, ImageEncoder, ImageError, RgbImage};

use crate::format::{Control, Format};
use crate::job::{ErrorKind, Flow, JobError};
use crate::recipe::{Recipe, Rgb};

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
            if matches!(c, ColorType::Rgb8 | ColorType::Rgba8) {
                image
            } else if c.has_alpha() {
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
    encode_at(image, format, recipe, recipe.quality, carry, &mut |_| {
        Flow::Continue
    })
}

/// Encodes prepared pixels (see [`prepare`]) as `format`, lossy formats at `quality`.
/// `progress` hears how much of the encode is done (0..1) where the encoder says (lossy WebP)
/// and may stop it there ([`JobError::Cancelled`]).
pub fn encode_at(
    image: &DynamicImage,
    format: Format,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
    progress: &mut dyn FnMut(f32) -> Flow,
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
        Format::Jpeg if recipe.effort >= super::mozjpeg::FIRST_EFFORT => {
            return encode_mozjpeg(
                image,
                recipe,
                quality,
                carry,
                super::mozjpeg::Profile::Effort(recipe.effort),
            );
        }
        Format::Jpeg => return encode_jpeg(image, recipe, quality, carry),
        Format::Png if let Some(colors) = recipe.png_colors => {
            return super::png_small::encode_palette(image, colors, recipe.effort, carry);
        }
        Format::Png if recipe.effort >= super::png_small::FIRST_EFFORT => {
            return super::png_small::encode(image, recipe.effort, carry);
        }
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
            return Ok(with_webp_metadata(
                encode_lossy_webp(image, quality, webp_method(recipe.effort), progress)?,
                carry,
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
            return crate::codec::avif::encode(
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

/// JPEG through mozjpeg: grey stays grey, anything else becomes 8-bit RGB.
fn encode_mozjpeg(
    image: &DynamicImage,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
    profile: super::mozjpeg::Profile,
) -> Result<Vec<u8>, JobError> {
    let rgb;
    let (data, channels) = match image {
        DynamicImage::ImageLuma8(px) => (px.as_raw(), 1),
        DynamicImage::ImageRgb8(px) => (px.as_raw(), 3),
        other => {
            rgb = other.to_rgb8();
            (rgb.as_raw(), 3)
        }
    };
    let size = (image.width(), image.height());
    super::mozjpeg::encode(data, size, channels, quality, recipe.chroma, carry, profile)
}

/// JPEG at the default effort with the `turbo` feature: mozjpeg's fastest profile, which writes
/// what libjpeg-turbo writes.
#[cfg(feature = "turbo")]
fn encode_jpeg(
    image: &DynamicImage,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    encode_mozjpeg(
        image,
        recipe,
        quality,
        carry,
        super::mozjpeg::Profile::Fastest,
    )
}

/// JPEG through jpeg-encoder (AVX2 where the CPU has it), with the recipe's chroma subsampling.
#[cfg(not(feature = "turbo"))]
fn encode_jpeg(
    image: &DynamicImage,
    recipe: &Recipe,
    quality: u8,
    carry: &Carry,
) -> Result<Vec<u8>, JobError> {
    use crate::recipe::Chroma;
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
fn encode_lossy_webp(
    image: &DynamicImage,
    quality: u8,
    method: i32,
    progress: &mut dyn FnMut(f32) -> Flow,
) -> Result<Vec<u8>, JobError> {
    let q = (f32::from(quality.clamp(1, 100)), method);
    match image {
        DynamicImage::ImageRgba8(px) => {
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), true, q, progress)
        }
        DynamicImage::ImageRgb8(px) => {
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), false, q, progress)
        }
        other => {
            let px: RgbImage = other.to_rgb8();
            encode_webp_pixels(px.as_raw(), px.width(), px.height(), false, q, progress)
        }
    }
}

/// Encodes 8-bit RGB (`alpha`: RGBA) pixels as lossy WebP at quality `q` through libwebp.
fn encode_webp_pixels(
    data: &[u8],
    w: u32,
    h: u32,
    alpha: bool,
    q: (f32, i32),
    progress: &mut dyn FnMut(f32) -> Flow,
) -> Result<Vec<u8>, JobError> {
    let channels = if alpha { 4 } else { 3 };
    if (data.len() as u64) < u64::from(w) * u64::from(h) * channels {
        return Err(webp_error("fewer pixels than the image's size"));
    }
    let source = if alpha {
        WebpSource::Rgba(data)
    } else {
        WebpSource::Rgb(data)
    };
    encode_lossy_webp_from(source, w, h, q, progress)
}

/// Encodes full-range YCbCr 4:2:0 planes (a JPEG's, resized) as lossy WebP at the recipe's
/// quality, with the metadata of `carry`; `progress` as for [`encode_at`].
pub fn encode_webp_ycbcr(
    planes: &super::resize::Ycbcr420,
    quality: u8,
    effort: u8,
    carry: &Carry,
    progress: &mut dyn FnMut(f32) -> Flow,
) -> Result<Vec<u8>, JobError> {
    let (w, h) = (planes.width, planes.height);
    let luma = u64::from(w) * u64::from(h);
    let chroma = u64::from(w.div_ceil(2)) * u64::from(h.div_ceil(2));
    if (planes.y.len() as u64) < luma
        || (planes.cb.len() as u64) < chroma
        || (planes.cr.len() as u64) < chroma
    {
        return Err(webp_error("fewer samples than the image's size"));
    }
    let q = (f32::from(quality.clamp(1, 100)), webp_method(effort));
    let webp = encode_lossy_webp_from(WebpSource::Ycbcr(planes), w, h, q, progress)?;
    Ok(with_webp_metadata(webp, carry))
}

/// A lossy WebP with the ICC and EXIF blocks of `carry`.
fn with_webp_metadata(webp: Vec<u8>, carry: &Carry) -> Vec<u8> {
    super::metadata::webp_with_metadata(webp, carry.icc.as_deref(), carry.exif.as_deref())
}

fn webp_error(why: &str) -> JobError {
    JobError::failed(ErrorKind::Encode, format!("cannot encode WebP: {why}"))
}

/// What a lossy WebP is made from (sizes checked by the caller).
enum WebpSource<'a> {
    Rgb(&'a [u8]),
    Rgba(&'a [u8]),
    Ycbcr(&'a super::resize::Ycbcr420),
}

/// What libwebp's progress hook reaches through the picture's `user_data`.
struct Hook<'a> {
    progress: &'a mut dyn FnMut(f32) -> Flow,
    /// `progress` said to stop: libwebp was told to abort.
    stopped: bool,
    /// A panic in `progress`, carried past libwebp's C frames and resumed after it returns.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// libwebp's progress hook: called as the encode moves on (whole percents, 100 at the end);
/// returning 0 makes libwebp stop the encode with `VP8_ENC_ERROR_USER_ABORT`.
#[allow(unsafe_code)]
unsafe extern "C" fn report_progress(
    percent: std::ffi::c_int,
    picture: *const libwebp_sys::WebPPicture,
) -> std::ffi::c_int {
    // SAFETY: libwebp passes the picture being encoded; its `user_data` was set to a live
    // `Hook` for exactly the `WebPEncode` call that calls this, and nothing else touches the
    // hook during it.
    let hook = unsafe { &mut *(*picture).user_data.cast::<Hook<'_>>() };
    if hook.stopped || hook.panic.is_some() {
        return 0;
    }
    let done = percent.clamp(0, 100) as f32 / 100.0;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (hook.progress)(done))) {
        Ok(Flow::Continue) => 1,
        Ok(Flow::Cancel) => {
            hook.stopped = true;
            0
        }
        Err(payload) => {
            hook.panic = Some(payload);
            0
        }
    }
}

/// JFIF's full-range YCbCr to the studio range lossy WebP stores (Y 16-235, Cb and Cr 16-240).
/// Both use BT.601's matrix, so this is one affine map per plane: the same values libwebp
/// computes from RGB, without going through RGB.
fn studio_range() -> ([u8; 256], [u8; 256]) {
    let luma = std::array::from_fn(|v| (16.0 + v as f64 * 219.0 / 255.0).round() as u8);
    let chroma =
        std::array::from_fn(|v| (128.0 + (v as f64 - 128.0) * 224.0 / 255.0).round() as u8);
    (luma, chroma)
}

/// libwebp's method (0 fastest … 6 smallest) for an effort: the effort itself up to 6, so the
/// default effort 4 is libwebp's own default method.
pub fn webp_method(effort: u8) -> i32 {
    i32::from(effort.min(6))
}

/// Encodes `source` (`w` x `h`) as lossy WebP at `(quality, method)` through libwebp, with
/// libwebp's default settings otherwise.
///
/// The picture is YUV from the start (`use_argb` 0, as libvips does): RGB rows are imported
/// into its planes by libwebp, YCbCr planes copied in through [`studio_range`]. The `webp`
/// crate sets `use_argb` and so packs every pixel into a 32-bit ARGB buffer first, which the
/// lossy encoder then converts to YUV anyway: the same file (a test compares the bytes) for an
/// extra copy of the image and libwebp's slower 4-byte-step conversion.
#[allow(unsafe_code)]
fn encode_lossy_webp_from(
    source: WebpSource<'_>,
    w: u32,
    h: u32,
    (q, method): (f32, i32),
    progress: &mut dyn FnMut(f32) -> Flow,
) -> Result<Vec<u8>, JobError> {
    use libwebp_sys as sys;
    let too_large = || webp_error(&format!("{w}x{h} is too large"));
    let (width, height) = match (i32::try_from(w), i32::try_from(h)) {
        (Ok(width), Ok(height)) => (width, height),
        _ => return Err(too_large()),
    };
    let stride = |channels: u64| i32::try_from(u64::from(w) * channels).map_err(|_| too_large());
    let mut config =
        sys::WebPConfig::new().map_err(|()| webp_error("libwebp refused its config"))?;
    config.quality = q;
    config.method = method;
    config.lossless = 0;
    config.alpha_compression = 1;
    let mut picture =
        sys::WebPPicture::new().map_err(|()| webp_error("libwebp refused its picture"))?;
    picture.use_argb = 0;
    picture.width = width;
    picture.height = height;
    /// Frees what libwebp allocated for the picture and the output, on every path.
    struct Owned {
        picture: sys::WebPPicture,
        writer: sys::WebPMemoryWriter,
    }
    impl Drop for Owned {
        fn drop(&mut self) {
            // SAFETY: both were initialised by libwebp (`WebPPicture::new`,
            // `WebPMemoryWriterInit`); freeing them is valid in any later state, and only once.
            unsafe {
                sys::WebPPictureFree(&mut self.picture);
                sys::WebPMemoryWriterClear(&mut self.writer);
            }
        }
    }
    let mut writer = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
    // SAFETY: `WebPMemoryWriterInit` initialises every field of the writer.
    let writer = unsafe {
        sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        writer.assume_init()
    };
    let mut owned = Owned { picture, writer };
    let imported = match source {
        // SAFETY: the caller checked that `data` holds `h` rows of `stride` bytes; the import
        // copies them into planes the picture owns.
        WebpSource::Rgb(data) => unsafe {
            sys::WebPPictureImportRGB(&mut owned.picture, data.as_ptr(), stride(3)?) != 0
        },
        // SAFETY: as for RGB, with 4 bytes a pixel.
        WebpSource::Rgba(data) => unsafe {
            sys::WebPPictureImportRGBA(&mut owned.picture, data.as_ptr(), stride(4)?) != 0
        },
        WebpSource::Ycbcr(planes) => {
            owned.picture.colorspace = sys::WebPEncCSP::WEBP_YUV420;
            // SAFETY: allocates the picture's Y, U and V planes for its width and height.
            if unsafe { sys::WebPPictureAlloc(&mut owned.picture) } == 0 {
                return Err(webp_error("out of memory"));
            }
            let (luma, chroma) = studio_range();
            let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
            let p = &owned.picture;
            let (y_stride, uv_stride) = (p.y_stride as usize, p.uv_stride as usize);
            let copy = |dst: *mut u8,
                        dst_stride: usize,
                        src: &[u8],
                        (cols, rows): (usize, usize),
                        map: &[u8; 256]| {
                for (r, row) in src.chunks_exact(cols).take(rows).enumerate() {
                    // SAFETY: `WebPPictureAlloc` made `rows` rows of at least `cols` bytes,
                    // `dst_stride` apart, and nothing else refers to them during this copy.
                    let out =
                        unsafe { std::slice::from_raw_parts_mut(dst.add(r * dst_stride), cols) };
                    for (o, &v) in out.iter_mut().zip(row) {
                        *o = map[usize::from(v)];
                    }
                }
            };
            copy(p.y, y_stride, &planes.y, (w as usize, h as usize), &luma);
            copy(p.u, uv_stride, &planes.cb, (cw, ch), &chroma);
            copy(p.v, uv_stride, &planes.cr, (cw, ch), &chroma);
            true
        }
    };
    if !imported {
        return Err(webp_error("out of memory"));
    }
    owned.picture.writer = Some(sys::WebPMemoryWrite);
    owned.picture.custom_ptr = std::ptr::addr_of_mut!(owned.writer).cast();
    let mut hook = Hook {
        progress,
        stopped: false,
        panic: None,
    };
    owned.picture.progress_hook = Some(report_progress);
    owned.picture.user_data = std::ptr::addr_of_mut!(hook).cast();
    // SAFETY: the picture holds its planes; its writer and `custom_ptr` point at
    // `owned.writer`, its `user_data` at `hook`, neither of which moves while `WebPEncode` runs.
    let ok = unsafe { sys::WebPEncode(&config, &mut owned.picture) };
    owned.picture.progress_hook = None;
    owned.picture.user_data = std::ptr::null_mut();
    if let Some(payload) = hook.panic {
        std::panic::resume_unwind(payload);
    }
    if hook.stopped {
        return Err(JobError::Cancelled);
    }
    if ok == 0 || owned.writer.mem.is_null() {
        return Err(webp_error(&format!("{:?}", owned.picture.error_code)));
    }
    // SAFETY: after a successful encode `mem` holds `size` bytes written by `WebPMemoryWrite`.
    let bytes = unsafe { std::slice::from_raw_parts(owned.writer.mem, owned.writer.size) };
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test image with edges, gradients and (for RGBA) varying transparency, odd-sized so the
    /// chroma planes have a half column and row.
    fn pixels(w: u32, h: u32, channels: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let v = [
                    (x * 255 / w) as u8,
                    ((x ^ y) & 0xFF) as u8,
                    if (x / 7 + y / 5) % 2 == 0 { 30 } else { 220 },
                    (y * 255 / h) as u8,
                ];
                v.into_iter().take(channels as usize)
            })
            .collect()
    }

    #[test]
    fn lossy_webp_is_byte_for_byte_the_webp_crates_file() {
        let (w, h) = (203, 117);
        for (channels, alpha) in [(3, false), (4, true)] {
            let data = pixels(w, h, channels);
            for q in [30u8, 80, 95] {
                let ours = encode_webp_pixels(&data, w, h, alpha, (f32::from(q), 4), &mut |_| {
                    Flow::Continue
                })
                .unwrap();
                let encoder = if alpha {
                    webp::Encoder::from_rgba(&data, w, h)
                } else {
                    webp::Encoder::from_rgb(&data, w, h)
                };
                let theirs = encoder.encode_simple(false, f32::from(q)).unwrap().to_vec();
                assert!(
                    ours.len() > 100,
                    "{channels} channels, q{q}: {} bytes",
                    ours.len()
                );
                assert!(
                    ours == theirs,
                    "{channels} channels, q{q}: the files differ"
                );
                let back = image::load_from_memory(&ours).unwrap();
                assert_eq!((back.width(), back.height()), (w, h));
                assert_eq!(back.color().has_alpha(), alpha);
            }
        }
    }

    #[test]
    fn a_lossy_webp_encode_reports_how_far_it_is_and_stops_when_told() {
        let (w, h) = (640, 480);
        let data = pixels(w, h, 3);
        let quiet =
            encode_webp_pixels(&data, w, h, false, (80.0, 4), &mut |_| Flow::Continue).unwrap();
        let mut heard = Vec::new();
        let told = encode_webp_pixels(&data, w, h, false, (80.0, 4), &mut |done| {
            heard.push(done);
            Flow::Continue
        })
        .unwrap();
        assert!(told == quiet, "listening changed the file");
        assert!(heard.len() > 10, "only {} reports: {heard:?}", heard.len());
        assert!(heard.windows(2).all(|p| p[0] < p[1]), "{heard:?}");
        assert!(heard.iter().any(|&d| d > 0.2 && d < 0.8), "{heard:?}");
        // libwebp's last report comes with the last bits written (97 % here; 100 only in
        // builds without its statistics).
        assert!(heard.last().is_some_and(|&d| d >= 0.9), "{heard:?}");

        // Told to stop a third of the way: libwebp stops there, nothing is returned.
        let mut calls = 0;
        let stopped = encode_webp_pixels(&data, w, h, false, (80.0, 4), &mut |done| {
            calls += 1;
            if done >= 0.33 {
                Flow::Cancel
            } else {
                Flow::Continue
            }
        });
        assert!(matches!(stopped, Err(JobError::Cancelled)), "{stopped:?}");
        let before = heard.iter().filter(|&&d| d < 0.33).count();
        assert_eq!(calls, before + 1, "libwebp went on after the stop");
    }

    #[test]
    fn a_panic_while_reporting_comes_out_of_the_encode() {
        let data = pixels(64, 64, 3);
        let caught = std::panic::catch_unwind(|| {
            let _ = encode_webp_pixels(&data, 64, 64, false, (80.0, 4), &mut |_| {
                panic!("the listener broke")
            });
        })
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"the listener broke"));
    }

    #[test]
    fn lossy_webp_refuses_too_few_pixels() {
        let data = pixels(10, 10, 3);
        let e = encode_webp_pixels(&data, 10, 11, false, (80.0, 4), &mut |_| Flow::Continue)
            .unwrap_err();
        assert!(e.to_string().contains("fewer pixels"), "{e}");
    }
}
