//! Output quality: shrink-on-load and the SIMD resize must match a full decode resized with the
//! `image` crate's Lanczos3, in size exactly and closely in pixels.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use conveyor::engine::event::Stage;
use conveyor::engine::pipeline::Pipeline;
use conveyor::engine::pool::{Flow, Processor};
use conveyor::engine::recipe::{OutputFormat, Recipe, ResizeSpec};
use conveyor::engine::scan::{Action, Job};
use image::DynamicImage;
use image::imageops::FilterType;

fn psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

fn convert(input: &[u8], spec: ResizeSpec) -> DynamicImage {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in.jpg");
    std::fs::write(&src, input).unwrap();
    let out = tmp.path().join("out.png");
    let job = Job {
        input: src,
        output: out.clone(),
        format: OutputFormat::Png,
        input_bytes: input.len() as u64,
        action: Action::Convert,
        note: None,
    };
    let pipeline = Pipeline::new(Recipe {
        resize: Some(spec),
        format: OutputFormat::Png,
        ..Recipe::default()
    });
    pipeline
        .process(&job, &mut |_: Stage, _: f32| Flow::Continue)
        .expect("converts");
    image::open(&out).unwrap()
}

#[test]
fn shrink_on_load_matches_a_full_decode_lanczos3_reference() {
    // Photo-like: smooth shading and detail down to about 20 px (no near-Nyquist pattern, whose
    // aliasing would depend on sub-pixel crop phase rather than on quality).
    let source = DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(2400, 1800, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let wave = |p: f32, q: f32| ((fx / p).sin() * (fy / q).cos() + 1.0) * 0.5;
        image::Rgb([
            (255.0 * (0.6 * wave(97.0, 53.0) + 0.4 * wave(13.0, 17.0))) as u8,
            (255.0 * (0.7 * wave(211.0, 149.0) + 0.3 * wave(7.0, 11.0))) as u8,
            (255.0 * fy / 1800.0) as u8,
        ])
    }));
    let jpeg = common::encode(&source, image::ImageFormat::Jpeg);
    let full = image::load_from_memory(&jpeg).unwrap();
    for spec in [
        ResizeSpec::Fit(500, 500),
        ResizeSpec::Long(300),
        ResizeSpec::Fill(400, 400),
        ResizeSpec::Width(1000),
    ] {
        let ours = convert(&jpeg, spec);
        let g = spec.geometry(2400, 1800, false);
        let reference = full.resize_exact(g.scaled.0, g.scaled.1, FilterType::Lanczos3);
        let reference = reference.crop_imm(
            (g.scaled.0 - g.output.0) / 2,
            (g.scaled.1 - g.output.1) / 2,
            g.output.0,
            g.output.1,
        );
        assert_eq!(
            (ours.width(), ours.height()),
            g.output,
            "{spec}: same size as a full decode"
        );
        let db = psnr(&ours, &reference);
        eprintln!("{spec}: {db:.1} dB against the full-decode reference");
        assert!(
            db > 45.0,
            "{spec}: {db:.1} dB against the full-decode reference"
        );
    }
}

#[test]
fn shrink_on_load_respects_exif_orientation() {
    use image::ImageEncoder;
    // Stored 1600x1200, EXIF orientation 6 (rotate 90° clockwise): displayed 1200x1600.
    let stored = common::photo(1600, 1200).to_rgb8();
    let mut jpeg = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
    let exif = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    enc.set_exif_metadata(exif).unwrap();
    enc.write_image(stored.as_raw(), 1600, 1200, image::ExtendedColorType::Rgb8)
        .unwrap();
    let out = convert(&jpeg, ResizeSpec::Fit(300, 300));
    assert_eq!((out.width(), out.height()), (225, 300), "portrait, fitted");
}
