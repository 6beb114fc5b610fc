//! Reading and decoding a source image, with limits checked from the header first.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use image::error::{ImageError, LimitErrorKind};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

pub use super::pixels::Pixels;
use super::pixels::pixels_image;
use super::png_rows;
use crate::codec;
use crate::format::Format;
use crate::header::{oriented, swaps_sides};
use crate::job::{ErrorKind, JobError};
use crate::recipe::{Filter, ResizeSpec};
use crate::units::human_bytes;

/// Limits applied to every input before and during decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Largest accepted file size.
    pub max_file_bytes: u64,
    /// Largest single allocation a decoder may make.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 250_000_000,
            max_file_bytes: 1 << 30,
            max_alloc: 4 << 30,
        }
    }
}

/// A decoded source and what came with it.
pub struct Decoded {
    /// The pixels as stored (orientation not yet applied).
    pub image: Pixels,
    /// The EXIF orientation to apply.
    pub orientation: Orientation,
    /// The embedded ICC profile.
    pub icc: Option<Vec<u8>>,
    /// The raw EXIF block (TIFF structure).
    pub exif: Option<Vec<u8>>,
    /// The format detected from the content.
    pub format: Format,
    /// The full image's size after orientation (`image` may be a reduced decode of it).
    pub source_size: (u32, u32),
    /// Things worth telling the user.
    pub warnings: Vec<String>,
    /// The file's bytes, kept only for an animated input (whose other frames are decoded later).
    pub animation: Option<Vec<u8>>,
    /// Whether `image` is already the one output's final size and crop (a PNG resized while
    /// its rows were read).
    pub resized: bool,
}

/// Whether the file stops before its format's end marker: a JPEG without its end-of-image
/// after the first scan, a PNG without IEND, a GIF without its trailer. Read from the structure,
/// not from a decoder's message.
fn ends_early(format: Format, data: &[u8]) -> bool {
    match format {
        Format::Jpeg => !jpeg_is_complete(data),
        Format::Png => !data.ends_with(&[0xAE, 0x42, 0x60, 0x82]) && !png_has_iend(data),
        Format::Gif => data.last() != Some(&0x3B),
        _ => false,
    }
}

/// Whether a PNG has an IEND chunk (searched from the back; some writers append junk).
fn png_has_iend(data: &[u8]) -> bool {
    data.windows(4).rev().take(4096).any(|w| w == b"IEND")
}

/// Whether an error was caused, somewhere down its chain, by input ending early.
fn caused_by_eof(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Turns a decoder error into a typed failure with a sentence people understand.
fn describe(err: &ImageError, format: Format, data: &[u8], limits: &DecodeLimits) -> JobError {
    let name = format.label();
    let early = ends_early(format, data) || caused_by_eof(err);
    match err {
        ImageError::Decoding(e) if early => {
            JobError::failed(ErrorKind::Truncated, format!("truncated {name} data: {e}"))
        }
        ImageError::Decoding(e) => {
            JobError::failed(ErrorKind::Corrupt, format!("corrupt {name} data: {e}"))
        }
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::InsufficientMemory => JobError::failed(
                ErrorKind::TooLarge,
                format!(
                    "needs more memory than the {} a decode may use",
                    human_bytes(limits.max_alloc)
                ),
            ),
            _ => JobError::failed(
                ErrorKind::TooLarge,
                format!("over the decoder's limits: {l}"),
            ),
        },
        ImageError::Unsupported(u) => JobError::failed(
            ErrorKind::Unsupported,
            format!("unsupported {name} variant: {u}"),
        ),
        ImageError::IoError(_) if early => JobError::failed(
            ErrorKind::Truncated,
            format!("truncated {name} data (the file ends early)"),
        ),
        other if early => JobError::failed(
            ErrorKind::Truncated,
            format!("truncated {name} data: {other}"),
        ),
        other => JobError::failed(ErrorKind::Corrupt, format!("cannot decode {name}: {other}")),
    }
}

/// Opens the source, refusing files over the size limit; returns the file and its size.
fn open_source(path: &Path, limits: &DecodeLimits) -> Result<(File, u64), JobError> {
    let file = File::open(path).map_err(|e| {
        JobError::failed(
            ErrorKind::of_io(&e),
            format!("cannot open the file: {}", crate::job::io_words(&e)),
        )
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limits.max_file_bytes {
        return Err(JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "the file is {}, over the {} file size limit",
                human_bytes(len),
                human_bytes(limits.max_file_bytes)
            ),
        ));
    }
    Ok((file, len))
}

/// Reads the whole source (`file`, of `len` bytes) into memory. The file's size is charged to
/// the memory budget (through `admit`) before a byte is read: a tiny image padded with hundreds
/// of megabytes of junk waits for its turn like any big image.
fn read_source(
    file: File,
    len: u64,
    limits: &DecodeLimits,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Result<Vec<u8>, JobError> {
    admit(len)?;
    let mut data = Vec::with_capacity(len as usize);
    file.take(limits.max_file_bytes + 1)
        .read_to_end(&mut data)
        .map_err(|e| {
            JobError::failed(
                ErrorKind::of_io(&e),
                format!("cannot read the file: {}", crate::job::io_words(&e)),
            )
        })?;
    if data.is_empty() {
        return Err(JobError::failed(ErrorKind::Empty, crate::job::EMPTY_FILE));
    }
    Ok(data)
}

/// Whether a JPEG stream reaches its end-of-image marker after the first scan starts. Decoders
/// happily fill a truncated scan with grey; a batch tool must call that a failure instead.
pub fn jpeg_is_complete(data: &[u8]) -> bool {
    let Some(sos) = jpeg_markers(data)
        .find(|&(m, _)| m == 0xDA)
        .map(|(_, at)| at)
    else {
        return false;
    };
    // Entropy-coded data escapes 0xFF as FF00, so FFD9 after the first scan is the real end.
    // Searched from the back: it is almost always the last two bytes.
    data[sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

/// The most scans a progressive JPEG may have (zune-jpeg's limit; encoders write about 10).
pub const MAX_JPEG_SCANS: usize = 100;

/// How many scans (start-of-scan markers from the first one on) a JPEG has, counting up to
/// `cap`. Entropy-coded data escapes every 0xFF, so FF DA there is always a marker.
pub fn jpeg_scans(data: &[u8], cap: usize) -> usize {
    let Some(first) = jpeg_markers(data)
        .find(|&(m, _)| m == 0xDA)
        .map(|(_, at)| at)
    else {
        return 0;
    };
    let mut count = 0;
    let mut rest = &data[first..];
    while count < cap {
        match rest.windows(2).position(|w| w == [0xFF, 0xDA]) {
            Some(i) => {
                count += 1;
                rest = &rest[i + 2..];
            }
            None => break,
        }
    }
    count
}

/// Whether `data` is a progressive JPEG: its frame header (the first SOFn marker) is SOF2, 6,
/// 10 or 14. False for anything whose headers do not reach a frame.
pub fn jpeg_is_progressive(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8])
        && jpeg_markers(data)
            .map(|(m, _)| m)
            .find(|m| (0xC0..=0xCF).contains(m) && !matches!(m, 0xC4 | 0xC8 | 0xCC))
            .is_some_and(|m| matches!(m, 0xC2 | 0xC6 | 0xCA | 0xCE))
}

/// The markers of a JPEG's headers after SOI, each with the offset of its 0xFF, up to and
/// including the first start of scan (FFDA). Ends early at a byte that is not a marker or where
/// fewer than four bytes are left.
fn jpeg_markers(data: &[u8]) -> impl Iterator<Item = (u8, usize)> + '_ {
    let (mut i, mut done) = (2, false);
    std::iter::from_fn(move || {
        loop {
            if done || i + 4 > data.len() || data[i] != 0xFF {
                return None;
            }
            let (at, marker) = (i, data[i + 1]);
            match marker {
                0xFF => {
                    i += 1; // fill byte
                    continue;
                }
                0xDA => done = true,
                0xD0..=0xD9 | 0x01 => i += 2,
                _ => i += 2 + usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]])),
            }
            return Some((marker, at));
        }
    })
}

/// The size the resize will produce before any crop, for shrink-on-load: a JPEG whose target is
/// at most half its size in both axes is decoded at the smallest DCT scale still at least the
/// target, which is several times faster and smaller than a full decode.
#[derive(Debug, Clone)]
pub struct ShrinkFor {
    /// The resize.
    pub spec: ResizeSpec,
    /// Whether enlarging is allowed.
    pub allow_upscale: bool,
    /// The filter the resize uses (a PNG is resized with it while its rows are read).
    pub filter: Filter,
    /// The output can take a JPEG's YCbCr planes ([`Pixels::Planes`]): lossy WebP, which stores
    /// 4:2:0 YUV itself, so the chroma need not be upsampled, converted and subsampled again.
    pub planes: bool,
    /// Edits that come before the resize, each the same at any scale (a crop to a ratio, a
    /// quarter turn …): the resize starts from what they leave, so the scale is chosen for
    /// that (`None`: the resize starts from the whole picture).
    pub before: Option<std::sync::Arc<crate::edit::EditList>>,
}

impl ShrinkFor {
    /// The size the whole `shown` picture must keep at least when decoded for this output:
    /// the resize's scaled size, or, after edits, the whole picture at the scale the resize
    /// takes what they leave to.
    fn target(&self, shown: (u32, u32)) -> (u32, u32) {
        let Some(before) = &self.before else {
            return self
                .spec
                .geometry(shown.0, shown.1, self.allow_upscale)
                .scaled;
        };
        let (w2, h2) = before.size_before_resize(shown);
        let g = self.spec.geometry(w2, h2, self.allow_upscale).scaled;
        let scale =
            (f64::from(g.0) / f64::from(w2.max(1))).max(f64::from(g.1) / f64::from(h2.max(1)));
        (
            (f64::from(shown.0) * scale).ceil() as u32,
            (f64::from(shown.1) * scale).ceil() as u32,
        )
    }
}

#[cfg(not(feature = "turbo"))]
use crate::codec::still::on_this_core;

/// The DCT scale, in eighths, to decode a `stored`-size JPEG at for `shrink`: the smallest of
/// 1/8, 1/4 and 1/2 at which both sides still cover the resize target (so the final filter only
/// ever shrinks), or 8 (full size) when the target is more than half the source.
///
/// A `progressive` JPEG leaves at least a factor of 1.5 for the final filter. A reduced-scale
/// IDCT drops detail block by block, and with little left for the filter that shows on fine
/// texture (docs/BENCHMARKS.md: a progressive q100 artwork, 3840 → 1600, MSE 5.4 at 1/2 scale with
/// 1.2 left against 0.6 at full size; its 5640 version, 1.76 left, 0.90 against 0.58). For a
/// baseline JPEG the trade is worth it: at a reduced scale most coefficients are only skipped,
/// never stored or transformed. A progressive image's scans are decoded whole at any scale, so
/// there the scale saves less time, but a full-size decode costs memory (its pixels and all
/// its coefficients: the 5640x3172 one peaks at 73 MB at 1/2 scale), which is why this is 1.5
/// and not libvips's 2.
fn dct_eighths(
    stored: (u32, u32),
    orientation: Orientation,
    shrink: &ShrinkFor,
    progressive: bool,
) -> u32 {
    let shown = oriented(stored, orientation);
    let target = shrink.target(shown);
    let target = if swaps_sides(orientation) {
        (target.1, target.0)
    } else {
        target
    };
    // The factor left, in halves: 2/2 covers the target, 3/2 leaves 1.5 for the filter.
    let halves = if progressive { 3 } else { 2 };
    let covers = |side: u32, target: u32| u64::from(side) * 2 >= u64::from(target) * halves;
    [1, 2, 4]
        .into_iter()
        .find(|&e| covers(scaled(stored.0, e), target.0) && covers(scaled(stored.1, e), target.1))
        .unwrap_or(8)
}

/// A side of a JPEG decoded at `eighths`/8 scale.
fn scaled(len: u32, eighths: u32) -> u32 {
    (len * eighths).div_ceil(8)
}

/// What [`decode_jpeg_scaled`] did with a JPEG.
enum Scaled {
    /// Decoded, or refused by the memory budget.
    Done(Result<Pixels, JobError>),
    /// Read and admitted, but its data not followed: decode it another way, without admitting
    /// it again.
    Admitted,
    /// Not one this decoder reads.
    NotRead,
}

/// The memory a JPEG decoded at `(w, h)` is admitted with: its pixels and the copies made while
/// orienting, resizing and converting, and the file.
fn jpeg_admission((w, h): (u32, u32), file: usize) -> u64 {
    (u64::from(w) * u64::from(h) * 3).saturating_mul(3) + file as u64
}

/// A JPEG at `eighths`/8 (less than 8) through Conveyor's own scaled decoder
/// ([`super::jpeg_scaled`]: jpeg-decoder's pixels, faster, and a progressive one in a third of
/// jpeg-decoder's memory), when it reads it and its size at that scale is `want`. With
/// `planes`, a 4:2:0 JPEG comes out as its planes.
fn decode_jpeg_scaled(
    data: &[u8],
    want: (u32, u32),
    eighths: u32,
    planes: bool,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Scaled {
    let Some(plan) = super::jpeg_scaled::Plan::read(data, eighths) else {
        return Scaled::NotRead;
    };
    if plan.size() != want {
        return Scaled::NotRead;
    }
    if let Err(e) = admit(jpeg_admission(want, data.len()).saturating_add(plan.working_bytes())) {
        return Scaled::Done(Err(e));
    }
    let Some(decoded) = plan.decode_planes() else {
        return Scaled::Admitted;
    };
    // 4:2:0 only: from the other layouts' sharper chroma, resizing each plane straight to
    // WebP's chroma grid measured worse than through RGB (docs/BENCHMARKS.md).
    if planes && decoded.ycbcr420().is_some() {
        return Scaled::Done(Ok(Pixels::Planes(decoded)));
    }
    match decoded
        .into_pixels()
        .and_then(|p| pixels_image(p.width, p.height, p.channels == 1, p.data))
    {
        Some(image) => Scaled::Done(Ok(Pixels::Image(image))),
        None => Scaled::Admitted,
    }
}

/// Decodes a JPEG's pixels at `eighths`/8 of its `stored` size through jpeg-decoder, when
/// [`decode_jpeg_scaled`] did not (`admitted`: it read the headers and admitted the memory, but
/// not the data). `None` when this path does not apply (full size, where the `image` crate's
/// decoder is faster; CMYK and 16-bit JPEGs; data it rejects): then the `image` crate's decoder
/// runs and reports any error.
#[cfg(not(feature = "turbo"))]
fn decode_jpeg_at(
    data: &[u8],
    stored: (u32, u32),
    eighths: u32,
    admitted: bool,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Option<Result<Pixels, JobError>> {
    if eighths >= 8 {
        return None;
    }
    let want = (scaled(stored.0, eighths), scaled(stored.1, eighths));
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(data));
    let to_u16 = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    // jpeg-decoder takes the first scale at which *either* side reaches the request, so ask for
    // exactly the chosen scale's size.
    let (w, h) = decoder.scale(to_u16(want.0), to_u16(want.1)).ok()?;
    let format = decoder.info()?.pixel_format;
    if !matches!(
        format,
        jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8
    ) {
        return None;
    }
    if !admitted && let Err(e) = admit(jpeg_admission((u32::from(w), u32::from(h)), data.len())) {
        return Some(Err(e));
    }
    let pixels = on_this_core(|| decoder.decode()).ok()?;
    let grey = format == jpeg_decoder::PixelFormat::L8;
    pixels_image(u32::from(w), u32::from(h), grey, pixels).map(|image| Ok(Pixels::Image(image)))
}

#[cfg(feature = "turbo")]
use super::turbo::decode_jpeg_at;

/// Decodes the file at `path`, checking the size and pixel limits from the header first, then
/// calling `admit` with an estimate of the memory the job will hold (decoded pixels and the
/// copies made while orienting, resizing and converting) before any pixel is decoded. With
/// `shrink`, a JPEG much larger than its target is decoded at a reduced scale.
pub fn decode(
    path: &Path,
    limits: &DecodeLimits,
    shrink: &[ShrinkFor],
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Result<Decoded, JobError> {
    let (mut file, len) = open_source(path, limits)?;
    let ask = png_rows::Ask {
        max_alloc: limits.max_alloc,
        // Rows resized as they are read only to the final size: not when edits come first.
        resize: match shrink {
            [one] if one.before.is_none() => Some((one.spec, one.allow_upscale, one.filter)),
            _ => None,
        },
        check_size: &|w, h| check_size(w, h, limits),
        describe: &|e, tail| describe(e, Format::Png, tail, limits),
    };
    if let Some(rows) = png_rows::decode(&mut file, len, &ask, admit)? {
        return Ok(Decoded {
            image: Pixels::Image(rows.image),
            orientation: rows.orientation,
            icc: rows.icc,
            exif: rows.exif,
            format: Format::Png,
            source_size: oriented(rows.size, rows.orientation),
            warnings: Vec::new(),
            animation: None,
            resized: rows.resized,
        });
    }
    let data = read_source(file, len, limits, admit)?;
    let Some(format) = Format::sniff(&data) else {
        // Name a format the image crate recognises but Conveyor does not read.
        let known = ImageReader::new(Cursor::new(&data[..]))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.format());
        return Err(match known {
            Some(f) => JobError::failed(
                ErrorKind::Unsupported,
                format!(
                    "{} images are not supported",
                    f.extensions_str()
                        .first()
                        .copied()
                        .unwrap_or("these")
                        .to_ascii_uppercase()
                ),
            ),
            None => JobError::failed(
                ErrorKind::NotImage,
                "not an image: the content is not a format Conveyor reads",
            ),
        });
    };
    if !format.spec().decodes {
        return Err(JobError::failed(
            ErrorKind::Unsupported,
            format!("Conveyor does not read {} images", format.label()),
        ));
    }
    let Some(image_format) = format.spec().image else {
        return decode_own(&data, format, limits, admit);
    };
    // The decoder borrows the bytes; the block ends the borrow so an animation can keep them.
    let (image, orientation, icc, exif, (w, h), warnings) = {
        let reader = ImageReader::with_format(Cursor::new(&data[..]), image_format);
        let truncated_jpeg = || {
            JobError::failed(
                ErrorKind::Truncated,
                "truncated JPEG data: the file ends before the image does",
            )
        };
        // A JPEG cut short may break inside its headers; say what really happened.
        let fail = |e: ImageError| {
            if format == Format::Jpeg && !jpeg_is_complete(&data) {
                truncated_jpeg()
            } else {
                describe(&e, format, &data, limits)
            }
        };
        let mut decoder = reader.into_decoder().map_err(fail)?;
        let (w, h) = decoder.dimensions();
        check_size(w, h, limits)?;
        // After the size check, so a lying header is reported for what it claims.
        if format == Format::Jpeg && !jpeg_is_complete(&data) {
            return Err(truncated_jpeg());
        }
        // Every scan of a progressive JPEG walks every block: thousands of scans make a small
        // file cost minutes. Refused before any decoder starts, at the limit the full-size
        // decoder (zune-jpeg) already keeps.
        if format == Format::Jpeg && jpeg_is_progressive(&data) {
            let scans = jpeg_scans(&data, MAX_JPEG_SCANS + 1);
            if scans > MAX_JPEG_SCANS {
                return Err(JobError::failed(
                    ErrorKind::Corrupt,
                    format!(
                        "corrupt JPEG data: the progressive image has more than \
                         {MAX_JPEG_SCANS} scans (a real photo has about 10)"
                    ),
                ));
            }
        }
        let mut warnings = Vec::new();
        let icc = decoder.icc_profile().unwrap_or_else(|e| {
            warnings.push(format!("ICC profile unreadable, dropped: {e}"));
            None
        });
        let exif = decoder.exif_metadata().unwrap_or(None);
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let shrunk = if format == Format::Jpeg {
            // The largest scale any output needs; none (an output at full size) means full.
            let progressive = jpeg_is_progressive(&data);
            let eighths = shrink
                .iter()
                .map(|s| dct_eighths((w, h), orientation, s, progressive))
                .max()
                .unwrap_or(8);
            // Planes only for one output that takes them, upright (they are not rotated) and
            // resized whole (a fill's crop goes through the image).
            let planes = matches!(shrink, [one] if one.planes && one.before.is_none() && {
                let g = one.spec.geometry(w, h, one.allow_upscale);
                g.output == g.scaled
            }) && orientation == Orientation::NoTransforms;
            // Conveyor's own scaled decoder first. The turbo build takes only progressive JPEGs
            // from it (less memory, better pixels; baseline ones are libjpeg-turbo's) and never
            // planes (docs/BENCHMARKS.md).
            let turbo = cfg!(feature = "turbo");
            let (done, admitted) = if eighths < 8 && (progressive || !turbo) {
                let want = (scaled(w, eighths), scaled(h, eighths));
                match decode_jpeg_scaled(&data, want, eighths, planes && !turbo, admit) {
                    Scaled::Done(result) => (Some(result?), true),
                    Scaled::Admitted => (None, true),
                    Scaled::NotRead => (None, false),
                }
            } else {
                (None, false)
            };
            match done {
                Some(pixels) => Some(pixels),
                None => decode_jpeg_at(&data, (w, h), eighths, admitted, admit).transpose()?,
            }
        } else {
            None
        };
        let image = match shrunk {
            Some(pixels) => pixels,
            None => {
                admit(decoder.total_bytes().saturating_mul(3) + data.len() as u64)?;
                let mut decode_limits = Limits::default();
                decode_limits.max_alloc = Some(limits.max_alloc);
                decoder.set_limits(decode_limits).map_err(fail)?;
                Pixels::Image(DynamicImage::from_decoder(decoder).map_err(fail)?)
            }
        };
        (image, orientation, icc, exif, (w, h), warnings)
    };
    let animated = super::animation::is_animated(&data, format);
    Ok(Decoded {
        animation: animated.then_some(data),
        image,
        orientation,
        icc,
        exif,
        format,
        source_size: oriented((w, h), orientation),
        warnings,
        resized: false,
    })
}

/// Refuses a header's size over the pixel limit, or with no pixels.
fn check_size(w: u32, h: u32, limits: &DecodeLimits) -> Result<(), JobError> {
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "{w}x{h} is over the {}-megapixel limit",
                limits.max_pixels / 1_000_000
            ),
        ));
    }
    if w == 0 || h == 0 {
        return Err(JobError::failed(
            ErrorKind::Corrupt,
            format!("{w}x{h}: the image has no pixels"),
        ));
    }
    Ok(())
}

/// [`decode`] for the formats with their own modules: the size and pixel limits from the
/// headers, memory admitted for the planes and the RGB copy, then the decode. The container's
/// transforms are applied by the decoder, so the orientation left to apply is none.
fn decode_own(
    data: &[u8],
    format: Format,
    limits: &DecodeLimits,
    admit: &mut dyn FnMut(u64) -> Result<(), JobError>,
) -> Result<Decoded, JobError> {
    let (w, h) = codec::size(data, format)?;
    check_size(w, h, limits)?;
    // What the decode really allocates (a crop or a grid can declare less), checked and
    // admitted before it starts.
    let pixels = codec::decoded_pixels(data, format, (w, h))?;
    if pixels > limits.max_pixels {
        return Err(JobError::failed(
            ErrorKind::TooLarge,
            format!(
                "{w}x{h} is cropped from pictures of {:.1} megapixels, over the {}-megapixel limit",
                pixels as f64 / 1e6,
                limits.max_pixels / 1_000_000
            ),
        ));
    }
    // Planes as 32-bit samples (colour and alpha), then RGBA at up to 16 bits, then the copies
    // orienting and resizing make.
    admit(pixels.saturating_mul(16 + 8 * 2) + data.len() as u64)?;
    let picture = codec::decode(data, format, limits.max_pixels)?;
    let size = (picture.image.width(), picture.image.height());
    Ok(Decoded {
        image: Pixels::Image(picture.image),
        orientation: Orientation::NoTransforms,
        icc: picture.icc,
        exif: picture.exif,
        format,
        source_size: size,
        warnings: Vec::new(),
        animation: None,
        resized: false,
    })
}

/// Decodes an encoded image held in memory (an output read back), whatever decodes `format`.
pub fn decode_bytes(bytes: &[u8], format: Format) -> Result<DynamicImage, JobError> {
    match format.spec().image {
        Some(f) => image::load_from_memory_with_format(bytes, f)
            .map_err(|e| describe(&e, format, bytes, &DecodeLimits::default())),
        None => codec::decode(bytes, format, DecodeLimits::default().max_pixels).map(|p| p.image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_completeness_is_judged_after_the_first_scan() {
        // SOI, an APP0 segment containing FFD9 (must not count), SOS, data, no EOI.
        let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00];
        data.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34]);
        assert!(!jpeg_is_complete(&data));
        data.extend_from_slice(&[0xFF, 0xD9]);
        assert!(jpeg_is_complete(&data));
        assert!(!jpeg_is_complete(&[0xFF, 0xD8]));
    }

    fn jpeg_encoder_jpeg(progressive: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        encoder
            .encode(&[128; 64 * 48 * 3], 64, 48, jpeg_encoder::ColorType::Rgb)
            .expect("encode");
        out
    }

    #[test]
    fn progressive_frames_are_told_from_sequential_ones() {
        let p = jpeg_encoder_jpeg(true);
        assert!(jpeg_is_progressive(&p));
        let baseline = jpeg_encoder_jpeg(false);
        assert!(!jpeg_is_progressive(&baseline));
        // Segments before the frame (an APP1 here, after fill bytes) are walked past.
        let mut with_app = vec![0xFF, 0xD8, 0xFF, 0xFF, 0xE1, 0x00, 0x06, b'E', b'x', 0, 0];
        with_app.extend_from_slice(&p[2..]);
        assert!(jpeg_is_progressive(&with_app));
        // Not a JPEG, cut before the frame, a length running off the end.
        assert!(!jpeg_is_progressive(b"not a jpeg"));
        let frame = p.windows(2).position(|w| w == [0xFF, 0xC2]).expect("SOF2");
        assert!(!jpeg_is_progressive(&p[..frame]));
        assert!(!jpeg_is_progressive(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]));
    }
}
