//! Finding inputs: walk the input folders, pick files by the format table's extensions, and
//! note odd files (FIFOs, devices) and unreadable folders without ever opening a file.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::format::has_image_extension;
use super::remote::{Location, Store};

mod files;
mod walk;

use files::Gathered;
pub use files::{Dir, Files, Found};

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
    pub found: Files,
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

/// Lists the image files under each input. Never opens a file, so FIFOs and devices cannot hang
/// it; symlinked folders are followed (also when they point outside the input) and loops are
/// reported as warnings. A file reached by several paths (a symlinked sub-folder, an input given
/// twice, overlapping inputs) is listed once: under its real path when one of them is, otherwise
/// under the first in sorted order.
///
/// Folders are read by several threads at once (a million files in a thousand folders take
/// about as long as `find`); each file's size and time come from its folder's entry
/// (`fstatat`), and links are resolved once per folder, not per file.
pub fn scan(inputs: &[PathBuf], options: &ScanOptions) -> Result<Scan, ScanError> {
    let exclude: Vec<PathBuf> = options.exclude.iter().map(|p| resolve(p)).collect();
    let mut out = Scan {
        roots: inputs.to_vec(),
        ..Scan::default()
    };
    let mut gathered: Vec<(Dir, Gathered)> = Vec::new();
    let mut folders: Vec<walk::Task> = Vec::new();
    for (root, input) in inputs.iter().enumerate() {
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
            let mut objects = Objects {
                location: &location,
                exclude: &exclude,
                by_dir: HashMap::new(),
                ignored: 0,
            };
            let listed = list_objects(store.as_ref(), &location, options.recursive, &mut |r, o| {
                objects.add(r, o);
            })
            .map_err(|e| input_error(e.reason))?;
            if listed == 0 {
                return Err(input_error(format!("no objects under {location}")));
            }
            out.ignored += objects.ignored;
            objects.gather(root, &mut gathered);
            continue;
        }
        let meta = fs::metadata(input).map_err(|e| ScanError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        if meta.is_dir() {
            folders.push(walk::Task::root(input.clone(), root));
            continue;
        }
        // A file given on its own: its folder is its parent, its relative path its name.
        let parent = input.parent().unwrap_or(Path::new("")).to_path_buf();
        let real_parent = resolve(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &parent
        });
        let name = input.file_name().unwrap_or(input.as_os_str());
        let link = fs::symlink_metadata(input).is_ok_and(|m| m.file_type().is_symlink());
        let mut g = Gathered::default();
        let (bytes, modified, skip) = walk::examine(Ok(meta));
        g.push(name, bytes, modified, skip, link);
        gathered.push((Dir::new(parent, PathBuf::new(), real_parent, root), g));
    }
    let walked = walk::walk(folders, &exclude, options);
    gathered.extend(walked.folders);
    out.warnings.extend(walked.warnings);
    out.ignored += walked.ignored;
    out.interrupted = walked.interrupted;
    let mut files = Files::assemble(gathered);
    once_each(&mut files);
    out.found = files;
    Ok(out)
}

/// The files `paths` as a scan of `inputs` finds them (the same folders, relative paths and
/// natural order), without walking the folders: a watched folder's newly arrived files.
/// A path inside none of the inputs, not named as an image, or gone is left out.
pub fn listed(inputs: &[PathBuf], paths: &[PathBuf]) -> Scan {
    let mut by_dir: HashMap<(usize, PathBuf), Gathered> = HashMap::new();
    for path in paths {
        let Some((root, rel)) = inputs
            .iter()
            .enumerate()
            .find_map(|(i, r)| path.strip_prefix(r).ok().map(|rel| (i, rel)))
        else {
            continue;
        };
        let Some(name) = path.file_name() else {
            continue;
        };
        if !has_image_extension(path) {
            continue;
        }
        let meta = fs::metadata(path);
        if meta
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            continue;
        }
        let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let (bytes, modified, skip) = walk::examine(meta);
        let dir_rel = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        by_dir
            .entry((root, dir_rel))
            .or_default()
            .push(name, bytes, modified, skip, link);
    }
    let gathered = by_dir
        .into_iter()
        .map(|((root, rel), mut g)| {
            g.sort();
            let path = if rel.as_os_str().is_empty() {
                inputs[root].clone()
            } else {
                inputs[root].join(&rel)
            };
            let real = resolve(&path);
            (Dir::new(path, rel, real, root), g)
        })
        .collect();
    let mut files = Files::assemble(gathered);
    once_each(&mut files);
    Scan {
        roots: inputs.to_vec(),
        found: files,
        ..Scan::default()
    }
}

/// Objects listed under `location`, gathered into folders of files like a walk's as the
/// listing arrives.
struct Objects<'a> {
    location: &'a Location,
    exclude: &'a [PathBuf],
    /// By folder: the key's folder relative to the listing (or NUL and the location's parent
    /// for the one object a location names).
    by_dir: HashMap<String, Gathered>,
    ignored: usize,
}

impl Objects<'_> {
    /// Adds `object`; `named`: it is the one object the location names (its key relative to
    /// the location is empty).
    fn add(&mut self, named: bool, object: super::remote::Listed) {
        let rel = if named { "" } else { object.rel.as_str() };
        if !self.exclude.is_empty() {
            let path = PathBuf::from(self.location.join(rel).to_string());
            if self.exclude.iter().any(|x| path.starts_with(x)) {
                return;
            }
        }
        if !has_image_extension(Path::new(rel)) {
            self.ignored += 1;
            return;
        }
        // The object's folder is the listing's part of its path; its name the rest.
        let (dir_rel, name) = object.rel.rsplit_once('/').unwrap_or(("", &object.rel));
        let parent;
        let key = if named {
            // The one object a location names: its folder is the location's parent.
            let path = PathBuf::from(self.location.join(rel).to_string());
            parent = format!(
                "\u{0}{}",
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            parent.as_str()
        } else {
            dir_rel
        };
        if !self.by_dir.contains_key(key) {
            self.by_dir.insert(key.to_owned(), Gathered::default());
        }
        if let Some(g) = self.by_dir.get_mut(key) {
            g.push(
                std::ffi::OsStr::new(name),
                object.bytes,
                object.modified,
                None,
                false,
            );
        }
    }

    /// The folders gathered, each sorted, as the walk hands its folders on.
    fn gather(self, root: usize, gathered: &mut Vec<(Dir, Gathered)>) {
        for (key, mut g) in self.by_dir {
            let (dir_path, dir_rel) = match key.strip_prefix('\u{0}') {
                Some(parent) => (PathBuf::from(parent), PathBuf::new()),
                None => (
                    PathBuf::from(self.location.join(&key).to_string()),
                    PathBuf::from(&key),
                ),
            };
            g.sort();
            gathered.push((Dir::new(dir_path.clone(), dir_rel, dir_path, root), g));
        }
    }
}

/// Hands each object under `location` to `each`, or the one object it names (with `true`);
/// returns how many. An object's `rel` is relative to
/// the input, as a file's is to its folder.
fn list_objects(
    store: &dyn Store,
    location: &Location,
    recursive: bool,
    each: &mut dyn FnMut(bool, super::remote::Listed),
) -> Result<usize, super::remote::StoreError> {
    let mut count = 0;
    store.list_each(location, recursive, &mut |o| {
        count += 1;
        each(false, o);
    })?;
    if count > 0 || location.key.is_empty() {
        return Ok(count);
    }
    // Not a prefix: perhaps a single object, found in its parent's listing.
    let (parent, name) = location.key.rsplit_once('/').unwrap_or(("", &location.key));
    let parent = Location {
        bucket: location.bucket.clone(),
        key: parent.to_owned(),
    };
    store.list_each(&parent, false, &mut |mut o| {
        if o.rel == name {
            count += 1;
            o.rel = name.to_owned();
            each(true, o);
        }
    })?;
    Ok(count)
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

/// Keeps one file per real file: the one whose path is the file's real path, else the first
/// (the files come sorted). Only files that can have a twin are looked at: those in folders
/// reached twice (a symlinked folder, an input given twice or inside another) and links.
fn once_each(files: &mut Files) {
    let mut real_dirs: HashMap<&Path, usize> = HashMap::new();
    for d in &files.dirs {
        *real_dirs.entry(d.real.as_path()).or_default() += 1;
    }
    let twin_dirs: HashSet<usize> = files
        .dirs
        .iter()
        .enumerate()
        .filter(|(_, d)| real_dirs.get(d.real.as_path()).is_some_and(|&n| n > 1))
        .map(|(i, _)| i)
        .collect();
    let maybe_twin = |f: &Found| twin_dirs.contains(&f.dir_index()) || f.is_link();
    let mut involved: Vec<(usize, PathBuf)> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| maybe_twin(f))
        .map(|(i, f)| (i, f.real()))
        .collect();
    if involved.is_empty() {
        return;
    }
    // A plain file is a twin only of a candidate that leads to it.
    let reals: HashSet<PathBuf> = involved.iter().map(|(_, r)| r.clone()).collect();
    let plain: Vec<(usize, PathBuf)> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| !maybe_twin(f))
        .filter_map(|(i, f)| {
            let real = f.real();
            reals.contains(&real).then_some((i, real))
        })
        .collect();
    involved.extend(plain);
    involved.sort_by_key(|(i, _)| *i);
    // The candidate chosen for each real path, and whether it is found there.
    let mut chosen: HashMap<&Path, (usize, bool)> = HashMap::new();
    for (i, real) in &involved {
        let here = absolute(&files.get(*i).path()) == *real;
        match chosen.get(real.as_path()) {
            None => {
                chosen.insert(real, (*i, here));
            }
            Some(&(_, false)) if here => {
                chosen.insert(real, (*i, here));
            }
            Some(_) => {}
        }
    }
    let dropped: HashSet<usize> = {
        let kept: HashSet<usize> = chosen.values().map(|&(i, _)| i).collect();
        involved
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| !kept.contains(i))
            .collect()
    };
    files.retain(|i| !dropped.contains(&i));
}
