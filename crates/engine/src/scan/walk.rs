//! Reading the input folders with several threads: each takes a folder from a shared stack,
//! lists it, looks at each image-named entry through the folder (`fstatat`: no path walked per
//! file), sorts the folder's names and puts its sub-folders on the stack. Links are followed;
//! a folder that leads back to one it is inside is a loop, reported and not followed.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::SystemTime;

use super::files::{Dir, Gathered};
use super::{ScanOptions, ScanWarning, odd_file_kind, resolve};
use crate::format::has_image_extension;
use crate::job::io_words;

/// A folder to read.
pub(super) struct Task {
    path: PathBuf,
    rel: PathBuf,
    real: PathBuf,
    root: usize,
    /// The real paths of the folders it is inside, itself last: a link back to one is a loop.
    ancestors: Vec<PathBuf>,
}

impl Task {
    /// An input folder.
    pub(super) fn root(path: PathBuf, root: usize) -> Task {
        let real = resolve(&path);
        Task {
            ancestors: vec![real.clone()],
            path,
            rel: PathBuf::new(),
            real,
            root,
        }
    }
}

/// What the walk found.
#[derive(Default)]
pub(super) struct Walked {
    pub folders: Vec<(Dir, Gathered)>,
    pub warnings: Vec<ScanWarning>,
    pub ignored: usize,
    pub interrupted: bool,
}

struct Shared {
    stack: Vec<Task>,
    /// Threads reading a folder now (their sub-folders are not on the stack yet).
    busy: usize,
    found: Walked,
}

/// Size, time and skip reason of an image-named entry from its metadata.
pub(super) fn examine(
    meta: std::io::Result<fs::Metadata>,
) -> (u64, Option<SystemTime>, Option<String>) {
    match meta {
        Ok(m) if m.is_file() => (m.len(), m.modified().ok(), None),
        Ok(m) => (
            0,
            None,
            Some(format!("not converted: {}", odd_file_kind(&m.file_type()))),
        ),
        Err(e) => (
            0,
            None,
            Some(format!("cannot read file metadata: {}", io_words(&e))),
        ),
    }
}

/// Reads every folder under `roots` (only the roots themselves unless recursive).
pub(super) fn walk(roots: Vec<Task>, exclude: &[PathBuf], options: &ScanOptions) -> Walked {
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 8);
    let shared = Mutex::new(Shared {
        stack: roots.into_iter().rev().collect(),
        busy: 0,
        found: Walked::default(),
    });
    let wake = Condvar::new();
    let stopped = || {
        options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Acquire))
    };
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let task = {
                        let mut sh = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        loop {
                            if stopped() {
                                sh.found.interrupted = true;
                                sh.stack.clear();
                            }
                            if let Some(t) = sh.stack.pop() {
                                sh.busy += 1;
                                break Some(t);
                            }
                            if sh.busy == 0 {
                                break None;
                            }
                            sh = wake.wait(sh).unwrap_or_else(PoisonError::into_inner);
                        }
                    };
                    let Some(task) = task else {
                        wake.notify_all();
                        return;
                    };
                    let read = read_folder(task, exclude, options.recursive);
                    let mut sh = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    sh.busy -= 1;
                    sh.stack.extend(read.subfolders);
                    sh.found.warnings.extend(read.warnings);
                    sh.found.ignored += read.ignored;
                    if let Some(folder) = read.folder {
                        sh.found.folders.push(folder);
                    }
                    drop(sh);
                    wake.notify_all();
                }
            });
        }
    });
    let mut found = shared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .found;
    found
        .warnings
        .sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.reason.cmp(&b.reason)));
    found
}

/// One folder read.
#[derive(Default)]
struct Read {
    folder: Option<(Dir, Gathered)>,
    subfolders: Vec<Task>,
    warnings: Vec<ScanWarning>,
    ignored: usize,
}

fn read_folder(task: Task, exclude: &[PathBuf], recursive: bool) -> Read {
    let mut read = Read::default();
    let warn = |read: &mut Read, path: PathBuf, e: &std::io::Error| {
        read.warnings.push(ScanWarning {
            path,
            reason: io_words(e),
        });
    };
    let entries = match fs::read_dir(&task.path) {
        Ok(e) => e,
        Err(e) => {
            warn(&mut read, task.path.clone(), &e);
            return read;
        }
    };
    let mut g = Gathered::default();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warn(&mut read, task.path.clone(), &e);
                continue;
            }
        };
        let name = entry.file_name();
        let file_type = match entry.file_type() {
            Ok(t) => t,
            Err(e) => {
                warn(&mut read, entry.path(), &e);
                continue;
            }
        };
        // Where a link leads (followed, as for folders and files alike).
        let (is_dir, link_meta) = if file_type.is_symlink() {
            match fs::metadata(entry.path()) {
                Ok(m) => (m.is_dir(), Some(m)),
                Err(e) => {
                    warn(&mut read, entry.path(), &e);
                    continue;
                }
            }
        } else {
            (file_type.is_dir(), None)
        };
        if is_dir {
            if recursive {
                subfolder(&task, entry.path(), &name, exclude, &mut read);
            }
            continue;
        }
        if !has_image_extension(std::path::Path::new(&name)) {
            read.ignored += 1;
            continue;
        }
        let link = link_meta.is_some();
        let meta = match link_meta {
            Some(m) => Ok(m),
            None => entry.metadata(),
        };
        let (bytes, modified, skip) = examine(meta);
        g.push(&name, bytes, modified, skip, link);
    }
    g.sort();
    read.folder = Some((Dir::new(task.path, task.rel, task.real, task.root), g));
    read
}

fn subfolder(
    parent: &Task,
    path: PathBuf,
    name: &std::ffi::OsStr,
    exclude: &[PathBuf],
    read: &mut Read,
) {
    let real = resolve(&path);
    if exclude.contains(&real) {
        return;
    }
    if parent.ancestors.contains(&real) {
        read.warnings.push(ScanWarning {
            path,
            reason: "symlink loop; not followed".to_owned(),
        });
        return;
    }
    let mut ancestors = parent.ancestors.clone();
    ancestors.push(real.clone());
    read.subfolders.push(Task {
        rel: parent.rel.join(name),
        path,
        real,
        root: parent.root,
        ancestors,
    });
}
