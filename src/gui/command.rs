//! Every user intent the window's panels and shortcuts express, as one enum. Panels and
//! shortcuts push commands; the shell applies them after the frame is drawn
//! (`ConveyorApp::apply`, in `shell.rs`), so no panel starts, stops or changes a batch, the
//! input, the presets or the clipboard itself.

use std::path::PathBuf;

use super::presets::Preset;
use crate::engine::job::JobId;

/// One thing the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start converting the input with the current recipe (Ctrl+Enter).
    Start,
    /// Watch the input folder: convert what is there, then what arrives, until stopped
    /// (`false`: stop watching).
    Watch(bool),
    /// Pause the running batch, or resume it (Space).
    TogglePause,
    /// Cancel the running batch (Escape).
    Cancel,
    /// Run this many workers from now on (the running batch too).
    SetWorkers(usize),
    /// Run the last batch's failed files again, in the same batch.
    RetryFailed,
    /// Stop the batch and close the window (asked for mid-batch).
    StopAndQuit,
    /// Keep running: close the "Stop the batch and quit?" question.
    KeepRunning,
    /// Write outputs into this folder.
    SetOutput(PathBuf),
    /// Write outputs into the default folder beside the input.
    DefaultOutput,
    /// Open the path typed into the top bar.
    UseTypedInput,
    /// Open the bundled sample images.
    LoadSamples,
    /// Ask the user with a file dialog.
    Ask(DialogPurpose),
    /// Open the output folder in the file manager.
    OpenOutputFolder,
    /// Show a finished file's before and after.
    Select(JobId),
    /// Act on a result row.
    Row(RowAction),
    /// Preview this input before the run.
    PickTrial(PathBuf),
    /// Put the equivalent `conveyor run …` on the clipboard.
    CopyCommand,
    /// Use a preset's outputs.
    LoadPreset(Preset),
    /// Save the current outputs as a preset under this name.
    SavePreset(String),
    /// Delete one of the user's presets.
    DeletePreset(Preset),
}

/// What a file dialog asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    /// The input folder.
    Input,
    /// The output folder.
    Output,
    /// Where to save the report.
    SaveReport,
    /// A recipe file to load.
    ImportRecipe,
    /// Where to save the recipe file.
    ExportRecipe,
    /// The image of output `output`'s edit number `edit` (a watermark).
    Watermark {
        /// The output card.
        output: usize,
        /// The edit in its list.
        edit: usize,
    },
    /// The font of output `output`'s edit number `edit` (a text).
    Font {
        /// The output card.
        output: usize,
        /// The edit in its list.
        edit: usize,
    },
}

/// What a result row's menu or double click asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    /// Open the output with the desktop's viewer.
    Open(JobId),
    /// Open the output's folder.
    Reveal(JobId),
    /// Put the output's path on the clipboard.
    CopyPath(JobId),
    /// Put the input's path on the clipboard.
    CopyInput(JobId),
}
