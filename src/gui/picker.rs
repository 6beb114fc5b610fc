//! Native file dialogs behind a small trait, so tests can stand in for the user. Dialogs block,
//! so the app calls them on a background thread.

use std::path::{Path, PathBuf};

/// Asks the user for paths.
pub trait Picker: Send + Sync {
    /// A folder to read from or write to; `None` if the user cancelled.
    fn pick_folder(&self, title: &str, start: Option<&Path>) -> Option<PathBuf>;
    /// A file to save to, offering `filters` (name, extensions); `None` if the user cancelled.
    fn save_file(&self, title: &str, default_name: &str, filters: &[Filter]) -> Option<PathBuf>;
    /// An existing file to open, offering `filters`; `None` if the user cancelled.
    fn open_file(&self, title: &str, filters: &[Filter]) -> Option<PathBuf>;
}

/// A file-type choice in a dialog: its name and extensions (without the dot).
pub type Filter = (&'static str, &'static [&'static str]);

/// The platform's dialogs through rfd.
#[derive(Debug, Default, Clone, Copy)]
pub struct RfdPicker;

impl Picker for RfdPicker {
    fn pick_folder(&self, title: &str, start: Option<&Path>) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new().set_title(title);
        if let Some(dir) = start {
            dialog = dialog.set_directory(dir);
        }
        dialog.pick_folder()
    }

    fn save_file(&self, title: &str, default_name: &str, filters: &[Filter]) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name);
        for (name, extensions) in filters {
            dialog = dialog.add_filter(*name, extensions);
        }
        dialog.save_file()
    }

    fn open_file(&self, title: &str, filters: &[Filter]) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new().set_title(title);
        for (name, extensions) in filters {
            dialog = dialog.add_filter(*name, extensions);
        }
        dialog.pick_file()
    }
}
