//! What the input holds, summed up from its scan.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::engine::format::Format;
use crate::engine::scan::Scan;

use super::natural_cmp;

/// What the scan of the chosen input found, for the input summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary {
    /// Images that will be converted.
    pub images: usize,
    /// Their total size.
    pub bytes: u64,
    /// Count per format (by extension), labelled as the format table names them.
    pub formats: BTreeMap<&'static str, usize>,
    /// The formats among them (by extension), each once.
    pub kinds: Vec<Format>,
    /// Image-named entries that will be skipped, with reasons.
    pub skipped: Vec<String>,
    /// Non-image files ignored.
    pub ignored: usize,
    /// Folders that could not be read, loops, …
    pub warnings: Vec<String>,
    /// The first image, for the naming example: its stem, extension and header (size as
    /// displayed, format by content) when it can be read.
    pub first: Option<FirstImage>,
    /// Every image that will be converted, with its size (for the preview and the estimate).
    pub files: Vec<(std::path::PathBuf, u64)>,
}

impl InputSummary {
    /// The line under the scan summary about what will not be converted ("2 will be skipped, 1
    /// other file ignored", "1 could not be read": unreadable entries, symlink loops), naming
    /// only what there is; `None` when nothing is left out.
    pub fn left_out(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.skipped.is_empty() {
            parts.push(format!("{} will be skipped", self.skipped.len()));
        }
        if self.ignored > 0 {
            let files = if self.ignored == 1 { "file" } else { "files" };
            parts.push(format!("{} other {files} ignored", self.ignored));
        }
        if !self.warnings.is_empty() {
            parts.push(format!("{} could not be read", self.warnings.len()));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Summarises a scan.
    pub fn from_scan(found: &Scan) -> InputSummary {
        let mut s = InputSummary {
            ignored: found.ignored,
            warnings: found
                .warnings
                .iter()
                .map(|w| format!("{}: {}", w.path.display(), w.reason))
                .collect(),
            ..InputSummary::default()
        };
        // The scan lists files by input, then in natural order of their paths; the window lists
        // several inputs' files together in that order.
        let mut order: Vec<usize> = (0..found.found.len()).collect();
        if found.roots.len() > 1 {
            order.sort_by(|&a, &b| {
                natural_cmp(
                    &found.found.get(a).rel().to_string_lossy(),
                    &found.found.get(b).rel().to_string_lossy(),
                )
            });
        }
        for f in order.into_iter().map(|i| found.found.get(i)) {
            let rel = f.rel();
            if let Some(reason) = f.skip() {
                s.skipped.push(format!("{}: {reason}", rel.display()));
                continue;
            }
            s.images += 1;
            s.bytes += f.bytes();
            s.files.push((f.path(), f.bytes()));
            let format = rel
                .extension()
                .and_then(|e| e.to_str())
                .and_then(Format::from_extension);
            if let Some(format) = format
                && !s.kinds.contains(&format)
            {
                s.kinds.push(format);
            }
            let label = format.map_or("other", Format::label);
            *s.formats.entry(label).or_default() += 1;
            if s.first.is_none() {
                s.first = Some(FirstImage {
                    stem: rel.file_stem().map(ToOwned::to_owned).unwrap_or_default(),
                    ext: rel.extension().map(ToOwned::to_owned).unwrap_or_default(),
                    header: crate::engine::header::probe(&f.path()),
                    photo: crate::engine::photo::Photo::read(&f.path()),
                });
            }
        }
        s
    }
}

/// The first image of an input, as the naming example uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstImage {
    /// File name without extension.
    pub stem: OsString,
    /// Extension as written.
    pub ext: OsString,
    /// Its header, if it could be read.
    pub header: Option<crate::engine::header::Header>,
    /// What it says of itself (date taken, camera), for names made from them.
    pub photo: crate::engine::photo::Photo,
}
