//! Test helpers: small images generated at run time, and folder snapshots.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};

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

/// Every file under `dir` (relative path → bytes).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under dir").to_path_buf();
            (rel, fs::read(e.path()).expect("read"))
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

/// Peak signal-to-noise ratio of two same-sized images over their RGB samples, in dB.
pub fn psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}
