//! The second security review's findings (issue 38), each with a test that failed before its
//! fix: what sits at the journal's name, huge journals, recipes that name Conveyor's own files,
//! a kill at any moment, names that are not UTF-8.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common::{self, conveyor, s};

use std::fs;
use std::path::Path;
use std::process::Command;

/// `conveyor run DIR --out OUT --format png EXTRA… --report REPORT`.
fn to_png(dir: &Path, out: &Path, report: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", s(dir), "--out", s(out), "--format", "png"];
    args.extend_from_slice(extra);
    args.extend(["--report", s(report)]);
    conveyor(&args)
}

fn two_photos(dir: &Path) {
    for i in 0..2 {
        common::put(
            dir,
            &format!("p{i}.png"),
            &common::encode(&common::photo(48, 32), image::ImageFormat::Png),
        );
    }
}

/// `conveyor args…` under `timeout`, so a run that would block forever fails the test instead
/// of hanging it: its exit code (124 when it had to be killed) and stderr.
fn run_within(seconds: u32, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("timeout")
        .arg("-s")
        .arg("KILL")
        .arg(seconds.to_string())
        .arg(common::bin())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_pipe_at_the_journals_name_is_refused_at_once_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let fifo = out.join(".conveyor-journal.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for dry in [false, true] {
        let mut args = vec!["run", s(&dir), "--out", s(&out), "--format", "jpeg"];
        if dry {
            args.push("--dry-run");
        }
        let (code, stderr) = run_within(30, &args);
        assert_eq!(
            code,
            Some(2),
            "refused, not blocked (dry run {dry}): {stderr}"
        );
        assert!(
            stderr.contains("is a pipe or device, where Conveyor keeps its journal"),
            "{stderr}"
        );
    }
    assert!(!out.join("p0.jpg").exists());
}

#[cfg(unix)]
#[test]
fn a_symlink_at_the_journals_name_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let journal = out.join(".conveyor-journal.jsonl");

    // A dangling link: the file it names must not be created.
    let target = elsewhere.join("x");
    std::os::unix::fs::symlink(&target, &journal).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert!(!target.exists(), "the link's target was created");

    // A link to a file that exists: not a byte is appended to it.
    fs::remove_file(&journal).unwrap();
    let precious = elsewhere.join("notes.txt");
    fs::write(&precious, b"mine\n").unwrap();
    std::os::unix::fs::symlink(&precious, &journal).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(fs::read(&precious).unwrap(), b"mine\n");
    assert!(!out.join("p0.jpg").exists());
}

/// A 2 GiB journal (sparse: all zeros, no line) is read line by line, never whole: the run
/// stays near its memory limit, converts, and leaves a journal of its own lines.
#[cfg(unix)]
#[test]
fn a_huge_journal_costs_time_not_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let journal = out.join(".conveyor-journal.jsonl");
    fs::File::create(&journal)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let (status, rss) = common::run_measured(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--memory-limit",
        "64M",
    ]);
    assert!(status.success());
    if let Some(kib) = rss {
        assert!(kib < 200 * 1024, "peak RSS {kib} KiB for a 2 GiB journal");
    }
    assert!(out.join("p0.jpg").exists() && out.join("p1.jpg").exists());
    let text = fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 2, "the damaged file was rewritten");
    // The same command again finds both vouched for.
    let again = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("converted 0, skipped 2"), "{stdout}");
}

#[test]
fn recipes_that_cannot_make_a_file_or_take_conveyors_names_are_refused_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 5] = [
        ("name = \"a\\u0000b\"\n", "control characters"),
        (
            &format!("name = \"{}\"\n", "x".repeat(300)),
            "file names end at 255 bytes",
        ),
        ("name = \".conveyor-journal\"\n", "keeps for its own files"),
        (
            "subfolder = \".conveyor-journal.jsonl\"\n",
            "keeps for its own files",
        ),
        ("subfolder = \"a\\nb\"\n", "control character"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("r{i}.toml"));
        fs::write(&file, format!("[[output]]\nformat = \"jpeg\"\n{text}")).unwrap();
        let check = conveyor(&["recipe", "check", s(&file)]);
        let stderr = String::from_utf8_lossy(&check.stderr);
        assert_eq!(check.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(want), "{text}: {stderr}");
    }
    // The same refusals on the command line.
    let dir = tmp.path().join("in");
    two_photos(&dir);
    let out = tmp.path().join("out");
    let long = "y".repeat(300);
    for name in ["a\u{1}b", long.as_str(), ".Conveyor-x-{stem}"] {
        let run = conveyor(&["run", s(&dir), "--out", s(&out), "--name", name]);
        assert_eq!(run.status.code(), Some(2), "{name}");
    }
    assert!(!out.exists(), "nothing was written");
}

// ---- Crafted containers (findings 1–4) ----

/// The boxes of `data` (32-bit sizes only, as the encoders here write them): (type, body).
fn boxes(data: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        out.push((kind, data[at + 8..at + size].to_vec()));
        at += size;
    }
    out
}

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn join(list: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    list.iter().flat_map(|(k, b)| bx(k, b)).collect()
}

/// A real AVIF (`w`×`h`, made by Conveyor's engine, the same as `conveyor run --format avif`).
fn avif(w: u32, h: u32) -> Vec<u8> {
    conveyor::engine::codec::avif::encode(&common::photo(w, h), 70, false, 10, None, None).unwrap()
}

/// `file` with its `meta` box's children changed by `edit`, and a `free` box of `pad` bytes
/// at the end (so the file is larger). Item data lives in `mdat` after `meta`; the edits here
/// keep every extent's offset valid or replace the `iloc` box whole.
fn with_meta(file: &[u8], pad: usize, edit: impl FnOnce(&mut Vec<([u8; 4], Vec<u8>)>)) -> Vec<u8> {
    let mut top = boxes(file);
    let meta = top.iter_mut().find(|(k, _)| k == b"meta").unwrap();
    let mut children = boxes(&meta.1[4..]);
    let before = meta.1.len();
    edit(&mut children);
    let mut body = meta.1[..4].to_vec();
    body.extend(join(&children));
    assert_eq!(
        body.len(),
        before,
        "edits keep meta's size, so mdat does not move"
    );
    meta.1 = body;
    top.push((*b"free", vec![0; pad]));
    join(&top)
}

fn primary(children: &[([u8; 4], Vec<u8>)]) -> u16 {
    let pitm = &children.iter().find(|(k, _)| k == b"pitm").unwrap().1;
    assert_eq!(pitm[0], 0, "pitm version 0");
    u16::from_be_bytes([pitm[4], pitm[5]])
}

/// Finding 1: an AVIF whose image has 65,535 extents of no size (each read as "the whole
/// file"), in a batch of three. It fails alone as corrupt, within the memory limit, and the
/// batch goes on: both good files converted, a report written.
#[test]
fn an_avif_of_endless_extents_fails_alone_within_the_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let good = avif(64, 48);
    let bad = {
        let mut top = boxes(&good);
        let meta = top.iter_mut().find(|(k, _)| k == b"meta").unwrap();
        let mut children = boxes(&meta.1[4..]);
        let id = primary(&children);
        // iloc version 0, no offset, length or base fields, one item of 65,535 extents.
        let mut iloc = vec![0, 0, 0, 0, 0x00, 0x00, 0, 1];
        iloc.extend_from_slice(&id.to_be_bytes());
        iloc.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        children.iter_mut().find(|(k, _)| k == b"iloc").unwrap().1 = iloc;
        let mut body = meta.1[..4].to_vec();
        body.extend(join(&children));
        meta.1 = body;
        top.push((*b"free", vec![0; 16 * 1024]));
        join(&top)
    };
    common::put(&dir, "a-good.avif", &good);
    common::put(&dir, "b-endless.avif", &bad);
    common::put(&dir, "c-good.avif", &good);
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let (status, rss) = common::run_measured(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "png",
        "-j",
        "1",
        "--memory-limit",
        "64M",
        "--report",
        s(&report),
    ]);
    assert_eq!(status.code(), Some(1));
    let r = common::read_report(&report);
    let files = r["files"].as_array().unwrap();
    let bad = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("b-endless.avif"))
        .unwrap();
    assert_eq!(bad["error_kind"], "corrupt", "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("extents"), "{bad}");
    assert!(out.join("a-good.png").exists() && out.join("c-good.png").exists());
    if let Some(kib) = rss {
        // 64 MiB of budget and a fixed overhead of 64 MiB (the program, its threads' stacks,
        // the allocator's arenas): the 16 KiB file once held 65,535 copies of itself (1 GiB).
        assert!(kib < 128 * 1024, "peak RSS {kib} KiB");
    }
}

/// Finding 2: one `irot` (a quarter turn) linked to the image 500 times is applied once, as
/// libheif does: the output is turned a quarter, not 500 quarters (which would be upright).
#[test]
fn a_rotation_linked_hundreds_of_times_is_applied_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let plain = avif(96, 64);
    // Add `irot` to ipco; link it 250 times in each of two more ipma entries for the image.
    let mut top = boxes(&plain);
    let meta = top.iter_mut().find(|(k, _)| k == b"meta").unwrap();
    let mut children = boxes(&meta.1[4..]);
    let id = primary(&children);
    let iprp = children.iter_mut().find(|(k, _)| k == b"iprp").unwrap();
    let mut parts = boxes(&iprp.1);
    let ipco = parts.iter_mut().find(|(k, _)| k == b"ipco").unwrap();
    let index = boxes(&ipco.1).len() + 1;
    ipco.1.extend(bx(b"irot", &[1]));
    let ipma = parts.iter_mut().find(|(k, _)| k == b"ipma").unwrap();
    assert_eq!(ipma.1[0..4], [0, 0, 0, 0], "ipma version 0, 7-bit indices");
    let entries = u32::from_be_bytes(ipma.1[4..8].try_into().unwrap());
    ipma.1[4..8].copy_from_slice(&(entries + 2).to_be_bytes());
    for _ in 0..2 {
        ipma.1.extend_from_slice(&id.to_be_bytes());
        ipma.1.push(250);
        ipma.1
            .extend(std::iter::repeat_n(u8::try_from(index).unwrap(), 250));
    }
    iprp.1 = join(&parts);
    let grown = {
        let mut body = meta.1[..4].to_vec();
        body.extend(join(&children));
        body.len() - meta.1.len()
    };
    // meta grew: move every extent of iloc (version 0, 4-byte fields, no base) by as much.
    let iloc = &mut children.iter_mut().find(|(k, _)| k == b"iloc").unwrap().1;
    assert_eq!(iloc[0..6], [0, 0, 0, 0, 0x44, 0x00]);
    let items = u16::from_be_bytes([iloc[6], iloc[7]]);
    let mut at = 8;
    for _ in 0..items {
        at += 4;
        let extents = u16::from_be_bytes([iloc[at], iloc[at + 1]]);
        at += 2;
        for _ in 0..extents {
            let offset = u32::from_be_bytes(iloc[at..at + 4].try_into().unwrap());
            iloc[at..at + 4]
                .copy_from_slice(&(offset + u32::try_from(grown).unwrap()).to_be_bytes());
            at += 8;
        }
    }
    let mut body = meta.1[..4].to_vec();
    body.extend(join(&children));
    meta.1 = body;
    let crafted = join(&top);
    common::put(&dir, "turned.avif", &crafted);
    let out = tmp.path().join("out");
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "png"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let img = image::open(out.join("turned.png")).unwrap();
    assert_eq!((img.width(), img.height()), (64, 96), "one quarter turn");
}

/// Finding 4: an AVIF whose `ispe` says 16×16 over a 256×256 AV1 frame is refused before the
/// frame is allocated (it was admitted to the memory budget as 16×16), as corrupt, naming the
/// lie; an honest file over `--max-pixels` is `too_large`.
#[test]
fn an_avif_frame_larger_than_declared_is_refused_before_it_is_decoded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let honest = avif(256, 256);
    let lying = with_meta(&honest, 0, |children| {
        let iprp = children.iter_mut().find(|(k, _)| k == b"iprp").unwrap();
        let mut parts = boxes(&iprp.1);
        let ipco = parts.iter_mut().find(|(k, _)| k == b"ipco").unwrap();
        let mut props = boxes(&ipco.1);
        let ispe = props.iter_mut().find(|(k, _)| k == b"ispe").unwrap();
        ispe.1[4..8].copy_from_slice(&16u32.to_be_bytes());
        ispe.1[8..12].copy_from_slice(&16u32.to_be_bytes());
        ipco.1 = join(&props);
        iprp.1 = join(&parts);
    });
    common::put(&dir, "lying.avif", &lying);
    common::put(&dir, "honest.avif", &honest);
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let run = to_png(&dir, &out, &report, &["--max-pixels", "60000"]);
    assert_eq!(run.status.code(), Some(1));
    let r = common::read_report(&report);
    for f in r["files"].as_array().unwrap() {
        let name = f["input"].as_str().unwrap();
        let (kind, words) = if name.ends_with("lying.avif") {
            ("corrupt", "larger than the 16x16 the file declares")
        } else {
            ("too_large", "megapixel limit")
        };
        assert_eq!(f["error_kind"], kind, "{f}");
        assert!(f["error"].as_str().unwrap().contains(words), "{f}");
    }
    assert!(!out.join("lying.png").exists());
}

/// A progressive JPEG of `w`×`h` made by jpeg-encoder, with its last scan said `extra` more
/// times (each repeat decodes to the same coefficients).
fn many_scans(w: u16, h: u16, extra: usize) -> Vec<u8> {
    let img = common::photo(u32::from(w), u32::from(h)).to_rgb8();
    let mut good = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut good, 85);
    encoder.set_progressive(true);
    encoder
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let last = (0..good.len() - 1)
        .rev()
        .find(|&i| good[i] == 0xFF && good[i + 1] == 0xDA)
        .unwrap();
    let end = good.len() - 2;
    let mut data = good[..end].to_vec();
    for _ in 0..extra {
        data.extend_from_slice(&good[last..end]);
    }
    data.extend_from_slice(&good[end..]);
    data
}

/// Finding 3: a progressive JPEG of 6,000 scans is refused as corrupt before any decoder walks
/// them (each scan walks every block: a minute of work), on every decoding path (scaled, full
/// size); one with a few repeated scans still converts.
#[test]
fn a_progressive_jpeg_of_thousands_of_scans_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    common::put(&dir, "endless.jpg", &many_scans(640, 480, 6000));
    common::put(&dir, "twenty.jpg", &many_scans(640, 480, 20));
    for resize in ["fit:200x200", "fit:2000x2000"] {
        let out = tmp.path().join(resize.replace(':', "-"));
        let report = tmp
            .path()
            .join(format!("{}.json", resize.replace(':', "-")));
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "png",
            "--resize",
            resize,
            "--report",
            s(&report),
        ]);
        assert_eq!(run.status.code(), Some(1), "{resize}");
        let r = common::read_report(&report);
        for f in r["files"].as_array().unwrap() {
            if f["input"].as_str().unwrap().ends_with("endless.jpg") {
                assert_eq!(f["error_kind"], "corrupt", "{f}");
                assert!(f["error"].as_str().unwrap().contains("scans"), "{f}");
            } else {
                assert_eq!(f["status"], "ok", "{f}");
            }
        }
    }
}

/// `iloc` (its body) with every file-based extent moved by `delta` bytes (the boxes before
/// `mdat` grew by as much): through the base offset where there is one, else each extent's.
fn shift_iloc(iloc: &mut [u8], delta: u64) {
    let version = iloc[0];
    let (offset_size, length_size) = (iloc[4] >> 4, iloc[4] & 15);
    let (base_size, index_size) = (iloc[5] >> 4, if version >= 1 { iloc[5] & 15 } else { 0 });
    let mut at = 6;
    let read = |b: &[u8], at: usize, n: u8| -> u64 {
        b[at..at + usize::from(n)]
            .iter()
            .fold(0, |v, &x| (v << 8) | u64::from(x))
    };
    let write = |b: &mut [u8], at: usize, n: u8, v: u64| {
        for i in 0..usize::from(n) {
            b[at + i] = (v >> (8 * (usize::from(n) - 1 - i))) as u8;
        }
    };
    let (count, wide) = if version < 2 {
        (read(iloc, at, 2), 2)
    } else {
        (read(iloc, at, 4), 4)
    };
    at += wide;
    for _ in 0..count {
        at += wide;
        let method = if version >= 1 {
            let m = read(iloc, at, 2) & 15;
            at += 2;
            m
        } else {
            0
        };
        at += 2; // data reference
        let base_at = at;
        at += usize::from(base_size);
        let extents = read(iloc, at, 2);
        at += 2;
        if method == 0 && base_size > 0 {
            let base = read(iloc, base_at, base_size);
            write(iloc, base_at, base_size, base + delta);
        }
        for _ in 0..extents {
            at += usize::from(index_size);
            if method == 0 && base_size == 0 {
                let offset = read(iloc, at, offset_size);
                write(iloc, at, offset_size, offset + delta);
            }
            at += usize::from(offset_size) + usize::from(length_size);
        }
    }
}

/// A heif-enc HEIC of `w`×`h` with property `kind` (`body`) added to `ipco` and linked `links`
/// times to the image in its own `ipma` entry (`iloc` moved by what `meta` grows).
fn heic_with_property(
    tmp: &Path,
    (w, h): (u32, u32),
    kind: &[u8; 4],
    body: &[u8],
    links: u8,
) -> Vec<u8> {
    let png = tmp.join("base.png");
    common::photo(w, h).save(&png).unwrap();
    let heic = tmp.join("base.heic");
    let made = Command::new("heif-enc")
        .args(["-q", "60", "-o", s(&heic), s(&png)])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let file = fs::read(&heic).unwrap();
    let mut top = boxes(&file);
    let meta = top.iter_mut().find(|(k, _)| k == b"meta").unwrap();
    let mut children = boxes(&meta.1[4..]);
    let id = primary(&children);
    let iprp = children.iter_mut().find(|(k, _)| k == b"iprp").unwrap();
    let mut parts = boxes(&iprp.1);
    let ipco = parts.iter_mut().find(|(k, _)| k == b"ipco").unwrap();
    let index = boxes(&ipco.1).len() + 1;
    ipco.1.extend(bx(kind, body));
    let ipma = parts.iter_mut().find(|(k, _)| k == b"ipma").unwrap();
    // The links go into the image's own ipma entry.
    let (version, wide) = (ipma.1[0], ipma.1[3] & 1 == 1);
    let entries = u32::from_be_bytes(ipma.1[4..8].try_into().unwrap());
    let mut at = 8;
    for _ in 0..entries {
        let item = if version < 1 {
            u32::from(u16::from_be_bytes([ipma.1[at], ipma.1[at + 1]]))
        } else {
            u32::from_be_bytes(ipma.1[at..at + 4].try_into().unwrap())
        };
        at += if version < 1 { 2 } else { 4 };
        let n = usize::from(ipma.1[at]);
        let end = at + 1 + n * if wide { 2 } else { 1 };
        if item == u32::from(id) {
            ipma.1[at] = ipma.1[at].checked_add(links).unwrap();
            let link = if wide {
                u16::try_from(index).unwrap().to_be_bytes().to_vec()
            } else {
                vec![u8::try_from(index).unwrap()]
            };
            let all: Vec<u8> = std::iter::repeat_n(link, usize::from(links))
                .flatten()
                .collect();
            ipma.1.splice(end..end, all);
            break;
        }
        at = end;
    }
    iprp.1 = join(&parts);
    let grown = {
        let mut body = meta.1[..4].to_vec();
        body.extend(join(&children));
        (body.len() - meta.1.len()) as u64
    };
    let meta_index = top.iter().position(|(k, _)| k == b"meta").unwrap();
    let mdat_after = top.iter().position(|(k, _)| k == b"mdat").unwrap() > meta_index;
    assert!(mdat_after, "heif-enc writes meta before mdat");
    let iloc = &mut children.iter_mut().find(|(k, _)| k == b"iloc").unwrap().1;
    shift_iloc(iloc, grown);
    let meta = top.iter_mut().find(|(k, _)| k == b"meta").unwrap();
    let mut body = meta.1[..4].to_vec();
    body.extend(join(&children));
    meta.1 = body;
    join(&top)
}

/// Finding 4 for HEIC: a `clap` that crops a 512×512 picture to 16×16 passed `--max-pixels
/// 10000` and was decoded whole; the pixels decoded are what the limit is checked against.
#[test]
#[ignore = "needs heif-enc (apt-get install libheif-examples)"]
fn a_heic_cropped_small_from_a_large_picture_is_judged_by_the_picture() {
    let tmp = tempfile::tempdir().unwrap();
    // clap: 16/1 × 16/1, centred (offsets 0/1).
    let clap: Vec<u8> = [16u32, 1, 16, 1, 0, 1, 0, 1]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let crafted = heic_with_property(tmp.path(), (512, 512), b"clap", &clap, 1);
    let dir = tmp.path().join("in");
    common::put(&dir, "cropped.heic", &crafted);
    let out = tmp.path().join("out");
    // libheif reads the crafted file as the 16×16 it declares.
    let check = Command::new("heif-info")
        .arg(dir.join("cropped.heic"))
        .output();
    if let Ok(info) = check {
        let text = String::from_utf8_lossy(&info.stdout);
        assert!(text.contains("image: 16x16"), "{text}");
    }
    let report = tmp.path().join("r.json");
    let run = to_png(&dir, &out, &report, &["--max-pixels", "10000"]);
    assert_eq!(run.status.code(), Some(1));
    let r = common::read_report(&report);
    let f = &r["files"][0];
    assert_eq!(f["error_kind"], "too_large", "{f}");
    // Without the limit it converts, to the 16×16 the file shows.
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "png"]);
    assert!(run.status.success());
    let img = image::open(out.join("cropped.png")).unwrap();
    assert_eq!((img.width(), img.height()), (16, 16));
}

// ---- Stops at any moment (finding 8) ----

/// The outputs (not temporaries, not the journal) in `out`.
fn outputs(out: &Path) -> usize {
    fs::read_dir(out).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
            .count()
    })
}

/// Twenty `kill -9`s, each the moment a new output appears (the moment an output is renamed
/// into place is when its journal line used to be missing), each followed by the same command
/// and then by a changed recipe: every output is vouched for or redone, none is left as "not
/// made by Conveyor".
#[cfg(unix)]
#[test]
fn after_any_kill_every_output_is_vouched_for_or_redone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let n = 12;
    for i in 0..n {
        common::put(
            &dir,
            &format!("p{i:02}.png"),
            &common::encode(&common::photo(900 + i, 600), image::ImageFormat::Png),
        );
    }
    let mut stopped_mid_batch = 0;
    // A small generator of kill points, so each round stops at another output.
    let mut seed = 0x9E37_79B9_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for round in 0..20 {
        let out = tmp.path().join(format!("out{round}"));
        let report = tmp.path().join(format!("r{round}.json"));
        let base = |quality: &'static str| -> Vec<String> {
            [
                "run",
                s(&dir),
                "--out",
                s(&out),
                "--format",
                "jpeg",
                "--quality",
                quality,
                "-j",
                "2",
                "--report",
                s(&report),
            ]
            .iter()
            .map(|a| (*a).to_owned())
            .collect()
        };
        let stop_at = 1 + (next() as usize % (n as usize - 1));
        let mut child = common::command()
            .args(base("80"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while outputs(&out) < stop_at && child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "no output appeared");
            std::thread::yield_now();
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_none() && outputs(&out) < n as usize {
            stopped_mid_batch += 1;
        }

        let again = common::command().args(base("80")).output().unwrap();
        assert_eq!(again.status.code(), Some(0), "round {round}");
        let r = common::read_report(&report);
        for f in r["files"].as_array().unwrap() {
            let fine = f["status"] == "ok"
                || (f["status"] == "skipped"
                    && f["error"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("already converted"));
            assert!(fine, "round {round} (killed at {stop_at}): {f}");
        }
        assert_eq!(outputs(&out), n as usize);

        let changed = common::command().args(base("60")).output().unwrap();
        assert_eq!(changed.status.code(), Some(0), "round {round}");
        let r = common::read_report(&report);
        assert_eq!(r["summary"]["ok"], n, "round {round}: every output redone");
    }
    assert!(
        stopped_mid_batch >= 15,
        "only {stopped_mid_batch} of 20 kills landed mid-batch"
    );
}

/// Finding 9: a file whose name is not UTF-8 (Latin-1 "café", as old cameras and Windows
/// shares write) is journalled like any other: the same command vouches for its output, and a
/// changed recipe redoes it in place.
#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_resumes_and_is_redone() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir_all(&dir).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.png");
    fs::write(
        dir.join(name),
        common::encode(&common::photo(64, 48), image::ImageFormat::Png),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let run = |quality: &str| {
        let status = common::command()
            .args(["run", s(&dir), "--out", s(&out), "--format", "jpeg"])
            .args(["--quality", quality, "--report", s(&report)])
            .status()
            .unwrap();
        assert!(status.success());
        common::read_report(&report)["files"][0].clone()
    };
    let first = run("80");
    assert_eq!(first["status"], "ok", "{first}");
    let output = out.join(std::ffi::OsStr::from_bytes(b"caf\xe9.jpg"));
    let made = fs::read(&output).unwrap();
    let again = run("80");
    assert_eq!(again["status"], "skipped", "{again}");
    assert!(
        again["error"]
            .as_str()
            .unwrap()
            .starts_with("already converted"),
        "{again}"
    );
    let changed = run("40");
    assert_eq!(changed["status"], "ok", "redone in place: {changed}");
    assert_ne!(fs::read(&output).unwrap(), made, "the output was rewritten");
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        2,
        "the output and the journal"
    );
}

// ---- A lone Slurm task (finding 14) ----

/// Slurm's variables for `sbatch --array=ID` (a lone task), as Slurm 22.05 sets them.
fn lone_slurm_task(cmd: &mut Command, id: u32) {
    let id = id.to_string();
    cmd.env("SLURM_ARRAY_TASK_ID", &id)
        .env("SLURM_ARRAY_TASK_MIN", &id)
        .env("SLURM_ARRAY_TASK_MAX", &id)
        .env("SLURM_ARRAY_TASK_COUNT", "1")
        .env("SLURM_ARRAY_TASK_STEP", "1");
}

/// After a batch split into four, task 2 submitted again alone (Slurm: task 2 of 1) is refused
/// with one message naming `--shard 2/4`, before it converts anything or overwrites task 2's
/// report; and `report merge` of four parts and a 1/1 report names the two splits apart.
#[test]
fn a_lone_slurm_task_over_a_split_batch_is_refused_with_its_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    for i in 0..8 {
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&common::photo(40 + i, 30), image::ImageFormat::Png),
        );
    }
    let out = tmp.path().join("out");
    let report = |k: u32| tmp.path().join(format!("report-{k}.json"));
    for k in [1, 3, 4] {
        let shard = format!("{k}/4");
        let r = report(k);
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--shard",
            &shard,
            "--report",
            s(&r),
        ]);
        assert!(run.status.success());
    }
    fs::write(report(2), b"task 2's report, kept").unwrap();
    let before = common::snapshot(&out);
    let mut cmd = common::command();
    cmd.args(["run", s(&dir), "--out", s(&out), "--shard", "auto"]);
    cmd.args(["--report", s(&report(2))]);
    lone_slurm_task(&mut cmd, 2);
    let run = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Run it with --shard 2/4"), "{err}");
    assert_eq!(common::snapshot(&out), before, "nothing converted");
    assert!(!out.join(".conveyor-journal-1-of-1.jsonl").exists());
    assert_eq!(fs::read(report(2)).unwrap(), b"task 2's report, kept");

    // The fix it names works: shard 2/4 converts the rest.
    let r2 = report(2);
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--shard",
        "2/4",
        "--report",
        s(&r2),
    ]);
    assert!(run.status.success());
    assert_eq!(common::snapshot(&out).len(), 8);
    assert_eq!(
        conveyor::engine::journal::splits_in(&out)
            .into_iter()
            .collect::<Vec<_>>(),
        [4]
    );

    // A lone task with nothing split in its output runs as a batch of one part, as before.
    let fresh = tmp.path().join("fresh");
    let mut cmd = common::command();
    cmd.args(["run", s(&dir), "--out", s(&fresh), "--shard", "auto", "-q"]);
    lone_slurm_task(&mut cmd, 2);
    assert!(cmd.status().unwrap().success());

    // report merge names the splits, not "shard 1/1 is given twice".
    let lone = tmp.path().join("lone.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&fresh),
        "--shard",
        "1/1",
        "--report",
        s(&lone),
    ]);
    assert!(run.status.success());
    let merged = tmp.path().join("merged.json");
    let (r1, r3, r4) = (report(1), report(3), report(4));
    let m = conveyor(&[
        "report",
        "merge",
        s(&r1),
        s(&r2),
        s(&r3),
        s(&r4),
        s(&lone),
        "--out",
        s(&merged),
    ]);
    let err = String::from_utf8_lossy(&m.stderr);
    assert_eq!(m.status.code(), Some(1), "{err}");
    assert!(!err.contains("given twice"), "{err}");
    assert!(
        err.contains("different splits (1 parts: ") && err.contains("lone.json (1/1)"),
        "{err}"
    );
    assert!(
        err.contains("4 parts: ") && err.contains("report-1.json (1/4)"),
        "{err}"
    );
}

/// The same with a real one-node Slurm cluster (Debian's slurm-wlm and munge on 127.0.0.1,
/// started by `tests/slurm/start.sh`): an `--array=1-4` job converts every file once and its
/// reports merge; `sbatch --array=2` of the same script afterwards is refused (the job fails with
/// the message in its log) and leaves the output and task 2's report as they were.
#[test]
#[ignore = "needs slurm (root, apt-get install slurm-wlm munge)"]
fn a_lone_task_resubmitted_to_a_real_slurm_cluster_is_refused() {
    let start = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/start.sh");
    let up = Command::new("bash").arg(&start).output().unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    for i in 0..12 {
        common::put(
            &dir,
            &format!("p{i:02}.png"),
            &common::encode(&common::photo(60 + i, 40), image::ImageFormat::Png),
        );
    }
    let out = tmp.path().join("out");
    let job = tmp.path().join("job.sh");
    fs::write(
        &job,
        format!(
            "#!/bin/sh\nexec '{}' run '{}' --out '{}' --format jpeg --shard auto -q --report \
             '{}/report-'\"$SLURM_ARRAY_TASK_ID\".json\n",
            common::bin(),
            s(&dir),
            s(&out),
            s(tmp.path())
        ),
    )
    .unwrap();
    let sbatch = |array: &str, log: &str| {
        Command::new("sbatch")
            .current_dir(tmp.path())
            .args(["--wait", "--array", array, "-o", log, s(&job)])
            .output()
            .unwrap()
    };
    let all = sbatch("1-4", "task-%a.log");
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert_eq!(common::snapshot(&out).len(), 12);
    let report = |k: u32| tmp.path().join(format!("report-{k}.json"));
    let before = (common::snapshot(&out), fs::read(report(2)).unwrap());

    let lone = sbatch("2", "lone-%a.log");
    assert!(!lone.status.success(), "the lone task's job fails");
    let log = fs::read_to_string(tmp.path().join("lone-2.log")).unwrap();
    assert!(log.contains("Run it with --shard 2/4"), "{log}");
    assert_eq!(
        (common::snapshot(&out), fs::read(report(2)).unwrap()),
        before
    );
    assert!(!out.join(".conveyor-journal-1-of-1.jsonl").exists());
    let merged = tmp.path().join("merged.json");
    let (r1, r2, r3, r4) = (report(1), report(2), report(3), report(4));
    let m = conveyor(&[
        "report",
        "merge",
        s(&r1),
        s(&r2),
        s(&r3),
        s(&r4),
        "--out",
        s(&merged),
    ]);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    assert_eq!(common::read_report(&merged)["summary"]["ok"], 12);
}

/// Finding 4, the grid: heif-enc's 512×512 picture made the one tile of a 4×4 `grid` item that
/// declares 64×64 (the same tile referenced 16 times), so a decode would make 16 pictures of
/// 512×512 for a 64×64 image. Refused as corrupt before any tile is decoded.
#[test]
#[ignore = "needs heif-enc (apt-get install libheif-examples)"]
fn a_heic_grid_whose_tiles_dwarf_its_canvas_is_refused_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("tile.png");
    common::photo(512, 512).save(&png).unwrap();
    let heic = tmp.path().join("tile.heic");
    let made = Command::new("heif-enc")
        .args(["-q", "60", "-o", s(&heic), s(&png)])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let file = fs::read(&heic).unwrap();
    let top = boxes(&file);
    let meta_body = &top.iter().find(|(k, _)| k == b"meta").unwrap().1;
    let children = boxes(&meta_body[4..]);
    let get = |kind: &[u8; 4]| children.iter().find(|(k, _)| k == kind).unwrap().1.clone();
    assert_eq!(primary(&children), 1);
    // heif-enc's iloc: version 0, 4-byte offset, length and base; one item.
    let iloc = get(b"iloc");
    assert_eq!(
        iloc[..8],
        [0, 0, 0, 0, 0x44, 0x40, 0, 1],
        "heif-enc's iloc layout"
    );
    let base = u32::from_be_bytes(iloc[12..16].try_into().unwrap());
    let extents = iloc[16..].to_vec(); // extent count, then (offset, length) pairs

    // The grid: ImageGrid with 16-bit sizes, 4 rows and 4 columns, declared 64×64 (and, to
    // show the crafted file is a grid that decodes, 2048×2048: the tile 16 times).
    for side in [64u16, 2048] {
        let [hi, lo] = side.to_be_bytes();
        let grid = [0u8, 0, 3, 3, hi, lo, hi, lo];
        let mut iinf = get(b"iinf");
        iinf[4..6].copy_from_slice(&2u16.to_be_bytes());
        iinf.extend(bx(
            b"infe",
            &[2, 0, 0, 0, 0, 2, 0, 0, b'g', b'r', b'i', b'd', 0],
        ));
        let mut dimg = 2u16.to_be_bytes().to_vec();
        dimg.extend_from_slice(&16u16.to_be_bytes());
        for _ in 0..16 {
            dimg.extend_from_slice(&1u16.to_be_bytes());
        }
        let mut iref = vec![0, 0, 0, 0];
        iref.extend(bx(b"dimg", &dimg));
        let mut iprp = boxes(&get(b"iprp"));
        let ipco = iprp.iter_mut().find(|(k, _)| k == b"ipco").unwrap();
        let ispe_index = u8::try_from(boxes(&ipco.1).len() + 1).unwrap();
        ipco.1
            .extend(bx(b"ispe", &[0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 64]));
        let ipma = iprp.iter_mut().find(|(k, _)| k == b"ipma").unwrap();
        assert_eq!(
            ipma.1[..8],
            [0, 0, 0, 0, 0, 0, 0, 1],
            "one ipma entry, 7-bit indices"
        );
        ipma.1[4..8].copy_from_slice(&2u32.to_be_bytes());
        ipma.1.extend_from_slice(&[0, 2, 1, 0x80 | ispe_index]);
        // iloc version 1: item 1 in the file (its base moved by what meta grows), item 2 in idat.
        let iloc_with = |new_base: u32| {
            let mut v = vec![1, 0, 0, 0, 0x44, 0x40, 0, 2];
            v.extend_from_slice(&[0, 1, 0, 0, 0, 0]); // item 1, method 0, data reference 0
            v.extend_from_slice(&new_base.to_be_bytes());
            v.extend_from_slice(&extents);
            v.extend_from_slice(&[0, 2, 0, 1, 0, 0]); // item 2, method 1 (idat)
            v.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8]);
            v
        };
        let meta_with = |new_base: u32| {
            let mut body = meta_body[..4].to_vec();
            body.extend(bx(b"hdlr", &get(b"hdlr")));
            body.extend(bx(b"pitm", &[0, 0, 0, 0, 0, 2]));
            body.extend(bx(b"iloc", &iloc_with(new_base)));
            body.extend(bx(b"iinf", &iinf));
            body.extend(bx(b"iref", &iref));
            body.extend(bx(b"idat", &grid));
            body.extend(bx(b"iprp", &join(&iprp)));
            body
        };
        let grown = u32::try_from(meta_with(base).len() - meta_body.len()).unwrap();
        let crafted: Vec<u8> = top
            .iter()
            .flat_map(|(k, b)| {
                if k == b"meta" {
                    bx(k, &meta_with(base + grown))
                } else {
                    bx(k, b)
                }
            })
            .collect();
        let dir = tmp.path().join(format!("in{side}"));
        common::put(&dir, "grid.heic", &crafted);
        let out = tmp.path().join(format!("out{side}"));
        let report = tmp.path().join(format!("r{side}.json"));
        let run = to_png(&dir, &out, &report, &[]);
        let f = &common::read_report(&report)["files"][0];
        if side == 64 {
            assert_eq!(run.status.code(), Some(1));
            assert_eq!(f["error_kind"], "corrupt", "{f}");
            assert!(
                f["error"]
                    .as_str()
                    .unwrap()
                    .contains("the grid declares 64x64"),
                "{f}"
            );
        } else {
            assert_eq!(run.status.code(), Some(0), "{f}");
            let img = image::open(out.join("grid.png")).unwrap();
            assert_eq!((img.width(), img.height()), (2048, 2048));
        }
    }
}

/// Finding 2 for HEIC: one `irot` (a quarter turn) linked 250 times. heic-decoder applies every
/// link, each a pass over the picture; the file is refused as corrupt before decoding (AVIF's
/// own reader applies such a property once instead).
#[test]
#[ignore = "needs heif-enc (apt-get install libheif-examples)"]
fn a_heic_rotation_linked_hundreds_of_times_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let crafted = heic_with_property(tmp.path(), (96, 64), b"irot", &[1], 250);
    let dir = tmp.path().join("in");
    common::put(&dir, "turned.heic", &crafted);
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let run = to_png(&dir, &out, &report, &[]);
    assert_eq!(run.status.code(), Some(1));
    let f = &common::read_report(&report)["files"][0];
    assert_eq!(f["error_kind"], "corrupt", "{f}");
    assert!(f["error"].as_str().unwrap().contains("links 250"), "{f}");
    // One link is a photo turned a quarter.
    let once = heic_with_property(tmp.path(), (96, 64), b"irot", &[1], 1);
    common::put(&dir, "turned.heic", &once);
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "png"]);
    assert!(run.status.success());
    let img = image::open(out.join("turned.png")).unwrap();
    assert_eq!((img.width(), img.height()), (64, 96));
}
