//! Walks the format table: every format Conveyor both reads and writes round-trips through the
//! real pipeline (PNG → format: its encoder; format → PNG: its decoder), and what the table
//! says about it holds for the files it writes (alpha kept or flattened, 16 bits kept, the
//! extension and MIME type the sniffer recognises). A format added to the table is tested here
//! without editing this file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use conveyor::engine::format::{Control, Format};
use conveyor::engine::pipeline::decode::decode_bytes;
use conveyor::engine::recipe::{OutputFormat, Recipe};
use image::{DynamicImage, GenericImageView, ImageBuffer, Rgba};

/// A smooth RGBA gradient with a transparent left quarter (fully transparent, since GIF's
/// alpha is one bit).
fn source() -> DynamicImage {
    DynamicImage::ImageRgba8(ImageBuffer::from_fn(96, 64, |x, y| {
        let a = if x < 24 { 0 } else { 255 };
        Rgba([(x * 255 / 95) as u8, (y * 255 / 63) as u8, 90, a])
    }))
}

/// The least PSNR a round trip must keep: lossy and palette formats lose a little.
fn floor(f: Format) -> f64 {
    if f.takes(Control::Quality) || f.spec().animated_out {
        // JPEG at quality 95, lossy WebP at 95, GIF's 256-colour palette.
        28.0
    } else {
        60.0
    }
}

#[test]
fn every_format_in_the_table_round_trips_through_the_real_pipeline() {
    let png = common::encode(&source(), image::ImageFormat::Png);
    let mut tested = Vec::new();
    for format in Format::all().filter(|f| f.spec().decodes && f.spec().encodes) {
        let spec = format.spec();
        let to = Recipe {
            format: OutputFormat::To(format),
            quality: 95,
            ..Recipe::default()
        };
        let (written, done) = common::convert_with(&png, "source.png", to);
        assert_eq!((done.width, done.height), (96, 64), "{}", spec.name);
        assert_eq!(
            Format::sniff(&written),
            Some(format),
            "{}: the sniffer recognises what the encoder wrote",
            spec.name
        );
        // Read back by the `image` crate's decoder for the format, which did not write it (a
        // format Conveyor reads with its own module is read back by that; tests/modern.rs reads
        // those outputs with the reference tools too).
        let direct = decode_bytes(&written, format)
            .unwrap_or_else(|e| panic!("{}: another decoder reads it: {e}", spec.name));
        assert_eq!(direct.dimensions(), (96, 64), "{}", spec.name);
        assert_eq!(
            direct.color().has_alpha(),
            spec.alpha,
            "{}: alpha as the table says",
            spec.name
        );

        // And back to PNG through Conveyor's own decoder for the format.
        let ext = format.extension();
        let back_recipe = Recipe {
            format: OutputFormat::To(Format::Png),
            ..Recipe::default()
        };
        let (back, _) = common::convert_with(&written, &format!("written.{ext}"), back_recipe);
        let back = image::load_from_memory_with_format(&back, image::ImageFormat::Png).unwrap();
        assert_eq!(back.dimensions(), (96, 64), "{}", spec.name);
        // Compare what the eye sees: both flattened onto white, as JPEG and BMP outputs are.
        let flat = |img: &DynamicImage| {
            let mut rgba = img.to_rgba8();
            for p in rgba.pixels_mut() {
                let a = u32::from(p.0[3]);
                for c in 0..3 {
                    p.0[c] = ((u32::from(p.0[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
                }
                p.0[3] = 255;
            }
            DynamicImage::ImageRgba8(rgba)
        };
        let db = common::psnr(&flat(&source()), &flat(&back));
        assert!(
            db >= floor(format),
            "{}: {db:.1} dB after a round trip",
            spec.name
        );
        tested.push(spec.name);
    }
    assert!(
        tested.len() >= 8,
        "every readable and writable format was tested: {tested:?}"
    );
}

#[test]
fn sixteen_bit_formats_keep_sixteen_bits() {
    let png16 = common::encode(&common::deep(64, 48), image::ImageFormat::Png);
    for format in Format::all().filter(|f| f.spec().encodes && f.spec().deep) {
        let recipe = Recipe {
            format: OutputFormat::To(format),
            ..Recipe::default()
        };
        let (written, _) = common::convert_with(&png16, "deep.png", recipe);
        let back = decode_bytes(&written, format).unwrap();
        assert_eq!(
            back.color().bytes_per_pixel() / back.color().channel_count(),
            2,
            "{} keeps 16 bits a channel",
            format.name()
        );
    }
}

#[test]
fn keep_writes_each_input_in_its_own_format() {
    for format in Format::all().filter(|f| f.spec().decodes && f.spec().encodes) {
        for ext in format.spec().extensions {
            assert_eq!(OutputFormat::Keep.resolve(ext), format, "{ext}");
            assert_eq!(
                OutputFormat::Keep.resolve(&ext.to_ascii_uppercase()),
                format,
                "{ext} in capitals"
            );
        }
    }
}
