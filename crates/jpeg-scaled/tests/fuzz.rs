//! The scaled decoder's fuzz target (property-based, run by every `cargo test`): JPEGs made by
//! jpeg-encoder in random sizes, qualities, subsamplings and scan scripts, decoded at 1/2, 1/4
//! and 1/8, must give jpeg-decoder's pixels byte for byte; the same files mutated and truncated
//! must give `None` or a well-formed image, never a panic or a buffer of the wrong size.
//! `PROPTEST_CASES=20000 cargo test -p conveyor-jpeg-scaled --test fuzz` runs longer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use conveyor_jpeg_scaled::{Pixels, Plan};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use proptest::prelude::*;

/// A picture with gradients, edges and noise, so every coefficient band carries something.
fn picture(w: usize, h: usize, channels: usize, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 40) as usize;
            for c in 0..channels {
                let base = match c {
                    0 => x * 200 / w.max(1),
                    1 => y * 200 / h.max(1),
                    _ => 30 + 150 * ((x / 5 + y / 3) % 2),
                };
                out.push((base + noise).min(255) as u8);
            }
        }
    }
    out
}

/// A JPEG of a `w`×`h` picture as jpeg-encoder writes it.
fn jpeg(
    w: u16,
    h: u16,
    quality: u8,
    sampling: SamplingFactor,
    grey: bool,
    progressive: bool,
    seed: u32,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(sampling);
    encoder.set_progressive(progressive);
    let (channels, colour) = if grey {
        (1, ColorType::Luma)
    } else {
        (3, ColorType::Rgb)
    };
    encoder
        .encode(&picture(w.into(), h.into(), channels, seed), w, h, colour)
        .expect("encode");
    out
}

/// jpeg-decoder's pixels when asked for the size `eighths`/8 gives, or `None` when it refuses
/// the data or would decode at another scale: it takes the first of 1/8, 1/4, 1/2 and 1/1 at
/// which either side reaches the request, so a 1x1 image asked for at 1/2 is decoded at 1/8,
/// and a 2x33 one asked for 1x9 comes out 1x5.
fn reference(data: &[u8], eighths: u32) -> Option<Vec<u8>> {
    let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(data));
    d.read_info().ok()?;
    let info = d.info()?;
    let side = |len: u16, e: u32| (u32::from(len) * e).div_ceil(8);
    let (want_w, want_h) = (side(info.width, eighths), side(info.height, eighths));
    let theirs = [1, 2, 4, 8]
        .into_iter()
        .find(|&e| side(info.width, e) >= want_w || side(info.height, e) >= want_h)?;
    if theirs != eighths {
        return None;
    }
    d.scale(want_w as u16, want_h as u16).ok()?;
    d.decode().ok()
}

/// A decoded image is well formed: its buffer holds exactly its pixels.
fn well_formed(p: &Pixels) -> bool {
    (p.channels == 1 || p.channels == 3)
        && p.data.len() == p.width as usize * p.height as usize * usize::from(p.channels)
}

fn sampling() -> impl Strategy<Value = SamplingFactor> {
    prop_oneof![
        Just(SamplingFactor::F_1_1),
        Just(SamplingFactor::F_2_1),
        Just(SamplingFactor::F_1_2),
        Just(SamplingFactor::F_2_2),
    ]
}

fn source() -> impl Strategy<Value = Vec<u8>> {
    (
        1u16..90,
        1u16..90,
        10u8..=100,
        sampling(),
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(w, h, q, s, grey, progressive, seed)| jpeg(w, h, q, s, grey, progressive, seed))
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Truncate { keep: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len().max(1);
        match m {
            Mutation::Flip { at, xor } => {
                if let Some(b) = data.get_mut(at % len) {
                    *b ^= xor;
                }
            }
            Mutation::Truncate { keep } => data.truncate(keep % len),
            Mutation::Insert { at, bytes } => {
                let at = at % len;
                data.splice(at..at, bytes.iter().copied());
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every file it takes, it decodes to jpeg-decoder's pixels.
    #[test]
    fn what_it_decodes_is_jpeg_decoders_pixels(data in source(), shift in 1u32..=3) {
        let eighths = 8 >> shift;
        if let Some(plan) = Plan::read(&data, eighths) {
            let size = plan.size();
            if let Some(pixels) = plan.decode() {
                prop_assert!(well_formed(&pixels));
                prop_assert_eq!((pixels.width, pixels.height), size);
                if let Some(want) = reference(&data, eighths) {
                    prop_assert!(pixels.data == want, "pixels differ from jpeg-decoder's");
                }
            }
        }
    }

    /// Damaged files end as `None` or a well-formed image of the planned size.
    #[test]
    fn damaged_files_never_panic(
        data in source(),
        mutations in prop::collection::vec(mutation(), 1..4),
        shift in 1u32..=3,
    ) {
        let data = mutate(data, &mutations);
        if let Some(plan) = Plan::read(&data, 8 >> shift) {
            let size = plan.size();
            if let Some(pixels) = plan.decode() {
                prop_assert!(well_formed(&pixels));
                prop_assert_eq!((pixels.width, pixels.height), size);
            }
        }
    }
}
