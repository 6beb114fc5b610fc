//! What a photo says about itself, for names (`{date:%Y-%m-%d}_{camera}`) and text watermarks
//! (`© {date:%Y}`): when it was taken (EXIF DateTimeOriginal, else CreateDate, else the file's
//! modification time in local time) and with which camera (EXIF Make and Model).
//!
//! Read from the EXIF block alone, never from pixels: the plan reads it from each file's
//! header (JPEG, PNG, WebP and TIFF through their decoders' metadata; HEIC, AVIF and JPEG XL from
//! their containers), the pipeline from the block its decode already has.

use std::path::Path;

use chrono::{DateTime, Local, NaiveDateTime};

use crate::pipeline::tiff_exif::TiffReader;

/// When and with what a photo was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Photo {
    /// When it was taken (or the file last changed), as the camera's clock said it.
    pub date: Option<NaiveDateTime>,
    /// The camera: its make and model (`Canon EOS R5`; the make left out when the model
    /// starts with it).
    pub camera: Option<String>,
}

impl Photo {
    /// What the EXIF block `exif` (TIFF data, with or without the `Exif\0\0` prefix) says.
    pub fn from_exif(exif: &[u8]) -> Photo {
        let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
        let Some(r) = TiffReader::new(tiff) else {
            return Photo::default();
        };
        let ascii = |ifd: usize, tag: u16| -> Option<String> {
            let at = r.entries(ifd)?.find(|&e| r.u16_at(e) == Some(tag))?;
            let (kind, count) = (r.u16_at(at + 2)?, r.u32_at(at + 4)? as usize);
            if kind != 2 || count == 0 || count > 4096 {
                return None;
            }
            let start = if count <= 4 {
                at + 8
            } else {
                r.u32_at(at + 8)? as usize
            };
            let bytes = r.data.get(start..start.checked_add(count)?)?;
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!text.is_empty()).then(|| text.to_owned())
        };
        let Some(ifd0) = r.first_ifd() else {
            return Photo::default();
        };
        let sub = r.entries(ifd0).and_then(|mut it| {
            let at = it.find(|&e| r.u16_at(e) == Some(0x8769))?;
            r.u32_at(at + 8).map(|o| o as usize)
        });
        // DateTimeOriginal, then CreateDate (the Exif directory), then IFD0's DateTime.
        let date = sub
            .and_then(|s| ascii(s, 0x9003).or_else(|| ascii(s, 0x9004)))
            .or_else(|| ascii(ifd0, 0x0132))
            .and_then(|t| NaiveDateTime::parse_from_str(t.get(..19)?, "%Y:%m:%d %H:%M:%S").ok());
        let camera = camera(ascii(ifd0, 0x010F), ascii(ifd0, 0x0110));
        Photo { date, camera }
    }

    /// What the file at `path` says, its modification time standing in for a date its EXIF
    /// does not give.
    pub fn read(path: &Path) -> Photo {
        let mut photo = exif_of(path)
            .map(|e| Photo::from_exif(&e))
            .unwrap_or_default();
        if photo.date.is_none() {
            photo.date = modified(path);
        }
        photo
    }
}

/// The file's modification time as local time.
pub fn modified(path: &Path) -> Option<NaiveDateTime> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(DateTime::<Local>::from(time).naive_local())
}

/// Make and model as people say them: `Canon` + `Canon EOS R5` is `Canon EOS R5`, `NIKON
/// CORPORATION` + `NIKON D750` is `NIKON D750`, `Apple` + `iPhone 15 Pro` is `Apple iPhone 15
/// Pro`.
fn camera(make: Option<String>, model: Option<String>) -> Option<String> {
    match (make, model) {
        (Some(make), Some(model)) => {
            let first = make.split_whitespace().next().unwrap_or_default();
            let starts = model
                .get(..first.len())
                .is_some_and(|m| m.eq_ignore_ascii_case(first));
            Some(if starts {
                model
            } else {
                format!("{make} {model}")
            })
        }
        (make, model) => make.or(model),
    }
}

/// The EXIF block of the image file at `path`, read from its header.
fn exif_of(path: &Path) -> Option<Vec<u8>> {
    use image::ImageDecoder;
    let mut head = [0u8; 64];
    let n = {
        use std::io::Read;
        let mut file = std::fs::File::open(path).ok()?;
        file.read(&mut head).ok()?
    };
    let format = crate::format::Format::sniff(&head[..n])?;
    if format.spec().image.is_none() {
        // HEIF and JPEG XL: from the container (read whole, as the header probe does).
        let len = std::fs::metadata(path).ok()?.len();
        if len > 256 << 20 {
            return None;
        }
        let data = std::fs::read(path).ok()?;
        return crate::codec::exif(&data, format);
    }
    let reader = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?;
    let mut decoder = reader.into_decoder().ok()?;
    decoder.exif_metadata().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian EXIF block with Make, Model and (in the Exif directory)
    /// DateTimeOriginal.
    fn block(make: &str, model: &str, date: &str) -> Vec<u8> {
        let mut strings = Vec::new();
        let mut entries = Vec::new();
        // IFD0 at 8 with 3 entries: 2 + 36 + 4 = 42 bytes; the Exif IFD after it (1 entry:
        // 18 bytes); then the strings.
        let exif_ifd = 8 + 42;
        let mut at = exif_ifd + 18;
        for (tag, text) in [(0x010Fu16, make), (0x0110, model)] {
            let mut v = text.as_bytes().to_vec();
            v.push(0);
            entries.push((tag, 2u16, v.len() as u32, at as u32));
            at += v.len();
            strings.extend(v);
        }
        entries.push((0x8769, 4, 1, exif_ifd as u32));
        let mut out = b"II*\0\x08\0\0\0".to_vec();
        out.extend(3u16.to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        out.extend(0u32.to_le_bytes());
        let mut d = date.as_bytes().to_vec();
        d.push(0);
        out.extend(1u16.to_le_bytes());
        out.extend(0x9003u16.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend((d.len() as u32).to_le_bytes());
        out.extend(((at) as u32).to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(strings);
        out.extend(d);
        out
    }

    #[test]
    fn reads_the_date_taken_and_the_camera() {
        let p = Photo::from_exif(&block("Canon", "Canon EOS R5", "2024:07:14 18:05:09"));
        assert_eq!(p.camera.as_deref(), Some("Canon EOS R5"));
        let date = p.date.expect("a date");
        assert_eq!(
            date.format("%Y-%m-%d_%H%M%S").to_string(),
            "2024-07-14_180509"
        );
        let p = Photo::from_exif(&block("Apple", "iPhone 15 Pro", "2023:01:02 03:04:05"));
        assert_eq!(p.camera.as_deref(), Some("Apple iPhone 15 Pro"));
        let nikon = camera(Some("NIKON CORPORATION".into()), Some("NIKON D750".into()));
        assert_eq!(nikon.as_deref(), Some("NIKON D750"));
        let p = Photo::from_exif(&block("X", "Y", "0000:00:00 00:00:00"));
        assert_eq!(p.date, None, "a blank date is no date");
        assert_eq!(Photo::from_exif(b"not exif"), Photo::default());
    }
}
