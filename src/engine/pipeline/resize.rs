//! Orienting and resizing. Resizing uses fast_image_resize (SIMD convolution, alpha
//! premultiplied so transparent edges do not darken), one resizer per worker thread; the
//! `image` crate's resize is the fallback for pixel layouts it does not take.

use std::cell::RefCell;

use fast_image_resize::{FilterType as FirFilter, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use image::imageops::FilterType;
use image::metadata::Orientation;

use crate::engine::recipe::{Filter, ResizeSpec};

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
    let (w, h) = (image.width(), image.height());
    let g = spec.geometry(w, h, allow_upscale);
    if g.output == (w, h) {
        return image;
    }
    let mut options = ResizeOptions::new().resize_alg(algorithm(filter));
    if g.output != g.scaled {
        // Fill: take the centred part of the source with the output's aspect, then scale it.
        let scale = f64::from(g.scaled.0) / f64::from(w);
        let (cw, ch) = (f64::from(g.output.0) / scale, f64::from(g.output.1) / scale);
        let (cw, ch) = (cw.min(f64::from(w)), ch.min(f64::from(h)));
        options = options.crop((f64::from(w) - cw) / 2.0, (f64::from(h) - ch) / 2.0, cw, ch);
    }
    let mut out = DynamicImage::new(g.output.0, g.output.1, image.color());
    let done = RESIZER.with(|r| r.borrow_mut().resize(&image, &mut out, &options));
    match done {
        Ok(()) => out,
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
