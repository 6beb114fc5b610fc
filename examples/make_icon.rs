//! Draws Conveyor's icon: three photos of shrinking size riding a conveyor belt on a blue tile.
//! One list of shapes is written twice, as the SVG master and rasterised (4×4 supersampled) to
//! the PNG sizes a desktop wants, so `cargo run --example make_icon` regenerates every file:
//!
//! - `assets/icons/conveyor.svg`
//! - `assets/icons/hicolor/NxN/apps/conveyor.png` for N in 16, 24, 32, 48, 64, 128, 256, 512
#![allow(clippy::unwrap_used, clippy::expect_used)] // A generator script: failing loudly is right.

use std::fmt::Write as _;
use std::path::Path;

/// Sizes installed into the hicolor theme.
const SIZES: [u32; 8] = [16, 24, 32, 48, 64, 128, 256, 512];

#[derive(Clone, Copy)]
enum Shape {
    /// x0, y0, x1, y1, corner radius (all in 0..1 of the icon's side).
    RoundRect(f64, f64, f64, f64, f64),
    /// centre x, centre y, radius.
    Circle(f64, f64, f64),
    /// Three corners.
    Triangle([(f64, f64); 3]),
}

#[derive(Clone, Copy)]
enum Paint {
    Solid([u8; 3]),
    /// Top colour, bottom colour, over the shape's own height y0..y1.
    Vertical([u8; 3], [u8; 3], f64, f64),
}

struct Layer {
    shape: Shape,
    paint: Paint,
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// A photo: white card, sky, a hill and a sun, with its bottom-left corner at (x, bottom).
fn photo(layers: &mut Vec<Layer>, x: f64, bottom: f64, w: f64) {
    let h = w * 0.75;
    let (x0, y0, x1, y1) = (x, bottom - h, x + w, bottom);
    layers.push(Layer {
        shape: Shape::RoundRect(x0, y0, x1, y1, w * 0.06),
        paint: Paint::Solid([0xff, 0xff, 0xff]),
    });
    let inset = w * 0.08;
    let (px0, py0, px1, py1) = (x0 + inset, y0 + inset, x1 - inset, y1 - inset);
    layers.push(Layer {
        shape: Shape::RoundRect(px0, py0, px1, py1, 0.0),
        paint: Paint::Vertical([0x7c, 0xc4, 0xf2], [0xc6, 0xe8, 0xfb], py0, py1),
    });
    let (pw, ph) = (px1 - px0, py1 - py0);
    layers.push(Layer {
        shape: Shape::Circle(px1 - pw * 0.24, py0 + ph * 0.3, ph * 0.16),
        paint: Paint::Solid([0xf6, 0xc3, 0x3b]),
    });
    layers.push(Layer {
        shape: Shape::Triangle([(px0, py1), (px0 + pw * 0.42, py0 + ph * 0.32), (px1, py1)]),
        paint: Paint::Solid([0x2f, 0x9e, 0x5b]),
    });
}

fn layers() -> Vec<Layer> {
    let mut l = vec![
        // The tile.
        Layer {
            shape: Shape::RoundRect(0.04, 0.04, 0.96, 0.96, 0.2),
            paint: Paint::Vertical([0x3b, 0x82, 0xd6], [0x1e, 0x4f, 0x91], 0.04, 0.96),
        },
        // The belt and its rollers.
        Layer {
            shape: Shape::RoundRect(0.1, 0.68, 0.9, 0.8, 0.06),
            paint: Paint::Solid([0x1a, 0x20, 0x2c]),
        },
        Layer {
            shape: Shape::Circle(0.17, 0.74, 0.035),
            paint: Paint::Solid([0xa0, 0xae, 0xc0]),
        },
        Layer {
            shape: Shape::Circle(0.5, 0.74, 0.035),
            paint: Paint::Solid([0xa0, 0xae, 0xc0]),
        },
        Layer {
            shape: Shape::Circle(0.83, 0.74, 0.035),
            paint: Paint::Solid([0xa0, 0xae, 0xc0]),
        },
    ];
    // Photos getting smaller along the belt: what a batch resize does.
    photo(&mut l, 0.1, 0.665, 0.36);
    photo(&mut l, 0.5, 0.665, 0.24);
    photo(&mut l, 0.77, 0.665, 0.14);
    l
}

fn inside(shape: Shape, x: f64, y: f64) -> bool {
    match shape {
        Shape::RoundRect(x0, y0, x1, y1, r) => {
            if x < x0 || x > x1 || y < y0 || y > y1 {
                return false;
            }
            let cx = x.clamp(x0 + r, x1 - r);
            let cy = y.clamp(y0 + r, y1 - r);
            (x - cx).powi(2) + (y - cy).powi(2) <= r * r
        }
        Shape::Circle(cx, cy, r) => (x - cx).powi(2) + (y - cy).powi(2) <= r * r,
        Shape::Triangle([a, b, c]) => {
            let side =
                |p: (f64, f64), q: (f64, f64)| (q.0 - p.0) * (y - p.1) - (q.1 - p.1) * (x - p.0);
            let (d1, d2, d3) = (side(a, b), side(b, c), side(c, a));
            let neg = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
            let pos = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
            !(neg && pos)
        }
    }
}

fn colour(paint: Paint, y: f64) -> [u8; 3] {
    match paint {
        Paint::Solid(c) => c,
        Paint::Vertical(top, bottom, y0, y1) => {
            let t = ((y - y0) / (y1 - y0)).clamp(0.0, 1.0);
            let mix =
                |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
            [
                mix(top[0], bottom[0]),
                mix(top[1], bottom[1]),
                mix(top[2], bottom[2]),
            ]
        }
    }
}

fn raster(layers: &[Layer], size: u32) -> image::RgbaImage {
    const SS: u32 = 4;
    image::RgbaImage::from_fn(size, size, |px, py| {
        let mut acc = [0.0f64; 4];
        for sy in 0..SS {
            for sx in 0..SS {
                let x = (f64::from(px) + (f64::from(sx) + 0.5) / f64::from(SS)) / f64::from(size);
                let y = (f64::from(py) + (f64::from(sy) + 0.5) / f64::from(SS)) / f64::from(size);
                let hit = layers.iter().rev().find(|l| inside(l.shape, x, y));
                if let Some(layer) = hit {
                    let c = colour(layer.paint, y);
                    for i in 0..3 {
                        acc[i] += f64::from(c[i]);
                    }
                    acc[3] += 255.0;
                }
            }
        }
        let n = f64::from(SS * SS);
        let a = acc[3] / n;
        // Colours are averaged over the covered samples only (straight alpha).
        let covered = acc[3] / 255.0;
        let c = |i: usize| {
            if covered > 0.0 {
                (acc[i] / covered).round() as u8
            } else {
                0
            }
        };
        image::Rgba([c(0), c(1), c(2), a.round() as u8])
    })
}

fn svg(layers: &[Layer]) -> String {
    const S: f64 = 512.0;
    let mut defs = String::new();
    let mut body = String::new();
    for (i, layer) in layers.iter().enumerate() {
        let fill = match layer.paint {
            Paint::Solid(c) => hex(c),
            // Every gradient here spans its own shape's height, so the SVG states it in the
            // shape's bounding box (what every renderer supports).
            Paint::Vertical(top, bottom, _, _) => {
                let _ = writeln!(
                    defs,
                    "    <linearGradient id=\"g{i}\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">\
                     <stop offset=\"0\" stop-color=\"{}\"/><stop offset=\"1\" stop-color=\"{}\"/></linearGradient>",
                    hex(top),
                    hex(bottom)
                );
                format!("url(#g{i})")
            }
        };
        let _ = match layer.shape {
            Shape::RoundRect(x0, y0, x1, y1, r) => writeln!(
                body,
                "  <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{:.1}\" fill=\"{fill}\"/>",
                x0 * S,
                y0 * S,
                (x1 - x0) * S,
                (y1 - y0) * S,
                r * S
            ),
            Shape::Circle(cx, cy, r) => writeln!(
                body,
                "  <circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"{fill}\"/>",
                cx * S,
                cy * S,
                r * S
            ),
            Shape::Triangle(pts) => writeln!(
                body,
                "  <polygon points=\"{}\" fill=\"{fill}\"/>",
                pts.iter()
                    .map(|(x, y)| format!("{:.1},{:.1}", x * S, y * S))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        };
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- Conveyor's icon. Generated by examples/make_icon.rs; edit that, not this. -->\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"512\" height=\"512\" viewBox=\"0 0 512 512\">\n\
         <defs>\n{defs}</defs>\n{body}</svg>\n"
    )
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons");
    let layers = layers();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("conveyor.svg"), svg(&layers)).unwrap();
    for size in SIZES {
        let dir = root.join(format!("hicolor/{size}x{size}/apps"));
        std::fs::create_dir_all(&dir).unwrap();
        raster(&layers, size)
            .save_with_format(dir.join("conveyor.png"), image::ImageFormat::Png)
            .unwrap();
    }
    println!(
        "wrote {} and {} PNG sizes",
        root.join("conveyor.svg").display(),
        SIZES.len()
    );
}
