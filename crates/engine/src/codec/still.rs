//! What the decoders of the newer formats (HEIC, AVIF, JPEG XL) hand the pipeline, and the
//! steps they share: planar YCbCr to RGB (through `heic-decoder`'s correctly rounded converter,
//! which reads the matrix, range and chroma siting), container transforms, and alpha.

use heic_decoder::{AlphaPlane, ChromaSampling, ColorInfo, DecodedImage, Metadata};
use image::{DynamicImage, ImageBuffer, Rgb, Rgba};

use super::av1::Planes;
use super::isobmff::{Cicp, Transform};

thread_local! {
    /// A one-thread rayon pool per worker. Decoders that hand work to rayon (jpeg-decoder's
    /// IDCT and colour conversion, heic-decoder's tiles) run inside it, so each worker's decode
    /// stays on one core: N workers use N cores, and none pays for cross-core hand-offs.
    static DECODE_POOL: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "decode".to_owned())
        .build()
        .ok();
}

/// Runs `f` on this worker's one-thread decode pool (or here, if the pool could not start).
pub fn on_this_core<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    DECODE_POOL.with(|pool| match pool {
        Some(pool) => pool.install(f),
        None => f(),
    })
}

/// A decoded picture, already upright (its container's transforms applied).
pub struct Picture {
    /// The pixels: 8-bit sources as 8-bit RGB(A), deeper ones as 16-bit.
    pub image: DynamicImage,
    /// The ICC profile.
    pub icc: Option<Vec<u8>>,
    /// The EXIF block (TIFF structure). Its orientation tag is not applied: in HEIF-based
    /// formats the container's transforms are the truth (as libheif and libavif read them).
    pub exif: Option<Vec<u8>>,
}

fn widen(v: Vec<u16>) -> Vec<i32> {
    v.into_iter().map(i32::from).collect()
}

/// Full-range alpha from `samples` at `bit_depth`, expanding limited-range samples.
pub fn alpha_plane(samples: Vec<u16>, bit_depth: u32, full_range: bool) -> AlphaPlane {
    let max = (1i32 << bit_depth) - 1;
    let samples = if full_range {
        widen(samples)
    } else {
        let lo = 16i32 << (bit_depth - 8);
        let span = 219i32 << (bit_depth - 8);
        samples
            .into_iter()
            .map(|a| {
                ((i32::from(a) - lo) * max + span / 2)
                    .div_euclid(span)
                    .clamp(0, max)
            })
            .collect()
    };
    AlphaPlane {
        bit_depth,
        samples,
        premultiplied: false,
    }
}

/// Converts planar YCbCr (and alpha) to RGB(A) with the matrix and range of `cicp`: 8-bit for
/// 8-bit sources, 16-bit for deeper.
pub fn to_rgb(
    planar: Planes,
    cicp: Cicp,
    alpha: Option<AlphaPlane>,
) -> Result<DynamicImage, String> {
    let (sub_x, sub_y) = match planar.chroma_format {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let image = DecodedImage {
        alpha,
        width: planar.width,
        height: planar.height,
        bit_depth_luma: planar.bit_depth,
        bit_depth_chroma: planar.bit_depth,
        chroma_format_idc: planar.chroma_format,
        color_info: Some(ColorInfo {
            color_primaries: cicp.primaries,
            transfer_characteristics: cicp.transfer,
            // Unspecified (2) is read as BT.601, what AV1 encoders mean by it.
            matrix_coefficients: match cicp.matrix {
                2 => 6,
                m => m,
            },
            full_range: cicp.full_range,
        }),
        // AV1 leaves 4:2:0 siting unspecified in most files; libavif reads it as centred
        // horizontally on the left luma column, as here.
        chroma_sampling: ChromaSampling {
            sub_x,
            sub_y,
            origin_x: 0.0,
            origin_y: if sub_y == 2 { 0.5 } else { 0.0 },
        },
        y: widen(planar.y),
        cb: widen(planar.cb),
        cr: widen(planar.cr),
        cb_width: planar.chroma_width,
        cb_height: planar.chroma_height,
        metadata: Metadata::default(),
    };
    from_decoded(&image)
}

/// RGB(A) from a `heic-decoder` image, with straight (not premultiplied) alpha.
pub fn from_decoded(image: &DecodedImage) -> Result<DynamicImage, String> {
    let (w, h) = (
        u32::try_from(image.width).map_err(|e| e.to_string())?,
        u32::try_from(image.height).map_err(|e| e.to_string())?,
    );
    let deep = image.bit_depth_luma > 8;
    let bad = || "the decoded planes do not match the picture's size".to_owned();
    let out = match (&image.alpha, deep) {
        (None, false) => {
            let rgb = image.to_rgb8().map_err(|e| e.to_string())?;
            DynamicImage::ImageRgb8(
                ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, rgb.data).ok_or_else(bad)?,
            )
        }
        (None, true) => {
            let rgb = image.to_rgb16().map_err(|e| e.to_string())?;
            DynamicImage::ImageRgb16(
                ImageBuffer::<Rgb<u16>, _>::from_raw(w, h, rgb.data).ok_or_else(bad)?,
            )
        }
        (Some(_), false) => {
            let mut rgba = image.to_rgba8().map_err(|e| e.to_string())?;
            if rgba.premultiplied {
                unpremultiply(&mut rgba.data, 255);
            }
            DynamicImage::ImageRgba8(
                ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, rgba.data).ok_or_else(bad)?,
            )
        }
        (Some(_), true) => {
            let mut rgba = image.to_rgba16().map_err(|e| e.to_string())?;
            if rgba.premultiplied {
                unpremultiply(&mut rgba.data, 65535);
            }
            DynamicImage::ImageRgba16(
                ImageBuffer::<Rgba<u16>, _>::from_raw(w, h, rgba.data).ok_or_else(bad)?,
            )
        }
    };
    Ok(out)
}

/// Divides each RGBA pixel's colour by its alpha (`max` is full opacity), rounding; fully
/// transparent pixels stay as they are.
fn unpremultiply<T: Copy + Into<u64> + TryFrom<u64>>(data: &mut [T], max: u64) {
    for px in data.chunks_exact_mut(4) {
        let a: u64 = px[3].into();
        for c in &mut px[..3] {
            if let Some(v) = (Into::<u64>::into(*c) * max + a / 2).checked_div(a)
                && let Ok(v) = T::try_from(v.min(max))
            {
                *c = v;
            }
        }
    }
}

/// Applies a container's transforms, in order.
pub fn transform(mut image: DynamicImage, transforms: &[Transform]) -> DynamicImage {
    for t in transforms {
        image = match *t {
            Transform::Rotate(1) => image.rotate270(),
            Transform::Rotate(2) => image.rotate180(),
            Transform::Rotate(3) => image.rotate90(),
            Transform::Rotate(_) => image,
            // Mode 0 exchanges top and bottom, 1 left and right (as libheif and libavif read
            // the current text of the standard).
            Transform::Mirror(0) => image.flipv(),
            Transform::Mirror(_) => image.fliph(),
        };
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplied_colour_is_divided_by_alpha_at_either_depth() {
        let mut px: Vec<u8> = vec![64, 32, 0, 128, 9, 9, 9, 0];
        unpremultiply(&mut px, 255);
        assert_eq!(px, vec![128, 64, 0, 128, 9, 9, 9, 0]);
        let mut px: Vec<u16> = vec![30000, 65535, 1, 32768];
        unpremultiply(&mut px, 65535);
        assert_eq!(px, vec![59999, 65535, 2, 32768]); // 30000 * 65535 / 32768 = 59999.1
    }

    #[test]
    fn limited_range_alpha_is_expanded() {
        let a = alpha_plane(vec![16, 235, 126, 0, 255], 8, false);
        assert_eq!(a.samples, vec![0, 255, 128, 0, 255]);
        let a = alpha_plane(vec![64, 940], 10, false);
        assert_eq!(a.samples, vec![0, 1023]);
    }

    #[test]
    fn a_quarter_turn_anticlockwise_puts_the_top_right_corner_top_left() {
        let mut img = image::RgbImage::new(3, 2);
        img.put_pixel(2, 0, Rgb([255, 0, 0]));
        let out = transform(DynamicImage::ImageRgb8(img), &[Transform::Rotate(1)]).to_rgb8();
        assert_eq!(out.dimensions(), (2, 3));
        assert_eq!(out.get_pixel(0, 0).0, [255, 0, 0]);
    }
}
