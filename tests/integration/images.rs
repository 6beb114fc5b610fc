//! Correct images from real cameras and editors: every fixture is converted by the real pipeline
//! and its output file read back (pixels, size, frames, bit depth, EXIF tags, ICC bytes), with
//! a decoder other than the one that wrote it wherever one is at hand.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::io::Cursor;

use common::{convert_with, exif_block, exif_orientation, jpeg_segments, with_segments};
use conveyor::engine::format::Format;
use conveyor::engine::recipe::{Chroma, MetadataMode, OutputFormat, Recipe, ResizeSpec, Rgb};
use image::{AnimationDecoder, ColorType, DynamicImage, ImageDecoder, ImageFormat, RgbImage};

fn recipe(format: OutputFormat) -> Recipe {
    Recipe {
        format,
        quality: 95,
        chroma: Chroma::S444,
        ..Recipe::default()
    }
}

fn jpeg_with(img: &RgbImage, segments: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    with_segments(&out, segments)
}

fn near(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= tolerance)
}

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 30];
const BLUE: [u8; 3] = [30, 30, 220];
const YELLOW: [u8; 3] = [230, 220, 30];

/// 60x40, one colour a quadrant: red, green / blue, yellow.
fn quadrants() -> RgbImage {
    RgbImage::from_fn(60, 40, |x, y| {
        image::Rgb(match (x < 30, y < 20) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => YELLOW,
        })
    })
}

/// What a camera stores so that a viewer applying EXIF `orientation` shows `shown`. Written from
/// the EXIF definitions directly, not through the code under test.
fn stored_for(shown: &RgbImage, orientation: u16) -> RgbImage {
    let (w, h) = shown.dimensions();
    let swap = orientation >= 5;
    let (sw, sh) = if swap { (h, w) } else { (w, h) };
    let mut stored = RgbImage::new(sw, sh);
    for (x, y, p) in shown.enumerate_pixels() {
        // Displayed (x, y) comes from stored (sx, sy).
        let (sx, sy) = match orientation {
            1 => (x, y),
            2 => (sw - 1 - x, y),
            3 => (sw - 1 - x, sh - 1 - y),
            4 => (x, sh - 1 - y),
            5 => (y, x),
            6 => (y, sh - 1 - x),
            7 => (sw - 1 - y, sh - 1 - x),
            8 => (sw - 1 - y, x),
            _ => unreachable!(),
        };
        stored.put_pixel(sx, sy, *p);
    }
    stored
}

#[test]
fn all_eight_exif_orientations_are_applied_and_the_tag_reset() {
    let shown = quadrants();
    for orientation in 1..=8u16 {
        let exif = [
            b"Exif\0\0".as_slice(),
            &exif_block(orientation, "ConveyorCam"),
        ]
        .concat();
        let jpeg = jpeg_with(&stored_for(&shown, orientation), &[(0xE1, &exif)]);
        for (format, resize) in [
            (OutputFormat::To(Format::Png), None),
            (
                OutputFormat::To(Format::Jpeg),
                Some(ResizeSpec::Fit(30, 30)),
            ),
        ] {
            let (out, _) = convert_with(
                &jpeg,
                "photo.jpg",
                Recipe {
                    resize,
                    ..recipe(format)
                },
            );
            let back = image::load_from_memory(&out).unwrap().to_rgb8();
            let (w, h) = back.dimensions();
            assert_eq!(
                (w, h),
                if resize.is_some() { (30, 20) } else { (60, 40) },
                "orientation {orientation} → {format}: upright size"
            );
            for (fx, fy, want) in [(1, 1, RED), (3, 1, GREEN), (1, 3, BLUE), (3, 3, YELLOW)] {
                let got = back.get_pixel(w * fx / 4, h * fy / 4).0;
                assert!(
                    near(got, want, 40),
                    "orientation {orientation} → {format}: quadrant ({fx},{fy}) is {got:?}, want {want:?}"
                );
            }
            // The output's own tag says "as stored", so no viewer turns it again.
            let exif = match format {
                OutputFormat::To(Format::Jpeg) => jpeg_segments(&out)
                    .into_iter()
                    .find(|(m, p)| *m == 0xE1 && p.starts_with(b"Exif\0\0"))
                    .map(|(_, p)| p),
                _ => image::codecs::png::PngDecoder::new(Cursor::new(&out))
                    .unwrap()
                    .exif_metadata()
                    .unwrap(),
            }
            .expect("EXIF kept");
            assert_eq!(
                exif_orientation(&exif),
                Some(1),
                "orientation {orientation} → {format}"
            );
            assert!(
                exif.windows(11).any(|w| w == b"ConveyorCam"),
                "other tags kept"
            );
        }
    }
}

/// A 5 KB stand-in for an ICC profile: its bytes must arrive unchanged.
fn icc_profile() -> Vec<u8> {
    let mut icc: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    icc[0..4].copy_from_slice(&5000u32.to_be_bytes());
    icc[36..40].copy_from_slice(b"acsp");
    icc
}

fn icc_chunk(icc: &[u8]) -> Vec<u8> {
    [b"ICC_PROFILE\0\x01\x01".as_slice(), icc].concat()
}

/// The ICC profile and EXIF block an output carries, read by the `image` crate's decoders
/// (zune-jpeg, png, image-webp, tiff), none of which wrote it.
fn read_metadata(out: &[u8], format: ImageFormat) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut decoder = image::ImageReader::with_format(Cursor::new(out), format)
        .into_decoder()
        .unwrap();
    let icc = decoder.icc_profile().unwrap();
    let exif = decoder.exif_metadata().unwrap_or(None);
    (icc, exif)
}

/// ImageMagick (libtiff) reads the TIFF's EXIF as a camera's: Make and Orientation (top-left,
/// as stored) from the image's directory, DateTimeOriginal from the Exif sub-directory.
fn magick_agrees_on_tiff_exif(tiff: &[u8]) {
    assert!(
        std::path::Path::new("/usr/bin/identify").exists(),
        "apt-get install imagemagick to run it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("out.tif");
    std::fs::write(&path, tiff).unwrap();
    let out = std::process::Command::new("/usr/bin/identify")
        .args([
            "-format",
            "%[tiff:make]|%[orientation]|%[EXIF:DateTimeOriginal]",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ConveyorCam|TopLeft|{}",
            String::from_utf8_lossy(common::TAKEN)
        )
    );
}

/// A TIFF written with `--metadata keep` reads back in ImageMagick (libtiff) with the camera's
/// tags where a camera puts them.
#[test]
#[ignore = "needs ImageMagick (apt-get install imagemagick)"]
fn imagemagick_reads_the_exif_of_a_tiff_output() {
    let exif = [b"Exif\0\0".as_slice(), &exif_block(6, "ConveyorCam")].concat();
    let jpeg = jpeg_with(&quadrants(), &[(0xE1, &exif)]);
    let (out, _) = convert_with(&jpeg, "photo.jpg", recipe(OutputFormat::To(Format::Tiff)));
    magick_agrees_on_tiff_exif(&out);
}

#[test]
fn keep_carries_exif_and_the_icc_profile_into_every_format_that_holds_them() {
    let icc = icc_profile();
    let exif = [b"Exif\0\0".as_slice(), &exif_block(6, "ConveyorCam")].concat();
    let jpeg = jpeg_with(&quadrants(), &[(0xE1, &exif), (0xE2, &icc_chunk(&icc))]);
    for (format, lossless, read_as) in [
        (OutputFormat::To(Format::Jpeg), false, ImageFormat::Jpeg),
        (OutputFormat::To(Format::Png), false, ImageFormat::Png),
        (OutputFormat::To(Format::Webp), false, ImageFormat::WebP),
        (OutputFormat::To(Format::Webp), true, ImageFormat::WebP),
        (OutputFormat::To(Format::Tiff), false, ImageFormat::Tiff),
    ] {
        let (out, _) = convert_with(
            &jpeg,
            "photo.jpg",
            Recipe {
                lossless,
                ..recipe(format)
            },
        );
        let what = format!("{format}{}", if lossless { " lossless" } else { "" });
        let (mut got_icc, mut got_exif) = read_metadata(&out, read_as);
        if format == OutputFormat::To(Format::Tiff) {
            // The tiff crate's reader returns neither the ICC tag nor EXIF; read the
            // directories themselves. In a TIFF, EXIF is the file's own tags.
            got_icc = common::tiff_tag_bytes(&out, 0x8773);
            got_exif = Some(out.clone());
        }
        assert!(
            got_icc.as_deref() == Some(&icc[..]),
            "{what}: ICC bytes ({:?} bytes)",
            got_icc.map(|i| i.len())
        );
        let got_exif = got_exif.unwrap_or_else(|| panic!("{what}: EXIF kept"));
        assert_eq!(
            exif_orientation(&got_exif),
            Some(1),
            "{what}: orientation reset"
        );
        assert!(
            got_exif.windows(11).any(|w| w == b"ConveyorCam"),
            "{what}: IFD0 tags kept"
        );
        assert!(
            got_exif
                .windows(common::TAKEN.len())
                .any(|w| w == common::TAKEN),
            "{what}: Exif sub-directory kept"
        );
        // And the picture is still a picture, upright (the source said: rotate 90°).
        let back = image::load_from_memory_with_format(&out, read_as).unwrap();
        assert_eq!((back.width(), back.height()), (40, 60), "{what}");
    }
}

#[test]
fn strip_drops_exif_xmp_and_comments_but_keeps_the_icc_profile() {
    let icc = icc_profile();
    let exif = [b"Exif\0\0".as_slice(), &exif_block(1, "ConveyorCam")].concat();
    let xmp =
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><dc:creator>Someone</dc:creator></x:xmpmeta>";
    let jpeg = jpeg_with(
        &quadrants(),
        &[
            (0xE1, &exif),
            (0xE1, xmp),
            (0xE2, &icc_chunk(&icc)),
            (0xFE, b"secret comment"),
        ],
    );
    for (format, read_as) in [
        (OutputFormat::To(Format::Jpeg), ImageFormat::Jpeg),
        (OutputFormat::To(Format::Png), ImageFormat::Png),
        (OutputFormat::To(Format::Webp), ImageFormat::WebP),
    ] {
        let (out, _) = convert_with(
            &jpeg,
            "photo.jpg",
            Recipe {
                metadata: MetadataMode::Strip,
                ..recipe(format)
            },
        );
        let (got_icc, got_exif) = read_metadata(&out, read_as);
        assert!(got_icc.as_deref() == Some(&icc[..]), "{format}: ICC stays");
        assert_eq!(got_exif, None, "{format}: EXIF gone");
        for secret in [
            &b"ConveyorCam"[..],
            b"xmpmeta",
            b"secret comment",
            b"Someone",
        ] {
            assert!(
                !out.windows(secret.len()).any(|w| w == secret),
                "{format}: {:?} gone",
                String::from_utf8_lossy(secret)
            );
        }
        if format == OutputFormat::To(Format::Jpeg) {
            let markers: Vec<u8> = jpeg_segments(&out).iter().map(|s| s.0).collect();
            assert!(
                !markers.contains(&0xE1) && !markers.contains(&0xFE),
                "{markers:x?}"
            );
        }
    }
}

#[test]
fn transparency_becomes_the_background_in_jpeg_and_bmp_never_black() {
    // Left half: fully transparent *black* (what editors store); right half: red at 50 %.
    let logo = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(40, 40, |x, _| {
        if x < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([255, 0, 0, 128])
        }
    }));
    let png = common::encode(&logo, ImageFormat::Png);
    for (format, background, tolerance) in [
        (OutputFormat::To(Format::Jpeg), None, 6),
        (OutputFormat::To(Format::Bmp), None, 1),
        (OutputFormat::To(Format::Jpeg), Some(Rgb([32, 64, 96])), 6),
        (OutputFormat::To(Format::Bmp), Some(Rgb([32, 64, 96])), 1),
    ] {
        let mut r = recipe(format);
        if let Some(b) = background {
            r.background = b;
        }
        let bg = r.background.0;
        let (out, _) = convert_with(&png, "logo.png", r);
        let back = image::load_from_memory(&out).unwrap().to_rgb8();
        let left = back.get_pixel(5, 20).0;
        let right = back.get_pixel(34, 20).0;
        let half = |b: u8, c: u8| ((u32::from(c) * 128 + u32::from(b) * 127) / 255) as u8;
        let want_right = [half(bg[0], 255), half(bg[1], 0), half(bg[2], 0)];
        assert!(
            near(left, bg, tolerance),
            "{format}: transparent → {left:?}, want {bg:?}"
        );
        assert!(
            near(right, want_right, tolerance),
            "{format}: half-transparent red → {right:?}, want {want_right:?}"
        );
    }
}

#[test]
fn sixteen_bits_stay_sixteen_bits_and_greyscale_stays_grey() {
    // A 16-bit gradient finer than 8 bits can hold.
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(300, 200, |x, y| {
        image::Rgb([(x * 200 + y) as u16, 40_000 - (y * 150) as u16, 12_345])
    }));
    for (format, encode_as) in [
        (OutputFormat::To(Format::Png), ImageFormat::Png),
        (OutputFormat::To(Format::Tiff), ImageFormat::Tiff),
    ] {
        let src = common::encode(&deep, encode_as);
        let (out, _) = convert_with(
            &src,
            &format!("deep.{}", format.resolve("png").extension()),
            Recipe {
                resize: Some(ResizeSpec::Fit(150, 150)),
                ..recipe(OutputFormat::Keep)
            },
        );
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!(back.color(), ColorType::Rgb16, "{format} stays 16-bit");
        assert_eq!((back.width(), back.height()), (150, 100));
        // Resized in 16 bits: values an 8-bit pass would have rounded to multiples of 257.
        let px = back.to_rgb16();
        let fine = px.as_raw().iter().filter(|&&v| v % 257 != 0).count();
        assert!(
            fine * 10 > px.as_raw().len() * 9,
            "{format}: {fine} fine values"
        );
    }
    // Into 8 bits with rounding, not truncation: 200/65535 is 0.78 of a step → 1; 65535 → 255.
    let flat = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(8, 8, |x, _| {
        image::Rgb([200, if x < 4 { 65535 } else { 32_896 }, 0])
    }));
    let (out, _) = convert_with(
        &common::encode(&flat, ImageFormat::Png),
        "flat.png",
        recipe(OutputFormat::To(Format::Bmp)),
    );
    let back = image::load_from_memory(&out).unwrap().to_rgb8();
    assert_eq!(back.get_pixel(0, 0).0, [1, 255, 0]);
    assert_eq!(back.get_pixel(7, 0).0, [1, 128, 0]);

    // Greyscale stays one channel: PNG (8 and 16 bits) and JPEG (one component).
    for (img, want) in [
        (common::grey(64, 48), ColorType::L8),
        (
            DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(64, 48, |x, _| {
                image::Luma([(x * 1000) as u16])
            })),
            ColorType::L16,
        ),
    ] {
        let (out, _) = convert_with(
            &common::encode(&img, ImageFormat::Png),
            "grey.png",
            recipe(OutputFormat::To(Format::Png)),
        );
        assert_eq!(image::load_from_memory(&out).unwrap().color(), want);
    }
    let grey_jpeg = {
        let g = common::grey(64, 48).to_luma8();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(g.as_raw(), 64, 48, jpeg_encoder::ColorType::Luma)
            .unwrap();
        out
    };
    let (out, _) = convert_with(
        &grey_jpeg,
        "grey.jpg",
        recipe(OutputFormat::To(Format::Jpeg)),
    );
    let sof = jpeg_segments(&out)
        .into_iter()
        .find(|s| s.0 == 0xC0)
        .expect("baseline frame");
    assert_eq!(sof.1[5], 1, "one component");
}

/// Ink amounts 0–255 (255 = full ink) → the RGB a print-naive conversion gives.
fn cmyk_to_rgb([c, m, y, k]: [u8; 4]) -> [u8; 3] {
    let ch = |v: u8| ((255 - u32::from(v)) * (255 - u32::from(k)) / 255) as u8;
    [ch(c), ch(m), ch(y)]
}

#[test]
fn cmyk_and_adobe_ycck_jpegs_become_correct_rgb() {
    // Patches of known ink: cyan, magenta + yellow (red), yellow, 50 % black, paper.
    let patches: [[u8; 4]; 5] = [
        [255, 0, 0, 0],
        [0, 255, 255, 0],
        [0, 0, 255, 0],
        [0, 0, 0, 128],
        [0, 0, 0, 0],
    ];
    let (w, h) = (160u16, 32u16);
    let mut ink = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            ink.extend_from_slice(&patches[usize::from(x / 32)]);
        }
    }
    // jpeg-encoder writes Adobe files: inverted CMYK (APP14 transform 0) and YCCK (transform 2).
    for colour in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&ink, w, h, colour)
            .unwrap();
        assert!(
            jpeg_segments(&jpeg)
                .iter()
                .any(|(m, p)| *m == 0xEE && p.starts_with(b"Adobe")),
            "fixture is an Adobe JPEG"
        );
        let (out, _) = convert_with(&jpeg, "print.jpg", recipe(OutputFormat::To(Format::Png)));
        let back = image::load_from_memory(&out).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (160, 32));
        for (i, patch) in patches.iter().enumerate() {
            let got = back.get_pixel(i as u32 * 32 + 16, 16).0;
            let want = cmyk_to_rgb(*patch);
            assert!(
                near(got, want, 12),
                "{colour:?} patch {patch:?}: {got:?}, want {want:?}"
            );
        }
    }
}

/// An animated GIF: three 120x80 frames (red, green, blue) shown for 100, 200 and 300 ms.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        for (i, colour) in [RED, GREEN, BLUE].into_iter().enumerate() {
            let px = image::RgbaImage::from_fn(120, 80, |_, _| {
                image::Rgba([colour[0], colour[1], colour[2], 255])
            });
            let delay = image::Delay::from_numer_denom_ms(100 * (i as u32 + 1), 1);
            enc.encode_frame(image::Frame::from_parts(px, 0, 0, delay))
                .unwrap();
        }
    }
    out
}

#[test]
fn animated_gif_to_gif_keeps_every_frame_and_its_timing() {
    let (out, done) = convert_with(
        &animated_gif(),
        "spin.gif",
        Recipe {
            resize: Some(ResizeSpec::Fit(60, 60)),
            ..recipe(OutputFormat::To(Format::Gif))
        },
    );
    assert_eq!((done.width, done.height), (60, 40));
    let frames: Vec<image::Frame> = image::codecs::gif::GifDecoder::new(Cursor::new(&out))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 3, "every frame");
    for (i, (frame, colour)) in frames.iter().zip([RED, GREEN, BLUE]).enumerate() {
        assert_eq!(frame.buffer().dimensions(), (60, 40), "frame {i} resized");
        let (num, den) = frame.delay().numer_denom_ms();
        assert_eq!(num / den, 100 * (i as u32 + 1), "frame {i} delay");
        let p = frame.buffer().get_pixel(30, 20).0;
        assert!(near([p[0], p[1], p[2]], colour, 24), "frame {i}: {p:?}");
    }
}

#[test]
fn animated_input_to_a_still_format_takes_the_first_frame_and_warns() {
    let (out, done) = convert_with(
        &animated_gif(),
        "spin.gif",
        recipe(OutputFormat::To(Format::Png)),
    );
    let back = image::load_from_memory(&out).unwrap().to_rgb8();
    assert!(near(back.get_pixel(60, 40).0, RED, 4), "the first frame");
    assert!(
        done.warnings.iter().any(|w| w.contains("first frame")),
        "{:?}",
        done.warnings
    );
    // A still GIF carries no such warning.
    let still = common::encode(&common::logo(50, 50), ImageFormat::Gif);
    let (_, done) = convert_with(&still, "still.gif", recipe(OutputFormat::To(Format::Png)));
    assert!(done.warnings.is_empty(), "{:?}", done.warnings);
}

/// A 20000x5000 (100-megapixel) panorama: sky gradient over a ridge line, with texture.
fn panorama() -> RgbImage {
    RgbImage::from_fn(20_000, 5_000, |x, y| {
        let ridge =
            3000.0 + 600.0 * ((x as f32) / 1300.0).sin() + 200.0 * ((x as f32) / 170.0).cos();
        let texture = ((x ^ y) & 15) as u8;
        if (y as f32) < ridge {
            image::Rgb([90 + (y / 60) as u8, 140 + (y / 50) as u8, 230 - texture])
        } else {
            image::Rgb([40 + texture, 90 + texture, 30])
        }
    })
}

#[test]
fn a_100_megapixel_panorama_resizes_within_the_memory_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("panoramas");
    std::fs::create_dir_all(&dir).unwrap();
    let pano = panorama();
    let png = common::encode(&DynamicImage::ImageRgb8(pano.clone()), ImageFormat::Png);
    std::fs::write(dir.join("ridge.png"), &png).unwrap();
    std::fs::write(dir.join("ridge-copy.png"), &png).unwrap();
    drop(png);
    std::fs::write(dir.join("ridge.jpg"), jpeg_with(&pano, &[])).unwrap();
    drop(pano);
    let out = tmp.path().join("out");
    // Each PNG decodes to 300 MB of pixels; the budget lets one in at a time (an image larger
    // than the whole budget runs alone), so two workers never hold both.
    let (status, rss) = common::run_measured(&[
        "run",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resize",
        "fit:2000x2000",
        "--format",
        "jpeg",
        "-j",
        "2",
        "--memory-limit",
        "512M",
        "--quiet",
    ]);
    assert!(status.success(), "{status}");
    for name in ["ridge.jpg", "ridge-copy.jpg"] {
        let back = image::open(out.join(name)).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (2000, 500), "{name}");
        // Sky above the ridge, land below, as in the source.
        let (sky, land) = (back.get_pixel(1000, 20).0, back.get_pixel(1000, 480).0);
        assert!(
            sky[2] > 180 && land[1] > land[2],
            "{name}: sky {sky:?}, land {land:?}"
        );
    }
    // ridge.png and ridge.jpg collide on one output name: the second becomes ridge-1.jpg.
    assert!(out.join("ridge-1.jpg").exists());
    if let Some(kib) = rss {
        let mib = kib / 1024;
        eprintln!("peak RSS {mib} MiB for three 100-megapixel images on two workers");
        assert!(
            mib < 600,
            "peak RSS {mib} MiB: two panoramas were held at once"
        );
    }
}

/// #15: a 40-megapixel PNG is read row by row into a strip resize, so with a 64 MiB budget on
/// one worker the whole process stays under 100 MiB (the decoded image alone is 160 MB).
#[test]
fn a_40_megapixel_png_converts_in_under_100_mib() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (7744, 5168);
    let big = image::RgbaImage::from_fn(w, h, |x, y| {
        let top = y < h / 2;
        let grain = ((x * 31 + y * 17) % 23) as u8;
        let alpha = if x < w / 4 { 0 } else { 255 };
        if top {
            image::Rgba([200 + grain, 40, 30, alpha])
        } else {
            image::Rgba([30, 60, 180 + grain, alpha])
        }
    });
    common::put(
        &dir,
        "big.png",
        &common::encode(&DynamicImage::ImageRgba8(big), ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let (status, rss) = common::run_measured(&[
        "run",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resize",
        "fit:1600x1600",
        "--format",
        "png",
        "-j",
        "1",
        "--memory-limit",
        "64M",
        "--quiet",
    ]);
    assert!(status.success(), "{status}");
    let back = image::open(out.join("big.png")).unwrap().to_rgba8();
    assert_eq!(back.dimensions(), (1600, 1068));
    // Red above, blue below, the left quarter transparent: the rows arrived in order and the
    // strips met without a seam.
    let (red, blue, clear) = (
        back.get_pixel(1000, 200).0,
        back.get_pixel(1000, 900).0,
        back.get_pixel(100, 500).0,
    );
    assert!(red[0] > 190 && red[2] < 40 && red[3] == 255, "{red:?}");
    assert!(blue[2] > 170 && blue[0] < 40, "{blue:?}");
    assert_eq!(clear[3], 0, "{clear:?}");
    for y in 0..1068 {
        let p = back.get_pixel(1000, y).0;
        let expected = if y < 533 {
            p[0] > 150
        } else if y > 535 {
            p[2] > 150
        } else {
            true
        };
        assert!(expected, "row {y}: {p:?}");
    }
    if let Some(kib) = rss {
        let mib = kib / 1024;
        eprintln!("peak RSS {mib} MiB for a 40-megapixel PNG");
        assert!(mib < 100, "peak RSS {mib} MiB is over 100 MiB");
    }
}
