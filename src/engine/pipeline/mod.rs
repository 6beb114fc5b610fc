//! The pipeline: a plain function of one job. decode ▶ orient ▶ resize ▶ encode ▶ atomic write.
//! No threads, no channels, no UI; progress goes through a callback.

pub mod animation;
pub mod budget;
pub mod decode;
pub mod encode;
pub mod metadata;
pub mod resize;
pub mod tiff_exif;
#[cfg(feature = "turbo")]
pub mod turbo;
pub mod write;

use std::sync::Arc;

use crate::engine::job::{Converted, Flow, Job, JobError, Processor, Stage};
use crate::engine::journal::{self, JournalWriter};
use crate::engine::recipe::{Geometry, OnExist, Recipe};

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
        job: &Job,
        data: &[u8],
        canvas: (u32, u32),
        progress: &mut dyn FnMut(Stage) -> Flow,
        mut warnings: Vec<String>,
    ) -> Result<Converted, JobError> {
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
        self.write(job, &bytes, progress, &mut warnings)?;
        Ok(Converted {
            output_bytes: bytes.len() as u64,
            width: g.output.0,
            height: g.output.1,
            warnings,
        })
    }
}

impl Processor for Pipeline {
    fn process(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage) -> Flow,
    ) -> Result<Converted, JobError> {
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
                return self.animated_gif(job, &data, source, progress, warnings);
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
        let carry = metadata::Carry::new(recipe, icc, exif);
        let bytes = encode::encode(&image, job.format, recipe, &carry)?;
        drop(image);

        self.write(job, &bytes, progress, &mut warnings)?;
        Ok(Converted {
            output_bytes: bytes.len() as u64,
            width,
            height,
            warnings,
        })
    }
}
