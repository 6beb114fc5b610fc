//! Where a crop should sit when the user asks for the interesting part (`crop 3:2@attention`
//! or `@entropy`).
//!
//! Attention: the picture is reduced to 32×32 cells (so the crop is placed to a 32nd of each
//! side, as libvips places its own), and each cell scored by what draws the eye as libvips 8.10
//! and later score it — detail (the Laplacian of luminance), skin tones, and red (CIELAB's a*);
//! the scores are blurred over a tenth of the crop's diagonal, and the crop is centred on the
//! highest, kept inside the picture.
//! Entropy: the crop's window slides across the picture (in 32 steps) and takes the place whose
//! grey levels are the most varied (the highest Shannon entropy).

use image::{DynamicImage, GenericImageView, imageops};

/// What a smart crop looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Detail, skin and colour: what draws the eye.
    Attention,
    /// The most varied grey levels.
    Entropy,
}

/// The side of the grid the picture is reduced to.
const CELLS: u32 = 32;

/// The left and top of a `cw`×`ch` crop of `image` where `by` finds the most interest.
pub fn place(image: &DynamicImage, cw: u32, ch: u32, by: Interest) -> (u32, u32) {
    let (w, h) = image.dimensions();
    if cw >= w && ch >= h {
        return (0, 0);
    }
    // Averaged down straight from the picture (no full-size copy in another layout) to twice
    // the grid, then Lanczos to the grid, as vips_resize's shrink and reduce.
    let twice = imageops::thumbnail(image, 2 * CELLS, 2 * CELLS);
    let small = DynamicImage::ImageRgba8(imageops::resize(
        &twice,
        CELLS,
        CELLS,
        imageops::FilterType::Lanczos3,
    ))
    .into_rgb8();
    let (sx, sy) = (
        f64::from(w) / f64::from(CELLS),
        f64::from(h) / f64::from(CELLS),
    );
    let centre = match by {
        Interest::Attention => attention(&small, f64::from(cw) / sx, f64::from(ch) / sy),
        Interest::Entropy => entropy(&small, f64::from(cw) / sx, f64::from(ch) / sy),
    };
    let left = (centre.0 * sx - f64::from(cw) / 2.0).round();
    let top = (centre.1 * sy - f64::from(ch) / 2.0).round();
    (
        left.clamp(0.0, f64::from(w.saturating_sub(cw))) as u32,
        top.clamp(0.0, f64::from(h.saturating_sub(ch))) as u32,
    )
}

/// The cell (in cell units, its top-left corner) with the most blurred interest, scored as
/// libvips (8.10 and later) scores it: in XYZ (Y from 0 to 100), edges are the 4-neighbour
/// Laplacian of Y times five; skin is 100 less 100 times the distance of the colour's direction
/// from a skin tone's; saturation is CIELAB's a*; skin and saturation count only where Y is
/// above 5; the sum is blurred (sigma a tenth of the crop's diagonal in cells, at least 1).
fn attention(small: &image::RgbImage, cw: f64, ch: f64) -> (f64, f64) {
    let n = CELLS as usize;
    let xyz: Vec<[f32; 3]> = small.pixels().map(|p| to_xyz(p.0)).collect();
    let y_at = |x: i32, y: i32| {
        let (x, y) = (
            x.clamp(0, n as i32 - 1) as usize,
            y.clamp(0, n as i32 - 1) as usize,
        );
        xyz[y * n + x][1]
    };
    let mut score = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let (xi, yi) = (x as i32, y as i32);
            let c = xyz[y * n + x];
            let laplacian = 4.0 * c[1]
                - y_at(xi - 1, yi)
                - y_at(xi + 1, yi)
                - y_at(xi, yi - 1)
                - y_at(xi, yi + 1);
            let mut s = (laplacian * 5.0).abs();
            if c[1] > 5.0 {
                let norm = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt().max(1e-6);
                let d = ((c[0] / norm - 0.78).powi(2)
                    + (c[1] / norm - 0.57).powi(2)
                    + (c[2] / norm - 0.44).powi(2))
                .sqrt();
                s += 100.0 - 100.0 * d;
                s += lab_a(c);
            }
            score[y * n + x] = s;
        }
    }
    let sigma = ((cw * cw + ch * ch).sqrt() / 10.0).max(1.0) as f32;
    let blurred = gauss(&score, n, sigma);
    let (mut best, mut at_best) = (f32::MIN, (n / 2, n / 2));
    for y in 0..n {
        for x in 0..n {
            if blurred[y * n + x] > best {
                best = blurred[y * n + x];
                at_best = (x, y);
            }
        }
    }
    (at_best.0 as f64, at_best.1 as f64)
}

/// sRGB (0–255) to CIE XYZ (D65), Y from 0 to 100, as libvips's XYZ.
fn to_xyz(p: [u8; 3]) -> [f32; 3] {
    let lin = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(p[0]), lin(p[1]), lin(p[2]));
    [
        100.0 * (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b),
        100.0 * (0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b),
        100.0 * (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b),
    ]
}

/// CIELAB's a* of an XYZ colour (D65 white, Y of 100).
fn lab_a(c: [f32; 3]) -> f32 {
    let f = |t: f32| {
        if t > 0.008_856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    500.0 * (f(c[0] / 95.047) - f(c[1] / 100.0))
}

/// A separable Gaussian blur of an `n`×`n` grid, edges repeated.
fn gauss(grid: &[f32], n: usize, sigma: f32) -> Vec<f32> {
    // Cut where the weight falls under a fifth of the centre's (vips_gaussblur's min_ampl).
    let r = ((sigma * (2.0 * 5f32.ln()).sqrt()).floor() as i32).max(1);
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = k.iter().sum();
    let pass = |src: &[f32], across: bool| {
        let mut out = vec![0f32; n * n];
        for y in 0..n {
            for x in 0..n {
                let mut sum = 0.0;
                for (i, w) in k.iter().enumerate() {
                    let d = i as i32 - r;
                    let (sx, sy) = if across {
                        ((x as i32 + d).clamp(0, n as i32 - 1) as usize, y)
                    } else {
                        (x, (y as i32 + d).clamp(0, n as i32 - 1) as usize)
                    };
                    sum += w * src[sy * n + sx];
                }
                out[y * n + x] = sum / total;
            }
        }
        out
    };
    pass(&pass(grid, true), false)
}

/// The centre (in cell units) of the crop-sized window with the highest entropy of grey.
fn entropy(small: &image::RgbImage, cw: f64, ch: f64) -> (f64, f64) {
    let n = CELLS as usize;
    let grey: Vec<u8> = small
        .pixels()
        .map(|p| {
            ((u32::from(p.0[0]) * 54 + u32::from(p.0[1]) * 183 + u32::from(p.0[2]) * 19) >> 8) as u8
        })
        .collect();
    let (ww, wh) = (
        (cw.round() as usize).clamp(1, n),
        (ch.round() as usize).clamp(1, n),
    );
    let (mut best, mut at) = (f64::MIN, (0usize, 0usize));
    for top in 0..=n - wh {
        for left in 0..=n - ww {
            let mut hist = [0u32; 32];
            for y in top..top + wh {
                for x in left..left + ww {
                    hist[usize::from(grey[y * n + x] >> 3)] += 1;
                }
            }
            let total = (ww * wh) as f64;
            let e: f64 = hist
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = f64::from(c) / total;
                    -p * p.log2()
                })
                .sum();
            if e > best + 1e-9 {
                best = e;
                at = (left, top);
            }
        }
    }
    (at.0 as f64 + ww as f64 / 2.0, at.1 as f64 + wh as f64 / 2.0)
}
