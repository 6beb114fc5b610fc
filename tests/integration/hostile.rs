//! Hostile input: a folder of broken, lying and odd files beside good images. The batch must
//! finish, convert every good image, report every bad one with a reason, leave only good
//! outputs, and stay within its memory bound.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

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

/// A GIF of `frames` 1x1 frames on a `side`x`side` canvas, written byte by byte: a few
/// kilobytes that a decoder composes into `frames` full canvases.
fn sparse_gif(side: u16, frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&side.to_le_bytes());
    out.extend_from_slice(&side.to_le_bytes());
    // Global colour table of 2 entries, background 0.
    out.extend_from_slice(&[0x80, 0, 0, 0xFF, 0xFF, 0xFF, 0, 0, 0]);
    // Loop forever (NETSCAPE2.0), so every reader sees an animation.
    out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
    for i in 0..frames {
        // Graphic control: 10 ms, no disposal.
        out.extend_from_slice(&[0x21, 0xF9, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00]);
        let at = (i % usize::from(side)) as u16;
        out.push(0x2C);
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&[1, 0, 1, 0, 0]);
        // One pixel of colour 1, LZW with a 2-bit minimum code size.
        out.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
    }
    out.push(0x3B);
    out
}

/// #10 finding 3: every frame of an animated GIF was composed onto the full canvas and kept, and
/// only the first was charged: a 4.6 KB GIF (3000x3000 canvas, 200 frames) aborted the whole
/// process. It now fails alone with a reason, the other inputs convert, and the process stays
/// within the memory limit plus 64 MiB.
#[test]
fn a_tiny_gif_with_huge_frames_fails_alone_within_the_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let bomb = sparse_gif(3000, 200);
    assert!(bomb.len() < 8 * 1024);
    common::put(&dir, "bomb.gif", &bomb);
    // ImageMagick reads it as the animation it claims to be (fixtures are checked by a
    // decoder other than ours where one is installed).
    if let Ok(identify) = Command::new("identify").arg(dir.join("bomb.gif")).output() {
        let listed = String::from_utf8_lossy(&identify.stdout).lines().count();
        assert_eq!(listed, 200, "ImageMagick sees 200 frames");
    }
    let small = sparse_gif(40, 5);
    common::put(&dir, "small.gif", &small);
    common::put(
        &dir,
        "photo.png",
        &common::encode(&common::photo(64, 48), image::ImageFormat::Png),
    );
    let report = tmp.path().join("r.json");
    let args = [
        "run",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-j",
        "1",
        "--memory-limit",
        "64M",
        "--report",
        report.to_str().unwrap(),
    ];
    let (status, max_rss_kib) = common::run_measured(&args);
    assert_eq!(status.code(), Some(1), "one file failed, the batch went on");
    if let Some(kib) = max_rss_kib {
        eprintln!("peak RSS {} MiB", kib / 1024);
        assert!(
            kib < (64 + 64) * 1024,
            "peak RSS {} MiB is over the 64 MiB limit plus 64 MiB",
            kib / 1024
        );
    }
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let record = |name: &str| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["input"].as_str().unwrap().ends_with(name))
            .cloned()
            .unwrap()
    };
    let bomb = record("bomb.gif");
    assert_eq!(bomb["status"], "failed", "{bomb}");
    assert_eq!(bomb["error_kind"], "too_large", "{bomb}");
    assert!(bomb["error"].as_str().unwrap().contains("frames"), "{bomb}");
    assert_eq!(record("small.gif")["status"], "ok");
    assert_eq!(record("photo.png")["status"], "ok");
    assert!(
        !out.join("bomb.gif").exists(),
        "no output for the failed file"
    );
    // The small animation stays an animation, every frame kept.
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(
        std::fs::read(out.join("small.gif")).unwrap(),
    ))
    .map(|d| image::AnimationDecoder::into_frames(d).count())
    .unwrap();
    assert_eq!(frames, 5);
}

/// #10 finding 8: whole files were read before the memory budget was charged, so four 4x4 PNGs
/// padded with a junk chunk, converted four at a time, were all in memory at once. The read is
/// now charged first, so they take turns.
#[test]
fn files_padded_with_junk_are_charged_before_they_are_read() {
    const JUNK: usize = 96 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let raw = (0..4).map(|_| {
        let mut row = vec![0u8];
        row.extend_from_slice(&[200; 12]);
        row
    });
    let idat = zlib(raw);
    for i in 0..4 {
        let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&4u32.to_be_bytes());
        ihdr.extend_from_slice(&4u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut data, b"IHDR", &ihdr);
        // An ancillary chunk readers skip: megabytes of nothing.
        chunk(&mut data, b"juNk", &vec![i as u8; JUNK]);
        chunk(&mut data, b"IDAT", &idat);
        chunk(&mut data, b"IEND", &[]);
        common::put(&dir, &format!("padded{i}.png"), &data);
    }
    let report = tmp.path().join("r.json");
    let args = [
        "run",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-j",
        "4",
        "--memory-limit",
        "16M",
        "--report",
        report.to_str().unwrap(),
    ];
    let (status, max_rss_kib) = common::run_measured(&args);
    assert_eq!(status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["summary"]["ok"], 4, "{r}");
    if let Some(kib) = max_rss_kib {
        eprintln!("peak RSS {} MiB", kib / 1024);
        let one_file = (JUNK >> 10) as u64;
        assert!(
            kib < one_file + 64 * 1024,
            "peak RSS {} MiB: more than one padded file in memory at once",
            kib / 1024
        );
    }
}
