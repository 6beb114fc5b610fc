//! Regenerates `assets/samples/`: a dozen small images of mixed formats, sizes and
//! orientations, drawn procedurally by this program (so Conveyor owns them outright).
//!
//! Run with `cargo run --example make_samples`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests (and this dev tool) stop loudly on broken set-up.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageBuffer, ImageEncoder, ImageFormat, Luma, Rgb, Rgba};

/// A small deterministic noise source (xorshift).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f32 / 10_000.0 - 0.5
    }
}

fn clamp(v: f32) -> u8 {
    v.clamp(0.0, 255.0) as u8
}

/// A landscape: graded sky, a sun, layered hills and a little grain.
fn landscape(
    w: u32,
    h: u32,
    sky_top: [f32; 3],
    sky_low: [f32; 3],
    seed: u64,
) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    let mut noise = Noise(seed);
    let (sun_x, sun_y, sun_r) = (w as f32 * 0.68, h as f32 * 0.42, h as f32 * 0.09);
    ImageBuffer::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let t = fy / h as f32;
        let mut c = [0.0f32; 3];
        for i in 0..3 {
            c[i] = sky_top[i] * (1.0 - t) + sky_low[i] * t;
        }
        let d = ((fx - sun_x).powi(2) + (fy - sun_y).powi(2)).sqrt();
        if d < sun_r {
            c = [255.0, 236.0, 180.0];
        } else {
            let glow = (1.0 - (d - sun_r) / (h as f32 * 0.5)).max(0.0).powi(2) * 80.0;
            c[0] += glow;
            c[1] += glow * 0.7;
        }
        let layers = [
            (0.62, 0.05, 0.011, [70.0, 60.0, 90.0]),
            (0.72, 0.06, 0.007, [45.0, 55.0, 60.0]),
            (0.84, 0.05, 0.004, [25.0, 40.0, 30.0]),
        ];
        for (base, amp, freq, colour) in layers {
            let ridge =
                h as f32 * (base - amp * ((fx * freq).sin() + 0.5 * (fx * freq * 2.7 + 1.3).sin()));
            if fy > ridge {
                c = colour;
                let depth = (fy - ridge) / h as f32;
                for v in &mut c {
                    *v *= 1.0 - depth * 0.8;
                }
            }
        }
        let grain = noise.next() * 10.0;
        Rgb([
            clamp(c[0] + grain),
            clamp(c[1] + grain),
            clamp(c[2] + grain),
        ])
    })
}

fn exif_orientation(value: u16) -> Vec<u8> {
    let mut e = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
    ];
    e.extend_from_slice(&value.to_be_bytes());
    e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    e
}

fn jpeg(img: &DynamicImage, quality: u8, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif).expect("JPEG carries EXIF");
    }
    img.write_with_encoder(enc).expect("encode JPEG");
    out
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

fn logo(size: u32) -> DynamicImage {
    let c = size as f32 / 2.0;
    DynamicImage::ImageRgba8(ImageBuffer::from_fn(size, size, |x, y| {
        let d = ((x as f32 - c).powi(2) + (y as f32 - c).powi(2)).sqrt() / c;
        let angle = (y as f32 - c).atan2(x as f32 - c);
        if d < 0.55 {
            Rgba([230, 80, 40, 255])
        } else if d < 0.8 && (angle * 4.0).sin() > 0.0 {
            Rgba([40, 110, 220, 255])
        } else if d < 0.86 {
            let a = ((0.86 - d) / 0.06 * 255.0) as u8;
            Rgba([40, 110, 220, a])
        } else {
            Rgba([0, 0, 0, 0])
        }
    }))
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples");
    fs::create_dir_all(&dir).expect("create assets/samples");
    let put = |name: &str, bytes: Vec<u8>| {
        fs::write(dir.join(name), &bytes).expect("write sample");
        println!("{name}: {} bytes", bytes.len());
    };
    let dusk = DynamicImage::ImageRgb8(landscape(
        1600,
        1067,
        [40.0, 30.0, 90.0],
        [250.0, 140.0, 70.0],
        1,
    ));
    put("dusk-hills.jpg", jpeg(&dusk, 85, None));
    // Stored landscape, displayed portrait: EXIF orientation 6 (rotate 90° clockwise).
    let stored = DynamicImage::ImageRgb8(landscape(
        1200,
        900,
        [90.0, 150.0, 230.0],
        [200.0, 225.0, 250.0],
        2,
    ));
    put(
        "rotated-portrait.jpg",
        jpeg(&stored, 85, Some(exif_orientation(6))),
    );
    put("logo-transparent.png", encode(&logo(600), ImageFormat::Png));
    let deep = DynamicImage::ImageRgb16(ImageBuffer::from_fn(640, 480, |x, y| {
        Rgb([(x * 65535 / 640) as u16, (y * 65535 / 480) as u16, 40000])
    }));
    put("gradient-16bit.png", encode(&deep, ImageFormat::Png));
    let mono = DynamicImage::ImageLuma8(
        landscape(1000, 1000, [30.0, 30.0, 30.0], [220.0, 220.0, 220.0], 3)
            .into_raw()
            .chunks(3)
            .map(|p| p[1])
            .collect::<Vec<u8>>()
            .pipe(|v| ImageBuffer::<Luma<u8>, _>::from_raw(1000, 1000, v).expect("grey")),
    );
    put("mono-square.jpg", jpeg(&mono, 88, None));
    let tiles = DynamicImage::ImageRgb8(ImageBuffer::from_fn(320, 240, |x, y| {
        let on = (x / 40 + y / 40) % 2 == 0;
        if on {
            Rgb([240, 220, 120])
        } else {
            Rgb([60, 90, 140])
        }
    }));
    put("tiles.bmp", encode(&tiles, ImageFormat::Bmp));
    let tall = DynamicImage::ImageRgb8(landscape(
        400,
        560,
        [20.0, 60.0, 120.0],
        [120.0, 200.0, 210.0],
        4,
    ));
    put("tall-scan.tiff", encode(&tall, ImageFormat::Tiff));
    put("badge.gif", encode(&logo(240), ImageFormat::Gif));
    let lake = DynamicImage::ImageRgb8(landscape(
        640,
        360,
        [120.0, 170.0, 220.0],
        [230.0, 210.0, 170.0],
        5,
    ));
    put("lake.webp", encode(&lake, ImageFormat::WebP));
    let pixel = DynamicImage::ImageRgba8(ImageBuffer::from_fn(128, 128, |x, y| {
        Rgba([
            (x * 2) as u8,
            (y * 2) as u8,
            160,
            if (x / 16 + y / 16) % 3 == 0 { 0 } else { 255 },
        ])
    }));
    put("pixel-art.qoi", encode(&pixel, ImageFormat::Qoi));
    let pano = DynamicImage::ImageRgb8(landscape(
        2400,
        700,
        [10.0, 20.0, 60.0],
        [230.0, 110.0, 60.0],
        6,
    ));
    put("panorama.jpg", jpeg(&pano, 80, None));
    put("tiny-icon.png", encode(&logo(48), ImageFormat::Png));
}

/// Lets a value flow into a closure, for building an image in one expression.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<T> Pipe for T {}
