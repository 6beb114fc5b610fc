//! Against ImageMagick: output sizes over awkward source sizes, and real photographs and
//! artwork nobody here made. The folder is Debian's
//! `mate-backgrounds`: 30 files, PNG with and without alpha (one grey + alpha), baseline and
//! progressive JPEG up to 5640x3172, five with camera EXIF. `conveyor run DIR --out OUT --resize
//! fit:800x800 --format jpeg --quality 90` must match ImageMagick's `convert IN -auto-orient
//! -background white -flatten -resize 800x800` within one pixel in size and at 30 dB or more on
//! every image.
//!
//! Needs ImageMagick and the mate-backgrounds package, so the tests are `#[ignore]`d: a plain
//! `cargo test` lists them as ignored; `.ci/run` installs both and runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

const PHOTOS: &str = "/usr/share/backgrounds/mate";
const MAGICK: &str = "/usr/bin/convert";

/// Fails at once, saying what to install, without ImageMagick or the photographs.
fn require_tools() {
    let missing: Vec<&str> = [(MAGICK, "imagemagick"), (PHOTOS, "mate-backgrounds")]
        .into_iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| package)
        .collect();
    assert!(
        missing.is_empty(),
        "apt-get install {} to run it",
        missing.join(" ")
    );
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
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn real_photographs_match_imagemagick() {
    require_tools();
    let sources = sources();
    assert!(
        sources.len() >= 20,
        "the folder holds {} images",
        sources.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let status = common::command()
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

/// Output sizes round as ImageMagick's do: fit (shrink only, `WxH>`), width-only (`Wx>`) and
/// percentage scaling, over sizes whose scaled sides fall near .5.
#[test]
#[ignore = "needs ImageMagick (apt-get install imagemagick)"]
fn sizes_round_like_imagemagick() {
    use conveyor::engine::recipe::ResizeSpec;
    assert!(
        Path::new(MAGICK).exists(),
        "apt-get install imagemagick to run it"
    );
    let sizes = [
        (1001, 667),
        (4000, 2999),
        (801, 799),
        (1600, 1201),
        (333, 777),
        (5640, 3172),
        (2001, 1333),
        (3000, 7),
        (1203, 1600),
        (999, 1001),
    ];
    for (w, h) in sizes {
        for (spec, geometry) in [
            (ResizeSpec::Fit(800, 800), "800x800>"),
            (ResizeSpec::Fit(100, 100), "100x100>"),
            (ResizeSpec::Width(300), "300x>"),
            (ResizeSpec::Scale(37), "37%"),
        ] {
            let magick = Command::new(MAGICK)
                .args(["-size", &format!("{w}x{h}"), "xc:red"])
                .args(["-resize", geometry, "-format", "%wx%h", "info:"])
                .output()
                .unwrap();
            assert!(magick.status.success(), "{w}x{h} {geometry}");
            let theirs = String::from_utf8_lossy(&magick.stdout).to_string();
            let (ow, oh) = spec.geometry(w, h, false).output;
            assert_eq!(
                format!("{ow}x{oh}"),
                theirs,
                "{w}x{h} {spec} vs -resize {geometry}"
            );
        }
    }
}
