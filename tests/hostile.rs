//! Hostile input: a folder of broken, lying and odd files beside good images. The batch must
//! finish, convert every good image, report every bad one with a reason, leave only good
//! outputs, and stay within its memory bound.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use std::io::Write;
use std::process::Command;

use flate2::Compression;
use flate2::write::ZlibEncoder;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A PNG built by hand: any header, any (already zlib-compressed) data.
fn png(width: u32, height: u32, bit_depth: u8, colour_type: u8, idat: Option<&[u8]>) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(data) = idat {
        chunk(&mut out, b"IDAT", data);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

fn zlib(raw: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    for block in raw {
        z.write_all(&block).unwrap();
    }
    z.finish().unwrap()
}

/// A real JPEG whose frame header is rewritten to claim `w`×`h`.
fn lying_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut data = common::encode(&common::photo(32, 24), image::ImageFormat::Jpeg);
    let sof = data
        .windows(2)
        .position(|p| p == [0xFF, 0xC0])
        .expect("baseline SOF0");
    data[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    data[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    data
}

#[cfg(unix)]
#[test]
fn a_folder_of_hostile_files_is_survived_and_reported() {
    use std::os::unix::ffi::OsStrExt;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let good = ["good/a.png", "good/b.jpg", "good/c.bmp"];
    common::put(
        &dir,
        good[0],
        &common::encode(&common::logo(200, 150), image::ImageFormat::Png),
    );
    common::put(
        &dir,
        good[1],
        &common::encode(&common::photo(300, 200), image::ImageFormat::Jpeg),
    );
    common::put(
        &dir,
        good[2],
        &common::encode(&common::photo(50, 80), image::ImageFormat::Bmp),
    );
    let odd_name = std::ffi::OsStr::from_bytes(b"good/na\xefve.png");
    std::fs::write(
        dir.join(odd_name),
        common::encode(&common::photo(40, 40), image::ImageFormat::Png),
    )
    .unwrap();

    let jpeg = common::encode(&common::photo(400, 300), image::ImageFormat::Jpeg);
    let good_png = common::encode(&common::photo(400, 300), image::ImageFormat::Png);
    // 30000x30000 one-bit grey of zeros: 112 MB raw, about 110 KB compressed.
    let row = vec![0u8; 1 + 30000 / 8];
    let bomb = png(
        30000,
        30000,
        1,
        0,
        Some(&zlib((0..30000).map(|_| row.clone()))),
    );
    let tiny_idat = zlib(std::iter::once(vec![0u8; 4]));
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad/empty.jpg", vec![], "empty file"),
        ("bad/words.png", b"just some words".to_vec(), "not an image"),
        (
            "bad/truncated.jpg",
            jpeg[..jpeg.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "bad/truncated.png",
            good_png[..good_png.len() / 2].to_vec(),
            "truncated PNG data",
        ),
        (
            "bad/huge-header.png",
            png(100_000, 100_000, 8, 2, Some(&tiny_idat)),
            "100000x100000 is over the 250-megapixel limit",
        ),
        (
            "bad/huge-header.jpg",
            lying_jpeg(65000, 65000),
            "65000x65000 is over the 250-megapixel limit",
        ),
        (
            "bad/bomb.png",
            bomb,
            "30000x30000 is over the 250-megapixel limit",
        ),
        (
            "bad/bad-signature.png",
            [b"\x89PNX\r\n\x1a\n".as_slice(), &good_png[8..]].concat(),
            "not an image",
        ),
        (
            "bad/colour-type-9.png",
            png(10, 10, 8, 9, Some(&tiny_idat)),
            "color type 9",
        ),
        (
            "bad/bit-depth-99.png",
            png(10, 10, 99, 2, Some(&tiny_idat)),
            "bit depth 99",
        ),
        ("bad/no-image-data.png", png(10, 10, 8, 2, None), "IDAT"),
    ];
    for (rel, bytes, _) in &bad {
        common::put(&dir, rel, bytes);
    }
    let fifo = dir.join("odd/pipe.jpg");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", dir.join("odd/zero.jpg")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("odd/loop")).unwrap();
    std::fs::create_dir_all(dir.join("odd/folder.jpg")).unwrap();
    let before = common::snapshot(&dir);

    let report = tmp.path().join("r.json");
    let args = [
        "run",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "png",
        "-j",
        "2",
        "--report",
        report.to_str().unwrap(),
    ];
    let (status, max_rss_kib) = common::run_measured(&args);
    // The time command exits with the program's status.
    assert_eq!(status.code(), Some(1));
    if let Some(kib) = max_rss_kib {
        eprintln!("peak RSS {} MiB", kib / 1024);
        assert!(
            kib < 600 * 1024,
            "peak RSS {} MiB is over 600 MiB",
            kib / 1024
        );
    }

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let files = r["files"].as_array().unwrap();
    let by_input = |rel: &str| {
        let path = dir.join(rel);
        files
            .iter()
            .find(|f| f["input"] == path.to_str().unwrap())
            .unwrap_or_else(|| panic!("{rel} not in the report"))
    };
    for rel in good {
        assert_eq!(by_input(rel)["status"], "ok", "{rel}");
    }
    for (rel, _, want) in &bad {
        let f = by_input(rel);
        assert_eq!(f["status"], "failed", "{rel}: {f}");
        let reason = f["error"].as_str().unwrap();
        eprintln!("{rel}: {reason}");
        assert!(
            reason.contains(want),
            "{rel}: {reason:?} should mention {want:?}"
        );
    }
    for rel in ["odd/pipe.jpg", "odd/zero.jpg"] {
        let f = by_input(rel);
        assert_eq!(f["status"], "skipped", "{rel}");
        assert!(
            f["error"].as_str().unwrap().contains("not converted"),
            "{rel}: {f}"
        );
    }
    assert!(
        !r["summary"]["scan_warnings"].as_array().unwrap().is_empty(),
        "the symlink loop is reported"
    );
    assert_eq!(
        r["summary"]["ok"], 4,
        "the three good images and the non-UTF-8 one"
    );

    // Only good outputs exist, all whole; the originals are untouched.
    let written = common::snapshot(&out);
    assert_eq!(written.len(), 4, "{:?}", written.keys().collect::<Vec<_>>());
    for bytes in written.values() {
        image::load_from_memory(bytes).expect("whole output");
    }
    assert_eq!(common::snapshot(&dir), before);
}
