//! HEIC/HEIF input through `heic-decoder` (pure Rust): grids of tiles as phones write them,
//! `irot`/`imir`/`clap`, alpha, 10-bit, and the ICC profile and EXIF of the primary image.
//! Depth maps, thumbnails and other items are not outputs.

use heic_decoder::HeifError;

use crate::job::{ErrorKind, JobError};

use super::still::{self, Picture};

fn failure(e: &HeifError) -> JobError {
    match e {
        HeifError::Truncated { .. } => {
            JobError::failed(ErrorKind::Truncated, format!("truncated HEIC data: {e}"))
        }
        HeifError::Unsupported(_) => JobError::failed(
            ErrorKind::Unsupported,
            format!("unsupported HEIC variant: {e}"),
        ),
        HeifError::LimitExceeded(_) => {
            JobError::failed(ErrorKind::TooLarge, format!("HEIC image over a limit: {e}"))
        }
        _ => JobError::failed(ErrorKind::Corrupt, format!("corrupt HEIC data: {e}")),
    }
}

/// The displayed size (after the container's transforms), from the container and the
/// parameter sets only.
pub fn probe(data: &[u8]) -> Result<(u32, u32), JobError> {
    let info = heic_decoder::probe(data).map_err(|e| failure(&e))?;
    let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Ok((side(info.width), side(info.height)))
}

/// Decodes the primary image, upright. Tiles are decoded on this worker's core only.
pub fn decode(data: &[u8]) -> Result<Picture, JobError> {
    let mut decoded =
        still::on_this_core(|| heic_decoder::decode(data)).map_err(|e| failure(&e))?;
    // An unspecified matrix (2) is read as BT.601, as libheif reads it: encoders that leave it
    // unspecified (heif-enc given a JPEG's YCbCr, for one) mean the JPEG matrix.
    if let Some(info) = decoded.color_info.as_mut()
        && info.matrix_coefficients == 2
    {
        info.matrix_coefficients = 6;
    }
    let image = still::on_this_core(|| still::from_decoded(&decoded))
        .map_err(|e| JobError::failed(ErrorKind::Corrupt, format!("corrupt HEIC data: {e}")))?;
    Ok(Picture {
        image,
        icc: decoded.metadata.icc_profile,
        exif: decoded.metadata.exif,
    })
}
