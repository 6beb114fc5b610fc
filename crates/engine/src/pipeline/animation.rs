//! Animated inputs: telling them apart from stills by their container alone, and animated GIF →
//! GIF with every frame resized and its timing kept.

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::{AnimationDecoder, DynamicImage, Frame};

use crate::format::Format;
use crate::job::{ErrorKind, JobError};
use crate::recipe::{Filter, Geometry};

use super::resize::resize_to;

/// Whether the file holds more than one frame: a GIF with two or more images, an animated WebP
/// (VP8X animation flag), an APNG (acTL chunk before the image data). Reads only the container.
pub fn is_animated(data: &[u8], format: Format) -> bool {
    if !format.spec().animated_in {
        return false;
    }
    match format {
        Format::Gif => gif_frame_count(data, 2) > 1,
        Format::Webp => {
            data.get(12..16) == Some(b"VP8X") && data.get(20).is_some_and(|f| f & 0x02 != 0)
        }
        Format::Png => png_has_actl(data),
        _ => false,
    }
}

/// Counts image descriptors in a GIF, walking its blocks without decoding any pixels; stops
/// counting at `stop_at`.
pub fn gif_frame_count(data: &[u8], stop_at: usize) -> usize {
    let Some(&packed) = data.get(10) else {
        return 0;
    };
    let mut at = 13;
    if packed & 0x80 != 0 {
        at += 3 << ((packed & 7) + 1);
    }
    // Skips a chain of data sub-blocks starting at `i`; returns the index after the terminator.
    let skip_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let len = usize::from(*data.get(i)?);
            i += 1 + len;
            if len == 0 {
                return Some(i);
            }
        }
    };
    let mut frames = 0;
    while let Some(&kind) = data.get(at) {
        match kind {
            0x2C => {
                frames += 1;
                if frames >= stop_at {
                    break;
                }
                let Some(&flags) = data.get(at + 9) else {
                    break;
                };
                at += 10;
                if flags & 0x80 != 0 {
                    at += 3 << ((flags & 7) + 1);
                }
                at += 1; // LZW minimum code size
                let Some(next) = skip_blocks(at) else { break };
                at = next;
            }
            0x21 => {
                let Some(next) = skip_blocks(at + 2) else {
                    break;
                };
                at = next;
            }
            _ => break, // 0x3B trailer, or damage
        }
    }
    frames
}

fn png_has_actl(data: &[u8]) -> bool {
    let mut at = 8;
    while let Some(len) = data.get(at..at + 4) {
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        match data.get(at + 4..at + 8) {
            Some(b"acTL") => return true,
            Some(b"IDAT") | None => return false,
            _ => at += 12 + len,
        }
    }
    false
}

/// An animated GIF re-encoded with every frame resized to `g` (computed for the `canvas`-sized
/// source) and its delay kept; the animation loops forever. Frames are decoded, resized, encoded
/// and dropped one at a time, so memory holds the canvas and one frame whatever the frame count.
/// An animation whose frames together hold more than `max_pixels` pixels is refused before any
/// frame is decoded: a tiny file can describe thousands of full-canvas frames. `each` runs
/// before every frame and may stop the job.
pub fn resize_gif(
    data: &[u8],
    g: Geometry,
    canvas: (u32, u32),
    filter: Filter,
    max_pixels: u64,
    each: &mut dyn FnMut() -> Result<(), JobError>,
) -> Result<(Vec<u8>, usize), JobError> {
    let fail = |e: image::ImageError| {
        JobError::failed(ErrorKind::Corrupt, format!("cannot read GIF frames: {e}"))
    };
    let encode_fail = |e: image::ImageError| {
        JobError::failed(ErrorKind::Encode, format!("cannot encode GIF: {e}"))
    };
    let per_frame = u64::from(canvas.0) * u64::from(canvas.1);
    let most = usize::try_from(max_pixels / per_frame.max(1)).unwrap_or(usize::MAX);
    let frames = gif_frame_count(data, most.saturating_add(1));
    if frames > most {
        return Err(JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "the animation has more than {most} frames of {}x{}: over the {}-megapixel limit \
                 for all its frames together",
                canvas.0,
                canvas.1,
                max_pixels / 1_000_000
            ),
        ));
    }
    let decoder = GifDecoder::new(Cursor::new(data)).map_err(fail)?;
    let mut out = Vec::new();
    let mut count = 0;
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
        encoder.set_repeat(Repeat::Infinite).map_err(encode_fail)?;
        for frame in decoder.into_frames() {
            each()?;
            let frame = frame.map_err(fail)?;
            let delay = frame.delay();
            // image composes every frame onto the full canvas, so each resizes like a still.
            let image = DynamicImage::ImageRgba8(frame.into_buffer());
            let resized = resize_to(image, g, canvas, filter).into_rgba8();
            encoder
                .encode_frame(Frame::from_parts(resized, 0, 0, delay))
                .map_err(encode_fail)?;
            count += 1;
        }
    }
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn gif(frames: usize) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            for i in 0..frames {
                let px = image::RgbaImage::from_pixel(8, 6, image::Rgba([i as u8 * 60, 0, 0, 255]));
                enc.encode_frame(Frame::new(px)).unwrap();
            }
        }
        out
    }

    #[test]
    fn counts_frames_from_the_container() {
        assert!(!is_animated(&gif(1), Format::Gif));
        assert!(is_animated(&gif(3), Format::Gif));
        assert!(
            !is_animated(b"GIF89a", Format::Gif),
            "damaged: not animated"
        );
    }
}
