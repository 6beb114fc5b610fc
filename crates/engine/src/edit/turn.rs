//! Rotation by any angle: each output pixel samples the picture where it came from
//! (bicubic, Catmull-Rom), the corners filled with the background. The canvas is the one
//! ImageMagick's `-rotate` (its `+distort SRT`) gives: the turned picture's bounds, widened by
//! half a pixel each way and rounded out to whole pixels, so the two agree pixel for pixel in
//! place.

use image::{DynamicImage, Rgba, RgbaImage};

use crate::spec::Rgb;

/// The canvas of a `w`×`h` picture turned by `degrees` clockwise: its left and top in the
/// picture's own coordinates (centre at `w/2`, `h/2`), and its size.
pub(super) fn canvas(w: u32, h: u32, degrees: f64) -> (f64, f64, u32, u32) {
    let (s, c) = degrees.to_radians().sin_cos();
    let (hw, hh) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let half_x = hw * c.abs() + hh * s.abs();
    let half_y = hw * s.abs() + hh * c.abs();
    let left = (hw - half_x - 0.5).floor();
    let right = (hw + half_x + 0.5).ceil();
    let top = (hh - half_y - 0.5).floor();
    let bottom = (hh + half_y + 0.5).ceil();
    (left, top, (right - left) as u32, (bottom - top) as u32)
}

/// Catmull-Rom weights for a sample `t` (0..1) past its left neighbour.
fn weights(t: f64) -> [f64; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ]
}

/// `image` turned `degrees` clockwise onto a canvas of `background`.
pub fn turn(image: DynamicImage, degrees: f64, background: Rgb) -> DynamicImage {
    let alpha = image.color().has_alpha();
    let src = image.into_rgba8();
    let (w, h) = src.dimensions();
    let (left, top, cw, ch) = canvas(w, h, degrees);
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let [br, bg, bb] = background.0;
    let back = [f64::from(br), f64::from(bg), f64::from(bb), 255.0];
    let fetch = |x: i64, y: i64| -> [f64; 4] {
        if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
            return back;
        }
        let p = src.get_pixel(x as u32, y as u32).0;
        [
            f64::from(p[0]),
            f64::from(p[1]),
            f64::from(p[2]),
            f64::from(p[3]),
        ]
    };
    let mut out = RgbaImage::new(cw, ch);
    for (i, j, px) in out.enumerate_pixels_mut() {
        // The pixel's centre, in the picture's coordinates, turned back.
        let (dx, dy) = (
            left + f64::from(i) + 0.5 - cx,
            top + f64::from(j) + 0.5 - cy,
        );
        let sx = cx + dx * c + dy * s - 0.5;
        let sy = cy - dx * s + dy * c - 0.5;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (wx, wy) = (weights(sx - x0), weights(sy - y0));
        let (x0, y0) = (x0 as i64 - 1, y0 as i64 - 1);
        let mut acc = [0.0f64; 4];
        for (m, wym) in wy.iter().enumerate() {
            for (n, wxn) in wx.iter().enumerate() {
                let p = fetch(x0 + n as i64, y0 + m as i64);
                let k = wym * wxn;
                for (a, v) in acc.iter_mut().zip(p) {
                    *a += k * v;
                }
            }
        }
        *px = Rgba(acc.map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
    if alpha {
        DynamicImage::ImageRgba8(out)
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(out).into_rgb8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ImageMagick 6.9's `-rotate` canvases for these sizes and angles.
    #[test]
    fn the_canvas_is_imagemagicks() {
        for (w, h, degrees, size) in [
            (640, 427, 12.5, (720, 557)),
            (640, 427, 30.0, (770, 691)),
            (640, 427, 45.0, (756, 757)),
            (640, 427, -7.0, (690, 503)),
            (100, 50, 12.5, (110, 72)),
        ] {
            let (_, _, cw, ch) = canvas(w, h, degrees);
            assert_eq!((cw, ch), size, "{w}x{h} at {degrees}");
        }
    }
}
