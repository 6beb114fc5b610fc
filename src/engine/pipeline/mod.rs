//! The pipeline: a plain function of one job. decode ▶ orient ▶ resize ▶ encode ▶ atomic write.
//! No threads, no channels, no UI; progress goes through a callback.

pub mod budget;
pub mod decode;
pub mod encode;
pub mod metadata;
pub mod resize;
#[cfg(feature = "turbo")]
pub mod turbo;
pub mod write;

use crate::engine::event::{Converted, Stage};
use crate::engine::pool::{Flow, JobError, Processor};
use crate::engine::recipe::{OnExist, Recipe};
use crate::engine::scan::Job;

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

fn step(progress: &mut dyn FnMut(Stage, f32) -> Flow, stage: Stage) -> Result<(), JobError> {
    match progress(stage, 0.0) {
        Flow::Continue => Ok(()),
        Flow::Cancel => Err(JobError::Cancelled),
    }
}

impl Processor for Pipeline {
    fn process(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
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
            charge = self.budget.acquire(bytes, &mut || {
                progress(Stage::Decode, 0.0) == Flow::Continue
            });
            charge.as_ref().map(drop).ok_or(JobError::Cancelled)
        })?;
        let warnings = decoded.warnings;

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
        let carry = encode::Carry::new(recipe, decoded.icc, decoded.exif);
        let bytes = encode::encode(&image, job.format, recipe, &carry)?;
        drop(image);

        step(progress, Stage::Write)?;
        let staged = write::stage(&job.output, &bytes)?;
        // Last boundary: a cancel here drops the staged file, so nothing partial is left.
        step(progress, Stage::Write)?;
        staged.commit(&job.output, recipe.on_exist == OnExist::Overwrite)?;
        Ok(Converted {
            output_bytes: bytes.len() as u64,
            width,
            height,
            warnings,
        })
    }
}
