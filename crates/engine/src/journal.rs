//! The journal: what Conveyor made, from what, with which recipe. Resume is decided by it, not
//! by whether a path exists.
//!
//! One file per shard in the output folder (`.conveyor-journal.jsonl`, or
//! `.conveyor-journal-2-of-4.jsonl` for shard 2/4), so concurrent shards never write the same
//! file. Each line is one [`Entry`], appended (and synced) only after its output is durable. A
//! run reads every shard's file; a line it cannot read (a torn last line after a crash, a
//! damaged file) is ignored, so the outputs it named count as unknown, never as vouched for.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, Metadata, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::remote::{Listed, Location, Store, StoreError, Tagged};
use crate::hash::PassedHash;

/// Start of every journal file's name.
pub const JOURNAL_PREFIX: &str = ".conveyor-journal";
/// End of every journal file's name.
pub const JOURNAL_SUFFIX: &str = ".jsonl";

/// The journal file's name for shard `(index, count)` (or the whole batch).
pub fn file_name(shard: Option<(u32, u32)>) -> String {
    match shard {
        Some((index, count)) => format!("{JOURNAL_PREFIX}-{index}-of-{count}{JOURNAL_SUFFIX}"),
        None => format!("{JOURNAL_PREFIX}{JOURNAL_SUFFIX}"),
    }
}

/// The splits (N of `K-of-N`) whose shard journals are in `out_dir`: a sharded batch leaves
/// one journal per part there.
pub fn splits_in(out_dir: &Path) -> std::collections::BTreeSet<u32> {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return std::collections::BTreeSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let middle = name
                .strip_prefix(JOURNAL_PREFIX)?
                .strip_suffix(JOURNAL_SUFFIX)?
                .strip_prefix('-')?;
            let (k, n) = middle.split_once("-of-")?;
            k.parse::<u32>().ok()?;
            n.parse::<u32>().ok()
        })
        .collect()
}

/// Whether `name` is one of the journal files.
pub fn is_journal(name: &str) -> bool {
    name.starts_with(JOURNAL_PREFIX) && name.ends_with(JOURNAL_SUFFIX)
}

/// A time as nanoseconds since 1970 (negative before).
pub fn nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// A file's modification time in nanoseconds, where the platform tells.
pub fn modified(meta: &Metadata) -> Option<i64> {
    meta.modified().ok().map(nanos)
}

/// One output Conveyor wrote. Paths are text ([`path_text`]: lossless, also for names that are
/// not UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The output, relative to the output folder, with `/` between folders.
    pub output: String,
    /// The input's absolute path, links resolved.
    pub input: String,
    /// The input's size when it was read.
    pub in_bytes: u64,
    /// The input's modification time (ns since 1970) when it was read.
    pub in_mtime: Option<i64>,
    /// The recipe's fingerprint ([`crate::options::fingerprint`]).
    pub recipe: String,
    /// The naming template the output's name came from.
    pub name: String,
    /// Which of the recipe's outputs made it (0 for a recipe with one output).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slot: usize,
    /// The output's size.
    pub out_bytes: u64,
    /// The output's modification time (ns since 1970) right after it was written.
    pub out_mtime: Option<i64>,
    /// The output object's entity tag, for an output in object storage (which has no
    /// modification time of the writer's choosing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_etag: Option<String>,
    /// This line takes back an earlier one with the same fields: the output it announced was
    /// never put in place (the rename failed).
    #[serde(default, skip_serializing_if = "is_false")]
    pub withdrawn: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `entry` as the text an output object carries in its metadata: JSON with every character
/// outside ASCII escaped (metadata travels in HTTP headers), or `None` if it is too long for
/// S3's 2 KiB of user metadata.
pub fn metadata_text(entry: &Entry) -> Option<String> {
    let json = serde_json::to_string(entry).ok()?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    (out.len() <= 1800).then_some(out)
}

/// What is at an output's path now, as the journal compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutStat {
    /// A regular file (or an object), not a folder, link or device.
    pub is_file: bool,
    /// Its size.
    pub bytes: u64,
    /// Its modification time (files).
    pub mtime: Option<i64>,
    /// Its entity tag (objects).
    pub etag: Option<String>,
}

impl OutStat {
    /// A file's, from its metadata.
    pub fn of(meta: &Metadata) -> OutStat {
        OutStat {
            is_file: meta.is_file(),
            bytes: meta.len(),
            mtime: modified(meta),
            etag: None,
        }
    }

    /// Whether the entry that wrote `bytes` at `mtime` (or with entity tag `etag`) wrote what
    /// is here now.
    fn written_by(&self, bytes: u64, mtime: Option<i64>, etag: Option<&str>) -> bool {
        if !self.is_file || bytes != self.bytes {
            return false;
        }
        match &self.etag {
            Some(tag) => etag == Some(tag.as_str()),
            None => self.mtime.is_some() && mtime == self.mtime,
        }
    }
}

/// What the journal says of a file at a planned output path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Made from this input, as it is now, with this recipe, and unchanged since: done.
    Vouched,
    /// Conveyor made it, but it no longer matches (the sentence says why): redo it in place.
    Stale(String),
    /// The journal knows nothing of it: a file the user put there, or one from before.
    Unknown,
}

/// Every journal entry found in an output folder, kept compact for a million of them: one text
/// buffer holds every output and input path, recipes and templates are held once, and entries
/// are found by a hash of their output or input (chains of entries with equal hashes, the text
/// compared), never by a map of owned strings (about 1 KB an entry before #41; 120 bytes now).
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// Every output, input and entity tag, end to end.
    text: String,
    recs: Vec<Rec>,
    /// Recipe fingerprints and naming templates, each once.
    strings: Vec<Box<str>>,
    interned: HashMap<Box<str>, u32>,
    /// Hash of an output → its newest entry.
    by_output: HashMap<u64, u32, PassedHash>,
    /// Hash of an input → its newest entry.
    by_input: HashMap<u64, u32, PassedHash>,
    hasher: std::hash::RandomState,
    /// Lines that could not be read.
    pub damaged: usize,
    /// Lines that took an earlier one back.
    withdrawals: usize,
    /// Every text hashes alike (tests of the chains).
    #[cfg(test)]
    collide: bool,
}

/// Where a text is in [`Journal::text`]: its start (low 40 bits) and length (high 24 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span(u64);

impl Span {
    const NONE: Span = Span(u64::MAX);
    const START_BITS: u32 = 40;

    fn of(start: usize, len: usize) -> Option<Span> {
        let (start, len) = (u64::try_from(start).ok()?, u64::try_from(len).ok()?);
        // The longest length is kept for `NONE`.
        (start < 1 << Span::START_BITS && len < (1 << (64 - Span::START_BITS)) - 1)
            .then_some(Span(start | len << Span::START_BITS))
    }

    fn get(self, text: &str) -> Option<&str> {
        if self == Span::NONE {
            return None;
        }
        let start = usize::try_from(self.0 & ((1 << Span::START_BITS) - 1)).ok()?;
        let len = usize::try_from(self.0 >> Span::START_BITS).ok()?;
        text.get(start..start.checked_add(len)?)
    }
}

/// No entry (the end of a chain).
const END: u32 = u32::MAX;
/// An unknown time.
const NO_TIME: i64 = i64::MIN;

fn time(t: Option<i64>) -> i64 {
    t.unwrap_or(NO_TIME)
}

fn known(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

/// One entry, as the journal holds it.
#[derive(Debug, Clone)]
struct Rec {
    output: Span,
    input: Span,
    etag: Span,
    in_bytes: u64,
    in_mtime: i64,
    out_bytes: u64,
    out_mtime: i64,
    recipe: u32,
    name: u32,
    slot: u32,
    /// The next older entry whose output has the same hash.
    next_out: u32,
    /// The next older entry whose input has the same hash.
    next_in: u32,
    /// Not taken back by a later line.
    live: bool,
}

/// A journal line as read: its texts borrowed from the line where they need no unescaping.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    output: Cow<'a, str>,
    #[serde(borrow)]
    input: Cow<'a, str>,
    in_bytes: u64,
    in_mtime: Option<i64>,
    #[serde(borrow)]
    recipe: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    slot: usize,
    out_bytes: u64,
    out_mtime: Option<i64>,
    #[serde(default)]
    out_etag: Option<String>,
    #[serde(default)]
    withdrawn: bool,
}

impl<'a> Line<'a> {
    fn of(e: &'a Entry) -> Line<'a> {
        Line {
            output: Cow::Borrowed(&e.output),
            input: Cow::Borrowed(&e.input),
            in_bytes: e.in_bytes,
            in_mtime: e.in_mtime,
            recipe: Cow::Borrowed(&e.recipe),
            name: Cow::Borrowed(&e.name),
            slot: e.slot,
            out_bytes: e.out_bytes,
            out_mtime: e.out_mtime,
            out_etag: e.out_etag.clone(),
            withdrawn: e.withdrawn,
        }
    }
}

/// What this run would record for an output, as [`Journal::verdict`] compares it.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    /// The input's journal text ([`path_text`] of its real path).
    pub input: &'a str,
    /// Its size now.
    pub in_bytes: u64,
    /// Its modification time now.
    pub in_mtime: Option<i64>,
    /// The recipe's fingerprint.
    pub recipe: &'a str,
}

impl Entry {
    /// What [`Journal::verdict`] compares of this entry.
    pub fn want(&self) -> Want<'_> {
        Want {
            input: &self.input,
            in_bytes: self.in_bytes,
            in_mtime: self.in_mtime,
            recipe: &self.recipe,
        }
    }
}

/// One entry of a [`Journal`], read in place.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'j> {
    journal: &'j Journal,
    rec: &'j Rec,
    index: usize,
}

impl<'j> Recorded<'j> {
    /// The output, relative to the output folder, `/` between folders.
    pub fn output(&self) -> &'j str {
        self.journal.str(self.rec.output)
    }

    /// The input's journal text.
    pub fn input(&self) -> &'j str {
        self.journal.str(self.rec.input)
    }

    /// Its place among the journal's entries (for [`Journal::mark_input`]'s marks).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The entry as it was written.
    pub fn entry(&self) -> Entry {
        self.journal.entry_of(self.rec)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Where a path written as journal text ([`path_text`]) that is not UTF-8 starts: NUL, which no
/// path holds, so it never begins a path's own text.
const RAW: char = '\0';

/// A path as journal text, losslessly: itself when it is UTF-8; otherwise (on Unix) NUL and
/// its bytes in hex, so an input or output whose name is not UTF-8 is journalled and resumed
/// like any other. `None` only on other platforms, for a path that is not Unicode.
pub fn path_text(path: &Path) -> Option<String> {
    if let Some(text) = path.to_str() {
        return Some(text.to_owned());
    }
    #[cfg(unix)]
    {
        use std::fmt::Write as _;
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let mut out = String::with_capacity(1 + 2 * bytes.len());
        out.push(RAW);
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        Some(out)
    }
    #[cfg(not(unix))]
    None
}

/// The path journal text ([`path_text`]) stands for.
pub fn text_path(text: &str) -> PathBuf {
    #[cfg(unix)]
    if let Some(hex) = text.strip_prefix(RAW) {
        use std::os::unix::ffi::OsStringExt;
        let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        if let Some(bytes) = bytes {
            return PathBuf::from(std::ffi::OsString::from_vec(bytes));
        }
    }
    PathBuf::from(text)
}

/// An output path relative to the output folder as the journal writes it: `/` between
/// folders, lossless ([`path_text`]).
pub fn key(rel: &Path) -> Option<String> {
    let mut joined = std::ffi::OsString::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            joined.push("/");
        }
        joined.push(c.as_os_str());
    }
    path_text(Path::new(&joined))
}

/// The longest journal line read: an entry is a few hundred bytes, so a longer line is damage
/// (skipped without being held in memory).
const MAX_LINE: usize = 64 * 1024;

/// Opens `path` with `options` only if it is a regular file: never through a symbolic link,
/// and never waiting on a pipe or a device.
fn open_regular(path: &Path, mut options: OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the journal's name holds something other than a regular file",
        ))
    }
}

/// [`open_regular`] for reading.
fn read_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    open_regular(path, options)
}

/// Calls `f` with each non-empty line of `r` (without its newline), or with `None` for a line
/// longer than [`MAX_LINE`]; memory stays bounded whatever the file holds.
fn for_each_line(r: impl Read, mut f: impl FnMut(Option<&[u8]>)) -> io::Result<()> {
    let mut reader = io::BufReader::with_capacity(64 * 1024, r);
    let mut line: Vec<u8> = Vec::new();
    let mut overlong = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if !overlong {
            if line.len() + chunk.len() > MAX_LINE {
                overlong = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = end.unwrap_or(buf.len());
        reader.consume(used);
        if end.is_some() {
            if overlong {
                f(None);
            } else if !line.is_empty() {
                f(Some(&line));
            }
            line.clear();
            overlong = false;
        }
    }
    if overlong {
        f(None);
    } else if !line.is_empty() {
        f(Some(&line));
    }
    Ok(())
}

/// Refuses an output folder where a journal's name holds something other than a regular file
/// (a symbolic link, a pipe, a folder): Conveyor would otherwise write its journal through it or
/// wait on it. One sentence for the user.
pub fn check_files(out_dir: &Path) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Ok(());
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(name) = name.to_str().filter(|n| is_journal(n)) else {
            continue;
        };
        let Ok(kind) = e.file_type() else {
            continue;
        };
        let what = if kind.is_file() {
            continue;
        } else if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_dir() {
            "a folder"
        } else {
            "a pipe or device"
        };
        return Err(format!(
            "{} is {what}, where Conveyor keeps its journal ({name}); Conveyor never reads or \
             writes its journal through one. Remove it and run again.",
            e.path().display()
        ));
    }
    Ok(())
}

impl Journal {
    /// Reads every shard's journal in `out_dir` (an empty journal if there is none). Only
    /// regular files are read, never through a link, a pipe or a device (see [`check_files`]),
    /// and line by line: a huge or damaged file costs time, not memory.
    pub fn load(out_dir: &Path) -> Journal {
        let mut journal = Journal::default();
        let Ok(entries) = fs::read_dir(out_dir) else {
            return journal;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(is_journal))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        files.sort();
        for file in files {
            let _ = journal.read_file(&file);
        }
        journal
    }

    /// Adds the entries of the journal file `path`.
    fn read_file(&mut self, path: &Path) -> io::Result<()> {
        let f = read_regular(path)?;
        if let Ok(meta) = f.metadata() {
            // About 220 bytes a line: room for the entries up front, not by doubling.
            let lines = usize::try_from(meta.len() / 200).unwrap_or(0);
            self.recs.reserve(lines.min(1 << 26));
            self.text.reserve((lines * 64).min(1 << 32));
        }
        for_each_line(f, |line| self.add_line(line))
    }

    /// Adds one line's entry, or counts it damaged.
    fn add_line(&mut self, line: Option<&[u8]>) {
        let added = line
            .and_then(|l| serde_json::from_slice::<Line<'_>>(l).ok())
            .is_some_and(|l| self.add(&l));
        if !added {
            self.damaged += 1;
        }
    }

    /// Reads every shard's journal object under `out`, then asks each object in `listing`
    /// that the journal does not know (or knows by another entity tag) for the entry it
    /// carries in its metadata: an output written after its shard's journal object was last
    /// saved (a crash between the two) is still known. Returns the journal and what is at each
    /// output now (by key relative to `out`).
    pub fn load_remote(
        store: &dyn Store,
        out: &Location,
        listing: &[Listed],
    ) -> Result<(Journal, HashMap<String, OutStat>), StoreError> {
        let mut journal = Journal::default();
        let mut names: Vec<&str> = listing
            .iter()
            .map(|o| o.rel.as_str())
            .filter(|rel| !rel.contains('/') && is_journal(rel))
            .collect();
        names.sort_unstable();
        for name in names {
            if let Some(bytes) = store.read(&out.join(name))? {
                for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    journal.add_line(Some(line));
                }
            }
        }
        let mut now = HashMap::new();
        for o in listing.iter().filter(|o| !is_journal(&o.rel)) {
            let stat = OutStat {
                is_file: true,
                bytes: o.bytes,
                mtime: None,
                etag: o.etag.clone(),
            };
            let known = journal.of_output(&o.rel).any(|r| journal.wrote(r, &stat));
            if !known
                && let Some(Tagged {
                    entry: Some(text),
                    etag,
                }) = store.entry(&out.join(&o.rel))?
                && let Ok(mut e) = serde_json::from_str::<Entry>(&text)
                && e.output == o.rel
            {
                // The metadata travels with the content: this entry wrote what is here.
                e.out_bytes = o.bytes;
                e.out_etag = etag.or_else(|| o.etag.clone());
                journal.add(&Line::of(&e));
            }
            now.insert(o.rel.clone(), stat);
        }
        Ok((journal, now))
    }

    /// `r` as the entry that was written.
    fn entry_of(&self, r: &Rec) -> Entry {
        Entry {
            output: self.str(r.output).to_owned(),
            input: self.str(r.input).to_owned(),
            in_bytes: r.in_bytes,
            in_mtime: known(r.in_mtime),
            recipe: self.interned(r.recipe).to_owned(),
            name: self.interned(r.name).to_owned(),
            slot: usize::try_from(r.slot).unwrap_or(usize::MAX),
            out_bytes: r.out_bytes,
            out_mtime: known(r.out_mtime),
            out_etag: r.etag.get(&self.text).map(str::to_owned),
            withdrawn: false,
        }
    }

    fn hash(&self, text: &str) -> u64 {
        #[cfg(test)]
        if self.collide {
            return 7;
        }
        self.hasher.hash_one(text)
    }

    fn str(&self, span: Span) -> &str {
        span.get(&self.text).unwrap_or_default()
    }

    fn interned(&self, i: u32) -> &str {
        self.strings.get(i as usize).map_or("", |s| s)
    }

    fn push(&mut self, text: &str) -> Option<Span> {
        let span = Span::of(self.text.len(), text.len())?;
        self.text.push_str(text);
        Some(span)
    }

    fn intern(&mut self, text: &str) -> Option<u32> {
        if let Some(&i) = self.interned.get(text) {
            return Some(i);
        }
        let i = u32::try_from(self.strings.len()).ok()?;
        self.strings.push(text.into());
        self.interned.insert(text.into(), i);
        Some(i)
    }

    /// Adds `line`'s entry (or takes back the one it withdraws); `false` if the journal cannot
    /// hold it (over 2^32 entries or a terabyte of paths: then it counts as damaged, and its
    /// output as unknown).
    fn add(&mut self, line: &Line<'_>) -> bool {
        if line.withdrawn {
            self.withdrawals += 1;
            let taken = self.of_output_index(&line.output).find(|&i| {
                self.recs
                    .get(i as usize)
                    .is_some_and(|r| self.same(r, line))
            });
            if let Some(r) = taken.and_then(|i| self.recs.get_mut(i as usize)) {
                r.live = false;
            }
            return true;
        }
        let Ok(index) = u32::try_from(self.recs.len()) else {
            return false;
        };
        if index == END {
            return false;
        }
        let (Some(recipe), Some(name), Ok(slot)) = (
            self.intern(&line.recipe),
            self.intern(&line.name),
            u32::try_from(line.slot),
        ) else {
            return false;
        };
        let mark = self.text.len();
        let (Some(output), Some(input)) = (self.push(&line.output), self.push(&line.input)) else {
            self.text.truncate(mark);
            return false;
        };
        let etag = match &line.out_etag {
            Some(tag) => match self.push(tag) {
                Some(span) => span,
                None => {
                    self.text.truncate(mark);
                    return false;
                }
            },
            None => Span::NONE,
        };
        let (ho, hi) = (self.hash(&line.output), self.hash(&line.input));
        let next_out = self.by_output.insert(ho, index).unwrap_or(END);
        let next_in = self.by_input.insert(hi, index).unwrap_or(END);
        self.recs.push(Rec {
            output,
            input,
            etag,
            in_bytes: line.in_bytes,
            in_mtime: time(line.in_mtime),
            out_bytes: line.out_bytes,
            out_mtime: time(line.out_mtime),
            recipe,
            name,
            slot,
            next_out,
            next_in,
            live: true,
        });
        true
    }

    /// Whether `r` is the entry `line` withdraws: every field equal.
    fn same(&self, r: &Rec, line: &Line<'_>) -> bool {
        r.live
            && self.str(r.output) == line.output
            && self.str(r.input) == line.input
            && r.in_bytes == line.in_bytes
            && known(r.in_mtime) == line.in_mtime
            && self.interned(r.recipe) == line.recipe
            && self.interned(r.name) == line.name
            && usize::try_from(r.slot).ok() == Some(line.slot)
            && r.out_bytes == line.out_bytes
            && known(r.out_mtime) == line.out_mtime
            && r.etag.get(&self.text) == line.out_etag.as_deref()
    }

    /// Whether entry `r` wrote what is at its output now (`now`).
    fn wrote(&self, r: &Rec, now: &OutStat) -> bool {
        now.written_by(r.out_bytes, known(r.out_mtime), r.etag.get(&self.text))
    }

    /// The entries (taken back or not) of `output`, newest first, by index.
    fn of_output_index<'s>(&'s self, output: &'s str) -> impl Iterator<Item = u32> + 's {
        let mut at = self
            .by_output
            .get(&self.hash(output))
            .copied()
            .unwrap_or(END);
        std::iter::from_fn(move || {
            while let Some(r) = self.recs.get(at as usize) {
                let i = at;
                at = r.next_out;
                if self.str(r.output) == output {
                    return Some(i);
                }
            }
            None
        })
    }

    /// The live entries of `output`, newest first.
    fn of_output<'s>(&'s self, output: &'s str) -> impl Iterator<Item = &'s Rec> + 's {
        self.of_output_index(output)
            .filter_map(|i| self.recs.get(i as usize))
            .filter(|r| r.live)
    }

    /// The entries (taken back or not) of `input`, newest first, by index.
    fn of_input_index<'s>(&'s self, input: &'s str) -> impl Iterator<Item = u32> + 's {
        let mut at = self.by_input.get(&self.hash(input)).copied().unwrap_or(END);
        std::iter::from_fn(move || {
            while let Some(r) = self.recs.get(at as usize) {
                let i = at;
                at = r.next_in;
                if self.str(r.input) == input {
                    return Some(i);
                }
            }
            None
        })
    }

    /// The entries (taken back or not) of `input`, newest first.
    fn of_input<'s>(&'s self, input: &'s str) -> impl Iterator<Item = &'s Rec> + 's {
        self.of_input_index(input)
            .filter_map(|i| self.recs.get(i as usize))
    }

    /// Whether the journal has no entries.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// How many entries it holds (taken back or not).
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether `input` (journal text) has an entry.
    pub fn has_input(&self, input: &str) -> bool {
        self.of_input(input).next().is_some()
    }

    /// Marks, in `marks` (one per entry, [`Journal::len`] long), the entries of `input`.
    pub fn mark_input(&self, marks: &mut [bool], input: &str) {
        for i in self.of_input_index(input) {
            if let Some(m) = marks.get_mut(i as usize) {
                *m = true;
            }
        }
    }

    /// The latest entry for each output, in the order they were written.
    pub fn latest(&self) -> impl Iterator<Item = Recorded<'_>> {
        self.recs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live)
            .filter(|(_, r)| {
                self.of_output(self.str(r.output))
                    .next()
                    .is_some_and(|newest| std::ptr::eq(newest, *r))
            })
            .map(|(index, rec)| Recorded {
                journal: self,
                rec,
                index,
            })
    }

    /// The live entries of `output`, oldest first, as written.
    pub fn entries(&self, output: &str) -> Vec<Entry> {
        let mut all: Vec<Entry> = self
            .of_output(output)
            .map(|rec| self.entry_of(rec))
            .collect();
        all.reverse();
        all
    }

    /// The output an earlier run gave `input` under naming template `name`, in folder `dir`
    /// (relative, `/`-separated, empty for the top) with one of the format's extensions
    /// `exts`: so a collision suffix, a `{n}` or an extension's spelling stays with the input
    /// it was first given to.
    pub fn previous_output(
        &self,
        input: &str,
        slot: usize,
        name: &str,
        dir: &str,
        exts: &[&str],
    ) -> Option<&str> {
        let slot = u32::try_from(slot).ok()?;
        self.of_input(input)
            .filter_map(|r| self.of_output(self.str(r.output)).next())
            .filter(|e| {
                e.slot == slot && self.str(e.input) == input && self.interned(e.name) == name
            })
            .map(|e| self.str(e.output))
            .filter(|output| in_folder_with_ext(output, dir, exts))
            .min()
    }

    /// What the journal says of what is at output `output` now (`now`), which this run would
    /// make as `want`. An entry whose fingerprint is `legacy` (what an earlier version wrote
    /// for the same recipe) counts as `want`'s.
    pub fn verdict(
        &self,
        output: &str,
        now: &OutStat,
        want: &Want<'_>,
        legacy: Option<&str>,
    ) -> Verdict {
        if self.of_output_index(output).next().is_none() {
            return Verdict::Unknown;
        }
        // The entry that wrote the file now there has its size and time (or entity tag).
        let Some(e) = self.of_output(output).find(|r| self.wrote(r, now)) else {
            return Verdict::Stale(
                "Conveyor wrote this output but it was changed or truncated since".into(),
            );
        };
        let recipe = self.interned(e.recipe);
        if self.str(e.input) != want.input {
            Verdict::Stale(format!(
                "this output was made from another input ({})",
                text_path(self.str(e.input)).display()
            ))
        } else if recipe != want.recipe && legacy != Some(recipe) {
            Verdict::Stale("this output was made with another recipe".into())
        } else if (e.in_bytes, known(e.in_mtime)) != (want.in_bytes, want.in_mtime)
            || e.in_mtime == NO_TIME
        {
            Verdict::Stale("the input changed since this output was made".into())
        } else {
            Verdict::Vouched
        }
    }
}

/// Whether `output` (journal text) is in folder `dir` and has one of the extensions `exts`.
fn in_folder_with_ext(output: &str, dir: &str, exts: &[&str]) -> bool {
    if output.starts_with(RAW) {
        let path = text_path(output);
        let d = path.parent().and_then(key).unwrap_or_default();
        return d == dir
            && path
                .extension()
                .is_some_and(|x| exts.iter().any(|e| x.eq_ignore_ascii_case(e)));
    }
    let (d, file) = output.rsplit_once('/').unwrap_or(("", output));
    let ext = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext,
        _ => return false,
    };
    d == dir && exts.iter().any(|e| ext.eq_ignore_ascii_case(e))
}

/// Appends entries to one shard's journal file, durably; or, for an output in object storage,
/// keeps the shard's journal object up to date.
#[derive(Debug)]
pub struct JournalWriter {
    out_dir: PathBuf,
    path: PathBuf,
    file: Mutex<Option<Arc<File>>>,
    remote: Option<RemoteJournal>,
}

/// A journal object: rewritten whole (objects cannot be appended to) at most every
/// [`RemoteJournal::EVERY`] entries or [`RemoteJournal::AFTER`], and when the batch ends. An
/// output written since the last save is not lost to a crash: its object carries its entry.
#[derive(Debug)]
struct RemoteJournal {
    store: Arc<dyn Store>,
    object: Location,
    state: Mutex<RemoteState>,
}

#[derive(Debug)]
struct RemoteState {
    /// The whole object's text: what it held before this run, then this run's entries.
    text: Vec<u8>,
    unsaved: usize,
    saved: std::time::Instant,
}

impl RemoteJournal {
    const EVERY: usize = 64;
    const AFTER: std::time::Duration = std::time::Duration::from_secs(2);

    fn save(&self, state: &mut RemoteState) -> io::Result<()> {
        self.store
            .put(&self.object, &state.text, None)
            .map_err(|e| io::Error::other(e.reason))?;
        state.unsaved = 0;
        state.saved = std::time::Instant::now();
        Ok(())
    }
}

impl JournalWriter {
    /// The writer for `shard`'s journal in `out_dir`; nothing is created until the first entry.
    pub fn new(out_dir: &Path, shard: Option<(u32, u32)>) -> JournalWriter {
        JournalWriter {
            out_dir: out_dir.to_path_buf(),
            path: out_dir.join(file_name(shard)),
            file: Mutex::new(None),
            remote: None,
        }
    }

    /// The writer for `shard`'s journal object under `out`, which keeps the object's entries
    /// from earlier runs (read now).
    pub fn remote(
        store: Arc<dyn Store>,
        out: &Location,
        shard: Option<(u32, u32)>,
    ) -> Result<JournalWriter, StoreError> {
        let object = out.join(&file_name(shard));
        let mut text = store.read(&object)?.unwrap_or_default();
        // A torn or damaged object keeps only its readable lines.
        let mut kept = Vec::with_capacity(text.len());
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if serde_json::from_slice::<Entry>(line).is_ok() {
                kept.extend_from_slice(line);
                kept.push(b'\n');
            }
        }
        text = kept;
        let path = PathBuf::from(object.to_string());
        Ok(JournalWriter {
            out_dir: PathBuf::from(out.to_string()),
            path,
            file: Mutex::new(None),
            remote: Some(RemoteJournal {
                store,
                object,
                state: Mutex::new(RemoteState {
                    text,
                    unsaved: 0,
                    saved: std::time::Instant::now(),
                }),
            }),
        })
    }

    /// Saves what is not yet saved (a journal object; a file's lines are synced as written).
    pub fn finish(&self) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let mut state = remote.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.unsaved > 0 {
            remote.save(&mut state)?;
        }
        Ok(())
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> io::Result<Arc<File>> {
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = slot.as_ref() {
            return Ok(Arc::clone(f));
        }
        // `symlink_metadata`: a dangling link at the name "exists" too, and is refused below.
        let existed = fs::symlink_metadata(&self.path).is_ok();
        if existed {
            self.repair()?;
        }
        fs::create_dir_all(&self.out_dir)?;
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        let file = Arc::new(open_regular(&self.path, options)?);
        if !existed {
            // The new file's name must survive a power cut too.
            #[cfg(unix)]
            File::open(&self.out_dir)?.sync_all()?;
        }
        *slot = Some(Arc::clone(&file));
        Ok(file)
    }

    /// Rewrites this shard's journal file (atomically, like an output) when a crash tore its last
    /// line (the next entry would be glued onto it and lost), when it has damaged lines, or when
    /// superseded entries outnumber the live ones: only the latest readable entry per output is
    /// kept, in the order they were written.
    fn repair(&self) -> io::Result<()> {
        let file = read_regular(&self.path)?;
        let size = file.metadata()?.len();
        let torn = size > 0 && {
            use std::io::{Seek, SeekFrom};
            let mut last = [0u8; 1];
            let mut f = &file;
            f.seek(SeekFrom::End(-1))?;
            f.read_exact(&mut last)?;
            last[0] != b'\n'
        };
        drop(file);
        // Read as a run reads it: a withdrawal takes back the latest line equal to it, and
        // both go.
        let mut journal = Journal::default();
        journal.read_file(&self.path)?;
        let entries = journal.recs.iter().filter(|r| r.live).count();
        let live = journal.latest().count();
        if !torn && journal.damaged == 0 && journal.withdrawals == 0 && entries <= 2 * live + 1000 {
            return Ok(());
        }
        super::durable::write_with(&self.path, |w| {
            for e in journal.latest() {
                serde_json::to_writer(&mut *w, &e.entry()).map_err(io::Error::other)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })
    }

    /// Takes back `entry`, recorded before a rename that then failed.
    pub fn withdraw(&self, entry: &Entry) -> io::Result<()> {
        self.record(&Entry {
            withdrawn: true,
            ..entry.clone()
        })
    }

    /// Appends `entry` (one whole line in one write) and syncs it.
    pub fn record(&self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        if let Some(remote) = &self.remote {
            let mut state = remote.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.text.extend_from_slice(&line);
            state.unsaved += 1;
            if state.unsaved >= RemoteJournal::EVERY
                || state.saved.elapsed() >= RemoteJournal::AFTER
            {
                remote.save(&mut state)?;
            }
            return Ok(());
        }
        let file = self.open()?;
        (&*file).write_all(&line)?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(output: &str, input: &str) -> Entry {
        Entry {
            output: output.into(),
            input: input.into(),
            in_bytes: 10,
            in_mtime: Some(5),
            recipe: "r1".into(),
            name: "{stem}".into(),
            slot: 0,
            out_bytes: 0,
            out_mtime: None,
            out_etag: None,
            withdrawn: false,
        }
    }

    #[test]
    fn entries_round_trip_and_damaged_lines_are_ignored() {
        let tmp = tempfile::tempdir().expect("tmp");
        let writer = JournalWriter::new(tmp.path(), None);
        let out = tmp.path().join("a.jpg");
        fs::write(&out, b"12345").expect("write");
        let meta = fs::metadata(&out).expect("meta");
        let mut e = entry("a.jpg", "/in/a.png");
        e.out_bytes = 5;
        e.out_mtime = modified(&meta);
        writer.record(&e).expect("record");
        // A torn line, as a crash mid-append would leave.
        let mut f = OpenOptions::new()
            .append(true)
            .open(writer.path())
            .expect("open");
        f.write_all(b"{\"output\":\"b.jpg\",\"inp").expect("tear");
        let journal = Journal::load(tmp.path());
        assert_eq!(journal.damaged, 1);
        assert_eq!(
            journal.verdict("a.jpg", &OutStat::of(&meta), &e.want(), None),
            Verdict::Vouched
        );
        let mut other_recipe = e.clone();
        other_recipe.recipe = "r2".into();
        assert!(matches!(
            journal.verdict("a.jpg", &OutStat::of(&meta), &other_recipe.want(), None),
            Verdict::Stale(_)
        ));
        // An entry an earlier version wrote for the same recipe (its old fingerprint).
        assert_eq!(
            journal.verdict(
                "a.jpg",
                &OutStat::of(&meta),
                &other_recipe.want(),
                Some("r1")
            ),
            Verdict::Vouched
        );
        let mut newer_input = e.clone();
        newer_input.in_mtime = Some(6);
        assert!(matches!(
            journal.verdict("a.jpg", &OutStat::of(&meta), &newer_input.want(), None),
            Verdict::Stale(_)
        ));
        assert_eq!(
            journal.verdict("b.jpg", &OutStat::of(&meta), &e.want(), None),
            Verdict::Unknown
        );
        // Truncated since: the recorded size no longer matches.
        fs::write(&out, b"").expect("truncate");
        let meta = fs::metadata(&out).expect("meta");
        assert!(matches!(
            journal.verdict("a.jpg", &OutStat::of(&meta), &e.want(), None),
            Verdict::Stale(_)
        ));
    }

    #[test]
    fn an_earlier_name_is_found_by_input_template_folder_and_extension() {
        let jpg = crate::format::Format::Jpeg.spec().extensions;
        let mut j = Journal::default();
        j.add(&Line::of(&entry("sub/pic-1.jpg", "/in/sub/pic.tiff")));
        j.add(&Line::of(&entry("pic.webp", "/in/sub/pic.tiff")));
        assert_eq!(
            j.previous_output("/in/sub/pic.tiff", 0, "{stem}", "sub", jpg),
            Some("sub/pic-1.jpg")
        );
        // Another output of the recipe never takes this one's name.
        assert_eq!(
            j.previous_output("/in/sub/pic.tiff", 1, "{stem}", "sub", jpg),
            None
        );
        assert_eq!(
            j.previous_output("/in/sub/pic.tiff", 0, "{stem}-x", "sub", jpg),
            None
        );
        assert_eq!(
            j.previous_output(
                "/in/sub/pic.tiff",
                0,
                "{stem}",
                "",
                crate::format::Format::Png.spec().extensions
            ),
            None
        );
        assert_eq!(key(Path::new("a/b/c.jpg")).as_deref(), Some("a/b/c.jpg"));
    }

    #[test]
    fn a_torn_or_damaged_journal_is_repaired_before_the_next_entry() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join(file_name(None));
        let good = serde_json::to_string(&entry("a.jpg", "/in/a.png")).expect("json");
        let older = serde_json::to_string(&entry("b.jpg", "/in/old.png")).expect("json");
        let newer = serde_json::to_string(&entry("b.jpg", "/in/b.png")).expect("json");
        // A damaged line, a superseded entry, and a line torn by a crash mid-append.
        fs::write(
            &path,
            format!("{good}\nnot json\n{older}\n{newer}\n{{\"output\":\"c.j"),
        )
        .expect("plant");
        let writer = JournalWriter::new(tmp.path(), None);
        writer.record(&entry("d.jpg", "/in/d.png")).expect("record");
        let journal = Journal::load(tmp.path());
        assert_eq!(journal.damaged, 0, "the file was rewritten clean");
        let mut outputs: Vec<(&str, &str)> =
            journal.latest().map(|e| (e.output(), e.input())).collect();
        outputs.sort_unstable();
        assert_eq!(
            outputs,
            [
                ("a.jpg", "/in/a.png"),
                ("b.jpg", "/in/b.png"),
                ("d.jpg", "/in/d.png")
            ]
        );
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 3);
    }

    /// Entries are found by their text whatever their hashes: every lookup gives the same
    /// answer when every output and input hashes alike (one chain holds them all).
    #[test]
    fn lookups_compare_texts_when_every_hash_collides() {
        let mut lines = Vec::new();
        for i in 0..40 {
            let mut e = entry(
                &format!("d{}/p{i}.jpg", i % 3),
                &format!("/in/p{}.png", i % 17),
            );
            e.out_bytes = i;
            e.slot = (i % 2) as usize;
            lines.push(e);
        }
        // A withdrawal of the 10th, and a newer entry for the 5th's output.
        lines.push(Entry {
            withdrawn: true,
            ..lines[10].clone()
        });
        lines.push(Entry {
            out_bytes: 99,
            ..lines[5].clone()
        });
        let fill = |collide: bool| {
            let mut j = Journal {
                collide,
                ..Journal::default()
            };
            for e in &lines {
                j.add(&Line::of(e));
            }
            j
        };
        let (plain, chained) = (fill(false), fill(true));
        let latest = |j: &Journal| j.latest().map(|e| e.entry()).collect::<Vec<_>>();
        assert_eq!(latest(&plain), latest(&chained));
        assert_eq!(latest(&plain).len(), 39, "40 outputs, one withdrawn");
        let jpg = crate::format::Format::Jpeg.spec().extensions;
        let now = OutStat {
            is_file: true,
            bytes: 99,
            mtime: None,
            etag: None,
        };
        for line in &lines[..40] {
            let (output, input) = (&line.output, &line.input);
            for j in [&plain, &chained] {
                assert_eq!(j.entries(output), plain.entries(output), "{output}");
                assert!(j.has_input(input));
                for slot in 0..2 {
                    for dir in ["d0", "d1", "d2"] {
                        assert_eq!(
                            j.previous_output(input, slot, "{stem}", dir, jpg),
                            plain.previous_output(input, slot, "{stem}", dir, jpg),
                        );
                    }
                }
                assert_eq!(
                    j.verdict(output, &now, &line.want(), None),
                    plain.verdict(output, &now, &line.want(), None)
                );
            }
        }
        assert_eq!(plain.entries(&lines[10].output), vec![]);
        assert_eq!(plain.entries(&lines[5].output).len(), 2);
        assert!(!chained.has_input("/in/none.png"));
        let mut marks = vec![false; chained.len()];
        chained.mark_input(&mut marks, "/in/p3.png");
        let marked: Vec<usize> = (0..marks.len()).filter(|&i| marks[i]).collect();
        assert_eq!(marked, [3, 20, 37]);
    }

    #[test]
    fn shards_have_their_own_files() {
        let s = (2, 4);
        assert_eq!(file_name(Some(s)), ".conveyor-journal-2-of-4.jsonl");
        assert!(is_journal(&file_name(Some(s))) && is_journal(&file_name(None)));
        assert!(!is_journal(".conveyor-host-1-x.tmp"));
    }

    #[test]
    fn a_withdrawn_line_takes_back_its_entry_and_repair_drops_both() {
        let tmp = tempfile::tempdir().expect("tmp");
        let writer = JournalWriter::new(tmp.path(), None);
        let kept = entry("a.jpg", "/in/a.png");
        let mut taken = entry("a.jpg", "/in/a.png");
        taken.out_bytes += 1;
        writer.record(&kept).expect("record");
        writer.record(&taken).expect("record");
        writer.withdraw(&taken).expect("withdraw");
        let journal = Journal::load(tmp.path());
        assert_eq!(journal.entries("a.jpg"), vec![kept.clone()]);
        // The next writer repairs the file: the pair is gone, the first entry stays.
        let again = JournalWriter::new(tmp.path(), None);
        again.record(&entry("b.jpg", "/in/b.png")).expect("record");
        let text = fs::read_to_string(again.path()).expect("read");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains("withdrawn"), "{text}");
    }
}
