//! Quality check for the benchmark: every JPEG output in OUT against a full-decode Lanczos3
//! reference of its source in SRC.
//!
//! `cargo run --release --example psnr-check -- SRC OUT QUALITY`
//!
//! For each source the reference R is the whole image decoded at full size and resized with the
//! `image` crate's Lanczos3 to the output's size. The baseline B is R encoded as a JPEG at the same
//! quality (4:2:0, what the full-decode pipeline would have written). Conveyor's output C passes
//! when PSNR(C, R) is no more than 0.5 dB below PSNR(B, R): shrink-on-load and the SIMD resize
//! cost less than half a decibel. Exits 1 if any file fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A tool for the bench script, not the app.

#[path = "../tests/common/psnr.rs"]
mod psnr;

use std::path::PathBuf;

use image::imageops::FilterType;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out, quality] = args.as_slice() else {
        eprintln!("usage: psnr-check SRC OUT QUALITY");
        std::process::exit(2);
    };
    let quality: u8 = quality.parse().expect("quality 1-100");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(src)
        .expect("read SRC")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    sources.sort();
    let (mut worst, mut total, mut failed) = (f64::NEG_INFINITY, 0.0, 0);
    for source in &sources {
        let output = PathBuf::from(out).join(source.file_name().expect("name"));
        let ours = image::open(&output).expect("read the output");
        let full = image::open(source).expect("read the source");
        let reference = full.resize_exact(ours.width(), ours.height(), FilterType::Lanczos3);
        let mut baseline = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut baseline, quality);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
        encoder
            .encode(
                reference.to_rgb8().as_raw(),
                u16::try_from(ours.width()).expect("width"),
                u16::try_from(ours.height()).expect("height"),
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encode the baseline");
        let baseline = image::load_from_memory(&baseline).expect("read the baseline");
        let (c, b) = (
            psnr::psnr(&ours, &reference),
            psnr::psnr(&baseline, &reference),
        );
        let loss = b - c;
        worst = worst.max(loss);
        total += loss;
        if loss > 0.5 {
            failed += 1;
        }
        println!(
            "{}: conveyor {c:.2} dB, full-decode baseline {b:.2} dB, difference {loss:+.2} dB",
            source.display()
        );
    }
    println!(
        "quality: {} files, mean difference {:+.2} dB, worst {worst:+.2} dB (limit +0.50 dB), {failed} over",
        sources.len(),
        total / sources.len().max(1) as f64
    );
    if failed > 0 || sources.is_empty() {
        std::process::exit(1);
    }
}
