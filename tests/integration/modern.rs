//! HEIC, AVIF and JPEG XL: inputs made at test time by the reference encoders (heif-enc,
//! avifenc, cjxl), decoded by Conveyor and by the reference decoders (heif-convert, avifdec,
//! djxl) and compared; AVIF outputs read back by avifdec and exiftool. Phone-style HEIC files
//! (a grid of tiles, `irot`) are assembled here from tiles heif-enc encoded, since Debian's
//! heif-enc writes neither.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{DynamicImage, GenericImageView, ImageBuffer, ImageEncoder, Rgb, Rgba};

/// The least colour PSNR of lossy HEIC against libheif (see the test below).
const LOSSY_HEIC: f64 = 25.0;

const TOOLS: &[&str] = &[
    "heif-enc",
    "heif-convert",
    "avifenc",
    "avifdec",
    "cjxl",
    "djxl",
];

/// Whether the reference tools are here (under CI=true they must be).
fn tools_present() -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| {
            Command::new("which")
                .arg(t)
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    common::skip_outside_ci(&format!(
        "{missing:?} missing: apt-get install libheif-examples libavif-bin libjxl-tools"
    ));
    false
}

/// Runs a tool and insists that it worked.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

use common::{conveyor, s};

/// A photo-like picture with detail in every channel (a smooth gradient alone would hide
/// chroma and filter differences).
fn scene(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let wave = ((fx * 23.0).sin() * (fy * 17.0).cos() * 60.0) as i32;
        let r = (fx * 200.0) as i32 + wave;
        let g = (fy * 200.0) as i32 - wave / 2;
        let b = (((x / 6 + y / 9) % 3) * 60 + 40) as i32;
        Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    }))
}

/// The scene with alpha falling from opaque on the left to clear on the right.
fn with_alpha(w: u32, h: u32) -> DynamicImage {
    let rgb = scene(w, h).to_rgb8();
    DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        Rgba([r, g, b, (255 - x * 255 / w) as u8])
    }))
}

/// The scene at 16 bits a channel, with values between the 8-bit steps.
fn deep_scene(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([
            (x * 65535 / w) as u16,
            (y * 65535 / h) as u16,
            ((x + y) * 32767 / (w + h)) as u16 + 7,
        ])
    }))
}

/// A small ICC v2 RGB profile (Adobe RGB primaries, gamma 2.2), built here so no profile file
/// is needed; lcms, libheif, libavif and libjxl all accept it.
fn icc_profile() -> Vec<u8> {
    let s15 = |x: f64| ((x * 65536.0).round() as i32).to_be_bytes();
    let xyz = |x: f64, y: f64, z: f64| {
        let mut b = b"XYZ \0\0\0\0".to_vec();
        for v in [x, y, z] {
            b.extend_from_slice(&s15(v));
        }
        b
    };
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&9u32.to_be_bytes());
    desc.extend_from_slice(b"Test RGB\0");
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
    let cprt = b"text\0\0\0\0No copyright\0".to_vec();
    let mut curv = b"curv\0\0\0\0".to_vec();
    curv.extend_from_slice(&1u32.to_be_bytes());
    curv.extend_from_slice(&563u16.to_be_bytes());
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc),
        (b"cprt", cprt),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curv.clone()),
        (b"gTRC", curv.clone()),
        (b"bTRC", curv),
    ];
    let first = 128 + 4 + 12 * tags.len();
    let (mut table, mut data) = (Vec::new(), Vec::new());
    for (sig, body) in &tags {
        while !(first + data.len()).is_multiple_of(4) {
            data.push(0);
        }
        table.extend_from_slice(*sig);
        table.extend_from_slice(&((first + data.len()) as u32).to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        data.extend_from_slice(body);
    }
    let size = (first + data.len()) as u32;
    let mut out = size.to_be_bytes().to_vec();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&0x0210_0000u32.to_be_bytes());
    out.extend_from_slice(b"mntrRGB XYZ ");
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(b"acsp");
    out.extend_from_slice(&[0; 28]);
    for v in [0.9642, 1.0, 0.8249] {
        out.extend_from_slice(&s15(v));
    }
    out.extend_from_slice(&[0; 4 + 16 + 28]);
    assert_eq!(out.len(), 128);
    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    out.extend_from_slice(&table);
    out.extend_from_slice(&data);
    out
}

/// Writes `img` as a PNG (with `icc` embedded, if given).
fn png(path: &Path, img: &DynamicImage, icc: Option<Vec<u8>>) {
    let mut out = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut out);
    if let Some(icc) = icc {
        enc.set_icc_profile(icc).unwrap();
    }
    enc.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
    .unwrap();
    fs::write(path, out).unwrap();
}

/// A JPEG of `img` with an EXIF block (camera make, orientation).
fn jpeg_with_exif(path: &Path, img: &DynamicImage, orientation: u16) {
    let jpeg = common::encode(img, image::ImageFormat::Jpeg);
    let exif = [
        b"Exif\0\0".as_slice(),
        &common::exif_block(orientation, "Testcam"),
    ]
    .concat();
    fs::write(path, common::with_segments(&jpeg, &[(0xE1, &exif)])).unwrap();
}

fn read(path: &Path) -> DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// PSNR over RGB and alpha, at 16 bits scaled to the 8-bit range (so deep images are compared
/// at their depth).
fn psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    let (a, b) = (a.to_rgba16(), b.to_rgba16());
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| ((f64::from(x) - f64::from(y)) / 257.0).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// PSNR of the luma (BT.601 weights) alone.
fn luma_psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let luma = |img: &DynamicImage| -> Vec<f64> {
        img.to_rgb16()
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(|c| f64::from(c) / 257.0);
                0.299 * r + 0.587 * g + 0.114 * b
            })
            .collect()
    };
    let (a, b) = (luma(a), luma(b));
    let mse = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

fn bits(img: &DynamicImage) -> u16 {
    u16::from(img.color().bytes_per_pixel() / img.color().channel_count()) * 8
}

/// Converts every file of `input` to PNG with Conveyor, named `{stem}.{ext}.png`.
fn conveyor_to_png(input: &Path, out: &Path) {
    let o = conveyor(&[
        "run",
        s(input),
        "--out",
        s(out),
        "--format",
        "png",
        "--name",
        "{stem}.{ext}",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

// ---------------------------------------------------------------------------------------------
// A HEIF writer for what heif-enc cannot make: a grid of tiles and `irot`/`imir`. It takes the
// HEVC configuration and coded data of images heif-enc wrote and lays them out anew.

fn boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        let size = if size == 0 { data.len() - at } else { size };
        out.push((kind, &data[at + 8..at + size]));
        at += size;
    }
    out
}

fn find<'a>(list: &[([u8; 4], &'a [u8])], kind: &[u8; 4]) -> &'a [u8] {
    list.iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind)))
        .1
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| v << 8 | u64::from(x))
}

/// The `hvcC` box (whole) and coded data of the primary image heif-enc wrote.
fn coded(file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let meta = boxes(&find(&boxes(file), b"meta")[4..]);
    let ipco = boxes(find(&boxes(find(&meta, b"iprp")), b"ipco"));
    let hvcc = find(&ipco, b"hvcC");
    let mut hvcc_box = ((hvcc.len() + 8) as u32).to_be_bytes().to_vec();
    hvcc_box.extend_from_slice(b"hvcC");
    hvcc_box.extend_from_slice(hvcc);
    // iloc: the primary item is heif-enc's item 1, stored in one extent.
    let iloc = find(&meta, b"iloc");
    let version = iloc[0];
    let (off_size, len_size) = (usize::from(iloc[4] >> 4), usize::from(iloc[4] & 15));
    let base_size = usize::from(iloc[5] >> 4);
    let index_size = if version >= 1 {
        usize::from(iloc[5] & 15)
    } else {
        0
    };
    let mut at = 6;
    let id_size = if version < 2 { 2 } else { 4 };
    let count = be(&iloc[at..at + id_size]);
    at += id_size;
    for _ in 0..count {
        let id = be(&iloc[at..at + id_size]);
        at += id_size + if version >= 1 { 2 } else { 0 } + 2;
        let base = be(&iloc[at..at + base_size]);
        at += base_size;
        let extents = be(&iloc[at..at + 2]);
        at += 2;
        let mut data = Vec::new();
        for _ in 0..extents {
            at += index_size;
            let off = (base + be(&iloc[at..at + off_size])) as usize;
            at += off_size;
            let len = be(&iloc[at..at + len_size]) as usize;
            at += len_size;
            data.extend_from_slice(&file[off..off + len]);
        }
        if id == 1 {
            return (hvcc_box, data);
        }
    }
    panic!("heif-enc's item 1 has no location");
}

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    flagged(kind, version, 0, body)
}

/// A full box with `flags` (for `infe`, 1: a hidden item, such as a grid's tile).
fn flagged(kind: &[u8; 4], version: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    bx(kind, &[&[version, 0, 0, flags], body].concat())
}

/// How the primary image is made.
enum Layout<'a> {
    /// One coded image: its `ispe` box and extra properties (`irot`, `imir` boxes).
    Single { ispe: Vec<u8>, extra: Vec<Vec<u8>> },
    /// A grid of `columns` tiles a row, each `tile` pixels, making `size`; `references` lists
    /// the tile item ids the grid names (ids past the tiles are missing items).
    Grid {
        columns: u16,
        rows: u16,
        tile: (u32, u32),
        size: (u16, u16),
        references: &'a [u16],
    },
}

/// A HEIC file from coded HEVC images sharing one configuration, with an EXIF item (TIFF data)
/// describing the primary image if `exif` is given.
fn heic(hvcc: &[u8], images: &[Vec<u8>], layout: &Layout, exif: Option<&[u8]>) -> Vec<u8> {
    let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
    let build = |mdat_start: u32| -> Vec<u8> {
        let n = images.len() as u16;
        let (grid_id, first_tile) = match layout {
            Layout::Single { .. } => (None, 1u16),
            Layout::Grid { .. } => (Some(1u16), 2u16),
        };
        let ispe = |w: u32, h: u32| full(b"ispe", 0, &[w.to_be_bytes(), h.to_be_bytes()].concat());
        // Properties: 1 hvcC, 2 ispe of a coded image, then per layout.
        let mut props = vec![hvcc.to_vec()];
        let mut infe = Vec::new();
        let mut iloc_items = Vec::new();
        let mut ipma = Vec::new();
        let mut iref = Vec::new();
        let mut idat = Vec::new();
        let mut offset = mdat_start;
        match layout {
            Layout::Single { ispe, extra } => {
                props.push(ispe.clone());
                props.extend(extra.iter().cloned());
                let mut assoc = vec![0x81u8, 2];
                assoc.extend((0..extra.len()).map(|i| 0x80 | (3 + i as u8)));
                ipma.push((1u16, assoc));
            }
            Layout::Grid {
                columns,
                rows,
                tile,
                size,
                references,
            } => {
                props.push(ispe(tile.0, tile.1));
                props.push(ispe(u32::from(size.0), u32::from(size.1)));
                idat = [
                    &[0u8, 0, (*rows - 1) as u8, (*columns - 1) as u8][..],
                    &size.0.to_be_bytes(),
                    &size.1.to_be_bytes(),
                ]
                .concat();
                infe.push(full(
                    b"infe",
                    2,
                    &[&grid_id.unwrap().to_be_bytes()[..], &[0, 0], b"grid", b"\0"].concat(),
                ));
                // Construction method 1: the grid descriptor lives in idat.
                iloc_items.push((grid_id.unwrap(), 1u16, 0u32, idat.len() as u32));
                ipma.push((grid_id.unwrap(), vec![3u8]));
                let mut dimg = grid_id.unwrap().to_be_bytes().to_vec();
                dimg.extend_from_slice(&(references.len() as u16).to_be_bytes());
                for r in *references {
                    dimg.extend_from_slice(&r.to_be_bytes());
                }
                iref.push(bx(b"dimg", &dimg));
            }
        }
        for (i, data) in images.iter().enumerate() {
            let id = first_tile + i as u16;
            let entry = [&id.to_be_bytes()[..], &[0, 0], b"hvc1", b"\0"].concat();
            infe.push(flagged(b"infe", 2, u8::from(grid_id.is_some()), &entry));
            iloc_items.push((id, 0, offset, data.len() as u32));
            offset += data.len() as u32;
            if grid_id.is_some() {
                ipma.push((id, vec![0x81, 2]));
            }
        }
        let exif_item = exif.map(|tiff| [&[0u8; 4][..], tiff].concat());
        if let Some(data) = &exif_item {
            let id = first_tile + n;
            infe.push(full(
                b"infe",
                2,
                &[&id.to_be_bytes()[..], &[0, 0], b"Exif", b"\0"].concat(),
            ));
            iloc_items.push((id, 0, offset, data.len() as u32));
            let mut cdsc = id.to_be_bytes().to_vec();
            cdsc.extend_from_slice(&1u16.to_be_bytes());
            cdsc.extend_from_slice(&1u16.to_be_bytes());
            iref.push(bx(b"cdsc", &cdsc));
        }
        let hdlr = full(
            b"hdlr",
            0,
            &[&[0u8; 4][..], b"pict", &[0; 12], b"\0"].concat(),
        );
        let pitm = full(b"pitm", 0, &1u16.to_be_bytes());
        let mut iloc = vec![0x44, 0x00];
        iloc.extend_from_slice(&(iloc_items.len() as u16).to_be_bytes());
        for (id, method, off, len) in &iloc_items {
            iloc.extend_from_slice(&id.to_be_bytes());
            iloc.extend_from_slice(&method.to_be_bytes());
            iloc.extend_from_slice(&[0, 0, 0, 1]);
            iloc.extend_from_slice(&off.to_be_bytes());
            iloc.extend_from_slice(&len.to_be_bytes());
        }
        let iloc = full(b"iloc", 1, &iloc);
        let iinf = full(
            b"iinf",
            0,
            &[&(infe.len() as u16).to_be_bytes()[..], &infe.concat()].concat(),
        );
        let ipco = bx(b"ipco", &props.concat());
        let mut ipma_body = (ipma.len() as u32).to_be_bytes().to_vec();
        for (id, assoc) in &ipma {
            ipma_body.extend_from_slice(&id.to_be_bytes());
            ipma_body.push(assoc.len() as u8);
            ipma_body.extend_from_slice(assoc);
        }
        let iprp = bx(b"iprp", &[ipco, full(b"ipma", 0, &ipma_body)].concat());
        let mut meta = [hdlr, pitm, iloc, iinf].concat();
        if !iref.is_empty() {
            meta.extend(full(b"iref", 0, &iref.concat()));
        }
        meta.extend(iprp);
        if !idat.is_empty() {
            meta.extend(bx(b"idat", &idat));
        }
        full(b"meta", 0, &meta)
    };
    let meta = build(0);
    let start = (ftyp.len() + meta.len() + 8) as u32;
    let meta = build(start);
    let mut mdat = images.concat();
    if let Some(tiff) = exif {
        mdat.extend_from_slice(&[0; 4]);
        mdat.extend_from_slice(tiff);
    }
    [ftyp, meta, bx(b"mdat", &mdat)].concat()
}

/// heif-enc's `ispe` box for its primary image.
fn ispe_of(file: &[u8]) -> Vec<u8> {
    let meta = boxes(&find(&boxes(file), b"meta")[4..]);
    let ipco = boxes(find(&boxes(find(&meta, b"iprp")), b"ipco"));
    bx(b"ispe", find(&ipco, b"ispe"))
}

// ---------------------------------------------------------------------------------------------

/// A file, what to do to the reference decoder's picture to compare it, the least PSNR, and
/// whether the output must keep more than 8 bits.
type Case = (&'static str, fn(DynamicImage) -> DynamicImage, f64, bool);

/// Every new input format, in each case the issue names, decoded by Conveyor and by its
/// reference decoder: the same size and the same pixels, ≥ 40 dB. Lossy (4:2:0) HEIC is the
/// exception, and only in colour: libheif 1.15 repeats each chroma sample where Conveyor
/// interpolates (as libavif and libjxl do), so there the luma must agree to 50 dB and the
/// colour to 25.
#[test]
#[ignore = "needs heif-enc, heif-convert, avifenc, avifdec, cjxl, djxl (apt-get install libheif-examples libavif-bin libjxl-tools)"]
fn new_input_formats_decode_like_their_reference_decoders() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let input = tmp.path().join("in");
    let reference = tmp.path().join("ref");
    for d in [&src, &input, &reference] {
        fs::create_dir_all(d).unwrap();
    }
    let p = |dir: &Path, name: &str| -> PathBuf { dir.join(name) };
    png(&p(&src, "photo.png"), &scene(320, 240), None);
    png(&p(&src, "alpha.png"), &with_alpha(320, 240), None);
    png(&p(&src, "deep.png"), &deep_scene(320, 240), None);
    png(&p(&src, "icc.png"), &scene(320, 240), Some(icc_profile()));
    jpeg_with_exif(&p(&src, "rot6.jpg"), &scene(320, 240), 6);

    // (file, reference PNG's transform, least PSNR, expects 16 bits)
    let mut cases: Vec<Case> = Vec::new();
    let same = |i: DynamicImage| i;
    let heif_enc = |args: &[&str]| run("heif-enc", args);
    heif_enc(&[
        "-q",
        "90",
        s(&p(&src, "photo.png")),
        "-o",
        s(&p(&input, "photo.heic")),
    ]);
    heif_enc(&[
        "-L",
        "-p",
        "chroma=444",
        s(&p(&src, "photo.png")),
        "-o",
        s(&p(&input, "lossless.heic")),
    ]);
    heif_enc(&[
        "-q",
        "90",
        s(&p(&src, "alpha.png")),
        "-o",
        s(&p(&input, "alpha.heic")),
    ]);
    heif_enc(&[
        "-q",
        "90",
        "-b",
        "10",
        s(&p(&src, "deep.png")),
        "-o",
        s(&p(&input, "deep.heic")),
    ]);
    heif_enc(&[
        "-q",
        "90",
        s(&p(&src, "icc.png")),
        "-o",
        s(&p(&input, "icc.heic")),
    ]);
    heif_enc(&[
        "-q",
        "90",
        s(&p(&src, "rot6.jpg")),
        "-o",
        s(&p(&input, "exif6.heic")),
    ]);
    // A file with a thumbnail item besides the picture: the picture is the output.
    heif_enc(&[
        "-q",
        "90",
        "-t",
        "96",
        s(&p(&src, "photo.png")),
        "-o",
        s(&p(&input, "thumb.heic")),
    ]);
    cases.extend([
        ("photo.heic", same as fn(_) -> _, LOSSY_HEIC, false),
        ("lossless.heic", same, 40.0, false),
        ("alpha.heic", same, LOSSY_HEIC, false),
        ("deep.heic", same, LOSSY_HEIC, true),
        ("icc.heic", same, LOSSY_HEIC, false),
        // heif-convert, like the HEIF standard, ignores the EXIF orientation.
        ("exif6.heic", same, LOSSY_HEIC, false),
        ("thumb.heic", same, LOSSY_HEIC, false),
    ]);
    // irot (a quarter turn anticlockwise) and a phone-style grid, from heif-enc's tiles.
    let photo_heic = fs::read(p(&input, "photo.heic")).unwrap();
    let (hvcc, data) = coded(&photo_heic);
    let single = Layout::Single {
        ispe: ispe_of(&photo_heic),
        extra: vec![bx(b"irot", &[1])],
    };
    fs::write(p(&input, "irot.heic"), heic(&hvcc, &[data], &single, None)).unwrap();
    cases.push(("irot.heic", same, LOSSY_HEIC, false));
    let full_scene = scene(512, 256).to_rgb8();
    let mut tiles = Vec::new();
    let mut tile_hvcc = Vec::new();
    for i in 0..2u32 {
        let tile = image::imageops::crop_imm(&full_scene, i * 256, 0, 256, 256).to_image();
        let path = p(&src, &format!("tile{i}.png"));
        png(&path, &DynamicImage::ImageRgb8(tile), None);
        let out = p(&src, &format!("tile{i}.heic"));
        heif_enc(&["-q", "90", s(&path), "-o", s(&out)]);
        let (h, d) = coded(&fs::read(&out).unwrap());
        tile_hvcc = h;
        tiles.push(d);
    }
    let grid = |refs: &'static [u16]| Layout::Grid {
        columns: 2,
        rows: 1,
        tile: (256, 256),
        size: (500, 250),
        references: refs,
    };
    fs::write(
        p(&input, "grid.heic"),
        heic(&tile_hvcc, &tiles, &grid(&[2, 3]), None),
    )
    .unwrap();
    cases.push(("grid.heic", same, LOSSY_HEIC, false));

    let avifenc = |args: &[&str]| run("avifenc", args);
    avifenc(&[
        "-s",
        "8",
        s(&p(&src, "photo.png")),
        s(&p(&input, "photo.avif")),
    ]);
    avifenc(&[
        "-l",
        s(&p(&src, "photo.png")),
        s(&p(&input, "lossless.avif")),
    ]);
    avifenc(&[
        "-s",
        "8",
        s(&p(&src, "alpha.png")),
        s(&p(&input, "alpha.avif")),
    ]);
    avifenc(&[
        "-s",
        "8",
        "-d",
        "10",
        s(&p(&src, "deep.png")),
        s(&p(&input, "deep.avif")),
    ]);
    avifenc(&[
        "-s",
        "8",
        "-d",
        "12",
        s(&p(&src, "deep.png")),
        s(&p(&input, "deep12.avif")),
    ]);
    avifenc(&["-s", "8", s(&p(&src, "icc.png")), s(&p(&input, "icc.avif"))]);
    avifenc(&[
        "-s",
        "8",
        "--irot",
        "1",
        s(&p(&src, "photo.png")),
        s(&p(&input, "irot.avif")),
    ]);
    avifenc(&[
        "-s",
        "8",
        "--imir",
        "0",
        s(&p(&src, "photo.png")),
        s(&p(&input, "imir.avif")),
    ]);
    avifenc(&[
        "-s",
        "8",
        s(&p(&src, "rot6.jpg")),
        s(&p(&input, "exif6.avif")),
    ]);
    // avifdec writes the coded picture and leaves irot and imir to the viewer; the standard
    // says irot turns anticlockwise and imir mode 0 exchanges top and bottom.
    cases.extend([
        ("photo.avif", same as fn(_) -> _, 40.0, false),
        ("lossless.avif", same, 40.0, false),
        ("alpha.avif", same, 40.0, false),
        ("deep.avif", same, 40.0, true),
        ("deep12.avif", same, 40.0, true),
        ("icc.avif", same, 40.0, false),
        ("irot.avif", |i: DynamicImage| i.rotate270(), 40.0, false),
        ("imir.avif", |i: DynamicImage| i.flipv(), 40.0, false),
        // avifenc turns a JPEG's EXIF orientation 6 into irot and imir (a quarter turn
        // clockwise), which avifdec does not apply.
        ("exif6.avif", |i: DynamicImage| i.rotate90(), 40.0, false),
    ]);

    let cjxl = |args: &[&str]| run("cjxl", args);
    cjxl(&[
        s(&p(&src, "photo.png")),
        s(&p(&input, "photo.jxl")),
        "-d",
        "1",
    ]);
    cjxl(&[
        s(&p(&src, "photo.png")),
        s(&p(&input, "lossless.jxl")),
        "-d",
        "0",
    ]);
    cjxl(&[
        s(&p(&src, "alpha.png")),
        s(&p(&input, "alpha.jxl")),
        "-d",
        "1",
    ]);
    cjxl(&[
        s(&p(&src, "deep.png")),
        s(&p(&input, "deep.jxl")),
        "-d",
        "0",
    ]);
    // Lossless, so both decoders render in the profile's space: djxl 0.7 renders a lossy (XYB)
    // file with a profile in linear sRGB, Conveyor in the file's own space.
    cjxl(&[s(&p(&src, "icc.png")), s(&p(&input, "icc.jxl")), "-d", "0"]);
    // A JPEG with EXIF orientation 6, recompressed: the codestream's orientation turns it.
    cjxl(&[s(&p(&src, "rot6.jpg")), s(&p(&input, "rot6.jxl"))]);
    cases.extend([
        ("photo.jxl", same as fn(_) -> _, 40.0, false),
        ("lossless.jxl", same, 40.0, false),
        ("alpha.jxl", same, 40.0, false),
        ("deep.jxl", same, 40.0, true),
        ("icc.jxl", same, 40.0, false),
        ("rot6.jxl", same, 40.0, false),
    ]);

    for (name, _, _, _) in &cases {
        let file = p(&input, name);
        let out = p(&reference, &format!("{name}.png"));
        match name.rsplit('.').next().unwrap() {
            "heic" => run("heif-convert", &[s(&file), s(&out)]),
            "avif" => run("avifdec", &[s(&file), s(&out)]),
            _ => run("djxl", &[s(&file), s(&out)]),
        }
    }
    let ours = tmp.path().join("ours");
    conveyor_to_png(&input, &ours);
    let mut report = Vec::new();
    for (name, fix, least, deep) in &cases {
        let mine = read(&p(&ours, &format!("{name}.png")));
        let theirs = fix(read(&p(&reference, &format!("{name}.png"))));
        assert_eq!(mine.dimensions(), theirs.dimensions(), "{name}: size");
        let db = psnr(&mine, &theirs);
        let luma = luma_psnr(&mine, &theirs);
        report.push(format!("{name}: {db:.1} dB, luma {luma:.1} dB"));
        assert!(
            db >= *least,
            "{name}: {db:.1} dB against the reference decoder"
        );
        let luma_least = if *least == LOSSY_HEIC { 50.0 } else { *least };
        assert!(luma >= luma_least, "{name}: luma {luma:.1} dB");
        if *deep {
            assert_eq!(
                bits(&mine),
                16,
                "{name}: the 10-bit samples stay deeper than 8 bits"
            );
        }
        assert_eq!(
            mine.color().has_alpha(),
            name.starts_with("alpha"),
            "{name}: alpha"
        );
    }
    eprintln!("{}", report.join("\n"));
    // The turned ones are upright in our output (portrait from a landscape picture).
    for name in ["irot.heic", "irot.avif", "rot6.jxl"] {
        assert_eq!(
            read(&p(&ours, &format!("{name}.png"))).dimensions(),
            (240, 320),
            "{name}"
        );
    }
    assert_eq!(read(&p(&ours, "grid.heic.png")).dimensions(), (500, 250));
}

/// A folder of phone-style HEIC (grid, irot, EXIF), AVIF and JPEG XL files becomes upright
/// JPEGs carrying their EXIF (orientation reset) and ICC profile, as exiftool reads them.
#[test]
#[ignore = "needs heif-enc, avifenc, cjxl, exiftool (apt-get install libheif-examples libavif-bin libjxl-tools libimage-exiftool-perl)"]
fn a_folder_of_new_formats_becomes_upright_jpegs_with_their_exif() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (src, input, out) = (
        tmp.path().join("src"),
        tmp.path().join("in"),
        tmp.path().join("out"),
    );
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&input).unwrap();
    let jpg = src.join("rot6.jpg");
    jpeg_with_exif(&jpg, &scene(320, 240), 6);
    run(
        "heif-enc",
        &["-q", "90", s(&jpg), "-o", s(&input.join("phone.heic"))],
    );
    // The same picture turned by irot, with its EXIF: as a phone writes a portrait photo.
    let phone = fs::read(input.join("phone.heic")).unwrap();
    let (hvcc, data) = coded(&phone);
    let turned = Layout::Single {
        ispe: ispe_of(&phone),
        extra: vec![bx(b"irot", &[3])],
    };
    let turned = heic(
        &hvcc,
        &[data],
        &turned,
        Some(&common::exif_block(6, "Testcam")),
    );
    fs::write(input.join("turned.heic"), turned).unwrap();
    run("avifenc", &["-s", "8", s(&jpg), s(&input.join("web.avif"))]);
    run("cjxl", &[s(&jpg), s(&input.join("recompressed.jxl"))]);
    let icc_png = src.join("icc.png");
    png(&icc_png, &scene(200, 100), Some(icc_profile()));
    run(
        "heif-enc",
        &["-q", "90", s(&icc_png), "-o", s(&input.join("wide.heic"))],
    );
    let o = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--metadata",
        "keep",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let tags = |file: &str, tag: &str| -> String {
        let o = Command::new("exiftool")
            .args(["-s3", &format!("-{tag}"), s(&out.join(file))])
            .output();
        match o {
            Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            Err(_) => {
                common::skip_outside_ci("exiftool missing: apt-get install libimage-exiftool-perl");
                String::new()
            }
        }
    };
    // heif-enc keeps the JPEG's EXIF (orientation 6) but not its turn: HEIF readers ignore the
    // EXIF orientation, so the picture stays landscape; irot 3 (three quarters anticlockwise)
    // turns it upright.
    // The JPEG XL recompression keeps the JPEG's orientation in its codestream: upright.
    for (file, size) in [
        ("phone.jpg", (320, 240)),
        ("turned.jpg", (240, 320)),
        // avifenc turns the EXIF orientation into irot/imir, which Conveyor applies.
        ("web.jpg", (240, 320)),
        ("recompressed.jpg", (240, 320)),
        ("wide.jpg", (200, 100)),
    ] {
        let img = read(&out.join(file));
        assert_eq!(img.dimensions(), size, "{file}");
    }
    if Command::new("which")
        .arg("exiftool")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        for file in ["phone.jpg", "turned.jpg", "web.jpg", "recompressed.jpg"] {
            assert_eq!(tags(file, "Make"), "Testcam", "{file} keeps its EXIF");
            assert_eq!(tags(file, "Orientation#"), "1", "{file}: orientation reset");
        }
        assert_eq!(
            tags("wide.jpg", "ProfileDescription"),
            "Test RGB",
            "the ICC profile travels"
        );
    } else {
        common::skip_outside_ci("exiftool missing: apt-get install libimage-exiftool-perl");
    }
}

/// A HEIC cut short, and a grid naming a tile that is not in the file, each fail with a reason
/// that says so; the rest of the batch converts.
#[test]
#[ignore = "needs heif-enc (apt-get install libheif-examples)"]
fn broken_heic_files_fail_with_a_clear_reason() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (src, input, out) = (
        tmp.path().join("src"),
        tmp.path().join("in"),
        tmp.path().join("out"),
    );
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&input).unwrap();
    png(&src.join("photo.png"), &scene(256, 256), None);
    run(
        "heif-enc",
        &[
            "-q",
            "80",
            s(&src.join("photo.png")),
            "-o",
            s(&src.join("photo.heic")),
        ],
    );
    let whole = fs::read(src.join("photo.heic")).unwrap();
    fs::write(input.join("good.heic"), &whole).unwrap();
    fs::write(input.join("cut.heic"), &whole[..whole.len() * 2 / 3]).unwrap();
    let (hvcc, data) = coded(&whole);
    let missing = heic(
        &hvcc,
        &[data],
        &Layout::Grid {
            columns: 2,
            rows: 1,
            tile: (256, 256),
            size: (512, 256),
            references: &[2, 7],
        },
        None,
    );
    fs::write(input.join("missing-tile.heic"), missing).unwrap();
    let report = tmp.path().join("report.json");
    let o = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--report",
        s(&report),
    ]);
    assert!(!o.status.success(), "failures make a non-zero exit");
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    let records = report["files"].as_array().expect("files in the report");
    let of = |name: &str| {
        records
            .iter()
            .find(|r| r["input"].as_str().is_some_and(|i| i.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} in {records:?}"))
            .clone()
    };
    assert_eq!(of("good.heic")["status"], "ok");
    let cut = of("cut.heic");
    assert_eq!(cut["status"], "failed");
    assert_eq!(cut["error_kind"], "truncated", "{cut}");
    assert!(
        cut["error"].as_str().unwrap().contains("truncated HEIC"),
        "{cut}"
    );
    let grid = of("missing-tile.heic");
    assert_eq!(grid["status"], "failed");
    let why = grid["error"].as_str().unwrap().to_ascii_lowercase();
    assert!(
        why.contains("heic") && (why.contains("tile") || why.contains("item")),
        "{grid}"
    );
}

/// AVIF outputs: avifdec reads them at the right size; at quality 85 they are within 35 dB of
/// the resized image Conveyor writes losslessly (PNG), at quality 100 within 50 dB (rav1e has
/// no lossless mode), alpha stays, and with `--metadata keep` exiftool finds the EXIF and the
/// ICC profile.
/// The two inputs of the AVIF output tests: a photo with EXIF (`photo.jpg`, 640x400) and a logo
/// with alpha and an ICC profile (`logo.png`, 400x300).
fn photo_and_logo(input: &Path) {
    fs::create_dir_all(input).unwrap();
    jpeg_with_exif(&input.join("photo.jpg"), &scene(640, 400), 1);
    png(
        &input.join("logo.png"),
        &with_alpha(400, 300),
        Some(icc_profile()),
    );
}

/// `conveyor run INPUT --out OUT --resize fit:320x320 EXTRA…`, which must succeed.
fn fit_320(input: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["run", s(input), "--out", s(out), "--resize", "fit:320x320"];
    args.extend_from_slice(extra);
    let o = conveyor(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// exiftool finds the photo's camera make and the logo's ICC profile in `dir`'s AVIF outputs.
fn exif_and_profile_kept(dir: &Path) {
    let tag = |file: &str, name: &str| {
        Command::new("exiftool")
            .args(["-s3", name, s(&dir.join(file))])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match tag("photo.avif", "-Make") {
        Ok(make) => {
            assert_eq!(make, "Testcam");
            // The ICC profile, which Conveyor adds to the container.
            assert_eq!(tag("logo.avif", "-ProfileDescription").unwrap(), "Test RGB");
        }
        Err(_) => {
            common::skip_outside_ci("exiftool missing: apt-get install libimage-exiftool-perl")
        }
    }
}

#[test]
#[ignore = "needs avifdec and exiftool (apt-get install libavif-bin libimage-exiftool-perl)"]
fn avif_outputs_are_read_by_avifdec_at_the_promised_quality() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (input, png_out, avif_out, best_out) = (
        tmp.path().join("in"),
        tmp.path().join("png"),
        tmp.path().join("avif"),
        tmp.path().join("best"),
    );
    photo_and_logo(&input);
    fit_320(&input, &png_out, &["--format", "png"]);
    fit_320(
        &input,
        &avif_out,
        &["--format", "avif", "--quality", "85", "--metadata", "keep"],
    );
    fit_320(&input, &best_out, &["--format", "avif", "--quality", "100"]);
    for (stem, size, alpha) in [("photo", (320, 200), false), ("logo", (320, 240), true)] {
        let resized = read(&png_out.join(format!("{stem}.png")));
        assert_eq!(resized.dimensions(), size);
        for (dir, least) in [(&avif_out, 35.0), (&best_out, 50.0)] {
            let file = dir.join(format!("{stem}.avif"));
            let back = tmp.path().join(format!("{stem}-back.png"));
            run("avifdec", &[s(&file), s(&back)]);
            let back = read(&back);
            assert_eq!(back.dimensions(), size, "{}", file.display());
            assert_eq!(back.color().has_alpha(), alpha, "{}: alpha", file.display());
            let db = psnr(&resized, &back);
            assert!(db >= least, "{}: {db:.1} dB", file.display());
        }
    }
    exif_and_profile_kept(&avif_out);
}

/// #11: with libaom (the `aom` feature), `--format avif --lossless` writes files avifdec reads
/// back sample for sample (colour and alpha), with the EXIF and ICC profile kept.
#[cfg(feature = "aom")]
#[test]
#[ignore = "needs avifdec and exiftool (apt-get install libavif-bin libimage-exiftool-perl)"]
fn lossless_avif_outputs_are_exact_in_avifdec() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (input, png_out, avif_out) = (
        tmp.path().join("in"),
        tmp.path().join("png"),
        tmp.path().join("avif"),
    );
    photo_and_logo(&input);
    fit_320(&input, &png_out, &["--format", "png", "--metadata", "keep"]);
    fit_320(
        &input,
        &avif_out,
        &["--format", "avif", "--lossless", "--metadata", "keep"],
    );
    for (stem, alpha) in [("photo", false), ("logo", true)] {
        let resized = read(&png_out.join(format!("{stem}.png")));
        let file = avif_out.join(format!("{stem}.avif"));
        let back = tmp.path().join(format!("{stem}-back.png"));
        run("avifdec", &[s(&file), s(&back)]);
        let back = read(&back);
        assert_eq!(back.color().has_alpha(), alpha, "{stem}: alpha");
        assert_eq!(
            back.to_rgba8(),
            resized.to_rgba8(),
            "{stem}: every sample as written to PNG"
        );
    }
    exif_and_profile_kept(&avif_out);
}
