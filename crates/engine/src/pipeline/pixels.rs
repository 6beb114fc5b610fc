//! Decoded pixels as the pipeline hands them on: an image, or a JPEG's YCbCr planes for an
//! output that stores them as they are (lossy WebP).

use image::DynamicImage;

use crate::job::{ErrorKind, JobError};

use super::jpeg_scaled::Planes;

/// Decoded pixels: an image, or, when the one output asked for them (`decode::ShrinkFor::planes`),
/// a baseline JPEG's components at the reduced scale, before upsampling and colour conversion.
#[derive(Clone)]
pub enum Pixels {
    /// Pixels in an `image` layout.
    Image(DynamicImage),
    /// A JPEG's planes (never with an orientation to apply).
    Planes(Planes),
}

impl Pixels {
    /// As an image: planes are upsampled and converted to RGB exactly as the image path would
    /// have decoded them.
    pub fn into_image(self) -> Result<DynamicImage, JobError> {
        match self {
            Pixels::Image(image) => Ok(image),
            Pixels::Planes(planes) => planes
                .into_pixels()
                .and_then(|p| pixels_image(p.width, p.height, p.channels == 1, p.data))
                .ok_or_else(|| {
                    JobError::failed(ErrorKind::Corrupt, "cannot convert the JPEG's planes")
                }),
        }
    }
}

/// Packed grey or RGB rows as an image (`None` if they do not fill `w` x `h`).
pub fn pixels_image(w: u32, h: u32, grey: bool, pixels: Vec<u8>) -> Option<DynamicImage> {
    if grey {
        image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
    }
}
