//! The files a scan found, kept compactly: a table of folders, and per file its folder, its
//! name in one shared buffer, its size, time and why it is skipped. A million files take about
//! 70 bytes each here, where a path per file took several hundred.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::name::natural_cmp_parts;

/// A folder files were found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// The folder as found: the input joined with its relative path (the parent of a file given
    /// on its own; empty for a file named without a folder).
    pub path: PathBuf,
    /// Relative to its input folder (empty for the input itself and for files given on their
    /// own).
    pub rel: PathBuf,
    /// Its real path (links resolved), which two spellings of one folder share.
    pub real: PathBuf,
    /// Index of the input argument it came from.
    pub root: usize,
    /// `rel` as text with a `/` after it (empty for the input itself): what names sort under.
    sort_key: String,
}

impl Dir {
    /// A folder record.
    pub fn new(path: PathBuf, rel: PathBuf, real: PathBuf, root: usize) -> Dir {
        let sort_key = if rel.as_os_str().is_empty() {
            String::new()
        } else {
            let mut k = rel.to_string_lossy().replace('\\', "/");
            k.push('/');
            k
        };
        Dir {
            path,
            rel,
            real,
            root,
            sort_key,
        }
    }
}

/// One file's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rec {
    pub dir: u32,
    pub name_len: u32,
    pub name_at: u64,
    pub bytes: u64,
    /// ns since 1970 ([`crate::journal::nanos`]), `i64::MIN` for unknown.
    pub modified: i64,
    /// Index into the skip reasons, or `u32::MAX`.
    pub skip: u32,
    /// The entry is a symbolic link to a file: its real path is found by resolving it.
    pub link: bool,
}

/// Image-named files, sorted by input, then relative path in natural order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    pub(super) dirs: Vec<Dir>,
    pub(super) names: Vec<u8>,
    pub(super) recs: Vec<Rec>,
    pub(super) skips: Vec<String>,
}

impl Files {
    /// How many files.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The `i`th file (panics past the end, as indexing does).
    pub fn get(&self, i: usize) -> Found<'_> {
        Found {
            files: self,
            rec: &self.recs[i],
        }
    }

    /// Every file, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Found<'_>> + '_ {
        self.recs.iter().map(move |rec| Found { files: self, rec })
    }

    /// The folders the files are in.
    pub fn dirs(&self) -> &[Dir] {
        &self.dirs
    }

    pub(super) fn name_of(&self, rec: &Rec) -> &OsStr {
        let at = usize::try_from(rec.name_at).unwrap_or(usize::MAX);
        let bytes = self
            .names
            .get(at..at.saturating_add(rec.name_len as usize))
            .unwrap_or_default();
        bytes_to_os(bytes)
    }

    /// Natural order of two records: by input, then relative path.
    pub(super) fn order(&self, a: &Rec, b: &Rec) -> Ordering {
        let (da, db) = (&self.dirs[a.dir as usize], &self.dirs[b.dir as usize]);
        da.root.cmp(&db.root).then_with(|| {
            let (na, nb) = (
                self.name_of(a).to_string_lossy(),
                self.name_of(b).to_string_lossy(),
            );
            if a.dir == b.dir {
                natural_cmp_parts(&[&na], &[&nb])
            } else {
                natural_cmp_parts(&[&da.sort_key, &na], &[&db.sort_key, &nb])
            }
        })
    }
}

/// A file the scan found.
#[derive(Debug, Clone, Copy)]
pub struct Found<'s> {
    files: &'s Files,
    rec: &'s Rec,
}

impl<'s> Found<'s> {
    /// Its folder.
    pub fn dir(&self) -> &'s Dir {
        &self.files.dirs[self.rec.dir as usize]
    }

    /// Its name.
    pub fn name(&self) -> &'s OsStr {
        self.files.name_of(self.rec)
    }

    /// The path as found (the user's input joined with the relative path).
    pub fn path(&self) -> PathBuf {
        self.dir().path.join(self.name())
    }

    /// Path relative to its input folder (just the file name for a single-file input).
    pub fn rel(&self) -> PathBuf {
        self.dir().rel.join(self.name())
    }

    /// Index of the input argument this came from.
    pub fn root(&self) -> usize {
        self.dir().root
    }

    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.rec.bytes
    }

    /// Modification time, where the file system tells.
    pub fn modified(&self) -> Option<SystemTime> {
        let n = self.modified_nanos()?;
        let d = std::time::Duration::from_nanos(n.unsigned_abs());
        if n >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(d)
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(d)
        }
    }

    /// Modification time in ns since 1970 ([`crate::journal::nanos`]), where the file
    /// system tells.
    pub fn modified_nanos(&self) -> Option<i64> {
        (self.rec.modified != i64::MIN).then_some(self.rec.modified)
    }

    /// Why this file will not be converted even though its name looks like an image.
    pub fn skip(&self) -> Option<&'s str> {
        self.files
            .skips
            .get(self.rec.skip as usize)
            .map(String::as_str)
    }

    /// The file it really is: its folder's real path and its name, or for a link, where the
    /// link leads.
    pub fn real(&self) -> PathBuf {
        if self.rec.link {
            super::resolve(&self.path())
        } else {
            self.dir().real.join(self.name())
        }
    }

    /// Its folder's index in [`Files::dirs`].
    pub fn dir_index(&self) -> usize {
        self.rec.dir as usize
    }

    /// Whether it is a symbolic link.
    pub fn is_link(&self) -> bool {
        self.rec.link
    }
}

#[cfg(unix)]
fn bytes_to_os(bytes: &[u8]) -> &OsStr {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes)
}

#[cfg(unix)]
pub(super) fn os_to_bytes(name: &OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes()
}

// Elsewhere names are kept as text (a name that is not Unicode is kept as near as it can be).
#[cfg(not(unix))]
fn bytes_to_os(bytes: &[u8]) -> &OsStr {
    OsStr::new(std::str::from_utf8(bytes).unwrap_or_default())
}

#[cfg(not(unix))]
pub(super) fn os_to_bytes(name: &OsStr) -> &[u8] {
    name.to_str().unwrap_or_default().as_bytes()
}

/// One folder's files as a walker thread gathers them: names in a buffer of their own,
/// sorted in natural order before they join the rest.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    pub names: Vec<u8>,
    pub recs: Vec<Rec>,
    pub skips: Vec<String>,
}

impl Gathered {
    pub fn push(
        &mut self,
        name: &OsStr,
        bytes: u64,
        modified: Option<SystemTime>,
        skip: Option<String>,
        link: bool,
    ) {
        let name = os_to_bytes(name);
        let skip = match skip {
            Some(s) => {
                self.skips.push(s);
                u32::try_from(self.skips.len() - 1).unwrap_or(u32::MAX)
            }
            None => u32::MAX,
        };
        self.recs.push(Rec {
            dir: 0,
            name_len: u32::try_from(name.len()).unwrap_or(u32::MAX),
            name_at: self.names.len() as u64,
            bytes,
            modified: modified.map_or(i64::MIN, crate::journal::nanos),
            skip,
            link,
        });
        self.names.extend_from_slice(name);
    }

    /// Sorts the folder's names in natural order.
    pub fn sort(&mut self) {
        let names = &self.names;
        let text = |r: &Rec| {
            let at = r.name_at as usize;
            bytes_to_os(&names[at..at + r.name_len as usize]).to_string_lossy()
        };
        self.recs
            .sort_by(|a, b| natural_cmp_parts(&[&text(a)], &[&text(b)]));
    }
}

impl Files {
    /// Puts gathered folders together in order: folders by input and natural order of their
    /// relative paths, each folder's files already sorted; then a check (and, where a
    /// folder's files fall between another's, a sort) of the whole in natural path order.
    pub(super) fn assemble(mut gathered: Vec<(Dir, Gathered)>) -> Files {
        gathered.sort_by(|(a, _), (b, _)| {
            a.root
                .cmp(&b.root)
                .then_with(|| natural_cmp_parts(&[&a.sort_key], &[&b.sort_key]))
        });
        let total: usize = gathered.iter().map(|(_, g)| g.recs.len()).sum();
        let name_bytes: usize = gathered.iter().map(|(_, g)| g.names.len()).sum();
        let mut files = Files {
            dirs: Vec::with_capacity(gathered.len()),
            names: Vec::with_capacity(name_bytes),
            recs: Vec::with_capacity(total),
            skips: Vec::new(),
        };
        for (dir, g) in gathered {
            if g.recs.is_empty() {
                continue;
            }
            let index = u32::try_from(files.dirs.len()).unwrap_or(u32::MAX);
            files.dirs.push(dir);
            let (name_base, skip_base) = (files.names.len() as u64, files.skips.len());
            files.names.extend_from_slice(&g.names);
            files.skips.extend(g.skips);
            files.recs.extend(g.recs.into_iter().map(|r| Rec {
                dir: index,
                name_at: r.name_at + name_base,
                skip: if r.skip == u32::MAX {
                    u32::MAX
                } else {
                    u32::try_from(r.skip as usize + skip_base).unwrap_or(u32::MAX)
                },
                ..r
            }));
        }
        let sorted = files
            .recs
            .windows(2)
            .all(|w| files.order(&w[0], &w[1]) != Ordering::Greater);
        if !sorted {
            let mut recs = std::mem::take(&mut files.recs);
            recs.sort_by(|a, b| files.order(a, b));
            files.recs = recs;
        }
        files
    }

    /// Keeps the files for which `keep(index)` holds, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut i = 0;
        self.recs.retain(|_| {
            let k = keep(i);
            i += 1;
            k
        });
    }
}
