//! Real photographs and artwork nobody here made, against ImageMagick. The folder is Debian's
//! `mate-backgrounds`: 30 files, PNG with and without alpha (one grey + alpha), baseline and
//! progressive JPEG up to 5640x3172, five with camera EXIF. `conveyor run DIR --out OUT --resize
//! fit:800x800 --format jpeg --quality 90` must match ImageMagick's `convert IN -auto-orient
//! -background white -flatten -resize 800x800` within one pixel in size and at 30 dB or more on
//! every image.
//!
//! Needs ImageMagick and the mate-backgrounds package. Without them the test prints why it
//! skips, except under CI=true, where `.ci/run` installs both and a missing one is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const PHOTOS: &str = "/usr/share/backgrounds/mate";
const MAGICK: &str = "/usr/bin/convert";

fn ready() -> bool {
    let missing: Vec<&str> = [(MAGICK, "imagemagick"), (PHOTOS, "mate-backgrounds")]
        .into_iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| package)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "real photos: skipped, apt-get install {} to run it",
        missing.join(" ")
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; CI must run this test"
    );
    eprintln!("{why}");
    false
}

fn sources() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(PHOTOS)
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("png"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn real_photographs_match_imagemagick() {
    if !ready() {
        return;
    }
    let sources = sources();
    assert!(
        sources.len() >= 20,
        "the folder holds {} images",
        sources.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(["run", PHOTOS, "--out"])
        .arg(&out)
        .args([
            "--resize",
            "fit:800x800",
            "--format",
            "jpeg",
            "--quality",
            "90",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "conveyor run: {status}");

    let mut worst = f64::INFINITY;
    for source in &sources {
        let rel = source.strip_prefix(PHOTOS).unwrap();
        let ours_path = out.join(rel).with_extension("jpg");
        let reference_path = tmp.path().join("reference.png");
        let magick = Command::new(MAGICK)
            .arg(source)
            .args(["-auto-orient", "-background", "white", "-flatten"])
            .args(["-resize", "800x800"])
            .arg(&reference_path)
            .output()
            .unwrap();
        assert!(
            magick.status.success(),
            "ImageMagick on {}: {}",
            rel.display(),
            String::from_utf8_lossy(&magick.stderr)
        );
        let ours =
            image::open(&ours_path).unwrap_or_else(|e| panic!("{}: {e}", ours_path.display()));
        let reference = image::open(&reference_path).unwrap();
        let (ow, oh) = (ours.width(), ours.height());
        let (rw, rh) = (reference.width(), reference.height());
        assert!(
            ow.abs_diff(rw) <= 1 && oh.abs_diff(rh) <= 1,
            "{}: {ow}x{oh}, ImageMagick {rw}x{rh}",
            rel.display()
        );
        let ours = if (ow, oh) == (rw, rh) {
            ours
        } else {
            ours.resize_exact(rw, rh, image::imageops::FilterType::Lanczos3)
        };
        let db = common::psnr(&ours, &reference);
        eprintln!("{}: {ow}x{oh}, {db:.1} dB", rel.display());
        assert!(
            db >= 30.0,
            "{}: {db:.1} dB against ImageMagick",
            rel.display()
        );
        worst = worst.min(db);
    }
    eprintln!("{} images, worst {worst:.1} dB", sources.len());
}
