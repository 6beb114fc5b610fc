//! Small previews of a source and its output, for a front end to show side by side.

use std::path::Path;

use super::pipeline::decode::{self, DecodeLimits};
use super::pipeline::resize::orient;

/// A decoded, downscaled image ready to upload as a texture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The full image's width (after orientation).
    pub width: u32,
    /// The full image's height (after orientation).
    pub height: u32,
    /// File size in bytes.
    pub bytes: u64,
    /// Preview width.
    pub preview_width: u32,
    /// Preview height.
    pub preview_height: u32,
    /// Preview pixels, RGBA8, row-major.
    pub rgba: Vec<u8>,
}

/// Decodes `path` and shrinks it to fit `max_side` for display. Meant for a background thread.
pub fn thumbnail(path: &Path, max_side: u32) -> Result<Thumbnail, String> {
    let decoded = decode::decode(path, &DecodeLimits::default(), None, &mut |_| Ok(()))
        .map_err(|e| e.to_string())?;
    let image = orient(decoded.image, decoded.orientation);
    let (width, height) = (image.width(), image.height());
    let small = if width > max_side || height > max_side {
        image.thumbnail(max_side, max_side)
    } else {
        image
    };
    let rgba = small.to_rgba8();
    Ok(Thumbnail {
        width,
        height,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        preview_width: rgba.width(),
        preview_height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}
