//! Orienting and resizing.

use image::DynamicImage;
use image::imageops::FilterType;
use image::metadata::Orientation;

use crate::engine::recipe::{Filter, ResizeSpec};

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
    let scaled = if g.scaled == (w, h) {
        image
    } else {
        image.resize_exact(g.scaled.0, g.scaled.1, filter_type(filter))
    };
    if g.output == g.scaled {
        return scaled;
    }
    let x = (g.scaled.0 - g.output.0) / 2;
    let y = (g.scaled.1 - g.output.1) / 2;
    scaled.crop_imm(x, y, g.output.0, g.output.1)
}
