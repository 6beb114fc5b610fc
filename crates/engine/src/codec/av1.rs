//! One AV1 still picture decoded by rav1d (the Rust port of dav1d), with one thread.
//!
//! rav1d offers only dav1d's C interface, so this is the one module of Conveyor that needs
//! `unsafe`: every call below follows that interface's contract (settings written by
//! `dav1d_default_settings` before use, a context from `dav1d_open` closed exactly once, a
//! picture read only between a successful `dav1d_get_picture` and its `dav1d_picture_unref`,
//! rows read within the width the picture declares). Nothing unsafe leaves this file: it
//! returns owned planes.
//!
//! rav1d 1.1 can panic on malformed data, and a panic inside its `extern "C"` functions aborts
//! the whole process. So a program that serves untrusted files (the `conveyor` executable)
//! names itself with [`isolate`]: each decode then runs in a child process (`conveyor
//! __decode-av1`, [`helper_main`]) that hands the planes back through a pipe, and a child that
//! dies is that one file's failure. Without [`isolate`] the decode runs in this process.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::ptr::NonNull;
use std::sync::OnceLock;

use rav1d::Dav1dResult;
use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};

/// A decoded picture's planes, one sample per `u16` whatever the bit depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planes {
    /// Width and height of the luma plane.
    pub width: usize,
    /// Height of the luma plane.
    pub height: usize,
    /// 8, 10 or 12.
    pub bit_depth: u32,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (as HEVC numbers them).
    pub chroma_format: u32,
    /// Luma.
    pub y: Vec<u16>,
    /// Cb and Cr (empty for monochrome), `chroma_width` × `chroma_height` each.
    pub cb: Vec<u16>,
    /// Cr.
    pub cr: Vec<u16>,
    /// Width of the chroma planes.
    pub chroma_width: usize,
    /// Height of the chroma planes.
    pub chroma_height: usize,
    /// The sequence header's colour description: primaries, transfer, matrix, full range.
    pub cicp: (u16, u16, u16, bool),
}

/// Why a picture could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Av1Error {
    /// The decoder rejected the data (the dav1d error number).
    #[error("the AV1 data is not valid (decoder error {0})")]
    Invalid(i32),
    /// The data ended before a whole picture.
    #[error("the AV1 data ends before a whole picture")]
    NoPicture,
    /// The decoder could not start.
    #[error("the AV1 decoder could not start (error {0})")]
    Open(i32),
    /// A layout or depth this module does not read.
    #[error("unsupported AV1 picture: {0}")]
    Unsupported(String),
    /// The decoder's process died on this data.
    #[error("the AV1 decoder stopped on this data ({0}); the file is damaged")]
    Crashed(String),
}

/// The executable that decodes in a child process (see the module's text).
static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// The argument that makes the executable a decode helper.
pub const HELPER_ARG: &str = "__decode-av1";

/// Runs every later AV1 decode in a child process: `exe __decode-av1`, which must call
/// [`helper_main`]. The first call wins.
pub fn isolate(exe: PathBuf) {
    let _ = HELPER.set(exe);
}

/// The child's side: reads the limit and the OBUs from standard input, writes the planes (or
/// the error) to standard output. Returns the process's exit code.
pub fn helper_main() -> u8 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() || input.len() < 8 {
        return 2;
    }
    let (limit, obus) = input.split_at(8);
    let mut word = [0; 8];
    word.copy_from_slice(limit);
    let bytes = match decode_here(obus, u64::from_le_bytes(word)) {
        Ok(planes) => to_bytes(&planes),
        Err(e) => error_bytes(&e),
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
        return 2;
    }
    0
}

fn to_bytes(p: &Planes) -> Vec<u8> {
    let mut out = b"PLAN".to_vec();
    for v in [p.width, p.height, p.chroma_width, p.chroma_height] {
        out.extend_from_slice(&(v as u64).to_le_bytes());
    }
    out.extend_from_slice(&p.bit_depth.to_le_bytes());
    out.extend_from_slice(&p.chroma_format.to_le_bytes());
    for v in [p.cicp.0, p.cicp.1, p.cicp.2, u16::from(p.cicp.3)] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for plane in [&p.y, &p.cb, &p.cr] {
        out.extend(plane.iter().flat_map(|v| v.to_le_bytes()));
    }
    out
}

fn error_bytes(e: &Av1Error) -> Vec<u8> {
    let (kind, code, text) = match e {
        Av1Error::Invalid(c) => (1u8, *c, String::new()),
        Av1Error::NoPicture => (2, 0, String::new()),
        Av1Error::Open(c) => (3, *c, String::new()),
        Av1Error::Unsupported(t) => (4, 0, t.clone()),
        Av1Error::Crashed(t) => (5, 0, t.clone()),
    };
    let mut out = b"FAIL".to_vec();
    out.push(kind);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Reads what [`helper_main`] wrote.
fn from_bytes(data: &[u8]) -> Result<Planes, Av1Error> {
    let broken = || Av1Error::Crashed("its answer was cut short".into());
    if let Some(rest) = data.strip_prefix(b"FAIL") {
        let kind = *rest.first().ok_or_else(broken)?;
        let code = rest
            .get(1..5)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(broken)?;
        let text = String::from_utf8_lossy(rest.get(5..).unwrap_or_default()).into_owned();
        return Err(match kind {
            1 => Av1Error::Invalid(code),
            2 => Av1Error::NoPicture,
            3 => Av1Error::Open(code),
            4 => Av1Error::Unsupported(text),
            _ => Av1Error::Crashed(text),
        });
    }
    let rest = data.strip_prefix(b"PLAN").ok_or_else(broken)?;
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], Av1Error> {
        let out = rest.get(at..at + n).ok_or_else(broken)?;
        at += n;
        Ok(out)
    };
    let mut size = || -> Result<usize, Av1Error> {
        let b = take(8)?;
        let mut w = [0; 8];
        w.copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(w)).map_err(|_| broken())
    };
    let (width, height, chroma_width, chroma_height) = (size()?, size()?, size()?, size()?);
    let mut word = || -> Result<u32, Av1Error> {
        let b = take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (bit_depth, chroma_format) = (word()?, word()?);
    let mut half = || -> Result<u16, Av1Error> {
        let b = take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    };
    let cicp = (half()?, half()?, half()?, half()? != 0);
    let mut plane = |n: usize| -> Result<Vec<u16>, Av1Error> {
        let n = n.checked_mul(2).ok_or_else(broken)?;
        Ok(take(n)?
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect())
    };
    let y = plane(width * height)?;
    let cb = plane(chroma_width * chroma_height)?;
    let cr = plane(chroma_width * chroma_height)?;
    Ok(Planes {
        width,
        height,
        bit_depth,
        chroma_format,
        y,
        cb,
        cr,
        chroma_width,
        chroma_height,
        cicp,
    })
}

/// Decodes in the helper process named by [`isolate`].
fn decode_in_child(exe: &PathBuf, obus: &[u8], max_pixels: u64) -> Result<Planes, Av1Error> {
    let crashed = |what: String| Av1Error::Crashed(what);
    let mut child = Command::new(exe)
        .arg(HELPER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| crashed(format!("cannot start it: {e}")))?;
    // Write from another thread: a child that answers before reading everything must not
    // leave both sides waiting on full pipes.
    let mut stdin = child.stdin.take();
    let input = [&max_pixels.to_le_bytes()[..], obus].concat();
    let writer = std::thread::spawn(move || {
        if let Some(pipe) = stdin.as_mut() {
            let _ = pipe.write_all(&input);
        }
    });
    let mut answer = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut answer);
    }
    let _ = writer.join();
    let status = child.wait().map_err(|e| crashed(format!("lost it: {e}")))?;
    if !status.success() {
        return Err(crashed(match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "it was killed by a signal".to_owned(),
        }));
    }
    from_bytes(&answer)
}

fn would_block(r: Dav1dResult) -> bool {
    std::io::Error::from_raw_os_error(-r.0).kind() == std::io::ErrorKind::WouldBlock
}

/// Closes the context when dropped.
struct Context(Option<Dav1dContext>);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed only here.
        unsafe { dav1d_close(NonNull::new(&mut self.0)) };
    }
}

/// Unreferences data still held when dropped.
struct Data(Dav1dData);

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: the data came from `dav1d_data_create`; unref of consumed data is a no-op.
        unsafe { dav1d_data_unref(NonNull::new(&mut self.0)) };
    }
}

/// Unreferences the picture when dropped.
struct Picture(Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was filled by `dav1d_get_picture` (or is the default, empty one).
        unsafe { dav1d_picture_unref(NonNull::new(&mut self.0)) };
    }
}

/// Decodes the first picture of `obus` (an AV1 image item: a sequence header and one frame)
/// with one thread, in the helper process when [`isolate`] named one. `max_pixels` refuses
/// larger frames before their memory is taken.
pub fn decode(obus: &[u8], max_pixels: u64) -> Result<Planes, Av1Error> {
    match HELPER.get() {
        Some(exe) => decode_in_child(exe, obus, max_pixels),
        None => decode_here(obus, max_pixels),
    }
}

/// [`decode`] in this process.
fn decode_here(obus: &[u8], max_pixels: u64) -> Result<Planes, Av1Error> {
    if obus.is_empty() {
        return Err(Av1Error::NoPicture);
    }
    let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
    // SAFETY: `dav1d_default_settings` writes every field of the settings.
    let mut settings = unsafe {
        dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
        settings.assume_init()
    };
    // One thread and no frame queue: N workers use N cores.
    settings.n_threads = 1;
    settings.max_frame_delay = 1;
    settings.all_layers = 0;
    settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    let mut context = Context(None);
    // SAFETY: both pointers are valid for the call; the settings are initialised.
    let r = unsafe { dav1d_open(NonNull::new(&mut context.0), NonNull::new(&mut settings)) };
    if r.0 != 0 {
        return Err(Av1Error::Open(r.0));
    }
    let Some(ctx) = context.0 else {
        return Err(Av1Error::Open(0));
    };
    let mut data = Data(Dav1dData::default());
    // SAFETY: `dav1d_data_create` writes `data` and returns a buffer of `obus.len()` bytes.
    let buffer = unsafe { dav1d_data_create(NonNull::new(&mut data.0), obus.len()) };
    if buffer.is_null() {
        return Err(Av1Error::Open(0));
    }
    // SAFETY: `buffer` holds `obus.len()` writable bytes that `obus` does not overlap.
    unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };
    let mut picture = Picture(Dav1dPicture::default());
    // A still picture comes out after at most a few rounds; the bound only guards a decoder
    // that neither takes data nor gives a picture.
    for _ in 0..64 {
        if data.0.sz > 0 {
            // SAFETY: the context is open; `data` is valid to read and write.
            let r = unsafe { dav1d_send_data(Some(ctx), NonNull::new(&mut data.0)) };
            if r.0 != 0 && !would_block(r) {
                return Err(Av1Error::Invalid(r.0));
            }
        }
        // SAFETY: the context is open; `picture` is valid to write.
        let r = unsafe { dav1d_get_picture(Some(ctx), NonNull::new(&mut picture.0)) };
        if r.0 == 0 {
            return planes(&picture.0);
        }
        if !would_block(r) {
            return Err(Av1Error::Invalid(r.0));
        }
        if data.0.sz == 0 {
            // Everything was sent and the decoder still wants more: the data ends early.
            // One more round lets a decoder that drains on the next call give its picture.
            // SAFETY: as above.
            let r = unsafe { dav1d_get_picture(Some(ctx), NonNull::new(&mut picture.0)) };
            if r.0 == 0 {
                return planes(&picture.0);
            }
            return Err(Av1Error::NoPicture);
        }
    }
    Err(Av1Error::NoPicture)
}

/// Copies the planes of a decoded picture out.
fn planes(p: &Dav1dPicture) -> Result<Planes, Av1Error> {
    let width = usize::try_from(p.p.w).unwrap_or(0);
    let height = usize::try_from(p.p.h).unwrap_or(0);
    let bit_depth = u32::try_from(p.p.bpc).unwrap_or(0);
    if width == 0 || height == 0 {
        return Err(Av1Error::Unsupported(format!(
            "{}x{} picture",
            p.p.w, p.p.h
        )));
    }
    if !matches!(bit_depth, 8 | 10 | 12) {
        return Err(Av1Error::Unsupported(format!("{bit_depth}-bit samples")));
    }
    let (chroma_format, sub_x, sub_y) = match p.p.layout {
        DAV1D_PIXEL_LAYOUT_I400 => (0, 1, 1),
        DAV1D_PIXEL_LAYOUT_I420 => (1, 2, 2),
        DAV1D_PIXEL_LAYOUT_I422 => (2, 2, 1),
        _ => (3, 1, 1),
    };
    let wide = bit_depth > 8;
    let read = |plane: usize, stride: isize, w: usize, h: usize| -> Result<Vec<u16>, Av1Error> {
        let Some(base) = p.data[plane] else {
            return Err(Av1Error::Unsupported("a plane is missing".into()));
        };
        let row_bytes = if wide { w * 2 } else { w };
        if stride.unsigned_abs() < row_bytes {
            return Err(Av1Error::Unsupported("a plane's rows overlap".into()));
        }
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            let offset = stride * y as isize;
            // SAFETY: dav1d allocates `h` rows of `stride` bytes from `base`, each holding at
            // least `row_bytes` bytes of samples (checked against the stride above); the
            // picture stays referenced while this runs.
            let row = unsafe {
                std::slice::from_raw_parts(
                    base.as_ptr().cast::<u8>().cast_const().offset(offset),
                    row_bytes,
                )
            };
            if wide {
                out.extend(
                    row.chunks_exact(2)
                        .map(|b| u16::from_ne_bytes([b[0], b[1]])),
                );
            } else {
                out.extend(row.iter().map(|&b| u16::from(b)));
            }
        }
        Ok(out)
    };
    let y = read(0, p.stride[0], width, height)?;
    let (chroma_width, chroma_height) = if chroma_format == 0 {
        (0, 0)
    } else {
        (width.div_ceil(sub_x), height.div_ceil(sub_y))
    };
    let (cb, cr) = if chroma_format == 0 {
        (Vec::new(), Vec::new())
    } else {
        (
            read(1, p.stride[1], chroma_width, chroma_height)?,
            read(2, p.stride[1], chroma_width, chroma_height)?,
        )
    };
    let cicp = match p.seq_hdr {
        // SAFETY: the sequence header lives as long as the picture references it.
        Some(h) => {
            let h = unsafe { h.as_ref() };
            (
                u16::try_from(h.pri).unwrap_or(2),
                u16::try_from(h.trc).unwrap_or(2),
                u16::try_from(h.mtrx).unwrap_or(2),
                h.color_range != 0,
            )
        }
        None => (2, 2, 2, false),
    };
    Ok(Planes {
        width,
        height,
        bit_depth,
        chroma_format,
        y,
        cb,
        cr,
        chroma_width,
        chroma_height,
        cicp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_and_errors_cross_the_pipe_unchanged() {
        let planes = Planes {
            width: 3,
            height: 2,
            bit_depth: 10,
            chroma_format: 1,
            y: vec![0, 1, 2, 1023, 512, 7],
            cb: vec![5, 6],
            cr: vec![8, 9],
            chroma_width: 2,
            chroma_height: 1,
            cicp: (1, 13, 6, true),
        };
        assert_eq!(from_bytes(&to_bytes(&planes)), Ok(planes.clone()));
        let cut = to_bytes(&planes);
        assert!(matches!(
            from_bytes(&cut[..cut.len() - 1]),
            Err(Av1Error::Crashed(_))
        ));
        for e in [
            Av1Error::Invalid(-22),
            Av1Error::NoPicture,
            Av1Error::Unsupported("4:4:0".into()),
        ] {
            assert_eq!(from_bytes(&error_bytes(&e)), Err(e));
        }
        assert!(from_bytes(b"").is_err());
    }
}
