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

use crate::engine::job::{Converted, Flow, Job, JobError, Processor, Stage};
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
}

impl Pipeline {
    /// A pipeline for `recipe` with default limits.
    pub fn new(recipe: Recipe) -> Pipeline {
        Pipeline {
            recipe,
            limits: DecodeLimits::default(),
            budget: MemoryBudget::new(budget::default_limit()),
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
    /// Writes the output atomically: staged beside it, then renamed into place.
    fn write(
        &self,
        job: &Job,
        bytes: &[u8],
        progress: &mut dyn FnMut(Stage) -> Flow,
    ) -> Result<(), JobError> {
        step(progress, Stage::Write)?;
        let staged = write::stage(&job.output, bytes)?;
        // Last boundary: a cancel here drops the staged file, so nothing partial is left.
        step(progress, Stage::Write)?;
        staged.commit(&job.output, self.recipe.on_exist == OnExist::Overwrite)
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
        let (bytes, frames) = animation::resize_gif(data, g, canvas, recipe.filter, &mut || {
            step(progress, Stage::Resize)
        })?;
        if frames < 2 {
            warnings.push("the animation had only one readable frame".into());
        }
        self.write(job, &bytes, progress)?;
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
        let mut charge = None;
        let shrink = recipe.resize.map(|spec| decode::ShrinkFor {
            spec,
            allow_upscale: recipe.allow_upscale,
        });
        let decoded = decode::decode(&job.input, &self.limits, shrink, &mut |bytes| {
            // A second estimate (a fallback decoder) replaces the first rather than adding to it.
            charge = None;
            charge = self
                .budget
                .acquire(bytes, &mut || progress(Stage::Decode) == Flow::Continue);
            charge.as_ref().map(drop).ok_or(JobError::Cancelled)
        })?;
        let mut warnings = decoded.warnings;
        if let Some(data) = &decoded.animation {
            if job.format == decoded.format && job.format.spec().animated_out {
                return self.animated_gif(job, data, decoded.source_size, progress, warnings);
            }
            warnings.push(format!(
                "animated {}: only the first frame was converted ({} is written as a still)",
                decoded.format.label(),
                job.format.label()
            ));
        }

        step(progress, Stage::Resize)?;
        let image = resize::orient(decoded.image, decoded.orientation);
        let source = decoded.source_size;
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
        let carry = metadata::Carry::new(recipe, decoded.icc, decoded.exif);
        let bytes = encode::encode(&image, job.format, recipe, &carry)?;
        drop(image);

        self.write(job, &bytes, progress)?;
        Ok(Converted {
            output_bytes: bytes.len() as u64,
            width,
            height,
            warnings,
        })
    }
}
