//! The preview before the run: one input converted in memory with the current recipe (before
//! and after, with the output's size, saving, quality and score), and an estimate of the whole
//! batch from a sample of its files. Both follow recipe changes after a short pause (so dragging
//! a slider does not start a conversion per frame), run on background threads, and never block
//! a frame.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

use super::app::ConveyorApp;
use super::task::Task;
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

/// A preview conversion in flight: the input, the recipe, and the work.
type Running = (PathBuf, Recipe, Task<Result<Trial, String>>);

/// What an estimate is made for: every output's recipe, the workers, the file count.
type EstimateKey = (Vec<Recipe>, usize, usize);

/// The preview's and the estimate's state.
#[derive(Default)]
pub struct Trials {
    /// The input the user picked to preview (else the first).
    pub pick: Option<PathBuf>,
    /// The last finished preview, or why it failed.
    pub shown: Option<Result<Shown, String>>,
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

impl ConveyorApp {
    /// The input the preview shows: the picked one, else the first image of the input.
    pub(super) fn trial_input(&self) -> Option<PathBuf> {
        let summary = self.input.as_ref()?.summary.as_ref()?.as_ref().ok()?;
        self.trials
            .pick
            .clone()
            .filter(|p| summary.files.iter().any(|(f, _)| f == p))
            .or_else(|| summary.files.first().map(|(p, _)| p.clone()))
    }

    /// Starts previewing `path` (one of the input's images).
    pub fn pick_trial(&mut self, path: PathBuf) {
        self.trials.pick = Some(path);
    }

    /// Keeps the preview and the estimate in step with the input and the recipe. Once a frame.
    pub(super) fn poll_trials(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        // Finished work first.
        if let Some((path, recipe, task)) = &mut self.trials.running
            && let Some(result) = task.poll()
        {
            let (path, recipe) = (path.clone(), recipe.clone());
            self.trials.running = None;
            self.trials.shown = Some(result.and_then(|r| r).map(|t| shown(ctx, t, path.clone())));
            self.trials.done_for = Some((path, recipe));
        }
        if let Some(task) = &mut self.trials.estimating
            && let Some(result) = task.poll()
        {
            self.trials.estimating = None;
            self.trials.estimate = Some(result.ok().flatten());
        }
        if self.batch.is_some() || self.busy() {
            return;
        }
        let Some(path) = self.trial_input() else {
            return;
        };
        // The open card's output (the first when none is open).
        let recipe = self
            .settings
            .outputs
            .get(self.open_output)
            .unwrap_or(self.settings.first())
            .current_recipe();
        // The preview: once the recipe has settled, and one conversion at a time.
        let want = (path, recipe.clone());
        if self.trials.done_for.as_ref() != Some(&want)
            && self.trials.running.as_ref().map(|r| (&r.0, &r.1)) != Some((&want.0, &want.1))
        {
            let since = match &self.trials.waiting {
                Some((w, t)) if *w == want => *t,
                _ => {
                    self.trials.waiting = Some((want.clone(), now));
                    now
                }
            };
            let settled = now.duration_since(since) >= SETTLE;
            if settled && self.trials.running.is_none() {
                self.trials.waiting = None;
                let (path, recipe) = want;
                let (p, r) = (path.clone(), recipe.clone());
                let task = Task::spawn("preview", self.repaint.clone(), move || {
                    preview::trial(&p, &r, PREVIEW_SIDE)
                });
                self.trials.running = Some((path, recipe, task));
            } else if !settled {
                ctx.request_repaint_after(SETTLE.saturating_sub(now.duration_since(since)));
            }
        }
        // The estimate: the same, for every output's recipe, the worker count and the input.
        let files = self
            .input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|s| s.as_ref().ok())
            .map_or(&[][..], |s| s.files.as_slice());
        let key = (
            self.settings.current_recipes(),
            self.settings.workers,
            files.len(),
        );
        if self.trials.estimated_for.as_ref() != Some(&key) && !files.is_empty() {
            let since = match &self.trials.estimate_waiting {
                Some((k, t)) if *k == key => *t,
                _ => {
                    self.trials.estimate_waiting = Some((key.clone(), now));
                    now
                }
            };
            let settled = now.duration_since(since) >= SETTLE * 2;
            if settled && self.trials.estimating.is_none() {
                self.trials.estimate_waiting = None;
                let (recipes, workers, _) = key.clone();
                // Copied only when an estimate starts, never per frame.
                let files = files.to_vec();
                self.trials.estimating =
                    Some(Task::spawn("estimate", self.repaint.clone(), move || {
                        preview::estimate(&files, &recipes, workers, ESTIMATE_SAMPLE)
                    }));
                self.trials.estimated_for = Some(key);
            } else if !settled {
                ctx.request_repaint_after((SETTLE * 2).saturating_sub(now.duration_since(since)));
            }
        }
    }
}

/// Uploads a finished preview's pixels as textures.
fn shown(ctx: &egui::Context, mut trial: Trial, path: PathBuf) -> Shown {
    let texture = |t: &mut crate::engine::preview::Thumbnail, name: &str| {
        let size = [t.preview_width as usize, t.preview_height as usize];
        let image = egui::ColorImage::from_rgba_unmultiplied(size, &t.rgba);
        t.rgba = Vec::new();
        ctx.load_texture(name, image, egui::TextureOptions::NEAREST)
    };
    let before = texture(&mut trial.before, "trial-before");
    let after = texture(&mut trial.after, "trial-after");
    Shown {
        trial,
        before,
        after,
        path,
    }
}
