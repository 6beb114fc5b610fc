//! The pipeline: a plain function of one job. decode ▶ orient ▶ resize ▶ encode ▶ atomic write.
//! No threads, no channels, no UI; progress goes through a callback.

pub mod animation;
pub mod budget;
pub mod decode;
pub mod encode;
/// The shrink-on-load JPEG decoder (the `conveyor-jpeg-scaled` crate). The turbo build
/// shrinks baseline JPEGs through libjpeg-turbo instead and progressive ones through this.
pub use conveyor_jpeg_scaled as jpeg_scaled;
pub mod metadata;
pub mod mozjpeg;
mod pixels;
mod png_rows;
pub mod png_small;
pub mod prefetch;
pub mod resize;
pub mod target;
pub mod tiff_exif;
#[cfg(feature = "turbo")]
pub mod turbo;
pub mod write;

use std::sync::Arc;

use crate::job::{Converted, ErrorKind, Flow, Job, JobError, Processor, Stage};
use crate::journal::{self, JournalWriter};
use crate::recipe::{Geometry, MetadataMode, OnExist, Recipe};
use crate::remote::{Location, Store};
use crate::units::human_bytes;

pub use budget::MemoryBudget;
pub use decode::DecodeLimits;
pub use prefetch::Prefetch;

/// The real image pipeline for a recipe of one or more outputs.
#[derive(Debug)]
pub struct Pipeline {
    /// What to do to every image: one recipe per output ([`Job::output_index`] picks one).
    /// Never empty.
    outputs: Vec<Recipe>,
    /// Decode limits.
    pub limits: DecodeLimits,
    /// Image memory all workers share.
    pub budget: MemoryBudget,
    /// Where each output is recorded once durable (none: outputs are not journalled).
    pub journal: Option<Arc<JournalWriter>>,
    /// Object storage, for `s3://` inputs and outputs (none: such a job fails).
    pub store: Option<Arc<dyn Store>>,
    /// Inputs in object storage fetched ahead of the workers (none: each when its turn comes).
    pub prefetch: Option<Arc<Prefetch>>,
}

impl Pipeline {
    /// A pipeline for `recipe` with default limits.
    pub fn new(recipe: Recipe) -> Pipeline {
        Pipeline::with_outputs(vec![recipe])
    }

    /// A pipeline making one output per recipe from each input (decoded once), with default
    /// limits. An empty list means the default recipe.
    pub fn with_outputs(mut outputs: Vec<Recipe>) -> Pipeline {
        if outputs.is_empty() {
            outputs.push(Recipe::default());
        }
        Pipeline {
            outputs,
            limits: DecodeLimits::default(),
            budget: MemoryBudget::new(budget::default_limit()),
            journal: None,
            store: None,
            prefetch: None,
        }
    }
}

impl Pipeline {
    /// The recipes, one per output.
    pub fn outputs(&self) -> &[Recipe] {
        &self.outputs
    }

    /// The recipe of `job`'s output.
    fn recipe(&self, job: &Job) -> &Recipe {
        self.outputs
            .get(job.output_index)
            .unwrap_or(&self.outputs[0])
    }
}

fn step(progress: &mut dyn FnMut(Stage, f32) -> Flow, stage: Stage) -> Result<(), JobError> {
    match progress(stage, 0.0) {
        Flow::Continue => Ok(()),
        Flow::Cancel => Err(JobError::Cancelled),
    }
}

impl Pipeline {
    /// Writes the output atomically and durably: staged beside it, recorded in the journal with
    /// the staged file's size and time, then renamed into place (a rename keeps both). A kill at
    /// any moment leaves either no output (the journal line names a file that never appeared,
    /// and matches nothing) or an output its line vouches for; never an output the journal does
    /// not know. A rename that fails withdraws the line. A journal that cannot be written costs
    /// only a warning: the output is whole, but a re-run will not know Conveyor made it.
    fn write(
        &self,
        job: &Job,
        bytes: &[u8],
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
        warnings: &mut Vec<String>,
    ) -> Result<(), JobError> {
        step(progress, Stage::Write)?;
        if let Some(object) = Location::parse(&job.output) {
            return self.put(job, object, bytes, warnings);
        }
        let staged = write::stage(&job.output, bytes)?;
        // Last boundary: a cancel here drops the staged file, so nothing partial is left.
        step(progress, Stage::Write)?;
        let recipe = self.recipe(job);
        let overwrite = job.replace || recipe.on_exist == OnExist::Overwrite;
        if recipe.keep_dates
            && let Err(e) = staged.keep_date_of(&job.input)
        {
            warnings.push(format!(
                "the output is written, but its date could not be set to the input's ({})",
                crate::job::io_words(&e)
            ));
        }
        let mut recorded = None;
        if let (Some(writer), Some(pending)) = (
            &self.journal,
            job.journal.as_ref().and_then(|p| p.entry(job)),
        ) {
            let entry = journal::Entry {
                out_bytes: bytes.len() as u64,
                out_mtime: staged.metadata().ok().as_ref().and_then(journal::modified),
                ..pending
            };
            match writer.record(&entry) {
                Ok(()) => recorded = Some((writer, entry)),
                // The disk filled (or turned read-only) between the output and its journal
                // line: the batch's failure, not this file's. The staged output is dropped, so
                // the retry writes it again with its line.
                Err(e)
                    if matches!(
                        ErrorKind::of_io(&e),
                        ErrorKind::DiskFull | ErrorKind::Permission
                    ) =>
                {
                    return Err(JobError::systemic(
                        ErrorKind::of_io(&e),
                        format!(
                            "cannot update the journal {}: {}",
                            writer.path().display(),
                            crate::job::io_words(&e)
                        ),
                    ));
                }
                Err(e) => warnings.push(format!(
                    "the output is written, but the journal {} could not be updated ({}); a \
                     re-run will treat this output as a file not made by Conveyor",
                    writer.path().display(),
                    crate::job::io_words(&e)
                )),
            }
        }
        if let Err(e) = staged.commit(&job.output, overwrite) {
            if let Some((writer, entry)) = recorded
                && let Err(w) = writer.withdraw(&entry)
            {
                warnings.push(format!(
                    "the journal {} could not withdraw its line for this output ({})",
                    writer.path().display(),
                    crate::job::io_words(&w)
                ));
            }
            return Err(e);
        }
        Ok(())
    }

    /// The object a job names and the store that holds it.
    fn store_for(
        &self,
        object: Result<Location, String>,
    ) -> Result<(Location, &Arc<dyn Store>), JobError> {
        let object = object.map_err(|e| JobError::failed(ErrorKind::Storage, e))?;
        let store = self.store.as_ref().ok_or_else(|| {
            JobError::failed(
                ErrorKind::Storage,
                "object storage is not available in this run",
            )
        })?;
        Ok((object, store))
    }

    /// Writes the output as a whole object (it appears only once complete) carrying its
    /// journal entry in its metadata, then records the entry with the object's entity tag.
    fn put(
        &self,
        job: &Job,
        object: Result<Location, String>,
        bytes: &[u8],
        warnings: &mut Vec<String>,
    ) -> Result<(), JobError> {
        let (object, store) = self.store_for(object)?;
        let entry = job
            .journal
            .as_ref()
            .and_then(|p| p.entry(job))
            .map(|pending| journal::Entry {
                out_bytes: bytes.len() as u64,
                ..pending
            });
        let metadata = entry.as_ref().and_then(journal::metadata_text);
        let etag = store
            .put(&object, bytes, metadata.as_deref())
            .map_err(JobError::storage)?;
        if self.recipe(job).keep_dates {
            warnings
                .push("object storage keeps no file dates; --keep-dates was not applied".into());
        }
        if let (Some(writer), Some(entry)) = (&self.journal, entry) {
            let entry = journal::Entry {
                out_etag: etag,
                ..entry
            };
            if let Err(e) = writer.record(&entry) {
                warnings.push(format!(
                    "the output is written, but the journal {} could not be updated ({e}); a \
                     re-run will read the output's own record instead",
                    writer.path().display()
                ));
            }
        }
        Ok(())
    }

    /// For an input in object storage: a local copy of it (streamed to a temporary file that
    /// is removed when dropped, with the object's time as its modification time) and the jobs
    /// pointed at it. `None` for a local input.
    fn fetch(&self, jobs: &[&Job]) -> Result<Option<(tempfile::TempPath, Vec<Job>)>, JobError> {
        let Some(first) = jobs.first() else {
            return Ok(None);
        };
        let Some(object) = Location::parse(&first.input) else {
            return Ok(None);
        };
        let (object, store) = self.store_for(object)?;
        let local_error = |e: std::io::Error| {
            JobError::failed(
                ErrorKind::of_io(&e),
                format!("cannot make a local copy of {object}: {e}"),
            )
        };
        let copy = match self.prefetch.as_ref().and_then(|p| p.take(&first.input)) {
            Some(fetched) => fetched,
            None => prefetch::fetch(store.as_ref(), &object),
        }
        .map_err(JobError::storage)?;
        if let Some(nanos) = first.journal.as_ref().and_then(|e| e.in_mtime())
            && let Ok(nanos) = u64::try_from(nanos)
        {
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
            std::fs::File::options()
                .write(true)
                .open(&copy)
                .and_then(|f| f.set_modified(when))
                .map_err(local_error)?;
        }
        // The journal records the object, not the copy: its pending entry takes the object's
        // whole path (the plan shares the folder's, which the copy's name would complete).
        let jobs = jobs
            .iter()
            .map(|j| Job {
                input: copy.to_path_buf(),
                journal: j.journal.as_ref().map(|p| p.for_path(&j.input)),
                ..(*j).clone()
            })
            .collect();
        Ok(Some((copy, jobs)))
    }

    /// An animation into its own format (GIF → GIF): every frame resized, timing kept.
    fn animated_gif(
        &self,
        recipe: &Recipe,
        data: &[u8],
        canvas: (u32, u32),
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
        mut warnings: Vec<String>,
    ) -> Result<Rendered, JobError> {
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
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Converted, JobError> {
        let mut result = None;
        self.process_all(
            &[job],
            &mut |_, stage, at| progress(stage, at),
            &mut |_, r| {
                result = Some(r);
            },
        );
        result.unwrap_or_else(|| {
            Err(JobError::failed(
                ErrorKind::Panic,
                "internal error: no result",
            ))
        })
    }

    fn process_all(
        &self,
        jobs: &[&Job],
        progress: &mut dyn FnMut(usize, Stage, f32) -> Flow,
        done: &mut dyn FnMut(usize, Result<Converted, JobError>),
    ) {
        // A fetch can take a while: a cancel before it is heard first (a local input's decode
        // hears it in its own first step).
        let remote = jobs
            .first()
            .is_some_and(|j| crate::remote::is_remote(&j.input));
        if remote && progress(0, Stage::Decode, 0.0) == Flow::Cancel {
            for i in 0..jobs.len() {
                done(i, Err(JobError::Cancelled));
            }
            return;
        }
        // An input in object storage is read from a local copy, removed after its outputs.
        let (_copy, local) = match self.fetch(jobs) {
            Ok(Some((copy, local))) => (Some(copy), local),
            Ok(None) => (None, Vec::new()),
            Err(e) => {
                for i in 0..jobs.len() {
                    done(i, Err(e.clone()));
                }
                return;
            }
        };
        let local: Vec<&Job> = local.iter().collect();
        let jobs = if local.is_empty() { jobs } else { &local };
        self.render_all(jobs, progress, &mut |i, rendered, progress| {
            let result = rendered.and_then(|mut r| {
                self.write(
                    jobs[i],
                    &r.bytes,
                    &mut |stage, at| progress(i, stage, at),
                    &mut r.warnings,
                )?;
                Ok(Converted {
                    output_bytes: r.bytes.len() as u64,
                    quality: r.quality,
                    score: r.score,
                    width: r.width,
                    height: r.height,
                    warnings: r.warnings,
                })
            });
            done(i, result);
        });
    }
}

/// Receives each output of [`Pipeline::render_all`] in order, with the progress callback.
type Sink<'a> =
    dyn FnMut(usize, Result<Rendered, JobError>, &mut dyn FnMut(usize, Stage, f32) -> Flow) + 'a;

impl Pipeline {
    /// Everything [`Processor::process`] does but the write: the output's bytes in memory, made
    /// exactly as a batch would make them (a preview runs this on one input).
    pub fn render(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Rendered, JobError> {
        let mut result = None;
        self.render_all(
            &[job],
            &mut |_, stage, at| progress(stage, at),
            &mut |_, r, _| {
                result = Some(r);
            },
        );
        result.unwrap_or_else(|| {
            Err(JobError::failed(
                ErrorKind::Panic,
                "internal error: no result",
            ))
        })
    }

    /// Renders every job of one input (its outputs, in order) from one decode, giving each
    /// result to `sink` as it is made. A decode failure is every output's failure; a cancel
    /// ends the rest as cancelled.
    pub fn render_all(
        &self,
        jobs: &[&Job],
        progress: &mut dyn FnMut(usize, Stage, f32) -> Flow,
        sink: &mut Sink<'_>,
    ) {
        if jobs.is_empty() {
            return;
        }
        let decoded = match self.decode_for(jobs, &mut |stage, at| progress(0, stage, at)) {
            Ok(decoded) => decoded,
            Err(e) => {
                for i in 0..jobs.len() {
                    sink(i, Err(e.clone()), progress);
                }
                return;
            }
        };
        let (decoded, charge) = decoded;
        let decode::Decoded {
            image,
            orientation,
            icc,
            exif,
            format,
            source_size: source,
            warnings,
            animation,
            resized,
        } = decoded;
        let turned = orientation != image::metadata::Orientation::NoTransforms;
        let image = match image {
            decode::Pixels::Image(image) => {
                decode::Pixels::Image(resize::orient(image, orientation))
            }
            planes => planes,
        };
        let mut image = Some(image);
        let mut cancelled = false;
        for (i, job) in jobs.iter().enumerate() {
            if cancelled {
                sink(i, Err(JobError::Cancelled), progress);
                continue;
            }
            let last = i + 1 == jobs.len();
            // The last output takes the decoded image; the others work on a copy.
            let own = if last { image.take() } else { image.clone() };
            let Some(own) = own else {
                sink(i, Err(JobError::Cancelled), progress);
                continue;
            };
            let input = Source {
                format,
                size: source,
                icc: icc.clone(),
                exif: exif.clone(),
                warnings: warnings.clone(),
                animation: animation.as_deref(),
                resized,
                turned,
            };
            let result =
                self.render_output(job, own, input, &mut |stage, at| progress(i, stage, at));
            cancelled = matches!(result, Err(JobError::Cancelled));
            sink(i, result, progress);
        }
        drop(charge);
    }

    /// Reads and decodes the input of `jobs` once, at the scale the largest output needs,
    /// charging the memory budget first; the charge is held until the outputs are made.
    fn decode_for(
        &self,
        jobs: &[&Job],
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<(decode::Decoded, Option<budget::Charge<'_>>), JobError> {
        step(progress, Stage::Decode)?;
        let recipes: Vec<&Recipe> = jobs.iter().map(|j| self.recipe(j)).collect();
        // Shrink-on-load only when every output resizes; then at the largest scale any needs.
        let shrink: Vec<decode::ShrinkFor> = recipes
            .iter()
            .zip(jobs)
            .map(|(r, job)| {
                // Edits before the resize: the scale is chosen for what they leave, when they
                // do the same at any scale; otherwise the picture is decoded whole.
                let before = r
                    .edits
                    .changes_geometry_before_resize()
                    .then(|| Arc::new(r.edits.clone()));
                if before.is_some() && !r.edits.scale_free_before_resize() {
                    return None;
                }
                r.resize.map(|spec| decode::ShrinkFor {
                    spec,
                    allow_upscale: r.allow_upscale,
                    filter: r.filter,
                    planes: takes_planes(r, job.format),
                    before,
                })
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        // Charged from the header before the pixels are decoded; held until the job ends.
        let mut charge: Option<budget::Charge<'_>> = None;
        let decoded = decode::decode(&jobs[0].input, &self.limits, &shrink, &mut |bytes| {
            // A later estimate (the header's, a fallback decoder's) replaces the earlier one.
            let mut still_wanted = || progress(Stage::Decode, 0.0) == Flow::Continue;
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
        Ok((decoded, charge))
    }

    /// One output from the decoded (and oriented) `image`.
    fn render_output(
        &self,
        job: &Job,
        image: decode::Pixels,
        src: Source<'_>,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Rendered, JobError> {
        let recipe = self.recipe(job);
        let Source {
            format,
            size: source,
            icc,
            exif,
            mut warnings,
            animation,
            resized,
            turned,
        } = src;
        if let Some(data) = animation {
            if job.format == format && job.format.spec().animated_out {
                // Only the frames are needed now.
                drop(image);
                return self.animated_gif(recipe, data, source, progress, warnings);
            }
            warnings.push(format!(
                "animated {}: only the first frame was converted ({} is written as a still)",
                format.label(),
                job.format.label()
            ));
        }

        step(progress, Stage::Resize)?;
        let geometry = match recipe.resize {
            Some(spec) if !resized => Some(spec.geometry(source.0, source.1, recipe.allow_upscale)),
            _ => None,
        };
        let had_exif = exif.is_some();
        // What a text's tokens are filled in from: the photo's EXIF (as decoded), its file's
        // time where that has no date.
        let photo = if recipe.edits.needs_photo() {
            let mut photo = exif
                .as_deref()
                .map(crate::photo::Photo::from_exif)
                .unwrap_or_default();
            if photo.date.is_none() {
                photo.date = crate::photo::modified(&job.input);
            }
            photo
        } else {
            crate::photo::Photo::default()
        };
        let mut carry = metadata::Carry::new(recipe, icc, exif);
        // A JPEG's planes become the WebP's planes. The decode gives planes only to a lone
        // output that takes them (`takes_planes`), resized whole, from an upright 4:2:0 JPEG.
        let planar = match (&image, geometry) {
            (decode::Pixels::Planes(planes), Some(g)) => {
                resize::ycbcr420_to(planes, g.output, recipe.filter)
            }
            _ => None,
        };
        let (chosen, width, height) = if let Some(planar) = planar {
            drop(image);
            step(progress, Stage::Encode)?;
            carry.set_size(planar.width, planar.height);
            let bytes = encode::encode_webp_ycbcr(
                &planar,
                recipe.quality,
                recipe.effort,
                &carry,
                &mut |at| progress(Stage::Encode, at),
            )?;
            let chosen = target::Chosen {
                bytes,
                quality: Some(recipe.quality),
                encodes: 1,
                ..target::Chosen::default()
            };
            (chosen, planar.width, planar.height)
        } else {
            let image = image.into_image()?;
            // The edits before the resize, the resize (from what they left), the rest.
            let (before, after) = recipe.edits.around_resize();
            let facts = crate::name::Facts {
                stem: job.input.file_stem().unwrap_or_default(),
                ext: job.input.extension().unwrap_or_default(),
                date: photo.date,
                camera: photo.camera.as_deref(),
                ..crate::name::Facts::default()
            };
            let edit = |edits, image| {
                crate::edit::EditList::apply_within(
                    edits,
                    image,
                    recipe.background,
                    &facts,
                    self.limits.max_pixels,
                )
                .map_err(|why| JobError::failed(crate::job::ErrorKind::Edit, why))
            };
            let image = if before.is_empty() {
                match geometry {
                    Some(g) => resize::resize_to(image, g, source, recipe.filter),
                    None => image,
                }
            } else {
                let image = edit(before, image)?;
                // The resize's target comes from what the edits leave of the whole picture
                // (the pixels may be a smaller decode of it: shrink-on-load).
                let size = if recipe.edits.scale_free_before_resize() {
                    recipe.edits.size_before_resize(source)
                } else {
                    (image.width(), image.height())
                };
                match recipe.resize {
                    Some(spec) => resize::resize_to(
                        image,
                        spec.geometry(size.0, size.1, recipe.allow_upscale),
                        size,
                        recipe.filter,
                    ),
                    None => image,
                }
            };
            let image = edit(after, image)?;
            step(progress, Stage::Encode)?;
            let (width, height) = (image.width(), image.height());
            let image = encode::prepare(image, job.format, recipe.background);
            carry.set_size(width, height);
            let chosen = target::encode_for(&image, job.format, recipe, &carry, &mut |at| {
                progress(Stage::Encode, at)
            })?;
            (chosen, width, height)
        };
        warnings.extend(chosen.warnings);
        let (mut bytes, mut quality, mut score) = (chosen.bytes, chosen.quality, chosen.score);
        // Kept only when nothing changed the pixels' layout: a turned image's original would
        // keep its orientation tag, which outputs promise to have applied.
        // A palette asked for changes the pixels: never the original's.
        if recipe.keeps_originals()
            && !turned
            && recipe.edits.is_empty()
            && !(format == crate::format::Format::Png && recipe.png_colors.is_some())
            && job.format == format
            && (width, height) == source
            && bytes.len() as u64 >= job.input_bytes
            && let Some(original) =
                self.original_if_smaller(recipe, job, &bytes, had_exif, &mut warnings)
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

/// Whether an output in `format` can be made from a JPEG's YCbCr planes: lossy WebP (which
/// stores 4:2:0 YUV) at the recipe's quality, without a size or visual target (those search
/// over encodes of the RGB image).
fn takes_planes(recipe: &Recipe, format: crate::format::Format) -> bool {
    format == crate::format::Format::Webp
        && recipe.is_lossy(format)
        && recipe.max_size.is_none()
        && recipe.target_score.is_none()
        && recipe.edits.is_empty()
}

/// What one decode gives every output besides the pixels.
struct Source<'a> {
    format: crate::format::Format,
    size: (u32, u32),
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    warnings: Vec<String>,
    animation: Option<&'a [u8]>,
    /// The pixels are already this output's size and crop.
    resized: bool,
    /// The pixels were turned or mirrored to stand upright (an orientation tag or property).
    turned: bool,
}

impl Pipeline {
    /// The original's bytes when the converted file (`converted`, same format and size) is
    /// not smaller (the default; `--reencode` turns it off), unless `--metadata strip` or
    /// `strip-location` has something in the original to remove. Says which it kept.
    fn original_if_smaller(
        &self,
        recipe: &Recipe,
        job: &Job,
        converted: &[u8],
        had_exif: bool,
        warnings: &mut Vec<String>,
    ) -> Option<Vec<u8>> {
        let original = match std::fs::read(&job.input) {
            Ok(data) => data,
            Err(e) => {
                warnings.push(format!(
                    "converted (not smaller than the original, which could not be read again to \
                     keep: {})",
                    crate::job::io_words(&e)
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
        // Metadata to remove (all of it, or a location that may be in it) is a reason to
        // re-encode: the original's bytes would carry it out.
        if recipe.metadata != MetadataMode::Keep
            && (had_exif || metadata::carries_strippable(&original, job.format))
        {
            warnings.push(format!(
                "kept the converted file although it is not smaller ({sizes}): the original \
                 carries metadata that the recipe removes"
            ));
            return None;
        }
        warnings.push(format!(
            "kept as it was: re-encoding in the same format and size did not make it smaller \
             ({sizes})"
        ));
        Some(original)
    }
}

/// The tests' image distance, shared with the integration tests.
#[cfg(test)]
#[path = "../../../../tests/common/psnr.rs"]
mod psnr;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::job::Action;
    use crate::recipe::{OutputFormat, ResizeSpec};
    use image::imageops::FilterType;

    /// Saturated colours that change every few tens of pixels, photo-like (no near-Nyquist
    /// detail): a chroma or range mistake shows as a large error.
    fn colourful(w: u32, h: u32) -> image::RgbImage {
        image::ImageBuffer::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let wave = |p: f32, q: f32| ((fx / p).sin() * (fy / q).cos() + 1.0) * 0.5;
            image::Rgb([
                (255.0 * wave(61.0, 37.0)) as u8,
                (255.0 * (0.7 * wave(151.0, 97.0) + 0.3 * wave(23.0, 29.0))) as u8,
                (255.0 * wave(43.0, 71.0)) as u8,
            ])
        })
    }

    /// A baseline JPEG from jpeg-encoder (not Conveyor's encoder).
    fn jpeg(px: &image::RgbImage, sampling: jpeg_encoder::SamplingFactor) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 95);
        encoder.set_sampling_factor(sampling);
        // Chroma as the average of the pixels it spans (centred, as JFIF says), not the top-left.
        encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
        let (w, h) = (px.width() as u16, px.height() as u16);
        encoder
            .encode(px.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn webp_job(input: &std::path::Path, bytes: u64) -> Job {
        Job {
            output_index: 0,
            input: input.to_path_buf(),
            output: input.with_file_name("out"),
            format: Format::Webp,
            input_bytes: bytes,
            action: Action::Convert,
            note: None,
            replace: false,
            journal: None,
        }
    }

    /// A lossy WebP encode (through the planes from a JPEG, through RGB from a PNG) reports how
    /// far it is, so a worker's bar moves through the longest stage; a cancel during the
    /// encode stops it there and leaves no file.
    #[test]
    fn a_webp_encode_reports_its_progress_and_stops_on_a_cancel() {
        // Big enough for a 1/2-scale JPEG decode, which hands out the planes.
        let source = colourful(1601, 1201);
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(source.clone())
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let jpg = jpeg(&source, jpeg_encoder::SamplingFactor::R_4_2_0);
        let pipeline = Pipeline::new(Recipe {
            resize: Some(ResizeSpec::Fit(601, 601)),
            format: OutputFormat::To(Format::Webp),
            ..Recipe::default()
        });
        for (name, bytes) in [("in.jpg", jpg), ("in.png", png)] {
            let tmp = tempfile::tempdir().unwrap();
            let input = tmp.path().join(name);
            std::fs::write(&input, &bytes).unwrap();
            let job = webp_job(&input, bytes.len() as u64);
            let mut heard = Vec::new();
            pipeline
                .process(&job, &mut |stage, done| {
                    heard.push((stage.index(), done));
                    Flow::Continue
                })
                .unwrap();
            assert!(job.output.is_file(), "{name}");
            assert!(
                heard.windows(2).all(|p| p[0] <= p[1]),
                "{name}: went back: {heard:?}"
            );
            let encode = Stage::Encode.index();
            assert!(
                heard
                    .iter()
                    .any(|&(s, d)| s == encode && d > 0.2 && d < 0.8),
                "{name}: no report from inside the encode: {heard:?}"
            );

            std::fs::remove_file(&job.output).unwrap();
            let stopped = pipeline.process(&job, &mut |stage, done| {
                if stage == Stage::Encode && done >= 0.3 {
                    Flow::Cancel
                } else {
                    Flow::Continue
                }
            });
            assert!(
                matches!(stopped, Err(JobError::Cancelled)),
                "{name}: {stopped:?}"
            );
            let left: Vec<_> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, [std::ffi::OsString::from(name)], "{name}");
        }
    }

    #[test]
    fn a_jpeg_becomes_lossy_webp_through_its_planes_as_faithfully_as_through_rgb() {
        use jpeg_encoder::SamplingFactor;
        for sampling in [
            SamplingFactor::R_4_2_0,
            SamplingFactor::R_4_2_2,
            SamplingFactor::R_4_4_0,
            SamplingFactor::R_4_4_4,
        ] {
            through_planes_and_rgb(sampling);
        }
    }

    fn through_planes_and_rgb(sampling: jpeg_encoder::SamplingFactor) {
        let tmp = tempfile::tempdir().unwrap();
        let source = colourful(1601, 1201);
        let jpeg = jpeg(&source, sampling);
        let input = tmp.path().join("in.jpg");
        std::fs::write(&input, &jpeg).unwrap();
        let spec = ResizeSpec::Fit(601, 601);
        let recipe = Recipe {
            resize: Some(spec),
            format: OutputFormat::To(Format::Webp),
            quality: 95,
            ..Recipe::default()
        };
        // The decode hands out the planes only when the output asks for them.
        let shrink = |planes| decode::ShrinkFor {
            spec,
            allow_upscale: false,
            filter: recipe.filter,
            planes,
            before: None,
        };
        let limits = DecodeLimits::default();
        let decoded = |planes| {
            decode::decode(&input, &limits, &[shrink(planes)], &mut |_| Ok(()))
                .unwrap()
                .image
        };
        // Only 4:2:0 JPEGs take this route (the others measured better through RGB); the turbo
        // build decodes through libjpeg-turbo and keeps the RGB route.
        #[cfg(not(feature = "turbo"))]
        assert_eq!(
            matches!(decoded(true), decode::Pixels::Planes(_)),
            matches!(sampling, jpeg_encoder::SamplingFactor::R_4_2_0),
            "{sampling:?}"
        );
        assert!(matches!(decoded(false), decode::Pixels::Image(_)));

        // The original picture (before JPEG) resized with Lanczos3: a decoder's chroma
        // upsampling is an interpretation the reference should not share with one route.
        let g = spec.geometry(1601, 1201, false);
        let reference = image::DynamicImage::ImageRgb8(source.clone())
            .resize_exact(g.output.0, g.output.1, FilterType::Lanczos3)
            .to_rgb8();
        let render = |recipe: Recipe| {
            let job = webp_job(&input, jpeg.len() as u64);
            let done = Pipeline::new(recipe)
                .render(&job, &mut |_, _| Flow::Continue)
                .unwrap();
            assert_eq!((done.width, done.height), g.output);
            // Read back by image-webp, a decoder independent of libwebp.
            let back =
                image::load_from_memory_with_format(&done.bytes, image::ImageFormat::WebP).unwrap();
            assert_eq!((back.width(), back.height()), g.output);
            psnr::psnr(&back, &image::DynamicImage::ImageRgb8(reference.clone()))
        };
        let planar = render(recipe.clone());
        // A size limit the first encode meets: the same output made through RGB.
        let rgb = render(Recipe {
            max_size: Some(1 << 30),
            ..recipe
        });
        eprintln!("{sampling:?}: through the planes {planar:.2} dB, through RGB {rgb:.2} dB");
        assert!(
            planar > 34.0,
            "{sampling:?}: through the planes: {planar:.2} dB"
        );
        assert!(
            planar > rgb - 0.3,
            "{sampling:?}: planes {planar:.2} dB, RGB {rgb:.2} dB"
        );
    }

    #[test]
    fn a_fill_crop_is_not_made_from_planes() {
        let tmp = tempfile::tempdir().unwrap();
        let jpeg = jpeg(&colourful(800, 600), jpeg_encoder::SamplingFactor::R_4_2_0);
        let input = tmp.path().join("in.jpg");
        std::fs::write(&input, &jpeg).unwrap();
        let limits = DecodeLimits::default();
        for (spec, planes) in [
            (ResizeSpec::Fit(200, 200), true),
            (ResizeSpec::Fill(200, 200), false),
        ] {
            let shrink = decode::ShrinkFor {
                spec,
                allow_upscale: false,
                filter: crate::recipe::Filter::Lanczos3,
                planes: true,
                before: None,
            };
            let d = decode::decode(&input, &limits, &[shrink], &mut |_| Ok(())).unwrap();
            let expected = planes && cfg!(not(feature = "turbo"));
            assert_eq!(
                matches!(d.image, decode::Pixels::Planes(_)),
                expected,
                "{spec}"
            );
        }
    }

    #[test]
    fn a_rotated_jpeg_is_not_handed_out_as_planes() {
        let tmp = tempfile::tempdir().unwrap();
        let source = colourful(800, 600);
        // The same 4:2:0 JPEG twice: upright, and with EXIF orientation 6 (displayed 600x800).
        let exif = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        let rotated = {
            let mut out = Vec::new();
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
            encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            encoder.add_exif_metadata(&exif).unwrap();
            encoder
                .encode(source.as_raw(), 800, 600, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            out
        };
        let upright = jpeg(&source, jpeg_encoder::SamplingFactor::R_4_2_0);
        let spec = ResizeSpec::Fit(200, 200);
        let shrink = decode::ShrinkFor {
            spec,
            allow_upscale: false,
            filter: crate::recipe::Filter::Lanczos3,
            planes: true,
            before: None,
        };
        for (name, jpeg, turned) in [("upright", &upright, false), ("rotated", &rotated, true)] {
            let input = tmp.path().join(format!("{name}.jpg"));
            std::fs::write(&input, jpeg).unwrap();
            let d = decode::decode(
                &input,
                &DecodeLimits::default(),
                std::slice::from_ref(&shrink),
                &mut |_| Ok(()),
            )
            .unwrap();
            let expected = !turned && cfg!(not(feature = "turbo"));
            assert_eq!(
                matches!(d.image, decode::Pixels::Planes(_)),
                expected,
                "{name}"
            );
            let recipe = Recipe {
                resize: Some(spec),
                format: OutputFormat::To(Format::Webp),
                ..Recipe::default()
            };
            let done = Pipeline::new(recipe)
                .render(&webp_job(&input, jpeg.len() as u64), &mut |_, _| {
                    Flow::Continue
                })
                .unwrap();
            let size = if turned { (150, 200) } else { (200, 150) };
            assert_eq!((done.width, done.height), size, "{name}");
        }
    }
}
