//! Output quality: shrink-on-load and the SIMD resize must match a full decode resized with the
//! `image` crate's Lanczos3, in size exactly and closely in pixels.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use conveyor::engine::format::Format;
use conveyor::engine::job::Stage;
use conveyor::engine::job::{Action, Job};
use conveyor::engine::job::{Flow, Processor};
use conveyor::engine::pipeline::Pipeline;
use conveyor::engine::recipe::{Chroma, OutputFormat, Recipe, ResizeSpec};
use image::DynamicImage;
use image::imageops::FilterType;

/// Runs the real pipeline on `input` and returns the output file's bytes.
fn convert_bytes(input: &[u8], recipe: Recipe) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in.jpg");
    std::fs::write(&src, input).unwrap();
    let out = tmp.path().join("out");
    let job = Job {
        input: src,
        output: out.clone(),
        format: recipe.format.resolve("png"),
        input_bytes: input.len() as u64,
        action: Action::Convert,
        note: None,
        replace: false,
        journal: None,
    };
    Pipeline::new(recipe)
        .process(&job, &mut |_: Stage| Flow::Continue)
        .expect("converts");
    std::fs::read(&out).unwrap()
}

fn convert(input: &[u8], spec: ResizeSpec) -> DynamicImage {
    let png = convert_bytes(
        input,
        Recipe {
            resize: Some(spec),
            format: OutputFormat::To(Format::Png),
            ..Recipe::default()
        },
    );
    image::load_from_memory(&png).unwrap()
}

/// The (horizontal, vertical) sampling factors of each component in a baseline JPEG's frame header.
fn sampling_factors(jpeg: &[u8]) -> Vec<(u8, u8)> {
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    let components = usize::from(jpeg[sof + 9]);
    (0..components)
        .map(|i| {
            let b = jpeg[sof + 11 + 3 * i];
            (b >> 4, b & 15)
        })
        .collect()
}

#[test]
fn jpeg_outputs_are_420_by_default_and_444_on_request() {
    let jpeg = common::encode(&smooth(640, 480), image::ImageFormat::Jpeg);
    let recipe = Recipe {
        format: OutputFormat::To(Format::Jpeg),
        quality: 92,
        ..Recipe::default()
    };
    let default = convert_bytes(&jpeg, recipe.clone());
    assert_eq!(
        sampling_factors(&default),
        vec![(2, 2), (1, 1), (1, 1)],
        "4:2:0 by default, even at quality 92"
    );
    let full = convert_bytes(
        &jpeg,
        Recipe {
            chroma: Chroma::S444,
            ..recipe
        },
    );
    assert_eq!(sampling_factors(&full), vec![(1, 1), (1, 1), (1, 1)]);
    // Both decode back to the source picture (an independent decoder: jpeg-decoder).
    for bytes in [&default, &full] {
        let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        assert_eq!((info.width, info.height), (640, 480));
        let back = DynamicImage::ImageRgb8(image::RgbImage::from_raw(640, 480, px).unwrap());
        let db = common::psnr(&back, &image::load_from_memory(&jpeg).unwrap());
        assert!(db > 38.0, "{db:.1} dB");
    }
}

/// Photo-like: smooth shading and detail down to about 20 px (no near-Nyquist pattern, whose
/// aliasing would depend on sub-pixel crop phase rather than on quality).
fn smooth(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let wave = |p: f32, q: f32| ((fx / p).sin() * (fy / q).cos() + 1.0) * 0.5;
        image::Rgb([
            (255.0 * (0.6 * wave(97.0, 53.0) + 0.4 * wave(13.0, 17.0))) as u8,
            (255.0 * (0.7 * wave(211.0, 149.0) + 0.3 * wave(7.0, 11.0))) as u8,
            (255.0 * fy / h as f32) as u8,
        ])
    }))
}

#[test]
fn shrink_on_load_matches_a_full_decode_lanczos3_reference() {
    let source = smooth(2400, 1800);
    let jpeg = common::encode(&source, image::ImageFormat::Jpeg);
    let full = image::load_from_memory(&jpeg).unwrap();
    for spec in [
        ResizeSpec::Fit(500, 500),
        ResizeSpec::Long(300),
        ResizeSpec::Fill(400, 400),
        ResizeSpec::Width(1000),
        // Squeezed: the DCT scale must cover the taller side too, or it would be stretched up.
        ResizeSpec::Exact(200, 900),
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
        let db = common::psnr(&ours, &reference);
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
