//! Write faults: an output folder on a small tmpfs that fills mid-batch, a read-only output disk,
//! and the typed error kind of every failure. Needs root and a mount namespace (`unshare`), so the
//! tests are `#[ignore]`d; `.ci/run` runs them with `--include-ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::path::Path;
use std::process::Command;

use image::{DynamicImage, ImageBuffer, Rgb};

/// Fails at once, saying why, without root and unshare(1).
fn require_mounts() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let unshare = Command::new("unshare")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        root && unshare,
        "needs root and unshare(1) for a private tmpfs mount"
    );
}

/// Runs the test `name` of this binary again inside a private mount namespace with a tmpfs of
/// `size` mounted at a new folder, and asserts it passed there: the caller returns when this
/// gives `None`. Inside, gives the tmpfs's folder (read from `CONVEYOR_TEST_TMPFS`). The whole
/// process runs in the namespace, so every thread (the window's workers too) sees the mount.
pub(crate) fn inside_a_tmpfs(name: &str, size: &str) -> Option<std::path::PathBuf> {
    if let Some(mnt) = std::env::var_os("CONVEYOR_TEST_TMPFS") {
        return Some(mnt.into());
    }
    require_mounts();
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let run = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            r#"mount -t tmpfs -o "size=$2" conveyor-test "$1" || exit 99
CONVEYOR_TEST_TMPFS="$1" exec "$3" --exact "$4" --include-ignored --test-threads 1 --nocapture"#,
        )
        .arg("sh")
        .arg(&mnt)
        .arg(size)
        .arg(std::env::current_exe().unwrap())
        .arg(name)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_ne!(
        run.status.code(),
        Some(99),
        "could not mount a tmpfs: {out}"
    );
    assert!(run.status.success(), "{name} failed on a tmpfs:\n{out}");
    assert!(out.contains("1 passed"), "{name} did not run: {out}");
    None
}

/// Runs `mount` with `args` (inside [`inside_a_tmpfs`]'s namespace).
pub(crate) fn mount(args: &[&str]) {
    let status = Command::new("mount").args(args).status().unwrap();
    assert!(status.success(), "mount {args:?}");
}

/// Incompressible pixels, so each PNG output is about as large as its raw data.
pub(crate) fn noise(w: u32, h: u32, seed: u64) -> DynamicImage {
    let mut state = seed | 1;
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state.to_le_bytes();
        Rgb([b[0], b[1], b[2]])
    }))
}

/// Runs `script` under `sh` in a private mount namespace with `$1` = `mnt`, `$2` = conveyor,
/// then `rest` as `$3`…; returns the exit code (99 = the mount failed) and stderr.
fn in_private_mount(script: &str, mnt: &Path, rest: &[&Path]) -> (Option<i32>, String) {
    let run = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(mnt)
        .arg(common::bin())
        .args(rest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_ne!(
        run.status.code(),
        Some(99),
        "could not mount a tmpfs: {stderr}"
    );
    (run.status.code(), stderr)
}

#[test]
#[ignore = "needs root and unshare(1) for a private tmpfs mount"]
fn a_disk_that_fills_mid_batch_stops_the_batch_once_and_leaves_only_whole_outputs() {
    require_mounts();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    for i in 0..24 {
        common::put(
            &dir,
            &format!("n{i:02}.bmp"),
            &common::encode(&noise(300, 300, i + 1), image::ImageFormat::Bmp),
        );
    }
    let mnt = tmp.path().join("mnt");
    let kept = tmp.path().join("kept");
    let report = tmp.path().join("r.json");
    std::fs::create_dir_all(&mnt).unwrap();
    // Inside a private mount namespace: a 1 MiB tmpfs as the output disk (each output is about
    // 270 KB), then copy what was written out before the namespace (and the tmpfs) goes away.
    let script = r#"mount -t tmpfs -o size=1m conveyor-test "$1" || exit 99
"$2" run "$3" --out "$1/out" --format png -j 2 --report "$4"
code=$?
cp -a "$1/." "$5/"
exit $code"#;
    let (code, stderr) = in_private_mount(script, &mnt, &[&dir, &report, &kept]);
    assert_eq!(code, Some(1), "{stderr}");

    let written = common::snapshot(&kept.join("out"));
    assert!(
        !written.is_empty() && written.len() < 24,
        "the disk filled part-way: {} outputs",
        written.len()
    );
    for (name, bytes) in &written {
        assert!(
            !name.to_string_lossy().contains(".conveyor-"),
            "temporary file left: {name:?}"
        );
        let img = image::load_from_memory(bytes).expect("every output present is whole");
        assert_eq!((img.width(), img.height()), (300, 300));
    }
    // The batch stopped at the first file the full disk refused: said once, in words, with the
    // folder; not one line per remaining file.
    let stopped: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("conveyor: stopped:"))
        .collect();
    assert_eq!(stopped.len(), 1, "{stderr}");
    assert!(
        stopped[0].contains("the disk is full") && stopped[0].contains("/out"),
        "{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("failed:")),
        "the full disk is said once, not per file: {stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["summary"]["ok"].as_u64(), Some(written.len() as u64));
    let files = r["files"].as_array().unwrap();
    let with = |status: &str| files.iter().filter(|f| f["status"] == status).count();
    let (failed, cancelled) = (with("failed"), with("cancelled"));
    // Only the files in hand when the disk filled (at most one per worker) met it; the rest
    // were never read.
    assert!((1..=2).contains(&failed), "{failed} failed: {stderr}");
    assert!(cancelled >= 24 - written.len() - 2, "{cancelled} cancelled");
    assert_eq!(failed + cancelled + written.len(), 24);
    for f in files.iter().filter(|f| f["status"] == "failed") {
        let reason = f["error"].as_str().unwrap();
        assert!(reason.contains("the disk is full"), "{reason}");
        assert_eq!(f["error_kind"], "disk_full");
    }
}

/// A read-only output disk is found before anything is read: one sentence in words (no
/// "os error"), exit 2, no report, nothing converted.
#[test]
#[ignore = "needs root and unshare(1) for a private tmpfs mount"]
fn a_read_only_output_disk_is_one_sentence_and_exit_2_before_anything_starts() {
    require_mounts();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    for i in 0..5 {
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&common::photo(40, 30), image::ImageFormat::Png),
        );
    }
    let mnt = tmp.path().join("mnt");
    let report = tmp.path().join("r.json");
    std::fs::create_dir_all(&mnt).unwrap();
    let script = r#"mount -t tmpfs -o size=1m,mode=0755 conveyor-test "$1" && mkdir "$1/out" && mount -o remount,ro "$1" || exit 99
"$2" run "$3" --out "$1/out" --format jpeg --report "$4""#;
    let (code, stderr) = in_private_mount(script, &mnt, &[&dir, &report]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one sentence: {stderr}");
    assert!(
        lines[0].contains("cannot be written to (it is on a read-only disk)"),
        "{stderr}"
    );
    assert!(!stderr.contains("os error"), "{stderr}");
    assert!(!report.exists(), "nothing started, so no report");
}

/// Every failure carries a kind beside its sentence, so scripts can group failures: an empty
/// file, a text file named .jpg, a truncated JPEG and an image over the pixel limit fail as
/// they are read; a good image fails as it is written, to a full disk.
#[test]
#[ignore = "needs root and unshare(1) for a private tmpfs mount"]
fn every_failure_names_its_kind_from_an_empty_file_to_a_full_disk() {
    require_mounts();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    common::put(&dir, "empty.jpg", b"");
    common::put(&dir, "text.jpg", b"a shopping list, not a photo\n");
    let jpeg = common::encode(&common::photo(400, 300), image::ImageFormat::Jpeg);
    common::put(&dir, "truncated.jpg", &jpeg[..jpeg.len() / 2]);
    common::put(
        &dir,
        "huge.png",
        &common::encode(&common::photo(500, 500), image::ImageFormat::Png),
    );
    // Last in the batch's order, one worker: the full disk stops the batch at it, after every
    // other file has met its own failure.
    common::put(
        &dir,
        "zz-good.bmp",
        &common::encode(&noise(300, 300, 7), image::ImageFormat::Bmp),
    );
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let full_report = tmp.path().join("full.json");
    // A disk too small for any output.
    let script = r#"mkdir -p "$1/full" && mount -t tmpfs -o size=8k full "$1/full" || exit 99
"$2" run "$3" --out "$1/full/out" --format png --max-pixels 200000 -j 1 --report "$4""#;
    let (code, stderr) = in_private_mount(script, &mnt, &[&dir, &full_report]);
    assert_eq!(code, Some(1), "{stderr}");
    let (report, write_kind) = (&full_report, "disk_full");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let kinds: std::collections::BTreeMap<String, String> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["status"], "failed", "{f}");
            let name = Path::new(f["input"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, f["error_kind"].as_str().unwrap_or("none").to_owned())
        })
        .collect();
    let want: std::collections::BTreeMap<String, String> = [
        ("empty.jpg", "empty"),
        ("text.jpg", "not_image"),
        ("truncated.jpg", "truncated"),
        ("huge.png", "too_large"),
        ("zz-good.bmp", write_kind),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(kinds, want, "{}", report.display());
}
