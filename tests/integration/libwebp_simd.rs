//! libwebp's SSE4.1 code is compiled on its own and chosen at run time
//! (`third_party/libwebp-sys/build.rs`): an SSE4.1 CPU gets it, an older x86-64 CPU gets the
//! SSE2 code, and both write the same bytes.
//!
//! This is a test binary of its own because it swaps libwebp's process-wide CPU probe
//! (`VP8GetCPUInfo`, which libwebp provides for exactly this) and its function pointers; no
//! other test may encode while it does.
#![cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};

use crate::common;

type CpuInfo = Option<unsafe extern "C" fn(c_int) -> c_int>;

unsafe extern "C" {
    static mut VP8GetCPUInfo: CpuInfo;
    static VP8EncQuantizeBlock: *const c_void;
    fn VP8EncDspInit();
    fn VP8EncDspInitSSE2();
    fn VP8EncDspInitSSE41();
}

/// libwebp's `kSSE2` in `enum CPUFeature` (src/dsp/cpu.h).
const K_SSE2: c_int = 0;

/// A CPU probe for an x86-64 CPU with SSE2 and nothing newer.
unsafe extern "C" fn sse2_only(feature: c_int) -> c_int {
    c_int::from(feature == K_SSE2)
}

fn quantizer() -> *const c_void {
    // SAFETY: libwebp's global function pointer, read while no encoder runs (own binary).
    unsafe { std::ptr::read_volatile(&raw const VP8EncQuantizeBlock) }
}

fn encode(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out: *mut u8 = std::ptr::null_mut();
    // SAFETY: `rgb` holds w*h*3 bytes with stride w*3; libwebp allocates `out`, freed below.
    let len = unsafe {
        libwebp_sys::WebPEncodeRGB(
            rgb.as_ptr(),
            w as c_int,
            h as c_int,
            (w * 3) as c_int,
            80.0,
            &mut out,
        )
    };
    assert!(len > 0 && !out.is_null(), "libwebp failed to encode");
    // SAFETY: libwebp returned `len` bytes at `out`.
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    // SAFETY: `out` came from libwebp's allocator.
    unsafe { libwebp_sys::WebPFree(out.cast()) };
    bytes
}

#[test]
fn libwebp_chooses_its_sse41_code_at_run_time_and_writes_the_same_bytes_without_it() {
    let (w, h) = (192, 128);
    let rgb = common::photo(w as u32, h as u32).to_rgb8().into_raw();

    // As shipped: libwebp's own probe of this CPU.
    let native = encode(&rgb, w, h);
    // SAFETY: libwebp's initialisers only assign its function pointers.
    unsafe { VP8EncDspInit() };
    let chosen = quantizer();
    unsafe { VP8EncDspInitSSE2() };
    let sse2 = quantizer();
    unsafe { VP8EncDspInitSSE41() };
    let sse41 = quantizer();
    assert_ne!(
        sse2, sse41,
        "the SSE4.1 initialiser installed nothing: the *_sse41.c files were not built with SSE4.1"
    );
    if std::arch::is_x86_feature_detected!("sse4.1") {
        assert_eq!(
            chosen, sse41,
            "this CPU has SSE4.1 but libwebp did not choose its SSE4.1 code"
        );
    } else {
        assert_eq!(
            chosen, sse2,
            "this CPU lacks SSE4.1 but libwebp chose SSE4.1 code"
        );
    }

    // An SSE2-only CPU: libwebp re-runs its initialisers when the probe changes.
    // SAFETY: no other thread uses libwebp in this binary; the probe is restored below.
    let original = unsafe { std::ptr::replace(&raw mut VP8GetCPUInfo, Some(sse2_only)) };
    let without = encode(&rgb, w, h);
    let chosen_without = quantizer();
    // SAFETY: as above.
    unsafe { std::ptr::write(&raw mut VP8GetCPUInfo, original) };
    let again = encode(&rgb, w, h);

    assert_eq!(
        chosen_without, sse2,
        "a CPU without SSE4.1 must get the SSE2 code"
    );
    assert_eq!(
        without, native,
        "the SSE2 and SSE4.1 code must write the same bytes"
    );
    assert_eq!(again, native);
    assert_eq!(&native[..4], b"RIFF");
    assert_eq!(&native[8..12], b"WEBP");
}
