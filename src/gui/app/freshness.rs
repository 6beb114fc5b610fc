//! What goes stale when the setup changes: the message line (each message is about the input,
//! outputs and folder it was said for, or answers an action on them) and a finished batch's
//! results (a changed recipe or folder is a new plan, with its own forecast, estimate and
//! preview).

use std::path::PathBuf;

use super::ConveyorApp;
use crate::engine::recipe::Recipe;

/// The input, the outputs and the output folder: what a plan, a message or a batch is about.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SetupKey {
    input: Option<Vec<PathBuf>>,
    recipes: Vec<Recipe>,
    out: Option<PathBuf>,
}

impl ConveyorApp {
    /// The setup as it is now.
    pub(super) fn setup_key(&self) -> SetupKey {
        SetupKey {
            input: self.input.as_ref().map(|i| i.paths.clone()),
            recipes: self.settings.current_recipes(),
            out: self.output_dir(),
        }
    }

    /// Ties a message just said to the setup it was said for (after the frame's commands, which
    /// may have said one; messages from polling are tied in [`Self::expire_stale`]).
    pub(super) fn stamp_message(&mut self) {
        if let Some(text) = &self.message
            && self
                .message_about
                .as_ref()
                .is_none_or(|(said, _)| said != text)
        {
            self.message_about = Some((text.clone(), self.setup_key()));
        }
    }

    /// Once a frame: a message said for another setup is cleared (a collision fixed, a
    /// writable folder chosen, a command copied before the recipe changed), and so is a
    /// finished batch once the recipe or folder changes, so the window plans again.
    pub(super) fn expire_stale(&mut self) {
        let finished = self
            .batch
            .as_ref()
            .is_some_and(|b| !b.running() && b.handle.is_none());
        if self.message.is_none() {
            self.message_about = None;
        }
        // Nothing that can go stale: no setup built (it clones the recipes) this frame.
        if self.busy() || (self.message.is_none() && !finished) {
            return;
        }
        let key = self.setup_key();
        match (&self.message, &self.message_about) {
            (None, _) => self.message_about = None,
            (Some(text), Some((said, about))) if said == text => {
                if *about != key {
                    self.message = None;
                    self.message_about = None;
                    self.copied_command = None;
                }
            }
            (Some(text), _) => self.message_about = Some((text.clone(), key.clone())),
        }
        if finished && self.batch_about.as_ref().is_some_and(|about| *about != key) {
            self.batch = None;
            self.batch_about = None;
            self.preview = None;
            self.selected = None;
        }
    }
}
