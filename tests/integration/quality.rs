//! Output quality: shrink-on-load and the SIMD resize must match a full decode resized with the
//! `image` crate's Lanczos3, in size exactly and closely in pixels.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

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
        output_index: 0,
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
        .process(&job, &mut |_: Stage, _| Flow::Continue)
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
    // Re-encoded even where that is larger than the original: this is about the encoder.
    let recipe = Recipe {
        format: OutputFormat::To(Format::Jpeg),
        quality: 92,
        reencode: true,
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

/// Fine texture near the Nyquist limit of a half-scale image (periods of 2.4 to 3.1 px, like
/// the engraved lines of the README's artwork), over smooth shading.
fn fine_texture(w: u32, h: u32) -> image::RgbImage {
    image::ImageBuffer::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let lines = (fx / 2.4 + fy / 9.0).sin() * (fy / 3.1 - fx / 11.0).cos();
        let shade = fx / w as f32;
        let v = |k: f32| (128.0 + 90.0 * lines * k + 30.0 * shade).clamp(0.0, 255.0) as u8;
        image::Rgb([v(1.0), v(0.8), v(0.6)])
    })
}

fn jpeg_encoder_jpeg(px: &image::RgbImage, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 100);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_2);
    encoder.set_progressive(progressive);
    let (w, h) = (px.width() as u16, px.height() as u16);
    encoder
        .encode(px.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[test]
fn a_progressive_jpeg_leaves_the_filter_at_least_a_factor_of_one_and_a_half() {
    // 1920x1080 to fit 800: a baseline JPEG is decoded at 1/2 (960 wide, 1.2 left for the
    // filter); a progressive one, which leaves at least 1.5, at full size.
    let source = fine_texture(1920, 1080);
    let spec = ResizeSpec::Fit(800, 800);
    let g = spec.geometry(1920, 1080, false);
    let psnr = |jpeg: &[u8]| {
        let full = image::load_from_memory(jpeg).unwrap();
        let reference = full.resize_exact(g.scaled.0, g.scaled.1, FilterType::Lanczos3);
        common::psnr(&convert(jpeg, spec), &reference)
    };
    let progressive = psnr(&jpeg_encoder_jpeg(&source, true));
    let baseline = psnr(&jpeg_encoder_jpeg(&source, false));
    eprintln!("progressive {progressive:.1} dB, baseline (shrunk on load) {baseline:.1} dB");
    assert!(progressive > 50.0, "progressive: {progressive:.1} dB");
    // The texture is one a half-scale decode loses: the test would see it.
    assert!(
        baseline < progressive - 6.0,
        "baseline {baseline:.1} dB, progressive {progressive:.1} dB"
    );
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

// --- size and visual targets (#12) -------------------------------------------------------------

use std::path::Path;
use std::process::Command;

/// A photo-like image: smooth light and colour, edges, and fine grain (an LCG, seeded), so
/// that its encoded size responds to quality the way a photograph's does.
fn grainy_photo(w: u32, h: u32, seed: u32) -> DynamicImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(w, h, |x, y| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let grain = (state >> 24) as i32 % 24 - 12;
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let wave = ((fx * (7.0 + seed as f32 % 5.0)).sin() * (fy * 5.0).cos() * 60.0) as i32;
        let edge = if (x / 97 + y / 61 + seed).is_multiple_of(3) {
            40
        } else {
            0
        };
        let c = |base: f32, k: i32| (base * 200.0) as i32 + wave / k + edge + grain;
        image::Rgb([c(fx, 1), c(fy, 2), c(1.0 - fx * fy, 3)].map(|v| v.clamp(0, 255) as u8))
    }))
}

/// A text-like screenshot: black "glyphs" in lines on white.
fn text_screenshot(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(w, h, |x, y| {
        let line = y % 18;
        let glyph = (x / 7 + (y / 18) * 3) % 11;
        let ink = (3..13).contains(&line) && glyph < 8 && (x % 7) < 5 && (x * 31 + y) % 9 != 0;
        if ink {
            image::Rgb([20, 20, 20])
        } else {
            image::Rgb([250, 250, 250])
        }
    }))
}

use common::{conveyor, read_report as report, s};

/// #12 acceptance 1: 40 photos → fit 1600 with `--max-size 150K`, as JPEG and as WebP: every
/// output fits, and on average uses at least 80 % of the limit (not needlessly small).
#[test]
#[ignore = "needs an optimised build (cargo test --release): 80 conversions of 2000x1500 photos"]
fn max_size_fits_every_output_and_uses_most_of_the_room() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    // Forty different 2000x1500 views of one large photo-like scene.
    let scene = grainy_photo(2600, 2000, 7);
    for i in 0..40 {
        let view = scene.crop_imm(i * 15, i * 12, 2000, 1500);
        common::put(
            &dir,
            &format!("photo{i:02}.jpg"),
            &common::encode(&view, image::ImageFormat::Jpeg),
        );
    }
    const LIMIT: u64 = 150 * 1024;
    for format in ["jpeg", "webp"] {
        let out = tmp.path().join(format);
        let r = tmp.path().join(format!("{format}.json"));
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--resize",
            "fit:1600x1600",
            "--format",
            format,
            "--max-size",
            "150K",
            "--report",
            s(&r),
        ]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let r = report(&r);
        let files = r["files"].as_array().unwrap();
        assert_eq!(files.len(), 40);
        let mut total = 0;
        for f in files {
            let bytes = std::fs::metadata(f["output"].as_str().unwrap())
                .unwrap()
                .len();
            assert!(
                bytes <= LIMIT,
                "{format}: {bytes} bytes is over 150 KiB: {f}"
            );
            assert!(
                f["quality"]
                    .as_u64()
                    .is_some_and(|q| (10..=85).contains(&q))
            );
            total += bytes;
        }
        let mean = total as f64 / 40.0 / LIMIT as f64;
        eprintln!(
            "{format}: outputs use {:.0} % of the limit on average",
            mean * 100.0
        );
        assert!(
            mean >= 0.8,
            "{format}: on average {:.0} % of the limit",
            mean * 100.0
        );
    }
}

/// The SSIMULACRA2 score of `distorted` against `original` by an implementation other than
/// ours (the `ssimulacra2` Python package; `.ci/run` installs it), if it is installed.
fn independent_score(original: &Path, distorted: &Path) -> Option<f64> {
    let run = Command::new("python3")
        .args(["-m", "ssimulacra2.cli", s(original), s(distorted)])
        .output()
        .ok()?;
    if !run.status.success() {
        return None;
    }
    String::from_utf8_lossy(&run.stdout).trim().parse().ok()
}

/// #12 acceptance 2: `--target-score 80` on a varied folder gives every output a score of at
/// least 80 by an independent implementation, chooses different qualities for different
/// images, and is smaller in total than one fixed quality that reaches 80 everywhere.
#[test]
fn a_visual_target_is_met_per_image_with_less_data_than_one_fixed_quality() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let mut flat = image::RgbImage::from_pixel(480, 360, image::Rgb([240, 236, 220]));
    for (x, y, p) in flat.enumerate_pixels_mut() {
        if (x / 60 + y / 45) % 4 == 0 {
            *p = image::Rgb([30, 90, 160]);
        }
    }
    let images = [
        ("photo.png", grainy_photo(480, 360, 3)),
        ("photo2.png", grainy_photo(400, 400, 8)),
        ("flat.png", DynamicImage::ImageRgb8(flat)),
        ("text.png", text_screenshot(480, 300)),
    ];
    for (name, img) in &images {
        common::put(&dir, name, &common::encode(img, image::ImageFormat::Png));
    }
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--quality",
        "100",
        "--target-score",
        "80",
        "--report",
        s(&r),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = report(&r);
    let mut qualities = std::collections::BTreeSet::new();
    let mut total = 0;
    let mut scored_elsewhere = 0;
    for f in r["files"].as_array().unwrap() {
        assert_eq!(f["status"], "ok", "{f}");
        let ours = f["score"].as_f64().expect("a score in the report");
        assert!(ours >= 80.0, "{f}");
        qualities.insert(f["quality"].as_u64().expect("the quality used"));
        let output = Path::new(f["output"].as_str().unwrap());
        total += std::fs::metadata(output).unwrap().len();
        if let Some(theirs) = independent_score(Path::new(f["input"].as_str().unwrap()), output) {
            eprintln!("{f}: independent score {theirs:.2}");
            assert!(theirs >= 80.0, "independent score {theirs} < 80 for {f}");
            scored_elsewhere += 1;
        }
    }
    if scored_elsewhere == 0 {
        common::skip_outside_ci(
            "no independent SSIMULACRA2 (pip install ssimulacra2): outputs checked by ours only",
        );
    }
    assert!(
        qualities.len() > 1,
        "one quality for every image: {qualities:?}"
    );
    // One fixed quality that reaches the target everywhere is at least the highest chosen.
    let fixed = qualities.iter().max().unwrap().to_string();
    let out_fixed = tmp.path().join("fixed");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out_fixed),
        "--format",
        "jpeg",
        "--quality",
        &fixed,
    ]);
    assert_eq!(run.status.code(), Some(0));
    let fixed_total: u64 = common::snapshot(&out_fixed)
        .values()
        .map(|b| b.len() as u64)
        .sum();
    eprintln!("target total {total} bytes, fixed quality {fixed} total {fixed_total} bytes");
    assert!(total < fixed_total);
}

/// #37 item 5: a transparent image is scored as it is seen. What lies under fully transparent
/// pixels is never shown and a lossy WebP rightly drops it; scoring the raw colours there gave
/// PNG logos scores of −16.8 to −61.4 while before and after looked the same. Here a logo on
/// a transparent canvas whose hidden pixels are noise reaches the target, with a score that
/// the same image without the noise (flattened the same way) agrees with.
#[test]
fn a_transparent_image_is_scored_as_it_is_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let mut state = 0x9e37_79b9_u32;
    let logo = image::RgbaImage::from_fn(320, 240, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let inside = (x as i32 - 160).pow(2) + (y as i32 - 120).pow(2) < 80 * 80;
        if inside {
            image::Rgba([200, (x % 255) as u8, 40, 255])
        } else {
            // Invisible noise under full transparency.
            let b = state.to_le_bytes();
            image::Rgba([b[0], b[1], b[2], 0])
        }
    });
    common::put(
        &dir,
        "logo.png",
        &common::encode(&DynamicImage::ImageRgba8(logo), image::ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "webp",
        "--quality",
        "100",
        "--target-score",
        "80",
        "--report",
        s(&r),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = report(&r);
    let f = &r["files"][0];
    assert_eq!(f["status"], "ok", "{f}");
    let score = f["score"].as_f64().expect("a score");
    assert!(score >= 80.0, "scored as seen: {f}");
    assert!(
        f["warnings"].as_array().is_none_or(Vec::is_empty),
        "the target is met without a warning: {f}"
    );
    let quality = f["quality"].as_u64().expect("quality");
    assert!(quality < 100, "the search went below the cap: {f}");
}

/// #12 acceptance 3: `--smaller-only` keeps byte-identical copies of JPEGs that re-encoding
/// would only grow, and says so; it converts what does shrink; with `--metadata strip` an
/// original carrying EXIF is still converted.
#[test]
fn smaller_only_keeps_originals_that_would_grow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    // Well compressed: quality 60 (re-encoding at the default 85 only grows it).
    let mut small = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut small, 60)
        .encode_image(&grainy_photo(640, 480, 1))
        .unwrap();
    common::put(&dir, "tight.jpg", &small);
    let with_exif = common::with_segments(&small, &[(0xE1, &common::exif_block(1, "Cam"))]);
    common::put(&dir, "exif.jpg", &with_exif);
    common::put(
        &dir,
        "big.png",
        &common::encode(&grainy_photo(640, 480, 2), image::ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--smaller-only",
        "--metadata",
        "strip",
        "--report",
        s(&r),
    ]);
    assert_eq!(run.status.code(), Some(0));
    let r = report(&r);
    let record = |name: &str| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["input"].as_str().unwrap().ends_with(name))
            .cloned()
            .unwrap()
    };
    let tight = record("tight.jpg");
    assert_eq!(
        std::fs::read(out.join("tight.jpg")).unwrap(),
        small,
        "a byte-identical copy"
    );
    assert!(
        tight["warnings"].to_string().contains("kept as it was"),
        "{tight}"
    );
    let exif = record("exif.jpg");
    assert_ne!(std::fs::read(out.join("exif.jpg")).unwrap(), with_exif);
    assert!(
        exif["warnings"].to_string().contains("the recipe removes"),
        "{exif}"
    );
    // PNG → PNG of the same pixels: kept only if not smaller; to WebP it always converts.
    let out_webp = tmp.path().join("webp");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out_webp),
        "--format",
        "webp",
        "--smaller-only",
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert!(out_webp.join("big.webp").exists());
    assert!(out_webp.join("tight.webp").exists());
}

/// #40 acceptance 5: a PNG or JPEG that needs no pixel change never comes out larger than it
/// went in under the default recipe: a palette PNG (what optimisers write for flat artwork) and
/// a JPEG at quality 60 keep their bytes, and the report says so; `--reencode` writes them
/// re-encoded; a location to strip is a reason to re-encode (the original's bytes would carry
/// it out).
#[test]
fn the_default_recipe_never_makes_a_file_larger_for_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    // A 4-colour palette PNG, as pngquant or oxipng leave flat artwork: about 1 KB.
    let mut palette = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut palette, 240, 160);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Two);
        enc.set_palette(vec![255, 255, 255, 30, 90, 160, 240, 180, 40, 20, 20, 20]);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..160u32)
            .flat_map(|y| {
                (0..60u32).map(move |bx| {
                    let px = |x: u32| (((x / 24) + (y / 20)) % 4) as u8;
                    let x = bx * 4;
                    (px(x) << 6) | (px(x + 1) << 4) | (px(x + 2) << 2) | px(x + 3)
                })
            })
            .collect();
        w.write_image_data(&data).unwrap();
    }
    common::put(&dir, "flat.png", &palette);
    let mut tight = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut tight, 60)
        .encode_image(&grainy_photo(640, 480, 4))
        .unwrap();
    common::put(&dir, "tight.jpg", &tight);
    let located = common::with_segments(&tight, &[(0xE1, &common::exif_block(1, "Cam"))]);
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--report", s(&r)]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(out.join("flat.png")).unwrap(), palette);
    assert_eq!(std::fs::read(out.join("tight.jpg")).unwrap(), tight);
    let r = report(&r);
    for f in r["files"].as_array().unwrap() {
        assert_eq!(f["status"], "ok", "{f}");
        assert!(f["warnings"].to_string().contains("kept as it was"), "{f}");
    }
    // Asked to re-encode: the files are re-encoded (and larger).
    let again = tmp.path().join("again");
    let run = conveyor(&["run", s(&dir), "--out", s(&again), "--reencode"]);
    assert_eq!(run.status.code(), Some(0));
    assert!(std::fs::read(again.join("flat.png")).unwrap().len() > palette.len());
    assert_ne!(std::fs::read(again.join("tight.jpg")).unwrap(), tight);
    // A location to strip: re-encoded without it, however large.
    let gps = tmp.path().join("gps");
    common::put(&gps, "located.jpg", &located);
    let stripped = tmp.path().join("stripped");
    let run = conveyor(&[
        "run",
        s(&gps),
        "--out",
        s(&stripped),
        "--metadata",
        "strip-location",
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert_ne!(
        std::fs::read(stripped.join("located.jpg")).unwrap(),
        located
    );
}

/// #40: `--effort` drives lossy WebP's method (libwebp's 0–6): more effort, smaller files at
/// the same quality, each decoded back by libwebp at the same size; the default effort (4) is
/// libwebp's default method, so the default's bytes are what they were.
#[test]
fn webp_effort_is_libwebps_method() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    for i in 0..3 {
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&grainy_photo(480, 360, 20 + i), image::ImageFormat::Png),
        );
    }
    let total = |effort: &str| {
        let out = tmp.path().join(format!("e{effort}"));
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "webp",
            "--quality",
            "80",
            "--effort",
            effort,
        ]);
        assert_eq!(run.status.code(), Some(0));
        let files = common::snapshot(&out);
        assert_eq!(files.len(), 3);
        for bytes in files.values() {
            let img = webp::Decoder::new(bytes)
                .decode()
                .expect("libwebp reads it");
            assert_eq!((img.width(), img.height()), (480, 360));
        }
        files.values().map(|b| b.len()).sum::<usize>()
    };
    let (fast, default, most) = (total("0"), total("4"), total("10"));
    eprintln!("WebP q80 bytes: effort 0 {fast}, 4 {default}, 10 {most}");
    assert!(
        most < default,
        "method 6 is smaller than method 4: {most} vs {default}"
    );
    assert_ne!(fast, default, "effort 0 is another method");
    // The default effort writes what libwebp's defaults write (the `webp` crate, quality 80).
    let one = common::encode(&grainy_photo(480, 360, 20), image::ImageFormat::Png);
    let rgb = image::load_from_memory(&one).unwrap().to_rgb8();
    let reference = webp::Encoder::from_rgb(rgb.as_raw(), 480, 360).encode(80.0);
    let ours = std::fs::read(tmp.path().join("e4/p0.webp")).unwrap();
    assert_eq!(
        ours.len(),
        reference.len(),
        "the default effort is libwebp's default method"
    );
}

/// `--max-size` and `--target-score` are refused at parse time for lossless outputs, with a
/// sentence saying why; a file that cannot fit even at quality 10 fails alone (`over_size`).
#[test]
fn size_targets_are_refused_for_lossless_outputs_and_unreachable_sizes_fail_alone() {
    for args in [
        ["--format", "png", "--max-size", "100K"],
        ["--format", "webp", "--lossless", "--target-score"],
    ] {
        let mut all = vec!["run", "in", "--out", "out"];
        all.extend(args);
        if all.last() == Some(&"--target-score") {
            all.push("80");
        }
        let run = conveyor(&all);
        assert_eq!(run.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains("lossless"), "{err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    common::put(
        &dir,
        "huge.png",
        &common::encode(&grainy_photo(1200, 900, 4), image::ImageFormat::Png),
    );
    common::put(
        &dir,
        "tiny.png",
        &common::encode(&grainy_photo(40, 30, 5), image::ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--max-size",
        "2K",
        "--report",
        s(&r),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let r = report(&r);
    let files = r["files"].as_array().unwrap();
    let huge = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("huge.png"))
        .unwrap();
    assert_eq!(huge["error_kind"], "over_size", "{huge}");
    assert!(
        huge["error"].as_str().unwrap().contains("smallest"),
        "{huge}"
    );
    assert!(!out.join("huge.jpg").exists());
    assert!(out.join("tiny.jpg").exists());
    assert!(r["summary"]["saved_bytes"].as_i64().is_some());
}

/// The searches stay cheap: on photo-like images a size target takes at most about 5 encodes
/// and a visual target about 6 (each with a score), as the README says.
#[test]
fn target_searches_take_a_handful_of_encodes() {
    use conveyor::engine::pipeline::encode;
    use conveyor::engine::pipeline::metadata::Carry;
    use conveyor::engine::pipeline::target;
    let mut size_encodes = Vec::new();
    let mut score_encodes = Vec::new();
    for seed in 0..6 {
        let img = encode::prepare(
            grainy_photo(640, 480, seed),
            Format::Jpeg,
            Recipe::default().background,
        );
        let fixed = encode::encode(&img, Format::Jpeg, &Recipe::default(), &Carry::default())
            .unwrap()
            .len() as u64;
        for limit in [fixed / 2, fixed * 4 / 5] {
            let recipe = Recipe {
                max_size: Some(limit),
                ..Recipe::default()
            };
            let chosen =
                target::encode_for(&img, Format::Jpeg, &recipe, &Carry::default(), &mut |_| {
                    Flow::Continue
                })
                .unwrap();
            assert!(chosen.bytes.len() as u64 <= limit);
            size_encodes.push(chosen.encodes);
        }
        let recipe = Recipe {
            quality: 100,
            target_score: Some(70.0 + f64::from(seed) * 3.0),
            ..Recipe::default()
        };
        let chosen =
            target::encode_for(&img, Format::Jpeg, &recipe, &Carry::default(), &mut |_| {
                Flow::Continue
            })
            .unwrap();
        assert!(chosen.score.unwrap() >= recipe.target_score.unwrap());
        assert!(
            chosen.quality.unwrap() < 100,
            "the search went below the top"
        );
        score_encodes.push(chosen.encodes);
    }
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
    eprintln!("size target encodes {size_encodes:?}, visual target encodes {score_encodes:?}");
    assert!(mean(&size_encodes) <= 5.0, "{size_encodes:?}");
    assert!(mean(&score_encodes) <= 6.0, "{score_encodes:?}");
    assert!(size_encodes.iter().chain(&score_encodes).all(|&n| n <= 8));
}

/// RGBA pixels of a PNG read by the `png` crate (not by Conveyor's decoder), whatever colour
/// type and depth the file chose: palette, grey and RGB are expanded.
fn png_rgba(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::EXPAND | png::Transformations::ALPHA | png::Transformations::STRIP_16,
    );
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => panic!("expanded with alpha, got {other:?}"),
    };
    (info.width, info.height, rgba)
}

/// A flat drawing with transparency: four colours in bands and a clear corner, as logos and
/// diagrams are.
fn flat_drawing(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(image::ImageBuffer::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            return image::Rgba([0, 0, 0, 0]);
        }
        match (x / 40 + y / 30) % 4 {
            0 => image::Rgba([250, 250, 250, 255]),
            1 => image::Rgba([30, 90, 160, 255]),
            2 => image::Rgba([240, 180, 40, 255]),
            _ => image::Rgba([20, 20, 20, 200]),
        }
    }))
}

/// #40: PNG's effort is oxipng's search (from 5; zopfli at 10): a flat drawing with
/// transparency and a photo come out smaller than at the default effort with exactly the same
/// pixels, read back by the `png` crate; the estimate before a run knows it (it converts its
/// samples with the recipe).
#[test]
fn png_effort_finds_smaller_files_with_the_same_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let drawing = flat_drawing(320, 240);
    let photo = DynamicImage::ImageRgb8(grainy_photo(320, 240, 5).to_rgb8());
    common::put(
        &dir,
        "drawing.png",
        &common::encode(&drawing, image::ImageFormat::Png),
    );
    common::put(
        &dir,
        "photo.png",
        &common::encode(&photo, image::ImageFormat::Png),
    );
    let run_at = |effort: &str| {
        let out = tmp.path().join(format!("e{effort}"));
        common::conveyor_ok(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--effort",
            effort,
            "--reencode",
        ]);
        common::snapshot(&out)
    };
    let (default, searched, most) = (run_at("4"), run_at("9"), run_at("10"));
    for (name, source) in [("drawing.png", &drawing), ("photo.png", &photo)] {
        let want = source.to_rgba8().into_raw();
        for (effort, files) in [("9", &searched), ("10", &most)] {
            let bytes = &files[Path::new(name)];
            assert_eq!(
                png_rgba(bytes),
                (320, 240, want.clone()),
                "{name} at effort {effort}"
            );
            let before = default[Path::new(name)].len();
            assert!(
                bytes.len() < before,
                "{name} at effort {effort}: {} bytes, not under the default's {before}",
                bytes.len()
            );
        }
        assert!(most[Path::new(name)].len() <= searched[Path::new(name)].len());
    }
    // The estimate converts its samples with the recipe: fewer bytes at the higher effort.
    let files: Vec<_> = ["drawing.png", "photo.png"]
        .iter()
        .map(|n| {
            let p = dir.join(n);
            let len = std::fs::metadata(&p).unwrap().len();
            (p, len)
        })
        .collect();
    let estimate = |effort| {
        let recipe = Recipe {
            format: OutputFormat::To(Format::Png),
            effort,
            reencode: true,
            ..Recipe::default()
        };
        conveyor::engine::preview::estimate(&files, &[recipe], 1, 2, None)
            .unwrap()
            .total_bytes
    };
    assert!(estimate(9) < estimate(4));
}

/// #40: JPEG's effort: 5 writes progressive JPEG with optimised Huffman tables from libjpeg's
/// standard tables (smaller, the same fidelity); 10 is mozjpeg's trellis quantisation with its
/// own tables at a quality raised to look the same (much smaller, PSNR within 1 dB). Read back
/// by the `image` crate's decoder, not by mozjpeg.
#[test]
fn jpeg_effort_is_progressive_then_trellis_at_the_same_look() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let photos: Vec<_> = (0..3)
        .map(|i| grainy_photo(480, 360, 30 + i).to_rgb8())
        .collect();
    for (i, p) in photos.iter().enumerate() {
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&DynamicImage::ImageRgb8(p.clone()), image::ImageFormat::Png),
        );
    }
    let psnr = |a: &[u8], b: &[u8]| {
        let mse = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse).log10()
    };
    let run_at = |effort: &str| {
        let out = tmp.path().join(format!("e{effort}"));
        common::conveyor_ok(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "jpeg",
            "--quality",
            "85",
            "--effort",
            effort,
            "--metadata",
            "strip",
        ]);
        let files = common::snapshot(&out);
        let mut bytes = 0;
        let mut fidelity = 0.0;
        for (i, p) in photos.iter().enumerate() {
            let jpeg = &files[Path::new(&format!("p{i}.jpg"))];
            let progressive = jpeg.windows(2).any(|m| m == [0xFF, 0xC2]);
            assert_eq!(progressive, effort != "4", "effort {effort}: progressive?");
            let back = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
                .unwrap()
                .to_rgb8();
            fidelity += psnr(back.as_raw(), p.as_raw()) / photos.len() as f64;
            bytes += jpeg.len();
        }
        (bytes, fidelity)
    };
    let (default, progressive, trellis) = (run_at("4"), run_at("5"), run_at("10"));
    eprintln!("JPEG q85 (bytes, PSNR): effort 4 {default:?}, 5 {progressive:?}, 10 {trellis:?}");
    assert!(
        progressive.0 < default.0,
        "{progressive:?} against {default:?}"
    );
    assert!(
        (progressive.1 - default.1).abs() < 0.3,
        "{progressive:?} against {default:?}"
    );
    assert!(
        trellis.0 * 100 < default.0 * 92,
        "at least 8 % smaller: {trellis:?} against {default:?}"
    );
    assert!(
        trellis.1 > default.1 - 1.0,
        "{trellis:?} against {default:?}"
    );
}

/// The colour type and palette length (entries) of a PNG as its header says, read by the `png`
/// crate without expanding it.
fn png_kind(bytes: &[u8]) -> (png::ColorType, usize) {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let info = reader.info();
    let entries = info.palette.as_ref().map_or(0, |p| p.len() / 3);
    (info.color_type, entries)
}

/// #40: `--png-colors N` writes a palette PNG of at most N colours, dithered: a photo comes
/// out indexed, much smaller than its full-colour PNG and still close to it; a drawing with
/// fewer colours than N keeps every pixel; a palette original is never kept for it, since the
/// palette was asked for.
#[test]
fn png_colors_writes_a_dithered_palette_of_at_most_n_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let photo = grainy_photo(320, 240, 9).to_rgb8();
    let drawing = flat_drawing(320, 240);
    common::put(
        &dir,
        "photo.png",
        &common::encode(
            &DynamicImage::ImageRgb8(photo.clone()),
            image::ImageFormat::Png,
        ),
    );
    common::put(
        &dir,
        "drawing.png",
        &common::encode(&drawing, image::ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    common::conveyor_ok(&["run", s(&dir), "--out", s(&out), "--png-colors", "32"]);
    let full = common::encode(
        &DynamicImage::ImageRgb8(photo.clone()),
        image::ImageFormat::Png,
    );
    let small = std::fs::read(out.join("photo.png")).unwrap();
    let (kind, entries) = png_kind(&small);
    assert_eq!(kind, png::ColorType::Indexed);
    assert!((2..=32).contains(&entries), "{entries} entries");
    assert!(
        small.len() * 2 < full.len(),
        "{} against {}",
        small.len(),
        full.len()
    );
    let (w, h, back) = png_rgba(&small);
    assert_eq!((w, h), (320, 240));
    let error = back
        .chunks(4)
        .zip(photo.pixels())
        .map(|(a, b)| {
            (0..3)
                .map(|c| (f64::from(a[c]) - f64::from(b.0[c])).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / (320.0 * 240.0 * 3.0);
    assert!(error < 12.0, "mean error {error:.1} a channel");
    let drawn = std::fs::read(out.join("drawing.png")).unwrap();
    assert_eq!(png_rgba(&drawn), (320, 240, drawing.to_rgba8().into_raw()));
    // A 4-colour palette original asked into 2 colours: re-encoded, never kept.
    let palette = common::four_colour_palette_png();
    let flat = tmp.path().join("flat");
    common::put(&flat, "flat.png", &palette);
    let two = tmp.path().join("two");
    let run = conveyor(&["run", s(&flat), "--out", s(&two), "--png-colors", "2"]);
    assert_eq!(run.status.code(), Some(0));
    let (_, _, rgba) = png_rgba(&std::fs::read(two.join("flat.png")).unwrap());
    let colours: std::collections::BTreeSet<_> = rgba.chunks(4).map(|p| p.to_vec()).collect();
    assert!(colours.len() <= 2, "{} colours", colours.len());
    // Refused outside 2-256, in a sentence.
    let bad = conveyor(&["run", s(&flat), "--out", s(&two), "--png-colors", "300"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2 to 256"));
}
