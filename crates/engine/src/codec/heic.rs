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

/// The most crops, rotations and mirrors a HEIC image (with its alpha) may link.
const MAX_TRANSFORMS: usize = 8;

/// The luma samples a decode allocates: every coded picture (each tile of a grid, the alpha
/// image, a reference picture), before the container's crop. A file whose crop (`clap`) or
/// grid declares a small image over large pictures is judged by what it really decodes.
/// Refuses a grid whose tiles are far larger than the image it declares: a real grid's tiles
/// cover the image with at most one row and one column to spare.
pub fn decoded_pixels(data: &[u8]) -> Result<u64, JobError> {
    use heic_decoder::hevc::{nal, params};
    use heic_decoder::isobmff::{self, ParsedHeif, ResolvedImage};
    let sps_size = |image: &ResolvedImage| -> Result<(u64, u64), JobError> {
        for unit in image.hevc_config.nalus_of_type(nal::NAL_SPS) {
            let (header, payload) = nal::parse_nal_header(unit).map_err(|e| failure(&e))?;
            if header.nal_unit_type == nal::NAL_SPS && header.nuh_layer_id == 0 {
                let rbsp = heic_decoder::bitreader::strip_emulation_prevention(payload);
                let sps = params::parse_sps(&rbsp).map_err(|e| failure(&e))?;
                return Ok((
                    u64::from(sps.pic_width_in_luma_samples),
                    u64::from(sps.pic_height_in_luma_samples),
                ));
            }
        }
        Ok((0, 0))
    };
    let of = |parsed: &ParsedHeif| -> Result<u64, JobError> {
        let mut total = 0u64;
        let mut tile = (0u64, 0u64);
        for image in parsed.images.iter().chain(parsed.reference_image.iter()) {
            let (w, h) = sps_size(image)?;
            tile = (tile.0.max(w), tile.1.max(h));
            total = total.saturating_add(w.saturating_mul(h));
        }
        if let Some(grid) = parsed.grid {
            let (gw, gh) = (u64::from(grid.output_width), u64::from(grid.output_height));
            if total > (gw + tile.0).saturating_mul(gh + tile.1) {
                return Err(JobError::failed(
                    ErrorKind::Corrupt,
                    format!(
                        "corrupt HEIC data: the grid declares {gw}x{gh} but its {} tiles of up \
                         to {}x{} are far larger",
                        parsed.images.len(),
                        tile.0,
                        tile.1
                    ),
                ));
            }
            total = total.saturating_add(gw.saturating_mul(gh));
        }
        Ok(total)
    };
    let parsed = isobmff::parse(data).map_err(|e| failure(&e))?;
    // heic-decoder applies every crop, rotation and mirror the file links, each a pass over
    // the picture: one `irot` linked hundreds of times would hold a worker for minutes.
    let transforms = parsed.transforms.len()
        + parsed
            .alpha
            .as_ref()
            .map_or(0, |a| a.image.transforms.len());
    if transforms > MAX_TRANSFORMS {
        return Err(JobError::failed(
            ErrorKind::Corrupt,
            format!(
                "corrupt HEIC data: the image links {transforms} crops, rotations and mirrors \
                 (a real photo has at most a few)"
            ),
        ));
    }
    let alpha = match &parsed.alpha {
        Some(a) => of(&a.image)?,
        None => 0,
    };
    Ok(of(&parsed)?.saturating_add(alpha))
}

/// Decodes the primary image, upright. Tiles are decoded on this worker's core only.
/// Callers check [`decoded_pixels`] first (the pipeline's decode, which previews use too, does
/// before it admits the memory).
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
