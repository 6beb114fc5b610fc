//! The cheap header probe: an image's size and format from the first bytes of its file, without
//! decoding pixels. Used by the plan (names with `{w}`/`{h}`) and the pipeline alike.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use image::metadata::Orientation;
use image::{ImageDecoder, ImageReader};

use super::codec;
use super::format::Format;

/// What a header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The format, by content.
    pub format: Format,
    /// Width × height as displayed (after EXIF orientation).
    pub size: (u32, u32),
}

/// Whether an EXIF orientation turns the image a quarter (so width and height swap).
pub fn swaps_sides(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `size` as displayed after orientation `o`.
pub fn oriented((w, h): (u32, u32), o: Orientation) -> (u32, u32) {
    if swaps_sides(o) { (h, w) } else { (w, h) }
}

/// The largest file the probe reads whole (HEIC, AVIF, JPEG XL).
const PROBE_WHOLE_MAX: u64 = 256 << 20;

/// Reads only the header of the file at `path`; `None` if it is not an image Conveyor reads.
pub fn probe(path: &Path) -> Option<Header> {
    let mut file = File::open(path).ok()?;
    let mut head = Vec::with_capacity(64);
    (&mut file).take(64).read_to_end(&mut head).ok()?;
    if let Some(format) = Format::sniff(&head)
        && format.spec().image.is_none()
    {
        // HEIF keeps sizes in its meta box (a grid's in an item), JPEG XL in its headers: the
        // codec modules read them from the whole file (not a huge one: that is the decode's
        // limits' business).
        if file.metadata().ok()?.len() > PROBE_WHOLE_MAX {
            return None;
        }
        let data = std::fs::read(path).ok()?;
        let size = codec::size(&data, format).ok()?;
        return Some(Header { format, size });
    }
    file.seek(SeekFrom::Start(0)).ok()?;
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?;
    let format = Format::from_image(reader.format()?)?;
    let mut decoder = reader.into_decoder().ok()?;
    let stored = decoder.dimensions();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Some(Header {
        format,
        size: oriented(stored, orientation),
    })
}
