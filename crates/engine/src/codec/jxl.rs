//! JPEG XL input through `jxl-oxide` (pure Rust, built without its thread pool so a worker
//! stays on one core, with moxcms for ICC profiles): 8 to 16 bits, alpha, the codestream's
//! orientation, pixels in the file's own colour space with its profile (none for sRGB), and
//! the EXIF box.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, Rgba};
use jxl_oxide::JxlImage;

use crate::job::{ErrorKind, JobError};

use super::still::Picture;

fn open(data: &[u8]) -> Result<JxlImage, JobError> {
    JxlImage::builder().read(Cursor::new(data)).map_err(|e| {
        let text = e.to_string();
        let kind = if text.contains("EOF") || text.contains("end of") || text.contains("enough") {
            ErrorKind::Truncated
        } else {
            ErrorKind::Corrupt
        };
        let what = if kind == ErrorKind::Truncated {
            "truncated"
        } else {
            "corrupt"
        };
        JobError::failed(kind, format!("{what} JPEG XL data: {text}"))
    })
}

/// The displayed size (orientation applied), from the headers.
pub fn probe(data: &[u8]) -> Result<(u32, u32), JobError> {
    let image = open(data)?;
    Ok((image.width(), image.height()))
}

/// The EXIF block (TIFF data) its container carries (Brotli-compressed `brob` boxes too, as
/// cjxl writes them), without rendering a frame.
pub fn exif(data: &[u8]) -> Option<Vec<u8>> {
    let image = open(data).ok()?;
    exif_of(&image)
}

fn exif_of(image: &jxl_oxide::JxlImage) -> Option<Vec<u8>> {
    match image.aux_boxes().first_exif() {
        Ok(jxl_oxide::AuxBoxData::Data(raw)) => raw
            .payload()
            .get(raw.tiff_header_offset() as usize..)
            .map(<[u8]>::to_vec),
        _ => None,
    }
}

/// Decodes the first frame, upright.
pub fn decode(data: &[u8]) -> Result<Picture, JobError> {
    let mut image = open(data)?;
    // Render into the file's own colour space, even one described by an ICC profile (a lossy
    // file is stored in XYB and needs a colour-management system to get back there).
    image.set_cms(jxl_oxide::Moxcms);
    if let Some(icc) = image.original_icc().map(<[u8]>::to_vec) {
        image.request_icc(&icc).map_err(|e| {
            JobError::failed(
                ErrorKind::Corrupt,
                format!("corrupt JPEG XL data: its ICC profile: {e}"),
            )
        })?;
    }
    if !image.is_loading_done() || image.num_loaded_keyframes() == 0 {
        return Err(JobError::failed(
            ErrorKind::Truncated,
            "truncated JPEG XL data: the file ends before the image does",
        ));
    }
    let corrupt = |e: &dyn std::fmt::Display| {
        JobError::failed(ErrorKind::Corrupt, format!("corrupt JPEG XL data: {e}"))
    };
    let render = image.render_frame(0).map_err(|e| corrupt(&e))?;
    let mut stream = render.stream();
    let (w, h, channels) = (stream.width(), stream.height(), stream.channels());
    let len = w as usize * h as usize * channels as usize;
    let deep = image.image_header().metadata.bit_depth.bits_per_sample() > 8;
    let bad = || corrupt(&"the decoded frame does not match its size");
    let pixels = if deep {
        let mut buf = vec![0u16; len];
        stream.write_to_buffer(&mut buf);
        match channels {
            1 => ImageBuffer::<Luma<u16>, _>::from_raw(w, h, buf).map(DynamicImage::ImageLuma16),
            2 => ImageBuffer::<LumaA<u16>, _>::from_raw(w, h, buf).map(DynamicImage::ImageLumaA16),
            3 => ImageBuffer::<Rgb<u16>, _>::from_raw(w, h, buf).map(DynamicImage::ImageRgb16),
            4 => ImageBuffer::<Rgba<u16>, _>::from_raw(w, h, buf).map(DynamicImage::ImageRgba16),
            _ => None,
        }
    } else {
        let mut buf = vec![0u8; len];
        stream.write_to_buffer(&mut buf);
        match channels {
            1 => ImageBuffer::<Luma<u8>, _>::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
            2 => ImageBuffer::<LumaA<u8>, _>::from_raw(w, h, buf).map(DynamicImage::ImageLumaA8),
            3 => ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
            4 => ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, buf).map(DynamicImage::ImageRgba8),
            _ => None,
        }
    };
    let pixels = pixels.ok_or_else(|| {
        if channels > 4 {
            JobError::failed(
                ErrorKind::Unsupported,
                format!("unsupported JPEG XL variant: {channels} channels (CMYK?)"),
            )
        } else {
            bad()
        }
    })?;
    // The profile of what was rendered; sRGB needs none.
    let icc = match image.rendered_cicp() {
        Some([1, 13, _, _]) => None,
        _ => Some(image.rendered_icc()),
    };
    let exif = exif_of(&image);
    Ok(Picture {
        image: pixels,
        icc,
        exif,
    })
}
