//! Where a crop should sit when the user asks for the interesting part (`crop 3:2@attention`
//! or `@entropy`).
//!
//! Attention: the picture is reduced to 32×32 cells (so the crop is placed to a 32nd of each
//! side, as libvips places its own), and each cell scored by what draws the eye — detail (the
//! Laplacian of its lightness), skin tones, and strong colour; the scores are blurred over about
//! a tenth of the crop's size, and the crop is centred on the highest, kept inside the picture.
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

/// sRGB (0–255) to CIE L*a*b* (D65).
fn lab(p: [u8; 3]) -> [f32; 3] {
    let lin = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(p[0]), lin(p[1]), lin(p[2]));
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| {
        if t > 0.008_856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// How much a cell of colour `p` looks like skin, 0–1: its colour's direction near a skin
/// tone's and its lightness in skin's range.
fn skin(p: [u8; 3], l: f32) -> f32 {
    const TONE: [f32; 3] = [0.78, 0.57, 0.44];
    let v = p.map(f32::from);
    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if norm < 1.0 || !(20.0..=95.0).contains(&l) {
        return 0.0;
    }
    let tone_norm = (TONE[0] * TONE[0] + TONE[1] * TONE[1] + TONE[2] * TONE[2]).sqrt();
    let d: f32 = (0..3)
        .map(|i| (v[i] / norm - TONE[i] / tone_norm).powi(2))
        .sum::<f32>()
        .sqrt();
    (1.0 - d / 0.1).max(0.0)
}

/// The left and top of a `cw`×`ch` crop of `image` where `by` finds the most interest.
pub fn place(image: &DynamicImage, cw: u32, ch: u32, by: Interest) -> (u32, u32) {
    let (w, h) = image.dimensions();
    if cw >= w && ch >= h {
        return (0, 0);
    }
    // Averaged down straight from the picture (no full-size copy in another layout).
    let small = DynamicImage::ImageRgba8(imageops::thumbnail(image, CELLS, CELLS)).into_rgb8();
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

/// The cell (in cell units, its top-left corner) with the most blurred interest.
fn attention(small: &image::RgbImage, cw: f64, ch: f64) -> (f64, f64) {
    let n = CELLS as usize;
    let cells: Vec<[f32; 3]> = small.pixels().map(|p| lab(p.0)).collect();
    let at = |x: usize, y: usize| cells[y.min(n - 1) * n + x.min(n - 1)];
    let mut score = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let c = at(x, y);
            // Detail: how far the lightness is from its eight neighbours' mean.
            let mut around = 0.0;
            for (dx, dy) in [
                (-1i32, -1i32),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let nx = (x as i32 + dx).clamp(0, n as i32 - 1) as usize;
                let ny = (y as i32 + dy).clamp(0, n as i32 - 1) as usize;
                around += at(nx, ny)[0];
            }
            let edge = (8.0 * c[0] - around).abs() / 8.0;
            let chroma = (c[1] * c[1] + c[2] * c[2]).sqrt();
            let saturated = if chroma > 60.0 { chroma - 60.0 } else { 0.0 };
            let p = small.get_pixel(x as u32, y as u32).0;
            score[y * n + x] = edge * 4.0 + skin(p, c[0]) * 30.0 + saturated;
        }
    }
    // Blurred over about a tenth of the crop's diagonal (in cells).
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

/// A separable Gaussian blur of an `n`×`n` grid, edges repeated.
fn gauss(grid: &[f32], n: usize, sigma: f32) -> Vec<f32> {
    let r = (sigma * 3.0).ceil() as i32;
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
