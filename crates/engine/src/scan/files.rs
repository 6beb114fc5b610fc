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
    pub name_len: u32,
    /// Where the name starts in its folder's buffer.
    pub name_at: u32,
    pub bytes: u64,
    /// ns since 1970 ([`crate::journal::nanos`]), `i64::MIN` for unknown.
    pub modified: i64,
    /// Index into the skip reasons, or `u32::MAX`.
    pub skip: u32,
    /// The entry is a symbolic link to a file: its real path is found by resolving it.
    pub link: bool,
}

/// Image-named files, sorted by input, then relative path in natural order. Each folder's
/// files stay as the thread that read the folder gathered them (a copy of a million records
/// would be left behind in that thread's memory); the order is a list of (folder, file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    pub(super) dirs: Vec<Dir>,
    /// Each folder's files, by the folder's index.
    pub(super) chunks: Vec<Gathered>,
    /// The files in order: (folder, index in its chunk).
    pub(super) order: Vec<(u32, u32)>,
}

impl Files {
    /// How many files.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The `i`th file (panics past the end, as indexing does).
    pub fn get(&self, i: usize) -> Found<'_> {
        self.found(self.order[i])
    }

    fn found(&self, (dir, k): (u32, u32)) -> Found<'_> {
        let chunk = &self.chunks[dir as usize];
        Found {
            files: self,
            dir,
            chunk,
            rec: &chunk.recs[k as usize],
        }
    }

    /// Every file, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Found<'_>> + '_ {
        self.order.iter().map(move |&at| self.found(at))
    }

    /// The folders the files are in.
    pub fn dirs(&self) -> &[Dir] {
        &self.dirs
    }

    /// Natural order of two files: by input, then relative path.
    fn compare(&self, a: (u32, u32), b: (u32, u32)) -> Ordering {
        let (fa, fb) = (self.found(a), self.found(b));
        let (da, db) = (fa.dir(), fb.dir());
        da.root.cmp(&db.root).then_with(|| {
            let (na, nb) = (fa.name().to_string_lossy(), fb.name().to_string_lossy());
            if a.0 == b.0 {
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
    dir: u32,
    chunk: &'s Gathered,
    rec: &'s Rec,
}

impl<'s> Found<'s> {
    /// Its folder.
    pub fn dir(&self) -> &'s Dir {
        &self.files.dirs[self.dir as usize]
    }

    /// Its name.
    pub fn name(&self) -> &'s OsStr {
        self.chunk.name_of(self.rec)
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
        self.chunk
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
        self.dir as usize
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Gathered {
    pub names: Vec<u8>,
    pub recs: Vec<Rec>,
    pub skips: Vec<String>,
}

impl Gathered {
    fn name_of(&self, rec: &Rec) -> &OsStr {
        let at = rec.name_at as usize;
        let bytes = self
            .names
            .get(at..at.saturating_add(rec.name_len as usize))
            .unwrap_or_default();
        bytes_to_os(bytes)
    }

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
            name_len: u32::try_from(name.len()).unwrap_or(u32::MAX),
            name_at: u32::try_from(self.names.len()).unwrap_or(u32::MAX),
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
        gathered.retain(|(_, g)| !g.recs.is_empty());
        gathered.sort_by(|(a, _), (b, _)| {
            a.root
                .cmp(&b.root)
                .then_with(|| natural_cmp_parts(&[&a.sort_key], &[&b.sort_key]))
        });
        let total: usize = gathered.iter().map(|(_, g)| g.recs.len()).sum();
        let mut files = Files {
            dirs: Vec::with_capacity(gathered.len()),
            chunks: Vec::with_capacity(gathered.len()),
            order: Vec::with_capacity(total),
        };
        for (i, (dir, g)) in gathered.into_iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let n = u32::try_from(g.recs.len()).unwrap_or(u32::MAX);
            files.order.extend((0..n).map(|k| (index, k)));
            files.dirs.push(dir);
            files.chunks.push(g);
        }
        let sorted = files
            .order
            .windows(2)
            .all(|w| files.compare(w[0], w[1]) != Ordering::Greater);
        if !sorted {
            let mut order = std::mem::take(&mut files.order);
            order.sort_by(|&a, &b| files.compare(a, b));
            files.order = order;
        }
        files
    }

    /// Keeps the files for which `keep` holds, in order.
    pub fn retain_found(&mut self, mut keep: impl FnMut(Found<'_>) -> bool) {
        let kept: Vec<bool> = self.iter().map(&mut keep).collect();
        self.retain(|i| kept[i]);
    }

    /// Keeps the files for which `keep(index)` holds, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut i = 0;
        self.order.retain(|_| {
            let k = keep(i);
            i += 1;
            k
        });
    }
}

#[cfg(test)]
mod tests {
    /// A million files: each byte of a record is a megabyte.
    #[test]
    fn a_record_stays_small() {
        let size = std::mem::size_of::<super::Rec>();
        assert!(size <= 32, "a file's record takes {size} bytes");
    }
}
