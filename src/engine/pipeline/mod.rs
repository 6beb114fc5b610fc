//! The pipeline: a plain function of one job. decode ▶ orient ▶ resize ▶ encode ▶ atomic write.
//! No threads, no channels, no UI; progress goes through a callback.

pub mod animation;
pub mod budget;
pub mod decode;
pub mod encode;
pub mod metadata;
pub mod resize;
pub mod target;
pub mod tiff_exif;
#[cfg(feature = "turbo")]
pub mod turbo;
pub mod write;

use std::sync::Arc;

use crate::engine::job::{Converted, Flow, Job, JobError, Processor, Stage};
use crate::engine::journal::{self, JournalWriter};
use crate::engine::recipe::{Geometry, MetadataMode, OnExist, Recipe};
use crate::engine::units::human_bytes;

pub use budget::MemoryBudget;
pub use decode::DecodeLimits;

/// The real image pipeline for one recipe.
#[derive(Debug)]
pub struct Pipeline {
    /// What to do to every image.
    pub recipe: Recipe,
    /// Decode limits.
    pub limits: DecodeLimits,
    /// Image memory all workers share.
    pub budget: MemoryBudget,
    /// Where each output is recorded once durable (none: outputs are not journalled).
    pub journal: Option<Arc<JournalWriter>>,
}

impl Pipeline {
    /// A pipeline for `recipe` with default limits.
    pub fn new(recipe: Recipe) -> Pipeline {
        Pipeline {
            recipe,
            limits: DecodeLimits::default(),
            budget: MemoryBudget::new(budget::default_limit()),
            journal: None,
        }
    }
}

fn step(progress: &mut dyn FnMut(Stage) -> Flow, stage: Stage) -> Result<(), JobError> {
    match progress(stage) {
        Flow::Continue => Ok(()),
        Flow::Cancel => Err(JobError::Cancelled),
    }
}

impl Pipeline {
    /// Writes the output atomically and durably (staged beside it, then renamed into place),
    /// then records it in the journal. A journal that cannot be written costs only a warning:
    /// the output is whole, but a re-run will not know Conveyor made it.
    fn write(
        &self,
        job: &Job,
        bytes: &[u8],
        progress: &mut dyn FnMut(Stage) -> Flow,
        warnings: &mut Vec<String>,
    ) -> Result<(), JobError> {
        step(progress, Stage::Write)?;
        let staged = write::stage(&job.output, bytes)?;
        // Last boundary: a cancel here drops the staged file, so nothing partial is left.
        step(progress, Stage::Write)?;
        let overwrite = job.replace || self.recipe.on_exist == OnExist::Overwrite;
        staged.commit(&job.output, overwrite)?;
        if let (Some(writer), Some(pending)) = (&self.journal, &job.journal) {
            let meta = std::fs::metadata(&job.output);
            let entry = journal::Entry {
                out_bytes: bytes.len() as u64,
                out_mtime: meta.as_ref().ok().and_then(journal::modified),
                ..pending.clone()
            };
            if let Err(e) = writer.record(&entry) {
                warnings.push(format!(
                    "the output is written, but the journal {} could not be updated ({e}); a \
                     re-run will treat this output as a file not made by Conveyor",
                    writer.path().display()
                ));
            }
        }
        Ok(())
    }

    /// An animation into its own format (GIF → GIF): every frame resized, timing kept.
    fn animated_gif(
        &self,
        data: &[u8],
        canvas: (u32, u32),
        progress: &mut dyn FnMut(Stage) -> Flow,
        mut warnings: Vec<String>,
    ) -> Result<Rendered, JobError> {
        let recipe = &self.recipe;
        step(progress, Stage::Resize)?;
        let g = match recipe.resize {
            Some(spec) => spec.geometry(canvas.0, canvas.1, recipe.allow_upscale),
            None => Geometry {
                scaled: canvas,
                output: canvas,
            },
        };
        let (bytes, frames) = animation::resize_gif(
            data,
            g,
            canvas,
            recipe.filter,
            self.limits.max_pixels,
            &mut || step(progress, Stage::Resize),
        )?;
        if frames < 2 {
            warnings.push("the animation had only one readable frame".into());
        }
        Ok(Rendered {
            bytes,
            quality: None,
            score: None,
            width: g.output.0,
            height: g.output.1,
            warnings,
        })
    }
}

/// A job's output made in memory, not yet written: what [`Pipeline::render`] returns.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The output file's bytes.
    pub bytes: Vec<u8>,
    /// The quality the encoder used (lossy outputs).
    pub quality: Option<u8>,
    /// The SSIMULACRA2 score, when a visual target computed it.
    pub score: Option<f64>,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

impl Processor for Pipeline {
    fn process(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage) -> Flow,
    ) -> Result<Converted, JobError> {
        let mut done = self.render(job, progress)?;
        self.write(job, &done.bytes, progress, &mut done.warnings)?;
        Ok(Converted {
            output_bytes: done.bytes.len() as u64,
            quality: done.quality,
            score: done.score,
            width: done.width,
            height: done.height,
            warnings: done.warnings,
        })
    }
}

impl Pipeline {
    /// Everything [`Processor::process`] does but the write: the output's bytes in memory, made
    /// exactly as a batch would make them (a preview runs this on one input).
    pub fn render(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage) -> Flow,
    ) -> Result<Rendered, JobError> {
        let recipe = &self.recipe;
        step(progress, Stage::Decode)?;
        // Charged from the header before the pixels are decoded; held until the job ends.
        let mut charge: Option<budget::Charge<'_>> = None;
        let shrink = recipe.resize.map(|spec| decode::ShrinkFor {
            spec,
            allow_upscale: recipe.allow_upscale,
        });
        let decoded = decode::decode(&job.input, &self.limits, shrink, &mut |bytes| {
            // A later estimate (the header's, a fallback decoder's) replaces the earlier one.
            let mut still_wanted = || progress(Stage::Decode) == Flow::Continue;
            let held = match charge.as_mut() {
                Some(c) => c.resize(bytes, &mut still_wanted),
                None => {
                    charge = self.budget.acquire(bytes, &mut still_wanted);
                    charge.is_some()
                }
            };
            if held {
                Ok(())
            } else {
                Err(JobError::Cancelled)
            }
        })?;
        let decode::Decoded {
            image,
            orientation,
            icc,
            exif,
            format,
            source_size: source,
            mut warnings,
            animation,
        } = decoded;
        if let Some(data) = animation {
            if job.format == format && job.format.spec().animated_out {
                // Only the frames are needed now.
                drop(image);
                return self.animated_gif(&data, source, progress, warnings);
            }
            warnings.push(format!(
                "animated {}: only the first frame was converted ({} is written as a still)",
                format.label(),
                job.format.label()
            ));
        }

        step(progress, Stage::Resize)?;
        let image = resize::orient(image, orientation);
        let image = match recipe.resize {
            Some(spec) => {
                let g = spec.geometry(source.0, source.1, recipe.allow_upscale);
                resize::resize_to(image, g, source, recipe.filter)
            }
            None => image,
        };

        step(progress, Stage::Encode)?;
        let (width, height) = (image.width(), image.height());
        let image = encode::prepare(image, job.format, recipe.background);
        let had_exif = exif.is_some();
        let carry = metadata::Carry::new(recipe, icc, exif);
        let chosen = target::encode_for(&image, job.format, recipe, &carry, &mut || {
            step(progress, Stage::Encode)
        })?;
        drop(image);
        warnings.extend(chosen.warnings);
        let (mut bytes, mut quality, mut score) = (chosen.bytes, chosen.quality, chosen.score);
        if recipe.smaller_only
            && job.format == format
            && (width, height) == source
            && bytes.len() as u64 >= job.input_bytes
            && let Some(original) = self.original_if_smaller(job, &bytes, had_exif, &mut warnings)
        {
            bytes = original;
            quality = None;
            score = None;
        }
        Ok(Rendered {
            bytes,
            quality,
            score,
            width,
            height,
            warnings,
        })
    }
}

impl Pipeline {
    /// `--smaller-only`: the original's bytes when the converted file (`converted`, same format
    /// and size) is not smaller, unless `--metadata strip` has something in the original to
    /// remove. Says which it kept.
    fn original_if_smaller(
        &self,
        job: &Job,
        converted: &[u8],
        had_exif: bool,
        warnings: &mut Vec<String>,
    ) -> Option<Vec<u8>> {
        let original = match std::fs::read(&job.input) {
            Ok(data) => data,
            Err(e) => {
                warnings.push(format!(
                    "--smaller-only: cannot read the original again ({e})"
                ));
                return None;
            }
        };
        if converted.len() < original.len() {
            return None;
        }
        let sizes = format!(
            "converted it is {}, the original {}",
            human_bytes(converted.len() as u64),
            human_bytes(original.len() as u64)
        );
        if self.recipe.metadata == MetadataMode::Strip
            && (had_exif || metadata::carries_strippable(&original, job.format))
        {
            warnings.push(format!(
                "kept the converted file although it is not smaller ({sizes}): the original \
                 carries metadata that --metadata strip removes"
            ));
            return None;
        }
        warnings.push(format!(
            "kept the original's bytes: the converted file was not smaller ({sizes})"
        ));
        Some(original)
    }
}
