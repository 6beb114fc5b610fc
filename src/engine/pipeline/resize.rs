//! Orienting and resizing. Resizing uses fast_image_resize (SIMD convolution, alpha
//! premultiplied so transparent edges do not darken), one resizer per worker thread; the
//! `image` crate's resize is the fallback for pixel layouts it does not take.

use std::cell::RefCell;

use fast_image_resize::{FilterType as FirFilter, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use image::imageops::FilterType;
use image::metadata::Orientation;

use crate::engine::recipe::{Filter, Geometry, ResizeSpec};

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
        // Fill: take the part of the source that becomes the centred crop of the scaled image
        // (whole-pixel offsets in scaled space, as ImageMagick's -gravity center -extent), then
        // scale it in one pass.
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
