//! Native file dialogs behind a small trait, so tests can stand in for the user. Dialogs block,
//! so the app calls them on a background thread.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A dialog's answer: a path, `Ok(None)` if the user cancelled, or why no dialog could be shown.
pub type Answer = Result<Option<PathBuf>, NoDialog>;

/// No file dialog could be shown (no dialog service on this desktop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDialog(pub String);

/// Asks the user for paths.
pub trait Picker: Send + Sync {
    /// A folder to read from or write to.
    fn pick_folder(&self, title: &str, start: Option<&Path>) -> Answer;
    /// A file to save to, offering `filters` (name, extensions).
    fn save_file(&self, title: &str, default_name: &str, filters: &[Filter]) -> Answer;
    /// An existing file to open, offering `filters`.
    fn open_file(&self, title: &str, filters: &[Filter]) -> Answer;
}

/// Faster than anyone can see a dialog and cancel it: an empty answer this quick means no
/// dialog was shown (rfd returns nothing, and only logs, when neither the desktop portal nor
/// zenity can show one).
const NO_HUMAN_ANSWERS_IN: Duration = Duration::from_millis(400);

fn answered(started: Instant, path: Option<PathBuf>) -> Answer {
    if path.is_none() && started.elapsed() < NO_HUMAN_ANSWERS_IN {
        return Err(NoDialog(
            "no file dialog could be shown on this desktop (on Linux one needs \
             xdg-desktop-portal with a file chooser, or zenity)"
                .to_owned(),
        ));
    }
    Ok(path)
}

/// A file-type choice in a dialog: its name and extensions (without the dot).
pub type Filter = (&'static str, &'static [&'static str]);

/// The platform's dialogs through rfd.
#[derive(Debug, Default, Clone, Copy)]
pub struct RfdPicker;

impl Picker for RfdPicker {
    fn pick_folder(&self, title: &str, start: Option<&Path>) -> Answer {
        let started = Instant::now();
        let mut dialog = rfd::FileDialog::new().set_title(title);
        if let Some(dir) = start {
            dialog = dialog.set_directory(dir);
        }
        answered(started, dialog.pick_folder())
    }

    fn save_file(&self, title: &str, default_name: &str, filters: &[Filter]) -> Answer {
        let started = Instant::now();
        let mut dialog = rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name);
        for (name, extensions) in filters {
            dialog = dialog.add_filter(*name, extensions);
        }
        answered(started, dialog.save_file())
    }

    fn open_file(&self, title: &str, filters: &[Filter]) -> Answer {
        let started = Instant::now();
        let mut dialog = rfd::FileDialog::new().set_title(title);
        for (name, extensions) in filters {
            dialog = dialog.add_filter(*name, extensions);
        }
        answered(started, dialog.pick_file())
    }
}
