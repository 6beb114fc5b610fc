//! Write faults: an output folder on a small tmpfs that fills mid-batch. Needs root and a mount
//! namespace (`unshare`); elsewhere it prints why it skips, except under CI=true where it must run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use std::path::Path;
use std::process::Command;

use image::{DynamicImage, ImageBuffer, Rgb};

fn can_mount_or_skip(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let unshare = Command::new("unshare")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && unshare {
        return true;
    }
    let why = format!("{test}: skipped, needs root and unshare(1) for a private tmpfs mount");
    common::skip_outside_ci(&why);
    false
}

/// Incompressible pixels, so each PNG output is about as large as its raw data.
fn noise(w: u32, h: u32, seed: u64) -> DynamicImage {
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
        .arg(env!("CARGO_BIN_EXE_conveyor"))
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
fn a_disk_that_fills_mid_batch_leaves_only_whole_outputs_and_says_why() {
    if !can_mount_or_skip("a_disk_that_fills_mid_batch_leaves_only_whole_outputs_and_says_why") {
        return;
    }
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
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["summary"]["ok"].as_u64(), Some(written.len() as u64));
    let failed: Vec<&serde_json::Value> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .collect();
    assert_eq!(failed.len() + written.len(), 24);
    for f in failed {
        let reason = f["error"].as_str().unwrap();
        assert!(reason.contains("the disk is full"), "{reason}");
    }
}

#[test]
fn a_read_only_output_disk_fails_every_file_with_the_reason() {
    if !can_mount_or_skip("a_read_only_output_disk_fails_every_file_with_the_reason") {
        return;
    }
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
    assert_eq!(code, Some(1), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["summary"]["failed"], 5);
    for f in r["files"].as_array().unwrap() {
        let reason = f["error"].as_str().unwrap();
        assert!(reason.contains("read-only file system"), "{reason}");
    }
}
