//! AVIF: input through the HEIF container reader (`isobmff.rs`) and rav1d (`av1.rs`), output
//! through ravif and rav1e. Both run on the worker's own thread: N workers use N cores.

use image::DynamicImage;
#[cfg(not(feature = "aom"))]
use ravif::{Encoder, Img, RGB8, RGBA8};

use crate::job::{ErrorKind, JobError};

use super::av1::{self, Av1Error};
use super::isobmff::{self, BoxError, Cicp, Transform};
use super::still::{self, Picture};

fn container_failure(e: &BoxError) -> JobError {
    match e {
        BoxError::Truncated(_) => {
            JobError::failed(ErrorKind::Truncated, format!("truncated AVIF data: {e}"))
        }
        BoxError::Malformed(_) => {
            JobError::failed(ErrorKind::Corrupt, format!("corrupt AVIF data: {e}"))
        }
    }
}

fn av1_failure(e: &Av1Error, what: &str) -> JobError {
    let kind = match e {
        Av1Error::NoPicture => ErrorKind::Truncated,
        Av1Error::Unsupported(_) => ErrorKind::Unsupported,
        Av1Error::Invalid(_) | Av1Error::Open(_) | Av1Error::Crashed(_) => ErrorKind::Corrupt,
    };
    JobError::failed(kind, format!("AVIF {what}: {e}"))
}

fn read(data: &[u8]) -> Result<isobmff::Still, JobError> {
    let still = isobmff::read(data).map_err(|e| container_failure(&e))?;
    if &still.kind != b"av01" {
        return Err(JobError::failed(
            ErrorKind::Unsupported,
            format!(
                "unsupported AVIF variant: the image is an '{}' item (only single AV1 images are \
                 read, not grids of tiles)",
                String::from_utf8_lossy(&still.kind)
            ),
        ));
    }
    Ok(still)
}

/// The displayed size (after `irot`), from the container's `ispe`.
pub fn probe(data: &[u8]) -> Result<(u32, u32), JobError> {
    let still = read(data)?;
    let (w, h) = still.size.ok_or_else(|| {
        JobError::failed(
            ErrorKind::Corrupt,
            "corrupt AVIF data: the image has no size ('ispe')",
        )
    })?;
    let quarter = still
        .transforms
        .iter()
        .filter(|t| matches!(t, Transform::Rotate(1 | 3)))
        .count();
    Ok(if quarter % 2 == 1 { (h, w) } else { (w, h) })
}

/// The most pixels a frame may have for a container that declares `size` (`ispe`), under the
/// pixel limit: what the container says, with a little room for encoders that pad each side.
/// The memory a file is admitted with comes from its declared size, so a frame far larger than
/// declared is refused by the decoder before it allocates it.
fn frame_limit(size: Option<(u32, u32)>, max_pixels: u64) -> u64 {
    let declared = size.map_or(u64::MAX, |(w, h)| {
        (u64::from(w) + 16).saturating_mul(u64::from(h) + 16)
    });
    declared.min(max_pixels)
}

/// dav1d's "frame larger than the limit" (ERANGE).
const FRAME_OVER_LIMIT: i32 = -34;

/// A frame refused by [`frame_limit`]: over the pixel limit (`too_large`), or larger than the
/// container says (`corrupt`).
fn frame_failure(e: &Av1Error, what: &str, still: &isobmff::Still, max_pixels: u64) -> JobError {
    if *e != Av1Error::Invalid(FRAME_OVER_LIMIT) {
        return av1_failure(e, what);
    }
    let limit = frame_limit(still.size, max_pixels);
    match still.size {
        Some((w, h)) if limit < max_pixels => JobError::failed(
            ErrorKind::Corrupt,
            format!(
                "corrupt AVIF data: the {what}'s frame is larger than the {w}x{h} the file \
                 declares"
            ),
        ),
        _ => JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "the AVIF {what} is over the {}-megapixel limit",
                max_pixels / 1_000_000
            ),
        ),
    }
}

/// Decodes the primary image (and its alpha), upright. `max_pixels` refuses larger frames, and
/// so does a frame much larger than the container declares.
pub fn decode(data: &[u8], max_pixels: u64) -> Result<Picture, JobError> {
    let still = read(data)?;
    let limit = frame_limit(still.size, max_pixels);
    let colour = av1::decode(&still.data, limit)
        .map_err(|e| frame_failure(&e, "image", &still, max_pixels))?;
    let alpha = match &still.alpha {
        Some(bytes) => {
            let a = av1::decode(bytes, limit)
                .map_err(|e| frame_failure(&e, "alpha", &still, max_pixels))?;
            if (a.width, a.height) != (colour.width, colour.height) {
                return Err(JobError::failed(
                    ErrorKind::Unsupported,
                    format!(
                        "unsupported AVIF variant: alpha is {}x{}, the image {}x{}",
                        a.width, a.height, colour.width, colour.height
                    ),
                ));
            }
            let mut plane = still::alpha_plane(a.y, a.bit_depth, a.cicp.3);
            plane.premultiplied = still.premultiplied;
            Some(plane)
        }
        None => None,
    };
    // The container's nclx wins over the sequence header's, as libavif reads it.
    let (primaries, transfer, matrix, full_range) = colour.cicp;
    let cicp = still.cicp.unwrap_or(Cicp {
        primaries,
        transfer,
        matrix,
        full_range,
    });
    let image = still::to_rgb(colour, cicp, alpha)
        .map_err(|e| JobError::failed(ErrorKind::Corrupt, format!("corrupt AVIF data: {e}")))?;
    Ok(Picture {
        image: still::transform(image, &still.transforms),
        icc: still.icc,
        exif: still.exif,
    })
}

/// rav1e's speed (1 slowest … 10 fastest) for an effort of 0 (fastest) to 10 (smallest).
/// ravif's slowest speed is 1, so efforts 9 and 10 are the same.
pub fn speed(effort: u8) -> u8 {
    10u8.saturating_sub(effort).max(1)
}

/// Encodes 8-bit RGB or RGBA pixels (see `encode::prepare`) as AVIF on this thread. With the
/// `aom` feature libaom writes every file (lossless too); without it rav1e writes them, 10 bits
/// a sample inside (ravif's choice: fewer banding steps for the same size), and `lossless`
/// cannot be asked for (the format table offers the control only with `aom`; rav1e's quality
/// 100 is about 60 dB).
pub fn encode(
    image: &DynamicImage,
    quality: u8,
    lossless: bool,
    effort: u8,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, JobError> {
    let file = av1_file(image, (!lossless).then_some(quality), effort, exif)?;
    // Neither ravif nor avif-serialize writes a profile; add it to the container (left out if
    // the layout is not the one expected, rather than risking the file).
    Ok(match icc {
        Some(icc) => isobmff::with_icc(&file, icc).unwrap_or(file),
        None => file,
    })
}

/// The file before its profile: `quality` None is lossless.
fn av1_file(
    image: &DynamicImage,
    quality: Option<u8>,
    effort: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, JobError> {
    #[cfg(feature = "aom")]
    return super::aom::encode(image, quality, effort, exif);
    #[cfg(not(feature = "aom"))]
    match quality {
        Some(quality) => rav1e_file(image, quality, effort, exif),
        None => Err(JobError::failed(
            ErrorKind::Unsupported,
            "lossless AVIF needs libaom: this build has no `aom` feature",
        )),
    }
}

/// A lossy file through ravif and rav1e (builds without the `aom` feature).
#[cfg(not(feature = "aom"))]
fn rav1e_file(
    image: &DynamicImage,
    quality: u8,
    effort: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, JobError> {
    let q = f32::from(quality.clamp(1, 100));
    let mut encoder = Encoder::new()
        .with_speed(speed(effort))
        .with_num_threads(Some(1))
        .with_quality(q)
        .with_alpha_quality(q);
    if let Some(exif) = exif {
        encoder = encoder.with_exif(exif.to_vec());
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    let fail =
        |e: ravif::Error| JobError::failed(ErrorKind::Encode, format!("cannot encode AVIF: {e}"));
    let encoded = match image {
        DynamicImage::ImageRgba8(px) => {
            let pixels: Vec<RGBA8> = px
                .as_raw()
                .chunks_exact(4)
                .map(|c| RGBA8::new(c[0], c[1], c[2], c[3]))
                .collect();
            encoder
                .encode_rgba(Img::new(&pixels[..], w, h))
                .map_err(fail)?
        }
        other => {
            let rgb = other.to_rgb8();
            let pixels: Vec<RGB8> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|c| RGB8::new(c[0], c[1], c[2]))
                .collect();
            encoder
                .encode_rgb(Img::new(&pixels[..], w, h))
                .map_err(fail)?
        }
    };
    Ok(encoded.avif_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_icc_profile_is_added_to_the_container_and_read_back() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 90])
        }));
        let icc: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        let exif = b"MM\0*\0\0\0\x08\0\0".to_vec();
        let plain = encode(&img, 80, false, 9, Some(&exif), None).unwrap();
        let with = encode(&img, 80, false, 9, Some(&exif), Some(&icc)).unwrap();
        // A colr box (12 bytes and the profile) and one more association byte in ipma.
        assert_eq!(with.len(), plain.len() + 12 + icc.len() + 1);
        let read = isobmff::read(&with).unwrap();
        assert_eq!(read.icc.as_deref(), Some(&icc[..]));
        assert_eq!(
            read.exif.as_deref(),
            Some(&exif[..]),
            "items moved with the box"
        );
        let a = decode(&plain, 1 << 20).unwrap().image;
        let b = decode(&with, 1 << 20).unwrap().image;
        assert_eq!(a.to_rgb8(), b.to_rgb8(), "the same picture");
    }
}
