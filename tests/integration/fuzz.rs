//! Property-based fuzzing of decode → resize → encode for every accepted format: mutated and
//! truncated files must end as a clean per-file error or a valid output, never a panic or a
//! hang; resize geometry must hold for any size and spec. Failing cases proptest finds are
//! kept in `proptest-regressions/` and replayed on every run. `PROPTEST_CASES=20000 cargo test
//! --test integration fuzz::` runs longer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

use conveyor::engine::format::Format;
use conveyor::engine::job::Stage;
use conveyor::engine::job::{Action, Job};
use conveyor::engine::job::{Flow, JobError, Processor};
use conveyor::engine::pipeline::Pipeline;
use conveyor::engine::pipeline::decode::decode_bytes;
use conveyor::engine::recipe::{OutputFormat, Recipe, ResizeSpec};
use image::ImageFormat;
use proptest::prelude::*;

/// One small valid file per accepted input format.
fn seeds() -> &'static Vec<(ImageFormat, Vec<u8>)> {
    static SEEDS: OnceLock<Vec<(ImageFormat, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let rgb = common::photo(23, 17);
        let rgba = common::logo(19, 21);
        vec![
            (ImageFormat::Jpeg, common::encode(&rgb, ImageFormat::Jpeg)),
            (ImageFormat::Png, common::encode(&rgba, ImageFormat::Png)),
            (
                ImageFormat::Png,
                common::encode(&common::deep(9, 7), ImageFormat::Png),
            ),
            (ImageFormat::WebP, common::encode(&rgba, ImageFormat::WebP)),
            (ImageFormat::Gif, common::encode(&rgba, ImageFormat::Gif)),
            (ImageFormat::Bmp, common::encode(&rgb, ImageFormat::Bmp)),
            (ImageFormat::Tiff, common::encode(&rgb, ImageFormat::Tiff)),
            (ImageFormat::Qoi, common::encode(&rgba, ImageFormat::Qoi)),
            // AVIF through the HEIF container reader and rav1d's C interface (the one place
            // with `unsafe`): made by ravif, since the fuzz seeds need no system tool.
            (
                ImageFormat::Avif,
                conveyor::engine::codec::avif::encode(&rgba, 80, false, 8, None, None).unwrap(),
            ),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Set { at: usize, byte: u8 },
    Truncate { keep: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        3 => (any::<usize>(), prop_oneof![Just(0u8), Just(0xFF), Just(0x7F), any::<u8>()]).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        1 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len().max(1);
        match m {
            Mutation::Flip { at, xor } => {
                if let Some(b) = data.get_mut(at % len) {
                    *b ^= xor;
                }
            }
            Mutation::Set { at, byte } => {
                if let Some(b) = data.get_mut(at % len) {
                    *b = *byte;
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

/// Every format Conveyor writes, from the format table.
fn outputs() -> Vec<Format> {
    Format::writable().collect()
}

fn run_pipeline(
    input: &[u8],
    format: Format,
    resize: Option<ResizeSpec>,
) -> Result<PathBuf, String> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("input.img");
    std::fs::write(&path, input).unwrap();
    let output = tmp
        .path()
        .join("out")
        .join(format!("result.{}", format.extension()));
    let job = Job {
        output_index: 0,
        input: path,
        output: output.clone(),
        format,
        input_bytes: input.len() as u64,
        action: Action::Convert,
        note: None,
        replace: false,
        journal: None,
    };
    // As the conveyor executable does: AV1 decodes in a child process, so rav1d's panics on
    // damaged data (which abort a process) end that file only.
    conveyor::engine::codec::av1::isolate(PathBuf::from(common::bin()));
    let pipeline = Pipeline::new(Recipe {
        resize,
        format: OutputFormat::To(format),
        ..Recipe::default()
    });
    let result = catch_unwind(AssertUnwindSafe(|| {
        pipeline.process(&job, &mut |_: Stage, _| Flow::Continue)
    }));
    match result {
        Err(_) => Err("panicked".into()),
        Ok(Err(JobError::Cancelled)) => Err("cancelled without a cancel".into()),
        Ok(Err(JobError::Failed(reason))) => {
            let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("out"))
                .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
                .unwrap_or_default();
            if !leftovers.is_empty() {
                return Err(format!("a failed job left {leftovers:?}"));
            }
            if reason.reason.trim().is_empty() {
                return Err("a failure without a reason".into());
            }
            Ok(PathBuf::new())
        }
        Ok(Ok(done)) => {
            let bytes = std::fs::read(&output).map_err(|e| format!("no output: {e}"))?;
            let img =
                decode_bytes(&bytes, format).map_err(|e| format!("output does not decode: {e}"))?;
            if (img.width(), img.height()) != (done.width, done.height) {
                return Err(format!(
                    "reported {}x{} but wrote {}x{}",
                    done.width,
                    done.height,
                    img.width(),
                    img.height()
                ));
            }
            Ok(output)
        }
    }
}

fn resize_spec() -> impl Strategy<Value = Option<ResizeSpec>> {
    let side = 1u32..400;
    prop_oneof![
        Just(None),
        (side.clone(), side.clone()).prop_map(|(w, h)| Some(ResizeSpec::Fit(w, h))),
        (side.clone(), side.clone()).prop_map(|(w, h)| Some(ResizeSpec::Fill(w, h))),
        (side.clone(), side.clone()).prop_map(|(w, h)| Some(ResizeSpec::Exact(w, h))),
        (1u32..300).prop_map(|p| Some(ResizeSpec::Scale(p))),
        side.clone().prop_map(|n| Some(ResizeSpec::Long(n))),
        side.clone().prop_map(|n| Some(ResizeSpec::Short(n))),
        side.clone().prop_map(|n| Some(ResizeSpec::Width(n))),
        side.prop_map(|n| Some(ResizeSpec::Height(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn mutated_inputs_end_cleanly(
        seed in 0usize..9,
        mutations in proptest::collection::vec(mutation(), 1..6),
        out in 0usize..8,
        resize in resize_spec(),
    ) {
        let (_, data) = &seeds()[seed];
        let input = apply(data.clone(), &mutations);
        if let Err(problem) = run_pipeline(&input, outputs()[out % outputs().len()], resize) {
            prop_assert!(false, "{problem}");
        }
    }

    #[test]
    fn every_valid_input_converts_to_every_format(
        seed in 0usize..9,
        out in 0usize..8,
        resize in resize_spec(),
    ) {
        let (_, data) = &seeds()[seed];
        let result = run_pipeline(data, outputs()[out % outputs().len()], resize);
        prop_assert!(matches!(&result, Ok(p) if !p.as_os_str().is_empty()), "{result:?}");
    }

    #[test]
    fn geometry_holds_for_any_size_and_spec(
        w in 1u32..20_000,
        h in 1u32..20_000,
        resize in resize_spec(),
        upscale in any::<bool>(),
    ) {
        let Some(spec) = resize else { return Ok(()) };
        let g = spec.geometry(w, h, upscale);
        prop_assert!(g.output.0 >= 1 && g.output.1 >= 1);
        prop_assert!(g.output.0 <= g.scaled.0 && g.output.1 <= g.scaled.1);
        if !upscale {
            prop_assert!(g.scaled.0 <= w.max(1) && g.scaled.1 <= h.max(1), "{spec} enlarged {w}x{h} to {:?}", g.scaled);
        }
        if let ResizeSpec::Fit(bw, bh) | ResizeSpec::Fill(bw, bh) = spec {
            prop_assert!(g.output.0 <= bw && g.output.1 <= bh, "{spec} of {w}x{h} gave {:?}", g.output);
        }
    }
}
