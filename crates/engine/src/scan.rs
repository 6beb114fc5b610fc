//! Finding inputs: walk the input folders, pick files by the format table's extensions, and
//! note odd files (FIFOs, devices) and unreadable folders without ever opening a file.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::format::has_image_extension;
use super::remote::{Location, Store};

/// An input file found by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The path as found (the user's input joined with the relative path).
    pub path: PathBuf,
    /// Index of the input argument this came from.
    pub root: usize,
    /// Path relative to its input folder (just the file name for a single-file input).
    pub rel: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, where the file system tells.
    pub modified: Option<std::time::SystemTime>,
    /// Why this file will not be converted even though its name looks like an image.
    pub skip: Option<String>,
}

/// Something the scan could not read; the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWarning {
    /// Where.
    pub path: PathBuf,
    /// What went wrong, for people.
    pub reason: String,
}

/// The result of scanning the inputs.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The input arguments, as given.
    pub roots: Vec<PathBuf>,
    /// Image-named files, sorted by root, then relative path in natural order.
    pub found: Vec<Found>,
    /// Folders or entries that could not be read, symlink loops and the like.
    pub warnings: Vec<ScanWarning>,
    /// Files ignored because their extension is not an image's (counted for display).
    pub ignored: usize,
    /// The walk was stopped before it finished (see [`ScanOptions::stop`]).
    pub interrupted: bool,
}

/// Options for [`scan`].
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Descend into sub-folders.
    pub recursive: bool,
    /// Folders never scanned as input (the output folder).
    pub exclude: Vec<PathBuf>,
    /// Set (by a signal handler, say) to stop the walk early; the scan then says it was
    /// interrupted.
    pub stop: Option<Arc<AtomicBool>>,
    /// Where `s3://` inputs are listed (none: such an input is an error).
    pub store: Option<Arc<dyn Store>>,
}

/// Why the scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An input argument does not exist or cannot be read.
    #[error("{path}: {reason}")]
    Input {
        /// The input as given.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
}

/// Describes a non-regular file type for a skip reason.
fn odd_file_kind(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        return "a folder";
    }
    "not a regular file"
}

/// Makes a path absolute and resolves links as far as the path exists, so two spellings of one
/// folder compare equal.
pub fn resolve(path: &Path) -> PathBuf {
    if super::remote::is_remote(path) {
        return path.to_path_buf();
    }
    if let Ok(p) = fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        _ => std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Examines one image-named entry without opening it (opening a FIFO would block).
fn examine(path: &Path) -> (u64, Option<std::time::SystemTime>, Option<String>) {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => (m.len(), m.modified().ok(), None),
        Ok(m) => (
            0,
            None,
            Some(format!("not converted: {}", odd_file_kind(&m.file_type()))),
        ),
        Err(e) => (0, None, Some(format!("cannot read file metadata: {e}"))),
    }
}

/// Lists the image files under each input. Never opens a file, so FIFOs and devices cannot hang
/// it; symlinked folders are followed (also when they point outside the input) and loops are
/// reported as warnings. A file reached by several paths (a symlinked sub-folder, an input given
/// twice, overlapping inputs) is listed once: under its real path when one of them is, otherwise
/// under the first in sorted order.
pub fn scan(inputs: &[PathBuf], options: &ScanOptions) -> Result<Scan, ScanError> {
    let exclude: Vec<PathBuf> = options.exclude.iter().map(|p| resolve(p)).collect();
    let mut out = Scan {
        roots: inputs.to_vec(),
        ..Scan::default()
    };
    // Every candidate with the file it really is (links resolved).
    let mut candidates: Vec<(Found, PathBuf)> = Vec::new();
    let stopped = || {
        options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Acquire))
    };
    'inputs: for (root_index, input) in inputs.iter().enumerate() {
        if let Some(location) = Location::parse(input) {
            let input_error = |reason: String| ScanError::Input {
                path: input.clone(),
                reason,
            };
            let location = location.map_err(input_error)?;
            let store = options
                .store
                .as_ref()
                .ok_or_else(|| input_error("object storage is not available in this run".into()))?;
            let listed = list_objects(store.as_ref(), &location, options.recursive)
                .map_err(|e| input_error(e.reason))?;
            if listed.is_empty() {
                return Err(input_error(format!("no objects under {location}")));
            }
            for (rel, object) in listed {
                let path = PathBuf::from(location.join(&rel).to_string());
                if exclude.iter().any(|x| path.starts_with(x)) {
                    continue;
                }
                if !has_image_extension(Path::new(&rel)) {
                    out.ignored += 1;
                    continue;
                }
                let found = Found {
                    path: path.clone(),
                    root: root_index,
                    rel: PathBuf::from(&object.rel),
                    bytes: object.bytes,
                    modified: object.modified,
                    skip: None,
                };
                candidates.push((found, path));
            }
            continue;
        }
        let meta = fs::metadata(input).map_err(|e| ScanError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        if !meta.is_dir() {
            let (bytes, modified, skip) = examine(input);
            let rel = PathBuf::from(input.file_name().unwrap_or(input.as_os_str()));
            let found = Found {
                path: input.clone(),
                root: root_index,
                rel,
                bytes,
                modified,
                skip,
            };
            candidates.push((found, resolve(input)));
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .max_depth(if options.recursive { usize::MAX } else { 1 })
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !e.file_type().is_dir()
                    || !exclude.iter().any(|x| *x == resolve(e.path()))
            });
        for entry in walker {
            if stopped() {
                out.interrupted = true;
                break 'inputs;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    let reason = if e.loop_ancestor().is_some() {
                        "symlink loop; not followed".to_owned()
                    } else {
                        e.io_error()
                            .map_or_else(|| e.to_string(), |io| io.to_string())
                    };
                    out.warnings.push(ScanWarning { path, reason });
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            if !has_image_extension(entry.path()) {
                out.ignored += 1;
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(input)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| PathBuf::from(entry.file_name()));
            let (bytes, modified, skip) = examine(entry.path());
            let found = Found {
                path: entry.path().to_path_buf(),
                root: root_index,
                rel,
                bytes,
                modified,
                skip,
            };
            candidates.push((found, resolve(entry.path())));
        }
    }
    // Natural order (IMG_2 before IMG_10), as the window lists them: the batch runs, numbers
    // `{n}` and reports in the order people read.
    candidates.sort_by(|a, b| {
        a.0.root.cmp(&b.0.root).then_with(|| {
            super::name::natural_cmp(&a.0.rel.to_string_lossy(), &b.0.rel.to_string_lossy())
        })
    });
    out.found = once_each(candidates);
    Ok(out)
}

/// The objects under `location` as (key relative to it, object), or the one object it names.
/// An object's `rel` is relative to the input, as a file's is to its folder.
fn list_objects(
    store: &dyn Store,
    location: &Location,
    recursive: bool,
) -> Result<Vec<(String, super::remote::Listed)>, super::remote::StoreError> {
    let listed = store.list(location, recursive)?;
    if !listed.is_empty() || location.key.is_empty() {
        return Ok(listed.into_iter().map(|o| (o.rel.clone(), o)).collect());
    }
    // Not a prefix: perhaps a single object, found in its parent's listing.
    let (parent, name) = location.key.rsplit_once('/').unwrap_or(("", &location.key));
    let parent = Location {
        bucket: location.bucket.clone(),
        key: parent.to_owned(),
    };
    Ok(store
        .list(&parent, false)?
        .into_iter()
        .filter(|o| o.rel == name)
        .map(|mut o| {
            o.rel = name.to_owned();
            (String::new(), o)
        })
        .collect())
}

/// `path` made absolute without resolving links (`.` components dropped).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    joined.components().collect()
}

/// Keeps one candidate per real file: the one whose path is the file's real path, else the
/// first (the candidates come sorted).
fn once_each(candidates: Vec<(Found, PathBuf)>) -> Vec<Found> {
    let mut chosen: HashMap<&Path, usize> = HashMap::new();
    for (i, (found, real)) in candidates.iter().enumerate() {
        match chosen.get(real.as_path()) {
            None => {
                chosen.insert(real, i);
            }
            Some(&j)
                if absolute(&candidates[j].0.path) != *real && absolute(&found.path) == *real =>
            {
                chosen.insert(real, i);
            }
            Some(_) => {}
        }
    }
    let keep: HashSet<usize> = chosen.into_values().collect();
    candidates
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, (found, _))| found)
        .collect()
}
