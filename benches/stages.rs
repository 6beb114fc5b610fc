//! Per-stage benchmarks of the W1 path (a 12 MP photo-like JPEG → fit 800x800 JPEG q85), on one
//! core: decode (full, and shrink-on-load), resize, encode (JPEG, PNG, WebP), the size and visual
//! targets against a fixed quality, and the whole job; W2's whole job (fit 1600 WebP q80) from
//! the JPEG's planes against through RGB; a progressive version of the photo decoded at 1/2
//! scale by Conveyor's decoder and by jpeg-decoder; and a large RGBA PNG decoded whole then
//! resized against streamed into the strip resize.
//! The source is generated at run time. `cargo bench --bench stages`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the bench.

use std::hint::black_box;
use std::path::Path;

use conveyor::engine::format::Format;
use conveyor::engine::job::Stage;
use conveyor::engine::job::{Action, Job};
use conveyor::engine::job::{Flow, Processor};
use conveyor::engine::pipeline::Pipeline;
use conveyor::engine::pipeline::decode::{self, DecodeLimits, ShrinkFor};
use conveyor::engine::pipeline::encode;
use conveyor::engine::pipeline::metadata::Carry;
use conveyor::engine::pipeline::resize;
use conveyor::engine::pipeline::target;
use conveyor::engine::recipe::{Filter, OutputFormat, Recipe, ResizeSpec};
use criterion::{Criterion, criterion_group, criterion_main};
use image::{DynamicImage, RgbImage};

const W: u32 = 4000;
const H: u32 = 3000;

/// Smooth shading, mid-frequency texture and per-pixel noise, like a photo, as a q90 4:2:0 JPEG.
fn photo_jpeg(path: &Path) {
    let mut seed = 0x2545_f491_u32;
    let img = RgbImage::from_fn(W, H, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 9) as f32 - 4.0;
        let (fx, fy) = (x as f32, y as f32);
        let wave = |p: f32, q: f32| ((fx / p).sin() * (fy / q).cos() + 1.0) * 0.5;
        let c = |a: f32| (a * 255.0 + noise).clamp(0.0, 255.0) as u8;
        image::Rgb([
            c(0.6 * wave(397.0, 253.0) + 0.4 * wave(23.0, 37.0)),
            c(0.7 * wave(611.0, 449.0) + 0.3 * wave(17.0, 11.0)),
            c(0.5 * fy / H as f32 + 0.5 * wave(131.0, 97.0)),
        ])
    });
    std::fs::write(path, jpeg_q90(&img, false)).unwrap();
}

/// `img` as a q90 4:2:0 JPEG, baseline or progressive.
fn jpeg_q90(img: &RgbImage, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    enc.set_progressive(progressive);
    let (w, h) = (img.width() as u16, img.height() as u16);
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

fn stages(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photo.jpg");
    photo_jpeg(&src);
    let limits = DecodeLimits::default();
    let spec = ResizeSpec::Fit(800, 800);
    let shrink = ShrinkFor {
        spec,
        allow_upscale: false,
        filter: Filter::Lanczos3,
        planes: false,
        before: None,
    };
    let admit = &mut |_| Ok(());

    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.bench_function("full 4000x3000", |b| {
        b.iter(|| decode::decode(black_box(&src), &limits, &[], admit).unwrap())
    });
    g.bench_function("shrink-on-load for 800x600", |b| {
        b.iter(|| {
            decode::decode(
                black_box(&src),
                &limits,
                std::slice::from_ref(&shrink),
                admit,
            )
            .unwrap()
        })
    });
    g.finish();

    // The same photo as a progressive JPEG, decoded at 1/2 scale (for fit 1200): Conveyor's
    // scaled decoder (all scans, only the coefficients the 4x4 IDCT reads) against
    // jpeg-decoder's (all 64 coefficients of every block).
    let progressive = tmp.path().join("progressive.jpg");
    let photo = image::open(&src).unwrap().to_rgb8();
    std::fs::write(&progressive, jpeg_q90(&photo, true)).unwrap();
    drop(photo);
    let to_1200 = ShrinkFor {
        spec: ResizeSpec::Fit(1200, 1200),
        ..shrink.clone()
    };
    let mut g = c.benchmark_group("progressive 4000x3000 JPEG at 1/2 scale");
    g.sample_size(10);
    g.bench_function("conveyor's scaled decoder", |b| {
        b.iter(|| {
            decode::decode(
                black_box(&progressive),
                &limits,
                std::slice::from_ref(&to_1200),
                admit,
            )
            .unwrap()
        })
    });
    g.bench_function("jpeg-decoder (for comparison)", |b| {
        let data = std::fs::read(&progressive).unwrap();
        b.iter(|| {
            let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(black_box(&data)));
            d.scale(2000, 1500).unwrap();
            d.decode().unwrap()
        })
    });
    g.finish();

    // A 3840x2400 RGBA PNG to fit 1600: decoded whole then resized, against rows streamed into
    // the strip resize (what the pipeline does with one resizing output).
    let png = tmp.path().join("artwork.png");
    let art = image::RgbaImage::from_fn(3840, 2400, |x, y| {
        let v = ((x / 7) ^ (y / 5)) as u8;
        image::Rgba([v, (x / 15) as u8, (y / 10) as u8, 255 - (y / 10) as u8])
    });
    art.save(&png).unwrap();
    drop(art);
    let fit = ResizeSpec::Fit(1600, 1600);
    let to_1600 = ShrinkFor {
        spec: fit,
        ..shrink.clone()
    };
    let g1600 = fit.geometry(3840, 2400, false);
    let mut g = c.benchmark_group("png 3840x2400 RGBA to fit 1600");
    g.sample_size(10);
    g.bench_function("decode whole, then resize", |b| {
        b.iter(|| {
            let whole = decode::decode(black_box(&png), &limits, &[], admit).unwrap();
            let whole = whole.image.into_image().unwrap();
            resize::resize_to(whole, g1600, (3840, 2400), Filter::Lanczos3)
        })
    });
    g.bench_function("rows into the strip resize", |b| {
        b.iter(|| {
            decode::decode(
                black_box(&png),
                &limits,
                std::slice::from_ref(&to_1600),
                admit,
            )
            .unwrap()
        })
    });
    g.finish();

    let full = decode::decode(&src, &limits, &[], admit)
        .unwrap()
        .image
        .into_image()
        .unwrap();
    let reduced = decode::decode(&src, &limits, std::slice::from_ref(&shrink), admit)
        .unwrap()
        .image
        .into_image()
        .unwrap();
    let geometry = spec.geometry(W, H, false);
    let mut g = c.benchmark_group("resize lanczos3");
    g.sample_size(10);
    for (name, image) in [
        ("4000x3000 to 800x600", &full),
        ("1000x750 to 800x600", &reduced),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| resize::resize_to(image.clone(), geometry, (W, H), Filter::Lanczos3))
        });
    }
    g.finish();

    let small = resize::resize_to(reduced.clone(), geometry, (W, H), Filter::Lanczos3);
    let carry = Carry::default();
    let mut g = c.benchmark_group("encode 800x600");
    for (name, format) in [
        ("jpeg q85", Format::Jpeg),
        ("png", Format::Png),
        ("webp q80", Format::Webp),
    ] {
        let recipe = Recipe {
            quality: if format == Format::Webp { 80 } else { 85 },
            ..Recipe::default()
        };
        let prepared = encode::prepare(small.clone(), format, recipe.background);
        g.bench_function(name, |b| {
            b.iter(|| encode::encode(black_box(&prepared), format, &recipe, &carry).unwrap())
        });
    }
    let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
    g.bench_function("jpeg q85, image crate (for comparison)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            rgb.write_with_encoder(enc).unwrap();
            out
        })
    });
    g.finish();

    // The cost of a size or visual target against one encode at a fixed quality (#12).
    let mut g = c.benchmark_group("targets, 800x600 JPEG");
    g.sample_size(10);
    let prepared = encode::prepare(small.clone(), Format::Jpeg, Recipe::default().background);
    let fixed_size = encode::encode(&prepared, Format::Jpeg, &Recipe::default(), &carry)
        .unwrap()
        .len() as u64;
    for (name, recipe) in [
        ("fixed q85", Recipe::default()),
        (
            "--max-size 60 % of q85's size",
            Recipe {
                max_size: Some(fixed_size * 6 / 10),
                ..Recipe::default()
            },
        ),
        (
            "--target-score 80",
            Recipe {
                target_score: Some(80.0),
                ..Recipe::default()
            },
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                target::encode_for(
                    black_box(&prepared),
                    Format::Jpeg,
                    &recipe,
                    &carry,
                    &mut |_| Flow::Continue,
                )
                .unwrap()
            })
        });
    }
    g.finish();

    let pipeline = Pipeline::new(Recipe {
        resize: Some(spec),
        format: OutputFormat::To(Format::Jpeg),
        quality: 85,
        on_exist: conveyor::engine::recipe::OnExist::Overwrite,
        ..Recipe::default()
    });
    let job = Job {
        output_index: 0,
        input: src.clone(),
        output: tmp.path().join("out.jpg"),
        format: Format::Jpeg,
        input_bytes: std::fs::metadata(&src).unwrap().len(),
        action: Action::Convert,
        note: None,
        replace: false,
        journal: None,
    };
    let mut g = c.benchmark_group("whole job");
    g.sample_size(10);
    g.bench_function("12 MP JPEG to fit 800 JPEG q85", |b| {
        b.iter(|| {
            pipeline
                .process(&job, &mut |_: Stage, _| Flow::Continue)
                .unwrap()
        })
    });
    // W2's job: lossy WebP from the JPEG's own planes (the default), against the same output
    // made through RGB (a size limit the first encode meets takes that route).
    let job = Job {
        output: tmp.path().join("out.webp"),
        format: Format::Webp,
        ..job
    };
    for (name, max_size) in [
        ("12 MP JPEG to fit 1600 WebP q80, through its planes", None),
        (
            "12 MP JPEG to fit 1600 WebP q80, through RGB",
            Some(1 << 30),
        ),
    ] {
        let pipeline = Pipeline::new(Recipe {
            resize: Some(ResizeSpec::Fit(1600, 1600)),
            format: OutputFormat::To(Format::Webp),
            quality: 80,
            max_size,
            on_exist: conveyor::engine::recipe::OnExist::Overwrite,
            ..Recipe::default()
        });
        g.bench_function(name, |b| {
            b.iter(|| {
                pipeline
                    .process(&job, &mut |_: Stage, _| Flow::Continue)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
