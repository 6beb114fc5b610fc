//! Test helpers: the `conveyor` binary and its reports, small images generated at run time, and
//! folder snapshots.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};

mod psnr;
#[allow(unused_imports)] // Not every test file compares pixels.
pub use psnr::psnr;

/// The `conveyor` executable under test (built by cargo for the integration tests).
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_conveyor")
}

/// A command running the `conveyor` under test.
pub fn command() -> std::process::Command {
    std::process::Command::new(bin())
}

/// Runs `conveyor ARGS…` to the end and gives its status and output.
pub fn conveyor(args: &[&str]) -> std::process::Output {
    command().args(args).output().expect("run conveyor")
}

/// A temporary path as an argument (the tests' folders have UTF-8 names).
/// Runs conveyor with `args` and checks that it succeeded (exit 0), showing its stderr if not.
pub fn conveyor_ok(args: &[&str]) -> std::process::Output {
    let run = conveyor(args);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

/// `conveyor run INPUT --out OUT EXTRA…`, checked to succeed.
pub fn run_ok(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", s(input), "--out", s(out)];
    args.extend_from_slice(extra);
    conveyor_ok(&args)
}

/// A 64x64 PNG of four colours in a 2-bit palette, checked, as optimisers leave flat artwork.
pub fn four_colour_palette_png() -> Vec<u8> {
    let mut palette = Vec::new();
    let mut enc = png::Encoder::new(&mut palette, 64, 64);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Two);
    enc.set_palette(vec![255, 255, 255, 200, 40, 40, 40, 40, 200, 0, 0, 0]);
    let mut w = enc.write_header().expect("png");
    let data: Vec<u8> = (0..64u32)
        .flat_map(|y| (0..16u32).map(move |x| if (x + y / 8) % 2 == 0 { 0x1b } else { 0xe4 }))
        .collect();
    w.write_image_data(&data).expect("png data");
    w.finish().expect("png end");
    palette
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A JSON report `conveyor run --report` wrote.
pub fn read_report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).expect("report written")).expect("report is JSON")
}

/// A smooth, photo-like RGB gradient with a little structure.
pub fn photo(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        let r = (x * 255 / w.max(1)) as u8;
        let g = (y * 255 / h.max(1)) as u8;
        let b = (((x / 8 + y / 8) % 2) * 120 + 60) as u8;
        Rgb([r, g, b])
    }))
}

/// A red disc on a transparent background.
pub fn logo(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - w as f32 / 2.0, y as f32 - h as f32 / 2.0);
        let inside = dx * dx + dy * dy < (w.min(h) as f32 / 2.5).powi(2);
        if inside {
            Rgba([220, 20, 30, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    }))
}

/// A 16-bit RGB gradient.
pub fn deep(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([(x * 65535 / w) as u16, (y * 65535 / h) as u16, 30000])
    }))
}

/// A greyscale gradient.
pub fn grey(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, _| {
        Luma([(x * 255 / w) as u8])
    }))
}

/// Encodes `img` as `format`.
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let img = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img.clone()
    };
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// A CMYK JPEG (as product photographers get from print workflows).
pub fn cmyk_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
    for y in 0..h {
        for x in 0..w {
            let c = (x as u32 * 255 / w as u32) as u8;
            data.extend_from_slice(&[c, 40, (y as u32 * 255 / h as u32) as u8, 10]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .expect("encode CMYK JPEG");
    out
}

/// Writes `bytes` to `dir/rel`, creating folders.
pub fn put(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, bytes).expect("write");
    path
}

/// Every file under `dir` (relative path → bytes). A file that vanishes between the listing and
/// the read (a temporary renamed into place while a batch runs) is left out, and so are
/// Conveyor's journals (bookkeeping, not outputs).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            !e.file_name()
                .to_str()
                .is_some_and(conveyor::engine::journal::is_journal)
        })
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under dir").to_path_buf();
            match fs::read(e.path()) {
                Ok(bytes) => Some((rel, bytes)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => panic!("read {}: {err}", e.path().display()),
            }
        })
        .collect()
}

/// The mixed folder of the engine acceptance test: good images of many kinds in nested
/// folders, three bad files and a text file. Returns the relative paths of the good images.
pub fn mixed_folder(dir: &Path) -> Vec<&'static str> {
    put(dir, "a.jpg", &encode(&photo(640, 480), ImageFormat::Jpeg));
    put(
        dir,
        "trip/b.png",
        &encode(&logo(500, 200), ImageFormat::Png),
    );
    put(
        dir,
        "trip/day2/c.bmp",
        &encode(&photo(200, 400), ImageFormat::Bmp),
    );
    put(
        dir,
        "trip/day2/c.tiff",
        &encode(&photo(301, 300), ImageFormat::Tiff),
    );
    put(dir, "trip/d.gif", &encode(&logo(120, 90), ImageFormat::Gif));
    put(
        dir,
        "deep/e16.png",
        &encode(&deep(400, 600), ImageFormat::Png),
    );
    put(dir, "deep/cmyk.jpg", &cmyk_jpeg(800, 500));
    put(
        dir,
        "deep/grey.JPG",
        &encode(&grey(310, 310), ImageFormat::Jpeg),
    );
    put(dir, "bad/empty.jpg", b"");
    put(dir, "bad/text.jpg", b"this is not a picture, just words\n");
    let full = encode(&photo(400, 300), ImageFormat::Jpeg);
    put(dir, "bad/truncated.jpg", &full[..full.len() / 2]);
    put(dir, "notes.txt", b"remember to buy film\n");
    vec![
        "a.jpg",
        "trip/b.png",
        "trip/day2/c.bmp",
        "trip/day2/c.tiff",
        "trip/d.gif",
        "deep/e16.png",
        "deep/cmyk.jpg",
        "deep/grey.JPG",
    ]
}

/// The DateTimeOriginal that [`exif_block`] puts in its Exif sub-directory.
pub const TAKEN: &[u8] = b"2024:05:06 07:08:09";

/// A big-endian EXIF (TIFF) block: IFD0 with Make = `make`, Orientation = `orientation` and a
/// pointer to an Exif sub-directory holding DateTimeOriginal = [`TAKEN`].
pub fn exif_block(orientation: u16, make: &str) -> Vec<u8> {
    let mut make = make.as_bytes().to_vec();
    make.push(0);
    let make_at = 8 + 2 + 3 * 12 + 4;
    let sub_at = make_at + make.len();
    let taken_at = sub_at + 2 + 12 + 4;
    let mut b = b"MM\0\x2a\0\0\0\x08".to_vec();
    b.extend(3u16.to_be_bytes());
    b.extend([0x01, 0x0F, 0, 2]); // Make, ASCII
    b.extend((make.len() as u32).to_be_bytes());
    b.extend((make_at as u32).to_be_bytes());
    b.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1]); // Orientation, SHORT, 1 value
    b.extend(orientation.to_be_bytes());
    b.extend([0, 0]);
    b.extend([0x87, 0x69, 0, 4, 0, 0, 0, 1]); // Exif IFD pointer, LONG
    b.extend((sub_at as u32).to_be_bytes());
    b.extend([0, 0, 0, 0]); // no next IFD
    b.extend(make);
    b.extend(1u16.to_be_bytes());
    b.extend([0x90, 0x03, 0, 2]); // DateTimeOriginal, ASCII
    b.extend(((TAKEN.len() + 1) as u32).to_be_bytes());
    b.extend((taken_at as u32).to_be_bytes());
    b.extend([0, 0, 0, 0]);
    b.extend(TAKEN);
    b.push(0);
    b
}

/// Reads integers and IFD0 entries of a TIFF structure (an EXIF block or a TIFF file).
struct TiffReader<'a> {
    t: &'a [u8],
    le: bool,
}

impl TiffReader<'_> {
    fn new(t: &[u8]) -> TiffReader<'_> {
        TiffReader {
            t,
            le: t.starts_with(b"II"),
        }
    }

    fn u16_at(&self, i: usize) -> Option<u16> {
        let s = [*self.t.get(i)?, *self.t.get(i + 1)?];
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }

    fn u32_at(&self, i: usize) -> Option<u32> {
        let s: [u8; 4] = self.t.get(i..i + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    /// Where IFD0's entry for `tag` starts.
    fn entry(&self, tag: u16) -> Option<usize> {
        let ifd = self.u32_at(4)? as usize;
        (0..usize::from(self.u16_at(ifd)?))
            .map(|n| ifd + 2 + 12 * n)
            .find(|&e| self.u16_at(e) == Some(tag))
    }
}

/// The Orientation tag in an EXIF block's IFD0 (with or without the `Exif\0\0` prefix).
pub fn exif_orientation(exif: &[u8]) -> Option<u16> {
    let r = TiffReader::new(exif.strip_prefix(b"Exif\0\0").unwrap_or(exif));
    r.u16_at(r.entry(0x0112)? + 8)
}

/// A JPEG's marker segments before its first scan, as (marker, payload).
pub fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        out.push((marker, jpeg[at + 4..at + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        at += 2 + len;
    }
    out
}

/// `jpeg` with extra marker segments (marker, payload) inserted right after SOI.
pub fn with_segments(jpeg: &[u8], segments: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for (marker, payload) in segments {
        out.extend([0xFF, *marker]);
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Runs the real pipeline on `input` (saved as `name`) and returns the output's bytes and what
/// the job reported.
pub fn convert_with(
    input: &[u8],
    name: &str,
    recipe: conveyor::engine::recipe::Recipe,
) -> (Vec<u8>, conveyor::engine::job::Converted) {
    use conveyor::engine::job::{Flow, Processor};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join(name);
    fs::write(&src, input).unwrap();
    let out = tmp.path().join("out");
    let ext = name.rsplit('.').next().unwrap_or("");
    let format = recipe.format.resolve(ext);
    let job = conveyor::engine::job::Job {
        output_index: 0,
        input: src,
        output: out.clone(),
        format,
        input_bytes: input.len() as u64,
        action: conveyor::engine::job::Action::Convert,
        note: None,
        replace: false,
        journal: None,
    };
    let done = conveyor::engine::pipeline::Pipeline::new(recipe)
        .process(&job, &mut |_, _| Flow::Continue)
        .expect("converts");
    (fs::read(&out).unwrap(), done)
}

/// The bytes of a BYTE or UNDEFINED tag in a TIFF file's first IFD (e.g. 0x8773, the ICC
/// profile), read straight from the directory.
pub fn tiff_tag_bytes(t: &[u8], tag: u16) -> Option<Vec<u8>> {
    let r = TiffReader::new(t);
    let entry = r.entry(tag)?;
    let count = r.u32_at(entry + 4)? as usize;
    let at = if count <= 4 {
        entry + 8
    } else {
        r.u32_at(entry + 8)? as usize
    };
    t.get(at..at + count).map(<[u8]>::to_vec)
}

/// Runs the conveyor binary with `args` under GNU time: its exit status and peak RSS in KiB.
/// Without /usr/bin/time the RSS is `None` and the test says so, except under CI=true, where
/// `.ci/run` installs it and its absence is a failure.
pub fn run_measured(args: &[&str]) -> (std::process::ExitStatus, Option<u64>) {
    run_measured_in(Path::new("."), args)
}

/// [`run_measured`] in folder `dir` (relative paths in `args` are under it).
pub fn run_measured_in(dir: &Path, args: &[&str]) -> (std::process::ExitStatus, Option<u64>) {
    let mut cmd = command();
    cmd.current_dir(dir).args(args);
    let (out, rss) = output_measured(cmd);
    (out.status, rss)
}

/// Whether peak memory can be measured here (GNU time); if not, says so ([`skip_outside_ci`]).
pub fn measures_memory() -> bool {
    let here = Path::new("/usr/bin/time").exists();
    if !here {
        skip_outside_ci(
            "peak RSS not measured: GNU time (/usr/bin/time) is not installed (apt-get install time)",
        );
    }
    here
}

/// Runs `cmd` (a conveyor command) to its end under GNU time: its output (without GNU time's
/// line) and peak RSS in KiB, `None` where GNU time is missing ([`measures_memory`]).
pub fn output_measured(cmd: std::process::Command) -> (std::process::Output, Option<u64>) {
    if !measures_memory() {
        let mut cmd = cmd;
        return (cmd.output().unwrap(), None);
    }
    let mut timed = std::process::Command::new("/usr/bin/time");
    timed
        .args(["-f", "MAXRSS %M"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let mut out = timed.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("MAXRSS "))
        .collect();
    out.stderr = kept.join("\n").into_bytes();
    (out, rss)
}

/// Says why a check cannot run on this machine. Under CI=true, where `.ci/run` installs what
/// every check needs, a missing tool is a failure instead.
pub fn skip_outside_ci(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; CI must run it"
    );
    eprintln!("{why}");
}

/// Field `n` (1-based, as in proc(5)) of the calling thread's `/proc/thread-self/stat` (Linux).
pub fn thread_stat_field<T: std::str::FromStr>(n: usize) -> T {
    let stat = fs::read_to_string("/proc/thread-self/stat").expect("stat");
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let field = after.split(' ').nth(n - 3).expect("field");
    field.parse().ok().expect("a number")
}

/// The peak memory (VmHWM, KiB) of the running process `pid` so far.
#[cfg(target_os = "linux")]
pub fn peak_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read /proc/PID/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}
