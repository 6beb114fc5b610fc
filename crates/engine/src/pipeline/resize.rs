//! Orienting and resizing. Resizing uses fast_image_resize (SIMD convolution, alpha
//! premultiplied so transparent edges do not darken), one resizer per worker thread; the
//! `image` crate's resize is the fallback for pixel layouts it does not take.

use std::cell::RefCell;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType as FirFilter, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use image::imageops::FilterType;
use image::metadata::Orientation;

use crate::job::{ErrorKind, JobError};
use crate::spec::{Filter, Geometry, ResizeSpec};

thread_local! {
    /// Each worker keeps its resizer (and its scratch buffers) between images.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

fn algorithm(f: Filter) -> ResizeAlg {
    match f {
        Filter::Lanczos3 => ResizeAlg::Convolution(FirFilter::Lanczos3),
        Filter::CatmullRom => ResizeAlg::Convolution(FirFilter::CatmullRom),
        Filter::Bilinear => ResizeAlg::Convolution(FirFilter::Bilinear),
        Filter::Nearest => ResizeAlg::Nearest,
    }
}

fn filter_type(f: Filter) -> FilterType {
    match f {
        Filter::Lanczos3 => FilterType::Lanczos3,
        Filter::CatmullRom => FilterType::CatmullRom,
        Filter::Bilinear => FilterType::Triangle,
        Filter::Nearest => FilterType::Nearest,
    }
}

/// Applies the EXIF orientation to the pixels, so outputs need no orientation tag.
pub fn orient(mut image: DynamicImage, orientation: Orientation) -> DynamicImage {
    image.apply_orientation(orientation);
    image
}

/// Resizes (and for `fill`, centre-crops) to the spec's geometry. Returns the input untouched
/// when the geometry keeps its size.
pub fn resize(
    image: DynamicImage,
    spec: Option<ResizeSpec>,
    filter: Filter,
    allow_upscale: bool,
) -> DynamicImage {
    let Some(spec) = spec else { return image };
    let source = (image.width(), image.height());
    resize_to(
        image,
        spec.geometry(source.0, source.1, allow_upscale),
        source,
        filter,
    )
}

/// Resizes `image` to geometry `g`, which was computed for a `source`-sized original. `image` may
/// be that original or a reduced decode of it (shrink-on-load): the output size is the same
/// either way, so outputs do not depend on how the source was decoded.
pub fn resize_to(
    image: DynamicImage,
    g: Geometry,
    source: (u32, u32),
    filter: Filter,
) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    if g.output == (w, h) && g.output == g.scaled {
        return image;
    }
    let mut options = ResizeOptions::new().resize_alg(algorithm(filter));
    if g.output != g.scaled {
        let (left, top, cw, ch) = crop_box(g, source, (w, h));
        options = options.crop(left, top, cw, ch);
    }
    let mut out = DynamicImage::new(g.output.0, g.output.1, image.color());
    let done = RESIZER.with(|r| r.borrow_mut().resize(&image, &mut out, &options));
    match done {
        Ok(()) => out,
        // resize_exact targets absolute sizes, so the fallback is right for a reduced decode too.
        Err(_) => fallback(image, g.scaled, g.output, filter),
    }
}

/// A full-range YCbCr image with 4:2:0 chroma: `y` has `height` rows of `width` samples, `cb`
/// and `cr` half as many each way (rounded up), every row packed.
pub struct Ycbcr420 {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub cb: Vec<u8>,
    pub cr: Vec<u8>,
}

/// Resizes a JPEG's 4:2:0 planes to `(w, h)` with `filter`, each plane on its own: the luma to
/// `(w, h)`, the chroma to half that (rounded up), so colour is filtered once, from the samples
/// the file holds, instead of being upsampled, resized and subsampled again. The chroma samples
/// sit at the centres of 2x2 luma pixels in JPEG (JFIF) and WebP alike, so each chroma plane
/// maps onto the luma's area. `None` for planes that are not 4:2:0 or a resize that fails.
pub fn ycbcr420_to(
    planes: &super::jpeg_scaled::Planes,
    (w, h): (u32, u32),
    filter: Filter,
) -> Option<Ycbcr420> {
    let [luma, cb, cr] = planes.ycbcr420()?;
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // The output's chroma covers 2*cw x 2*ch luma pixels (one more than the image on an odd
    // side); the same share of the source's luma area, in the file's chroma samples:
    let reach = |luma_side: usize, out: u32, out_chroma: u32, chroma_side: usize| {
        (luma_side as f64 * f64::from(out_chroma) / f64::from(out)).min(chroma_side as f64)
    };
    let chroma_area = (
        reach(luma.width, w, cw, cb.width),
        reach(luma.height, h, ch, cb.height),
    );
    let y = plane_to(
        luma,
        (luma.width as f64, luma.height as f64),
        (w, h),
        filter,
    )?;
    let cb = plane_to(cb, chroma_area, (cw, ch), filter)?;
    let cr = plane_to(cr, chroma_area, (cw, ch), filter)?;
    Some(Ycbcr420 {
        width: w,
        height: h,
        y,
        cb,
        cr,
    })
}

/// The top-left `area` (in samples, fractions allowed) of `plane` resized to `(w, h)`.
fn plane_to(
    plane: super::jpeg_scaled::Plane<'_>,
    area: (f64, f64),
    (w, h): (u32, u32),
    filter: Filter,
) -> Option<Vec<u8>> {
    let rows = plane.data.len() / plane.stride.max(1);
    let stride = u32::try_from(plane.stride).ok()?;
    let source =
        ImageRef::new(stride, u32::try_from(rows).ok()?, plane.data, PixelType::U8).ok()?;
    let options = ResizeOptions::new()
        .resize_alg(algorithm(filter))
        .crop(0.0, 0.0, area.0, area.1);
    let mut out = Image::new(w, h, PixelType::U8);
    RESIZER
        .with(|r| r.borrow_mut().resize(&source, &mut out, &options))
        .ok()?;
    Some(out.into_vec())
}

/// The part of a `w`x`h` image (the `source`-sized original or a reduced decode of it) that
/// becomes the output, as left, top, width, height: the whole image, or for fill the part that
/// becomes the centred crop of the scaled image (whole-pixel offsets in scaled space, as
/// ImageMagick's -gravity center -extent), scaled in one pass.
fn crop_box(g: Geometry, source: (u32, u32), (w, h): (u32, u32)) -> (f64, f64, f64, f64) {
    if g.output == g.scaled {
        return (0.0, 0.0, f64::from(w), f64::from(h));
    }
    let scale = f64::from(g.scaled.0) / f64::from(source.0.max(1));
    let (rx, ry) = (
        f64::from(w) / f64::from(source.0.max(1)),
        f64::from(h) / f64::from(source.1.max(1)),
    );
    let (x0, y0) = ((g.scaled.0 - g.output.0) / 2, (g.scaled.1 - g.output.1) / 2);
    let to_image = |v: u32, r: f64| f64::from(v) / scale * r;
    let cw = to_image(g.output.0, rx).min(f64::from(w));
    let ch = to_image(g.output.1, ry).min(f64::from(h));
    let left = to_image(x0, rx).min(f64::from(w) - cw);
    let top = to_image(y0, ry).min(f64::from(h) - ch);
    (left, top, cw, ch)
}

/// A sample type a strip resize works in: 8 or 16 bits.
pub trait Sample: bytemuck::Pod + Default {}
impl Sample for u8 {}
impl Sample for u16 {}

/// Source rows a strip aims to hold besides its margins: big enough that re-filtering the
/// margins costs a few per cent, small enough to stay in a few megabytes.
const STRIP_ROWS: f64 = 512.0;

/// Output rows per strip and the margin of source rows above and below a strip that the
/// filter reads, for a resize taking `per_row` source rows to each output row.
fn strip_shape(per_row: f64, out_rows: u32) -> (u32, u32) {
    // The widest kernel (Lanczos3) reaches 3 output rows' worth of source either side (3 source
    // rows when enlarging); two more rows absorb rounding of the kernel's centre.
    let margin = (3.0 * per_row.max(1.0)).ceil() as u32 + 2;
    let per = ((STRIP_ROWS / per_row).ceil() as u32)
        .max(8)
        .min(out_rows.max(1));
    (per, margin)
}

/// The bytes a strip resize holds at once for a `size` source of `pixel`s to geometry `g`:
/// the strip, its premultiplied copy and the horizontal pass (not the output).
pub fn strip_bytes(size: (u32, u32), pixel: PixelType, g: Geometry) -> u64 {
    let (_, _, _, ch) = crop_box(g, size, size);
    let per_row = ch / f64::from(g.output.1.max(1));
    let (per, margin) = strip_shape(per_row, g.output.1);
    let rows = (f64::from(per) * per_row).ceil() as u64 + 2 * u64::from(margin);
    let row = u64::from(size.0) * pixel.size() as u64;
    rows * row * 2 + rows * u64::from(g.output.0) * pixel.size() as u64
}

/// Resizes a `size` image of `pixel`s whose rows arrive one at a time, top to bottom (each
/// filled into the slice `read_row` is given), to geometry `g`, holding only a strip of source
/// rows: memory no longer grows with the source's height. The result is [`resize_to`]'s for
/// the whole image (fast_image_resize reads a strip's margins the way it reads the rest of the
/// image, so only the kernels' positions can round differently, by a sample at most). Every
/// source row is read, needed or not, so a file damaged after the last needed row still fails.
/// Returns the output's samples, row-major.
pub fn resize_rows<T: Sample>(
    size: (u32, u32),
    pixel: PixelType,
    g: Geometry,
    filter: Filter,
    read_row: &mut dyn FnMut(&mut [T]) -> Result<(), JobError>,
) -> Result<Vec<T>, JobError> {
    let (w, h) = size;
    let channels = pixel.size() / std::mem::size_of::<T>();
    let row_len = w as usize * channels;
    let (ow, oh) = g.output;
    let out_row = ow as usize * channels;
    let (left, top, cw, ch) = crop_box(g, size, size);
    let per_row = ch / f64::from(oh.max(1));
    let (per, margin) = strip_shape(per_row, oh);
    let options = ResizeOptions::new().resize_alg(algorithm(filter));
    let mut out = vec![T::default(); out_row * oh as usize];
    // Source rows `first..next` are in `strip`.
    let mut strip: Vec<T> = Vec::new();
    let (mut first, mut next) = (0u32, 0u32);
    let mut scratch = vec![T::default(); row_len];
    let broken = |e: &dyn std::fmt::Display| {
        JobError::failed(
            ErrorKind::Panic,
            format!("internal error while resizing: {e}"),
        )
    };
    for a in (0..oh).step_by(per as usize) {
        let b = (a + per).min(oh);
        let y0 = top + f64::from(a) * per_row;
        let y1 = if b == oh {
            top + ch
        } else {
            top + f64::from(b) * per_row
        };
        let lo = ((y0 - f64::from(margin)).floor().max(0.0) as u32).min(h);
        let hi = ((y1 + f64::from(margin)).ceil().min(f64::from(h)) as u32).max(lo + 1);
        // Forget the rows above this strip's reach, skip (but read) rows nobody needs.
        let keep_from = lo.clamp(first, next);
        strip.drain(..(keep_from - first) as usize * row_len);
        first = keep_from;
        while next < lo {
            read_row(&mut scratch)?;
            next += 1;
            first = next;
        }
        while next < hi {
            let at = strip.len();
            strip.resize(at + row_len, T::default());
            read_row(&mut strip[at..])?;
            next += 1;
        }
        let rows = next - first;
        let view =
            ImageRef::new(w, rows, bytemuck::cast_slice(&strip), pixel).map_err(|e| broken(&e))?;
        let dst_rows = &mut out[a as usize * out_row..b as usize * out_row];
        let mut dst = Image::from_slice_u8(ow, b - a, bytemuck::cast_slice_mut(dst_rows), pixel)
            .map_err(|e| broken(&e))?;
        let options = options.crop(left, y0 - f64::from(first), cw, y1 - y0);
        RESIZER
            .with(|r| r.borrow_mut().resize(&view, &mut dst, &options))
            .map_err(|e| broken(&e))?;
    }
    while next < h {
        read_row(&mut scratch)?;
        next += 1;
    }
    Ok(out)
}

/// The `image` crate's resize and crop, for layouts fast_image_resize does not take.
fn fallback(
    image: DynamicImage,
    scaled: (u32, u32),
    output: (u32, u32),
    filter: Filter,
) -> DynamicImage {
    let scaled_image = image.resize_exact(scaled.0, scaled.1, filter_type(filter));
    if output == scaled {
        return scaled_image;
    }
    let x = (scaled.0 - output.0) / 2;
    let y = (scaled.1 - output.1) / 2;
    scaled_image.crop_imm(x, y, output.0, output.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, Rgba, RgbaImage};

    #[test]
    fn transparent_edges_do_not_darken() {
        // Opaque white left half, fully transparent *black* right half: a resize that ignored
        // alpha would blend black into the white edge.
        let img = RgbaImage::from_fn(64, 8, |x, _| {
            if x < 32 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let out = resize(
            DynamicImage::ImageRgba8(img),
            Some(ResizeSpec::Width(16)),
            Filter::Lanczos3,
            false,
        );
        assert_eq!(out.dimensions(), (16, 2));
        for x in 0..16 {
            let p = out.get_pixel(x, 1).0;
            if p[3] > 16 {
                assert!(p[0] > 240, "pixel {x} darkened: {p:?}");
            }
        }
    }

    /// A busy image with soft alpha, so every channel and the premultiplication matter.
    fn busy(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            let v = (x * 7 + y * 13) ^ (x * y);
            Rgba([
                v as u8,
                (x * 3) as u8,
                (y * 5) as u8,
                (128 + (v % 128)) as u8,
            ])
        })
    }

    /// Rows fed one at a time through [`resize_rows`], into `image`'s layout.
    fn by_rows<T: Sample>(
        samples: &[T],
        size: (u32, u32),
        pixel: PixelType,
        g: Geometry,
        filter: Filter,
    ) -> (Vec<T>, u32) {
        let row = samples.len() / size.1 as usize;
        let mut next = 0;
        let out = resize_rows::<T>(size, pixel, g, filter, &mut |dst| {
            dst.copy_from_slice(&samples[next * row..(next + 1) * row]);
            next += 1;
            Ok(())
        })
        .unwrap();
        (out, next as u32)
    }

    #[test]
    fn strips_resize_like_the_whole_image() {
        let src = busy(1203, 977);
        let cases = [
            (ResizeSpec::Fit(400, 400), Filter::Lanczos3),
            (ResizeSpec::Fit(97, 97), Filter::CatmullRom),
            (ResizeSpec::Fill(300, 100), Filter::Lanczos3),
            (ResizeSpec::Fill(100, 300), Filter::Bilinear),
            (ResizeSpec::Fit(1500, 1500), Filter::Lanczos3),
            (ResizeSpec::Width(600), Filter::Nearest),
            (ResizeSpec::Fit(5, 5), Filter::Lanczos3),
            (ResizeSpec::Exact(1, 1), Filter::CatmullRom),
        ];
        for (spec, filter) in cases {
            let g = spec.geometry(1203, 977, true);
            let whole = resize_to(
                DynamicImage::ImageRgba8(src.clone()),
                g,
                (1203, 977),
                filter,
            );
            let (rows, read) = by_rows(src.as_raw(), (1203, 977), PixelType::U8x4, g, filter);
            assert_eq!(read, 977, "{spec:?}: every row is read");
            let whole = whole.to_rgba8().into_raw();
            assert_eq!(rows.len(), whole.len(), "{spec:?}");
            let off: Vec<i32> = rows
                .iter()
                .zip(&whole)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
                .collect();
            let worst = off.iter().max().copied().unwrap_or(0);
            let differing = off.iter().filter(|&&d| d > 0).count();
            assert!(worst <= 1, "{spec:?}: a sample differs by {worst}");
            assert!(
                differing * 1000 <= whole.len(),
                "{spec:?}: {differing} of {} samples differ",
                whole.len()
            );
        }
        // 16 bits, grey and alpha.
        let grey: Vec<u16> = src
            .pixels()
            .flat_map(|p| [u16::from(p[0]) * 257, u16::from(p[3]) * 250])
            .collect();
        let g = ResizeSpec::Fit(333, 333).geometry(1203, 977, false);
        let (rows, _) = by_rows(&grey, (1203, 977), PixelType::U16x2, g, Filter::Lanczos3);
        let image = image::ImageBuffer::<image::LumaA<u16>, _>::from_raw(1203, 977, grey).unwrap();
        let whole = resize_to(
            DynamicImage::ImageLumaA16(image),
            g,
            (1203, 977),
            Filter::Lanczos3,
        );
        let whole = whole.to_luma_alpha16().into_raw();
        let worst = rows
            .iter()
            .zip(&whole)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .max();
        assert!(worst.is_some_and(|w| w <= 1), "16-bit grey: {worst:?}");
    }

    #[test]
    fn fill_crops_the_centre_and_keeps_16_bit() {
        // Left and right thirds red, middle green: a centred square crop is mostly green.
        let img = image::ImageBuffer::from_fn(300, 100, |x, _| {
            if (100..200).contains(&x) {
                image::Rgb([0u16, 65535, 0])
            } else {
                image::Rgb([65535, 0, 0])
            }
        });
        let out = resize(
            DynamicImage::ImageRgb16(img),
            Some(ResizeSpec::Fill(50, 50)),
            Filter::CatmullRom,
            false,
        );
        assert_eq!(out.dimensions(), (50, 50));
        assert_eq!(out.color(), image::ColorType::Rgb16);
        let centre = out.to_rgb16().get_pixel(25, 25).0;
        assert!(centre[1] > 60000 && centre[0] < 5000, "{centre:?}");
    }
}
