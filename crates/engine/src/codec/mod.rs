//! Conveyor's own codecs, for the formats the `image` crate does not read: HEIC (`heic.rs`,
//! through heic-decoder), AVIF (`avif.rs`: the HEIF container in `isobmff.rs`, AV1 through
//! rav1d in `av1.rs`, output through ravif) and JPEG XL (`jxl.rs`, through jxl-oxide).
//! `still.rs` holds what they share. They know nothing of the pipeline: the header probe and
//! the pipeline's decode both call them.

#[cfg(feature = "aom")]
pub mod aom;
pub mod av1;
pub mod avif;
pub mod heic;
mod isobmff;
pub mod jxl;
pub mod still;

use crate::format::Format;
use crate::job::{ErrorKind, JobError};

use still::Picture;

fn not_ours(format: Format) -> JobError {
    JobError::failed(
        ErrorKind::Unsupported,
        format!(
            "{} is read by the image crate, not by a codec module",
            format.label()
        ),
    )
}

/// The displayed size (container transforms or orientation applied) of a file in one of these
/// formats, from its headers.
pub fn size(data: &[u8], format: Format) -> Result<(u32, u32), JobError> {
    match format {
        Format::Heic => heic::probe(data),
        Format::Avif => avif::probe(data),
        Format::Jxl => jxl::probe(data),
        other => Err(not_ours(other)),
    }
}

/// The pixels a decode of this file allocates for its pictures, where that can be more than
/// its displayed size (a crop or a grid over larger coded pictures); at least the displayed
/// size `shown`.
pub fn decoded_pixels(data: &[u8], format: Format, shown: (u32, u32)) -> Result<u64, JobError> {
    let shown = u64::from(shown.0) * u64::from(shown.1);
    Ok(match format {
        Format::Heic => heic::decoded_pixels(data)?.max(shown),
        _ => shown,
    })
}

/// The EXIF block (TIFF data) of a file in one of these formats, from its container; `None`
/// when it has none.
pub fn exif(data: &[u8], format: Format) -> Option<Vec<u8>> {
    match format {
        Format::Heic | Format::Avif => isobmff::read(data).ok()?.exif,
        Format::Jxl => jxl::exif(data),
        _ => None,
    }
}

/// Decodes a file in one of these formats, upright. `max_pixels` bounds what AV1 allocates.
pub fn decode(data: &[u8], format: Format, max_pixels: u64) -> Result<Picture, JobError> {
    match format {
        Format::Heic => heic::decode(data),
        Format::Avif => avif::decode(data, max_pixels),
        Format::Jxl => jxl::decode(data),
        other => Err(not_ours(other)),
    }
}
