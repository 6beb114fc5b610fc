//! The preview before the run: one input converted in memory with the current recipe (before
//! and after, with the output's size, saving, quality and score), and an estimate of the whole
//! batch from a sample of its files. Both follow recipe changes after a short pause (so dragging
//! a slider does not start a conversion per frame), run on background threads, and never block
//! a frame.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use super::task::Task;
use crate::engine::batch::LazyStore;
use crate::engine::preview::{self, Estimate, Trial};
use crate::engine::recipe::Recipe;

/// How long the recipe must stay unchanged before the preview converts again.
pub const SETTLE: Duration = Duration::from_millis(300);
/// How many files the estimate converts.
pub const ESTIMATE_SAMPLE: usize = 8;
/// The largest side of the preview's images (the output's own size up to this: 100 % is real).
const PREVIEW_SIDE: u32 = 2048;

/// How the preview is looked at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialView {
    /// At the output's own pixels (100 %) rather than fitted to the panel.
    pub actual: bool,
    /// One image split by a movable line instead of two side by side.
    pub swipe: bool,
    /// Where the swipe line is, 0–1 across the image.
    pub split: f32,
    /// The current drag holds the swipe line (not the picture).
    pub moving_split: bool,
    /// The image point at the viewports' top-left corner at 100 % (shared by both sides).
    pub pan: egui::Vec2,
}

impl Default for TrialView {
    fn default() -> Self {
        TrialView {
            actual: false,
            swipe: false,
            split: 0.5,
            moving_split: false,
            pan: egui::Vec2::ZERO,
        }
    }
}

/// A finished preview with its textures.
pub struct Shown {
    /// What was converted and how it came out (pixels moved into the textures).
    pub trial: Trial,
    /// The source, scaled to the output's size.
    pub before: egui::TextureHandle,
    /// The output as decoded back.
    pub after: egui::TextureHandle,
    /// The input it shows.
    pub path: PathBuf,
}

/// How a preview conversion came out: converted, or why not with the source alone (when it
/// could be read) to show as Before.
enum Attempt {
    Converted(Trial),
    Failed(String, Option<crate::engine::preview::Thumbnail>),
}

/// A preview conversion in flight: the input, the recipe, and the work.
type Running = (PathBuf, Recipe, Task<Result<Attempt, String>>);

/// What an estimate is made for: every output's recipe, the workers, the file count.
type EstimateKey = (Vec<Recipe>, usize, usize);

/// The preview's and the estimate's state.
#[derive(Default)]
pub struct Trials {
    /// The input the user picked to preview (else the first).
    pub pick: Option<PathBuf>,
    /// The last finished preview, or why it failed.
    pub shown: Option<Result<Shown, String>>,
    /// When the last preview failed: the source alone, to show as Before.
    pub before_only: Option<egui::TextureHandle>,
    /// How it is looked at.
    pub view: TrialView,
    /// The last finished estimate (`None` inside when no sample converted).
    pub estimate: Option<Option<Estimate>>,
    running: Option<Running>,
    done_for: Option<(PathBuf, Recipe)>,
    waiting: Option<((PathBuf, Recipe), Instant)>,
    estimating: Option<Task<Option<Estimate>>>,
    estimated_for: Option<EstimateKey>,
    estimate_waiting: Option<(EstimateKey, Instant)>,
}

impl Trials {
    /// Whether a preview conversion is running.
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Whether the estimate is being computed.
    pub fn estimating(&self) -> bool {
        self.estimating.is_some() || self.estimate_waiting.is_some()
    }
}

/// What the preview and the estimate follow, read from the window's state once a frame.
pub struct Wanted<'a> {
    /// Object storage, for inputs in it (each previewed from a temporary copy).
    pub storage: &'a Arc<LazyStore>,
    /// Whether they may start work (no batch, nothing else busy).
    pub idle: bool,
    /// The input the preview shows ([`None`]: no input yet).
    pub path: Option<PathBuf>,
    /// The recipe the preview shows (the open output card's).
    pub recipe: Recipe,
    /// Every output's recipe, the worker count and the input's files, for the estimate.
    pub recipes: Vec<Recipe>,
    /// The worker count.
    pub workers: usize,
    /// The input's images with their sizes.
    pub files: &'a [(PathBuf, u64)],
}

impl Trials {
    /// Keeps the preview and the estimate in step with `wanted`. Once a frame; `repaint` is
    /// woken when background work ends.
    pub fn poll(&mut self, ctx: &egui::Context, repaint: Option<&egui::Context>, wanted: Wanted) {
        let now = Instant::now();
        // Finished work first.
        if let Some((path, recipe, task)) = &mut self.running
            && let Some(result) = task.poll()
        {
            let (path, recipe) = (path.clone(), recipe.clone());
            self.running = None;
            self.before_only = None;
            self.shown = Some(match result.and_then(|r| r) {
                Ok(Attempt::Converted(t)) => Ok(shown(ctx, t, path.clone())),
                Ok(Attempt::Failed(e, before)) => {
                    self.before_only = before.map(|mut b| texture(ctx, &mut b, "trial-before"));
                    Err(e)
                }
                Err(e) => Err(e),
            });
            self.done_for = Some((path, recipe));
        }
        if let Some(task) = &mut self.estimating
            && let Some(result) = task.poll()
        {
            self.estimating = None;
            self.estimate = Some(result.ok().flatten());
        }
        if !wanted.idle {
            return;
        }
        let Some(path) = wanted.path else {
            return;
        };
        // The preview: once the recipe has settled, and one conversion at a time.
        let want = (path, wanted.recipe);
        if self.done_for.as_ref() != Some(&want)
            && self.running.as_ref().map(|r| (&r.0, &r.1)) != Some((&want.0, &want.1))
        {
            let since = match &self.waiting {
                Some((w, t)) if *w == want => *t,
                _ => {
                    self.waiting = Some((want.clone(), now));
                    now
                }
            };
            let settled = now.duration_since(since) >= SETTLE;
            if settled && self.running.is_none() {
                self.waiting = None;
                let (path, recipe) = want;
                let (p, r) = (path.clone(), recipe.clone());
                let storage = Arc::clone(wanted.storage);
                let task = Task::spawn("preview", repaint.cloned(), move || {
                    let store = storage.for_paths([p.as_path()])?;
                    let copy = preview::local(&p, store.as_deref())?;
                    Ok(match preview::trial(copy.path(), &r, PREVIEW_SIDE) {
                        Ok(t) => Attempt::Converted(t),
                        Err(e) => {
                            Attempt::Failed(e, preview::source(copy.path(), PREVIEW_SIDE).ok())
                        }
                    })
                });
                self.running = Some((path, recipe, task));
            } else if !settled {
                ctx.request_repaint_after(SETTLE.saturating_sub(now.duration_since(since)));
            }
        }
        // The estimate: the same, for every output's recipe, the worker count and the input.
        let files = wanted.files;
        let key = (wanted.recipes, wanted.workers, files.len());
        if self.estimated_for.as_ref() != Some(&key) && !files.is_empty() {
            let since = match &self.estimate_waiting {
                Some((k, t)) if *k == key => *t,
                _ => {
                    self.estimate_waiting = Some((key.clone(), now));
                    now
                }
            };
            let settled = now.duration_since(since) >= SETTLE * 2;
            if settled && self.estimating.is_none() {
                self.estimate_waiting = None;
                let (recipes, workers, _) = key.clone();
                // Copied only when an estimate starts, never per frame.
                let files = files.to_vec();
                let storage = Arc::clone(wanted.storage);
                self.estimating = Some(Task::spawn("estimate", repaint.cloned(), move || {
                    let store = storage
                        .for_paths(files.iter().map(|(p, _)| p.as_path()))
                        .ok()
                        .flatten();
                    preview::estimate(&files, &recipes, workers, ESTIMATE_SAMPLE, store.as_deref())
                }));
                self.estimated_for = Some(key);
            } else if !settled {
                ctx.request_repaint_after((SETTLE * 2).saturating_sub(now.duration_since(since)));
            }
        }
    }
}

/// Uploads a picture's pixels as a texture (moving them out).
fn texture(
    ctx: &egui::Context,
    t: &mut crate::engine::preview::Thumbnail,
    name: &str,
) -> egui::TextureHandle {
    let size = [t.preview_width as usize, t.preview_height as usize];
    let image = egui::ColorImage::from_rgba_unmultiplied(size, &t.rgba);
    t.rgba = Vec::new();
    ctx.load_texture(name, image, egui::TextureOptions::NEAREST)
}

/// Uploads a finished preview's pixels as textures.
fn shown(ctx: &egui::Context, mut trial: Trial, path: PathBuf) -> Shown {
    let before = texture(ctx, &mut trial.before, "trial-before");
    let after = texture(ctx, &mut trial.after, "trial-after");
    Shown {
        trial,
        before,
        after,
        path,
    }
}
