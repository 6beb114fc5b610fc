//! Metadata carried from source to output.

use crate::format::Format;
use crate::recipe::{MetadataMode, Recipe};

use super::tiff_exif::TiffReader;

/// What travels with the pixels into the output.
#[derive(Debug, Clone, Default)]
pub struct Carry {
    /// ICC profile (kept in both metadata modes: dropping it shifts colours).
    pub icc: Option<Vec<u8>>,
    /// EXIF block (only with metadata keep).
    pub exif: Option<Vec<u8>>,
}

impl Carry {
    /// Chooses what to carry for `recipe` from a source's ICC profile and EXIF block.
    pub fn new(recipe: &Recipe, icc: Option<Vec<u8>>, exif: Option<Vec<u8>>) -> Carry {
        let exif = match recipe.metadata {
            MetadataMode::Strip => None,
            MetadataMode::Keep | MetadataMode::StripLocation => exif.and_then(|mut e| {
                if e.starts_with(b"Exif\0\0") {
                    e.drain(..6);
                }
                reset_orientation(&mut e);
                if recipe.metadata == MetadataMode::StripLocation && !strip_location(&mut e) {
                    // A block whose GPS directory cannot be found for sure is not carried:
                    // the promise is that no location leaves with the file.
                    return None;
                }
                Some(e)
            }),
        };
        Carry { icc, exif }
    }

    /// Makes the carried EXIF's pixel dimensions (PixelXDimension, PixelYDimension) the
    /// output's, as resized and edited.
    pub fn set_size(&mut self, width: u32, height: u32) {
        if let Some(exif) = &mut self.exif {
            set_dimensions(exif, width, height);
        }
    }
}

/// Writes `width` and `height` into the Exif directory's PixelXDimension (0xA002) and
/// PixelYDimension (0xA003) where the block has them (SHORT or LONG, in place; a SHORT that
/// cannot hold the figure is left). Accepts a block with or without the `Exif\0\0` prefix.
pub fn set_dimensions(exif: &mut [u8], width: u32, height: u32) {
    let base = if exif.starts_with(b"Exif\0\0") { 6 } else { 0 };
    let Some(tiff) = exif.get_mut(base..) else {
        return;
    };
    let places: Vec<(usize, u16, u32)> = {
        let Some(r) = TiffReader::new(tiff) else {
            return;
        };
        let sub = r
            .first_ifd()
            .and_then(|ifd| r.entries(ifd))
            .and_then(|mut it| it.find(|&e| r.u16_at(e) == Some(0x8769)))
            .and_then(|e| r.u32_at(e + 8));
        let Some(entries) = sub.and_then(|s| r.entries(s as usize)) else {
            return;
        };
        entries
            .filter_map(|e| {
                let value = match r.u16_at(e)? {
                    0xA002 => width,
                    0xA003 => height,
                    _ => return None,
                };
                (r.u32_at(e + 4)? == 1).then_some((e + 8, r.u16_at(e + 2)?, value))
            })
            .collect()
    };
    let little = tiff.starts_with(b"II");
    for (at, kind, value) in places {
        let bytes: Vec<u8> = match kind {
            3 => match u16::try_from(value) {
                Ok(v) if little => v.to_le_bytes().to_vec(),
                Ok(v) => v.to_be_bytes().to_vec(),
                Err(_) => continue,
            },
            4 if little => value.to_le_bytes().to_vec(),
            4 => value.to_be_bytes().to_vec(),
            _ => continue,
        };
        if let Some(slot) = tiff.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(&bytes);
        }
    }
}

/// Whether the file `data` (in `format`) carries something `--metadata strip` removes: EXIF,
/// XMP, IPTC or comments. Read from the container's header segments or chunks, never from image
/// data; formats whose containers Conveyor does not walk count as carrying something.
pub fn carries_strippable(data: &[u8], format: Format) -> bool {
    match format {
        Format::Jpeg => {
            let mut at = 2;
            while at + 4 <= data.len() && data[at] == 0xFF {
                match data[at + 1] {
                    0xDA | 0xD9 => return false,
                    // APP1 (EXIF, XMP), APP13 (IPTC), COM.
                    0xE1 | 0xED | 0xFE => return true,
                    0xFF => at += 1,
                    _ => at += 2 + usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]])),
                }
            }
            false
        }
        Format::Png => {
            let mut at = 8;
            while let Some(len) = data.get(at..at + 4) {
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                match data.get(at + 4..at + 8) {
                    Some(b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") => return true,
                    Some(b"IDAT") | None => return false,
                    _ => at = at.saturating_add(12 + len),
                }
            }
            false
        }
        Format::Webp => {
            let mut at = 12;
            while let Some(head) = data.get(at..at + 8) {
                if &head[..4] == b"EXIF" || &head[..4] == b"XMP " {
                    return true;
                }
                let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
                at = at.saturating_add(8 + len + (len & 1));
            }
            false
        }
        Format::Bmp | Format::Qoi | Format::Gif => false,
        Format::Tiff | Format::Heic | Format::Avif | Format::Jxl => true,
    }
}

/// Sets the EXIF orientation tag (0x0112) in IFD0 to 1 ("as stored"), since the pixels have
/// already been turned. Accepts a block with or without the `Exif\0\0` prefix. Leaves a block
/// it cannot parse unchanged and returns false.
pub fn reset_orientation(exif: &mut [u8]) -> bool {
    let base = if exif.starts_with(b"Exif\0\0") { 6 } else { 0 };
    let Some(tiff) = exif.get_mut(base..) else {
        return false;
    };
    let found = {
        let Some(r) = TiffReader::new(tiff) else {
            return false;
        };
        let Some(entries) = r.first_ifd().and_then(|ifd| r.entries(ifd)) else {
            return false;
        };
        let at = entries.into_iter().find(|&e| r.u16_at(e) == Some(0x0112));
        at.map(|e| (e, r.little))
    };
    let Some((entry, little)) = found else {
        return true; // no orientation tag: nothing to reset
    };
    let one: [u8; 2] = if little { [1, 0] } else { [0, 1] };
    match tiff.get_mut(entry + 8..entry + 10) {
        Some(value) => {
            value.copy_from_slice(&one);
            true
        }
        None => false,
    }
}

/// Removes the GPS directory from an EXIF block (TIFF data, no `Exif\0\0` prefix): the pointer
/// to it leaves IFD0 and the directory and its values are overwritten with zeros, so no reader
/// finds a position. Everything else stays where it was. Returns false (block unchanged or
/// partly cleared) when the structure cannot be followed.
pub fn strip_location(exif: &mut [u8]) -> bool {
    const GPS_IFD: u16 = 0x8825;
    let (ifd0, count, gps_entry, little) = {
        let Some(r) = TiffReader::new(exif) else {
            return false;
        };
        let Some(ifd0) = r.first_ifd() else {
            return false;
        };
        let Some(mut entries) = r.entries(ifd0) else {
            return false;
        };
        let count = usize::from(r.u16_at(ifd0).unwrap_or(0));
        let gps = entries.find(|&e| r.u16_at(e) == Some(GPS_IFD));
        (ifd0, count, gps, r.little)
    };
    let Some(entry) = gps_entry else {
        return true; // no GPS directory: nothing to remove
    };
    // Zero the GPS directory and the values its entries point to.
    let spans: Vec<(usize, usize)> = {
        let Some(r) = TiffReader::new(exif) else {
            return false;
        };
        let Some(gps) = r.u32_at(entry + 8).map(|o| o as usize) else {
            return false;
        };
        let Some(n) = r.u16_at(gps).map(usize::from) else {
            return false;
        };
        let mut spans = vec![(gps, 2 + 12 * n + 4)];
        for k in 0..n {
            let at = gps + 2 + 12 * k;
            let (Some(kind), Some(cnt)) = (r.u16_at(at + 2), r.u32_at(at + 4)) else {
                continue;
            };
            let size = match kind {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                5 | 10 | 12 => 8,
                _ => 0,
            };
            let len = size * cnt as usize;
            if len > 4
                && let Some(off) = r.u32_at(at + 8)
            {
                spans.push((off as usize, len));
            }
        }
        spans
    };
    for (start, len) in spans {
        let end = start.saturating_add(len).min(exif.len());
        if let Some(bytes) = exif.get_mut(start.min(end)..end) {
            bytes.fill(0);
        }
    }
    // Take the pointer out of IFD0: later entries (and the next-IFD offset) move up one place.
    let table_end = ifd0 + 2 + 12 * count + 4;
    if table_end > exif.len() {
        return false;
    }
    exif.copy_within(entry + 12..table_end, entry);
    exif[table_end - 12..table_end].fill(0);
    let new_count = (count - 1) as u16;
    let bytes = if little {
        new_count.to_le_bytes()
    } else {
        new_count.to_be_bytes()
    };
    exif[ifd0..ifd0 + 2].copy_from_slice(&bytes);
    true
}

/// A simple or extended WebP file rebuilt as an extended one (VP8X) carrying `icc` (ICCP chunk)
/// and `exif` (EXIF chunk, TIFF data without the `Exif\0\0` prefix), in the chunk order the
/// WebP container specification requires. libwebp's one-call encoder writes no metadata; this
/// adds it. Returns the input unchanged if there is nothing to add or it cannot be parsed.
pub fn webp_with_metadata(webp: Vec<u8>, icc: Option<&[u8]>, exif: Option<&[u8]>) -> Vec<u8> {
    const ICC: u8 = 0x20;
    const ALPHA: u8 = 0x10;
    const EXIF: u8 = 0x08;
    if (icc.is_none() && exif.is_none()) || webp.get(0..4) != Some(b"RIFF") {
        return webp;
    }
    if webp.get(8..12) != Some(b"WEBP") {
        return webp;
    }
    // The image chunks (ALPH, VP8, VP8L) and the canvas size and alpha flag.
    let mut image_chunks: Vec<&[u8]> = Vec::new();
    let mut flags = 0u8;
    let mut canvas = None;
    let mut at = 12;
    while at + 8 <= webp.len() {
        let fourcc = &webp[at..at + 4];
        let size = u32::from_le_bytes([webp[at + 4], webp[at + 5], webp[at + 6], webp[at + 7]]);
        let end = at + 8 + size as usize;
        let Some(payload) = webp.get(at + 8..end) else {
            return webp;
        };
        let padded = (end + (size as usize & 1)).min(webp.len());
        match fourcc {
            b"VP8X" if payload.len() >= 10 => {
                flags |= payload[0] & ALPHA;
                let w = u32::from_le_bytes([payload[4], payload[5], payload[6], 0]) + 1;
                let h = u32::from_le_bytes([payload[7], payload[8], payload[9], 0]) + 1;
                canvas = Some((w, h));
            }
            b"ALPH" | b"VP8 " | b"VP8L" => {
                if fourcc == b"ALPH" {
                    flags |= ALPHA;
                }
                if canvas.is_none() {
                    canvas = vp8_size(fourcc, payload);
                }
                image_chunks.push(&webp[at..padded]);
            }
            _ => {}
        }
        at = padded;
    }
    let Some((w, h)) = canvas else { return webp };
    if image_chunks.is_empty() {
        return webp;
    }
    if icc.is_some() {
        flags |= ICC;
    }
    if exif.is_some() {
        flags |= EXIF;
    }
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend(&(h - 1).to_le_bytes()[..3]);
    push_chunk(&mut body, b"VP8X", &vp8x);
    if let Some(icc) = icc {
        push_chunk(&mut body, b"ICCP", icc);
    }
    for chunk in image_chunks {
        body.extend_from_slice(chunk);
    }
    if let Some(exif) = exif {
        push_chunk(&mut body, b"EXIF", exif);
    }
    let Ok(size) = u32::try_from(body.len()) else {
        return webp;
    };
    let mut out = b"RIFF".to_vec();
    out.extend(size.to_le_bytes());
    out.extend(body);
    out
}

fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

/// The width and height in a VP8 (lossy) or VP8L (lossless) bitstream header.
fn vp8_size(fourcc: &[u8], p: &[u8]) -> Option<(u32, u32)> {
    if fourcc == b"VP8 " {
        // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
        if p.get(3..6)? != [0x9d, 0x01, 0x2a] {
            return None;
        }
        let w = u32::from(u16::from_le_bytes([*p.get(6)?, *p.get(7)?]) & 0x3fff);
        let h = u32::from(u16::from_le_bytes([*p.get(8)?, *p.get(9)?]) & 0x3fff);
        Some((w, h))
    } else if fourcc == b"VP8L" {
        // Signature 0x2f, then 14-bit width-1 and height-1.
        if *p.first()? != 0x2f {
            return None;
        }
        let bits = u32::from_le_bytes([*p.get(1)?, *p.get(2)?, *p.get(3)?, *p.get(4)?]);
        Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_orientation_in_both_byte_orders() {
        // II header, IFD at 8, one entry: tag 0x0112 SHORT count 1 value 6.
        let mut le = vec![
            b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,
        ];
        assert!(reset_orientation(&mut le));
        assert_eq!(&le[18..20], &[1, 0]);
        let mut be = b"Exif\0\0".to_vec();
        be.extend_from_slice(&[
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0,
        ]);
        assert!(reset_orientation(&mut be));
        assert_eq!(&be[6 + 18..6 + 20], &[0, 1]);
        assert!(!reset_orientation(&mut [1, 2, 3]));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn webp_with_alpha_gains_icc_and_exif_and_keeps_its_alpha() {
        use image::ImageDecoder;
        // Left half transparent, right half opaque red.
        let px: Vec<u8> = (0..16 * 8)
            .flat_map(|i| {
                if i % 16 < 8 {
                    [0, 0, 0, 0]
                } else {
                    [255, 0, 0, 255]
                }
            })
            .collect();
        let plain = webp::Encoder::from_rgba(&px, 16, 8)
            .encode_simple(false, 80.0)
            .unwrap()
            .to_vec();
        let icc = vec![7u8; 301]; // odd length: the chunk needs its pad byte
        let exif = b"MM\0\x2a\0\0\0\x08\0\0\0\0\0\0".to_vec();
        let out = webp_with_metadata(plain, Some(&icc), Some(&exif));
        let mut decoder =
            image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&out)).unwrap();
        assert_eq!(decoder.icc_profile().unwrap(), Some(icc));
        assert_eq!(decoder.exif_metadata().unwrap(), Some(exif));
        let image = image::DynamicImage::from_decoder(decoder)
            .unwrap()
            .to_rgba8();
        assert_eq!(image.dimensions(), (16, 8));
        assert!(
            image.get_pixel(2, 4)[3] < 10,
            "transparent stays transparent"
        );
        assert!(image.get_pixel(13, 4)[3] > 245, "opaque stays opaque");
    }
}
