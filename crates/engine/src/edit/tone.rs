//! Edits of the pixels' values: grey, brightness / contrast / saturation / gamma, and an
//! unsharp mask. Each follows ImageMagick's definition of the same control (`-colorspace
//! Gray`, `-brightness-contrast`, `-modulate`, `-gamma`, `-unsharp`), so a user moving from
//! it gets the picture they know; the tests compare against it.

use image::{DynamicImage, RgbImage, RgbaImage};

/// Brightness, contrast, saturation and gamma, applied in that order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adjust {
    /// −100 to 100: added light (ImageMagick's `-brightness-contrast`'s first figure).
    pub brightness: f64,
    /// −100 to 100: steeper or flatter tones around the middle (its second figure).
    pub contrast: f64,
    /// −100 to 100: more or less colour (`-modulate 100,100+S`).
    pub saturation: f64,
    /// Above 1 lightens the middle tones, below darkens (`-gamma`); 1 leaves them.
    pub gamma: f64,
}

impl Default for Adjust {
    fn default() -> Adjust {
        Adjust {
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            gamma: 1.0,
        }
    }
}

/// An unsharp mask: the difference from a Gaussian blur of `radius` (its sigma, in pixels),
/// times `amount`, added where it is more than `threshold` (0–255) apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sharpen {
    /// How much of the difference is added (0.75: the "for screens" default).
    pub amount: f64,
    /// The blur's sigma, in pixels.
    pub radius: f64,
    /// Differences this small (in 0–255 levels) are left alone (noise, skin).
    pub threshold: f64,
}

impl Default for Sharpen {
    /// What web sharpening after a downscale usually is (ImageMagick's `-unsharp
    /// 0x0.75+0.75+0.008`, about 2 levels).
    fn default() -> Sharpen {
        Sharpen {
            amount: 0.75,
            radius: 0.75,
            threshold: 2.0,
        }
    }
}

/// The picture in grey (Rec. 709 weights on the stored values, as ImageMagick 6's `-colorspace
/// Gray`); alpha kept.
pub fn grayscale(image: DynamicImage) -> DynamicImage {
    image.grayscale()
}

/// Eight-bit RGB or RGBA, whichever keeps the picture's alpha.
fn eight_bit(image: DynamicImage) -> Result<RgbaImage, RgbImage> {
    if image.color().has_alpha() {
        Ok(image.into_rgba8())
    } else {
        Err(image.into_rgb8())
    }
}

/// Applies `a` to every pixel (alpha untouched).
pub fn adjust(image: DynamicImage, a: Adjust) -> DynamicImage {
    // Brightness, contrast and gamma are one curve per channel: a table.
    let slope = (std::f64::consts::PI * (a.contrast / 100.0 + 1.0) / 4.0)
        .tan()
        .max(0.0);
    let intercept = a.brightness / 100.0 + ((100.0 - a.brightness) / 200.0) * (1.0 - slope);
    let mut table = [0u8; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let v = (slope * (i as f64 / 255.0) + intercept).clamp(0.0, 1.0);
        let v = if (a.gamma - 1.0).abs() > f64::EPSILON {
            v.powf(1.0 / a.gamma.max(0.01))
        } else {
            v
        };
        *t = (v * 255.0).round() as u8;
    }
    let saturate = a.saturation.abs() > f64::EPSILON;
    let scale = (1.0 + a.saturation / 100.0).max(0.0);
    let pixel = |rgb: &mut [u8]| {
        // The curve first, then the saturation (as -brightness-contrast then -modulate).
        let [r, g, b] = [
            table[rgb[0] as usize],
            table[rgb[1] as usize],
            table[rgb[2] as usize],
        ];
        let (r, g, b) = if saturate {
            saturated(r, g, b, scale)
        } else {
            (r, g, b)
        };
        rgb[0] = r;
        rgb[1] = g;
        rgb[2] = b;
    };
    match eight_bit(image) {
        Ok(mut rgba) => {
            rgba.pixels_mut().for_each(|p| pixel(&mut p.0[..3]));
            DynamicImage::ImageRgba8(rgba)
        }
        Err(mut rgb) => {
            rgb.pixels_mut().for_each(|p| pixel(&mut p.0));
            DynamicImage::ImageRgb8(rgb)
        }
    }
}

/// Scales a colour's HSL saturation by `scale` (ImageMagick's `-modulate`, in HSL).
fn saturated(r: u8, g: u8, b: u8, scale: f64) -> (u8, u8, u8) {
    let (r, g, b) = (
        f64::from(r) / 255.0,
        f64::from(g) / 255.0,
        f64::from(b) / 255.0,
    );
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let l = (max + min) / 2.0;
    let c = max - min;
    if c <= 0.0 {
        let v = (l * 255.0).round() as u8;
        return (v, v, v);
    }
    let s = if l <= 0.5 {
        c / (2.0 * l)
    } else {
        c / (2.0 - 2.0 * l)
    };
    let h = if max == r {
        ((g - b) / c).rem_euclid(6.0)
    } else if max == g {
        (b - r) / c + 2.0
    } else {
        (r - g) / c + 4.0
    } / 6.0;
    let s = (s * scale).clamp(0.0, 1.0);
    // HSL back to RGB.
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h * 6.0;
    let x = c * (1.0 - (hp.rem_euclid(2.0) - 1.0).abs());
    let (r1, g1, b1) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m).clamp(0.0, 1.0) * 255.0).round() as u8;
    (to(r1), to(g1), to(b1))
}

/// The normalised Gaussian of `sigma`, out to where it is negligible.
fn kernel(sigma: f64) -> Vec<f32> {
    let sigma = sigma.max(0.1);
    // Out to where a weight is under 0.5 % of the centre's (3.26 sigma): farther taps change
    // no 8-bit value and cost a fifth more time each.
    let radius = (sigma * 3.26).floor().max(1.0) as i32;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|i| (-(f64::from(i * i)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

/// Blurs row `line` (`n`-channel interleaved, `width` pixels) across with `k` into `out`,
/// edges repeated; `padded` is scratch. Written as sums of whole shifted rows (one multiply-add
/// per sample and tap, in order), which the compiler turns into vector code.
fn blur_row(line: &[u8], n: usize, k: &[f32], padded: &mut [f32], out: &mut [f32]) {
    let row = line.len();
    let width = row / n;
    let r = k.len() / 2;
    for (p, v) in padded[r * n..r * n + row].iter_mut().zip(line) {
        *p = f32::from(*v);
    }
    for i in 0..r {
        for c in 0..n {
            padded[i * n + c] = f32::from(line[c]);
            padded[(r + width + i) * n + c] = f32::from(line[row - n + c]);
        }
    }
    let (first, rest) = k.split_first().unwrap_or((&0.0, &[]));
    for (o, v) in out.iter_mut().zip(&padded[..row]) {
        *o = first * v;
    }
    for (t, w) in rest.iter().enumerate() {
        let from = (t + 1) * n;
        for (o, v) in out.iter_mut().zip(&padded[from..from + row]) {
            *o += w * v;
        }
    }
}

/// An unsharp mask over the colour channels (alpha untouched), as ImageMagick's `-unsharp`:
/// where twice the difference from the blur is under the threshold the pixel stays.
pub fn sharpen(image: DynamicImage, s: Sharpen) -> DynamicImage {
    let k = kernel(s.radius);
    let amount = s.amount as f32;
    let threshold = s.threshold as f32;
    let apply = |data: &mut [u8], width: usize, n: usize| {
        let alpha: Vec<u8> = if n == 4 {
            data.iter().skip(3).step_by(4).copied().collect()
        } else {
            Vec::new()
        };
        let row = width * n;
        if row == 0 {
            return;
        }
        let height = data.len() / row;
        let taps = k.len();
        let r = taps / 2;
        // The rows blurred across, `taps` of them at a time (a ring: row `y` in slot
        // `y % taps`), each made before the mask changes that row: the whole picture in
        // floats would not stay in the cache.
        let mut ring = vec![0f32; taps * row];
        let mut padded = vec![0f32; row + 2 * r * n];
        let mut blurred = vec![0f32; row];
        let mut next = 0;
        for y in 0..height {
            while next < height && next <= y + r {
                let slot = (next % taps) * row;
                blur_row(
                    &data[next * row..(next + 1) * row],
                    n,
                    &k,
                    &mut padded,
                    &mut ring[slot..slot + row],
                );
                next += 1;
            }
            // The blur down this row, then the mask on it.
            for (t, w) in k.iter().enumerate() {
                let sy = (y + t).saturating_sub(r).min(height - 1);
                let slot = (sy % taps) * row;
                let from = &ring[slot..slot + row];
                if t == 0 {
                    for (o, v) in blurred.iter_mut().zip(from) {
                        *o = w * v;
                    }
                } else {
                    for (o, v) in blurred.iter_mut().zip(from) {
                        *o += w * v;
                    }
                }
            }
            // In two passes the compiler makes vector code of: the change per sample, then
            // the sample moved by it.
            let line = &mut data[y * row..(y + 1) * row];
            for (b, v) in blurred.iter_mut().zip(line.iter()) {
                let diff = f32::from(*v) - *b;
                // Where twice the difference is under the threshold, nothing is added.
                let keep = f32::from(u8::from((2.0 * diff).abs() >= threshold));
                *b = f32::from(*v) + diff * amount * keep + 0.5;
            }
            // Rounded by the half added and a truncating cast, which also saturates at 0 and
            // 255 (`round` is a library call per sample without SSE4.1).
            for (v, b) in line.iter_mut().zip(&blurred) {
                *v = *b as u8;
            }
        }
        // Alpha is not sharpened.
        if n == 4 {
            for (a, kept) in data.iter_mut().skip(3).step_by(4).zip(alpha) {
                *a = kept;
            }
        }
    };
    match eight_bit(image) {
        Ok(mut rgba) => {
            let width = rgba.width() as usize;
            apply(&mut rgba, width, 4);
            DynamicImage::ImageRgba8(rgba)
        }
        Err(mut rgb) => {
            let width = rgb.width() as usize;
            apply(&mut rgb, width, 3);
            DynamicImage::ImageRgb8(rgb)
        }
    }
}
