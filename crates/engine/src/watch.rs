//! Hot folders: files that arrive in watched folders, handed on once each is complete.
//!
//! A file is complete when its size and time have stayed still for the settle time and,
//! where the platform tells it (inotify's close-after-write), the program that wrote it has
//! closed it. Names that downloads and copies in progress carry (`*.part`, `*.crdownload`,
//! `~*`, dotfiles) are never handed on. Events come from the platform (`notify`); when it
//! cannot watch (too many folders for its limit) or loses events (its queue overflowed), the
//! folders are looked at whole instead, and `--poll` looks at them whole on a timer for
//! network shares, whose changes raise no events. What was handed on is remembered with its
//! size and time, so a whole look hands on only what is new or changed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher as _;

use super::format::has_image_extension;
use super::scan::{self, Scan, ScanOptions, resolve};

/// Whether a file's name says it is still being written by another program: a browser's or
/// a copy tool's partial download (`.part`, `.crdownload`, …), an editor's or office
/// program's temporary file (`~…`), or a hidden file (rsync writes `.name.XXXXXX` and renames
/// it when done).
pub fn in_progress_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || [
            ".part",
            ".partial",
            ".crdownload",
            ".download",
            ".opdownload",
            ".filepart",
            ".tmp",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// What a file looked like: its size and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seen {
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, where the file system tells.
    pub modified: Option<SystemTime>,
}

impl Seen {
    /// The regular file at `path` now; `None` if there is none.
    pub fn of(path: &Path) -> Option<Seen> {
        let meta = fs::metadata(path).ok().filter(fs::Metadata::is_file)?;
        Some(Seen {
            bytes: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// What the platform said about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Data was written to it (it may be open still).
    Written,
    /// A program that had it open for writing closed it.
    Closed,
    /// Nothing about writing: it was created, moved in, or found by a whole look.
    Looked,
}

/// A writer that holds a file open this long without changing it is taken to be done (a copy
/// that crashed would otherwise hold it back forever).
const OPEN_AND_STILL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Pending {
    seen: Seen,
    /// When it last changed (or was written to).
    since: Instant,
    /// Written to and not closed since.
    writing: bool,
}

/// The files that arrived and when each is complete. Pure bookkeeping: the caller says what
/// it saw and when.
#[derive(Debug)]
pub struct Arrivals {
    settle: Duration,
    pending: HashMap<PathBuf, Pending>,
    /// Files handed on, as they were then.
    handed: HashMap<PathBuf, Seen>,
    /// Files handed on that went away, by their size and time: a file that arrives as one of
    /// them was (a rename keeps both; a copy gets a new time) is that file renamed.
    gone: HashMap<Seen, PathBuf>,
}

/// The most files remembered as gone or moved (a folder emptied of millions is not kept
/// whole).
const GONE_MOST: usize = 100_000;

impl Arrivals {
    /// Nothing arrived yet; a file is complete once still for `settle`.
    pub fn new(settle: Duration) -> Arrivals {
        Arrivals {
            settle,
            pending: HashMap::new(),
            handed: HashMap::new(),
            gone: HashMap::new(),
        }
    }

    /// `path` was handed on as `seen` (converted, or known to the journal already).
    pub fn handed(&mut self, path: PathBuf, seen: Seen) {
        self.pending.remove(&path);
        self.handed.insert(path, seen);
    }

    /// What is known of `path` at `now`: `seen` (`None`: it is gone), and what the platform
    /// said. A file handed on before and unchanged is not pending again.
    pub fn observe(&mut self, path: &Path, seen: Option<Seen>, sign: Sign, now: Instant) {
        let Some(seen) = seen else {
            self.pending.remove(path);
            if let Some(was) = self.handed.remove(path) {
                if self.gone.len() >= GONE_MOST {
                    self.gone.clear();
                }
                self.gone.insert(was, path.to_path_buf());
            }
            return;
        };
        if let Some(p) = self.pending.get_mut(path) {
            if p.seen != seen {
                p.seen = seen;
                p.since = now;
            }
            match sign {
                Sign::Written => {
                    p.writing = true;
                    p.since = now;
                }
                Sign::Closed => p.writing = false,
                Sign::Looked => {}
            }
            return;
        }
        if sign != Sign::Written && self.handed.get(path) == Some(&seen) {
            return;
        }
        self.pending.insert(
            path.to_path_buf(),
            Pending {
                seen,
                since: now,
                writing: sign == Sign::Written,
            },
        );
    }

    /// How long a pending file must have been still to be complete.
    fn wait_of(&self, p: &Pending) -> Duration {
        if p.writing {
            OPEN_AND_STILL.max(self.settle)
        } else {
            self.settle
        }
    }

    /// The files complete at `now` (their last look must be fresh), with what they looked
    /// like; they count as handed on from here.
    pub fn ready(&mut self, now: Instant) -> Vec<(PathBuf, Seen)> {
        let done: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.since) >= self.wait_of(p))
            .map(|(path, _)| path.clone())
            .collect();
        done.into_iter()
            .filter_map(|path| {
                let p = self.pending.remove(&path)?;
                self.handed.insert(path.clone(), p.seen);
                Some((path, p.seen))
            })
            .collect()
    }

    /// The file handed on before that a file arriving as `seen` is, renamed: one that went
    /// away with the same size and time and is still gone. Asked once: the answer is forgotten.
    pub fn renamed_from(&mut self, seen: &Seen) -> Option<PathBuf> {
        self.gone.remove(seen).filter(|old| !old.exists())
    }

    /// Forgets the handed-on files that `still_there` does not keep (a whole look found them
    /// gone), remembering them as gone.
    fn vanished(&mut self, still_there: impl Fn(&Path) -> bool, now: Instant) {
        let gone: Vec<PathBuf> = self
            .handed
            .keys()
            .filter(|p| !still_there(p))
            .cloned()
            .collect();
        for path in gone {
            self.observe(&path, None, Sign::Looked, now);
        }
    }

    /// The files still arriving.
    pub fn pending(&self) -> Vec<PathBuf> {
        self.pending.keys().cloned().collect()
    }

    /// The files complete by the clock at `now`: to be looked at once more (unchanged?)
    /// before [`Arrivals::ready`] hands them on.
    pub fn due(&self, now: Instant) -> Vec<PathBuf> {
        self.pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.since) >= self.wait_of(p))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// How many files are still arriving.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// When the first pending file could be complete.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.since + self.wait_of(p))
            .min()
    }
}

/// Files complete since the last wait.
#[derive(Debug, Default)]
pub struct Arrived {
    /// New or changed files, in natural order.
    pub files: Vec<PathBuf>,
    /// (was, is): files that arrived with the size and time of a file handed on before that
    /// went away: that file, renamed.
    pub renamed: Vec<(PathBuf, PathBuf)>,
}

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long a file's size and time must stay still.
    pub settle: Duration,
    /// Look at the folders whole this often instead of waiting for the platform's events
    /// (network shares raise none).
    pub poll: Option<Duration>,
    /// Watch sub-folders too.
    pub recursive: bool,
    /// Folders never looked in (the output folder).
    pub exclude: Vec<PathBuf>,
}

/// One watched input: as the user gave it, and absolute (as events name paths).
#[derive(Debug)]
struct Root {
    given: PathBuf,
    absolute: PathBuf,
}

type Events = Receiver<notify::Result<notify::Event>>;

/// Watches input folders and hands on the files that arrive, once each is complete.
pub struct Watcher {
    roots: Vec<Root>,
    options: WatchOptions,
    /// Excluded folders, both resolved and as absolute paths.
    exclude: Vec<PathBuf>,
    arrivals: Arrivals,
    /// The platform's events (none when polling).
    events: Option<(notify::RecommendedWatcher, Events)>,
    /// When to look at the folders whole next.
    look_at: Option<Instant>,
    /// Why the platform's events are not used, for the user (once).
    pub note: Option<String>,
    /// Renames the platform reported (inotify pairs the two names): new name → old name.
    moved: HashMap<PathBuf, PathBuf>,
}

/// Files complete this soon after the first of a batch join it.
const GATHER: Duration = Duration::from_millis(250);
/// The longest a batch waits for files to join it.
const GATHER_MOST: Duration = Duration::from_secs(2);

/// How often the folders are looked at whole when the platform's events cannot be had.
const FALLBACK_POLL: Duration = Duration::from_secs(2);

impl Watcher {
    /// Starts watching `inputs` (folders). Events are asked for at once, so nothing that
    /// arrives during the catch-up is missed.
    pub fn start(inputs: &[PathBuf], options: WatchOptions) -> Watcher {
        let roots: Vec<Root> = inputs
            .iter()
            .map(|given| Root {
                given: given.clone(),
                absolute: std::path::absolute(given).unwrap_or_else(|_| given.clone()),
            })
            .collect();
        let mut exclude = Vec::new();
        for x in &options.exclude {
            exclude.push(resolve(x));
            if let Ok(a) = std::path::absolute(x) {
                exclude.push(a);
            }
        }
        let mut watcher = Watcher {
            roots,
            exclude,
            arrivals: Arrivals::new(options.settle),
            events: None,
            look_at: None,
            note: None,
            moved: HashMap::new(),
            options,
        };
        match watcher.options.poll {
            Some(every) => watcher.look_at = Some(Instant::now() + every),
            None => match watcher.subscribe() {
                Ok(events) => watcher.events = Some(events),
                Err(why) => {
                    watcher.note = Some(format!(
                        "the system cannot report changes in these folders ({why}); looking \
                         at them every {} s instead",
                        FALLBACK_POLL.as_secs()
                    ));
                    watcher.look_at = Some(Instant::now() + FALLBACK_POLL);
                }
            },
        }
        watcher
    }

    fn subscribe(&self) -> Result<(notify::RecommendedWatcher, Events), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        // Creations, removals, changes and closes after writing; not opens (the workers'
        // own reads would flood the queue).
        let config = notify::Config::default()
            .with_event_kinds(notify::EventKindMask::CORE | notify::EventKindMask::ACCESS_CLOSE);
        let mut w = notify::RecommendedWatcher::new(tx, config).map_err(|e| e.to_string())?;
        let mode = if self.options.recursive {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        for root in &self.roots {
            w.watch(&root.absolute, mode).map_err(|e| match e.kind {
                notify::ErrorKind::MaxFilesWatch => {
                    "too many folders for the system's watch limit".to_owned()
                }
                _ => e.to_string(),
            })?;
        }
        Ok((w, rx))
    }

    /// Sorts the catch-up's scan of the inputs: files changed within the settle time, or
    /// named as still in progress, are left to arrive; the rest are returned to convert now
    /// and count as handed on.
    pub fn catch_up(&mut self, mut scan: Scan) -> Scan {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let settle = self.options.settle;
        let arrivals = &mut self.arrivals;
        scan.found.retain_found(|f| {
            if in_progress_name(f.name()) {
                return false;
            }
            let seen = Seen {
                bytes: f.bytes(),
                modified: f.modified(),
            };
            let recent = seen
                .modified
                .is_none_or(|m| wall.duration_since(m).map_or(true, |age| age < settle));
            if recent {
                arrivals.observe(&f.path(), Some(seen), Sign::Looked, now);
                false
            } else {
                arrivals.handed(f.path(), seen);
                true
            }
        });
        scan
    }

    /// Files still arriving.
    pub fn pending(&self) -> usize {
        self.arrivals.pending_count()
    }

    /// Waits until files are complete and returns them (new or changed files in natural
    /// order, as the user's inputs name them, and renamed ones); returns nothing once `stop`
    /// is set.
    pub fn wait(&mut self, stop: &AtomicBool) -> Arrived {
        loop {
            if stop.load(Ordering::Acquire) {
                return Arrived::default();
            }
            let now = Instant::now();
            if self.look_at.is_some_and(|t| now >= t) {
                self.look_whole(now);
                let every = self.options.poll.unwrap_or(FALLBACK_POLL);
                self.look_at = (self.events.is_none()).then(|| now + every);
            }
            let mut ready = self.ready(now);
            if !ready.is_empty() {
                // A burst (a folder dropped, a card's files copied) arrives over a moment: what
                // is due within the next moment joins this batch rather than starting its own.
                self.gather(&mut ready, now);
                let mut arrived = Arrived::default();
                for (path, seen) in ready {
                    // A rename the system reported, whose file went away as the one that
                    // arrived is (same size and time): the same image under a new name.
                    let was = self
                        .moved
                        .remove(&path)
                        .filter(|was| self.arrivals.renamed_from(&seen).as_ref() == Some(was));
                    match was {
                        Some(was) => arrived.renamed.push((was, path)),
                        None => arrived.files.push(path),
                    }
                }
                arrived.files.sort_by(|a, b| {
                    super::name::natural_cmp(&a.to_string_lossy(), &b.to_string_lossy())
                });
                return arrived;
            }
            // Until the next event, the next file due, the next whole look, or a moment (to
            // see `stop`).
            let mut until = now + Duration::from_millis(200);
            for t in [self.arrivals.next_due(), self.look_at]
                .into_iter()
                .flatten()
            {
                until = until.min(t);
            }
            self.listen(until.saturating_duration_since(now));
        }
    }

    /// The files complete at `now`. Those complete by the clock are looked at once more: they
    /// must also be as they were. (Only those: looking at every pending file on every event
    /// would cost a burst of N files N² looks.)
    fn ready(&mut self, now: Instant) -> Vec<(PathBuf, Seen)> {
        for path in self.arrivals.due(now) {
            self.arrivals
                .observe(&path, Seen::of(&path), Sign::Looked, now);
        }
        self.arrivals.ready(now)
    }

    /// Takes the platform's events for up to `wait` (sleeps when polling). If the platform
    /// stops reporting, the folders are looked at whole from then on, and the user told.
    fn listen(&mut self, wait: Duration) {
        let Some((_, rx)) = &self.events else {
            std::thread::sleep(wait);
            return;
        };
        match rx.recv_timeout(wait) {
            Ok(event) => {
                let mut batch = vec![event];
                batch.extend(rx.try_iter());
                for event in batch {
                    self.take(event, Instant::now());
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                self.events = None;
                self.note = Some(format!(
                    "the system stopped reporting changes; looking at the folders every {} s \
                     instead",
                    FALLBACK_POLL.as_secs()
                ));
                self.look_at = Some(Instant::now());
            }
        }
    }

    /// Adds to `ready` the files that become complete within [`GATHER`] of `since`, taking
    /// the events that come meanwhile (at most [`GATHER_MOST`] in all).
    fn gather(&mut self, ready: &mut Vec<(PathBuf, Seen)>, since: Instant) {
        let limit = since + GATHER_MOST;
        while let Some(due) = self.arrivals.next_due() {
            let now = Instant::now();
            if due > now + GATHER || now >= limit {
                return;
            }
            self.listen(due.saturating_duration_since(now));
            ready.extend(self.ready(Instant::now()));
        }
    }

    /// Takes one of the platform's events.
    fn take(&mut self, event: notify::Result<notify::Event>, now: Instant) {
        use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
        let event = match event {
            Ok(e) if !e.need_rescan() => e,
            // Events were lost (the queue overflowed) or the watch broke: look at everything.
            _ => {
                self.look_at = Some(now);
                return;
            }
        };
        if let (EventKind::Modify(ModifyKind::Name(notify::event::RenameMode::Both)), [from, to]) =
            (event.kind, event.paths.as_slice())
            && let (Some(from), Some(to)) = (self.given(from), self.given(to))
        {
            if self.moved.len() >= GONE_MOST {
                self.moved.clear();
            }
            self.moved.insert(to, from);
        }
        let sign = match event.kind {
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                Sign::Written
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Sign::Closed,
            EventKind::Access(_) => return,
            _ => Sign::Looked,
        };
        for path in event.paths {
            let Some(given) = self.given(&path) else {
                continue;
            };
            if path.is_dir() {
                // A folder made or moved in: what is in it already raised no event here.
                if matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_)) {
                    self.look_in(&given, now);
                }
                continue;
            }
            let Some(name) = given.file_name() else {
                continue;
            };
            if in_progress_name(name) || !has_image_extension(&given) {
                continue;
            }
            self.arrivals.observe(&given, Seen::of(&given), sign, now);
        }
    }

    /// `path` (absolute, from an event) as the user's input names it; `None` outside the
    /// inputs or inside an excluded folder.
    fn given(&self, path: &Path) -> Option<PathBuf> {
        if self.exclude.iter().any(|x| path.starts_with(x)) {
            return None;
        }
        let root = self.roots.iter().find(|r| path.starts_with(&r.absolute))?;
        let rel = path.strip_prefix(&root.absolute).ok()?;
        if !self.options.recursive && rel.components().count() > 1 {
            return None;
        }
        Some(if rel.as_os_str().is_empty() {
            root.given.clone()
        } else {
            root.given.join(rel)
        })
    }

    /// Looks at every file under the inputs; files handed on and not found are gone.
    fn look_whole(&mut self, now: Instant) {
        let inputs: Vec<PathBuf> = self.roots.iter().map(|r| r.given.clone()).collect();
        let found = self.look_at_files(&inputs, now);
        self.arrivals.vanished(|p| found.contains(p), now);
    }

    /// Looks at every file in `folder` (a folder just made inside an input).
    fn look_in(&mut self, folder: &Path, now: Instant) {
        self.look_at_files(&[folder.to_path_buf()], now);
    }

    /// Looks at the files under `folders`; returns their paths.
    fn look_at_files(
        &mut self,
        folders: &[PathBuf],
        now: Instant,
    ) -> std::collections::HashSet<PathBuf> {
        let mut paths = std::collections::HashSet::new();
        let options = ScanOptions {
            recursive: self.options.recursive,
            exclude: self.options.exclude.clone(),
            ..ScanOptions::default()
        };
        let Ok(found) = scan::scan(folders, &options) else {
            return paths;
        };
        for f in found.found.iter() {
            if in_progress_name(f.name()) || f.skip().is_some() {
                continue;
            }
            let seen = Seen {
                bytes: f.bytes(),
                modified: f.modified(),
            };
            let path = f.path();
            self.arrivals.observe(&path, Some(seen), Sign::Looked, now);
            paths.insert(path);
        }
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(bytes: u64, secs: u64) -> Option<Seen> {
        Some(Seen {
            bytes,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        })
    }

    #[test]
    fn a_file_is_ready_once_still_for_the_settle_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(2);
        let mut a = Arrivals::new(s);
        let p = Path::new("in/a.jpg");
        a.observe(p, seen(100, 1), Sign::Looked, t0);
        assert!(a.ready(t0 + Duration::from_secs(1)).is_empty());
        // It grew: the clock starts again.
        a.observe(p, seen(200, 2), Sign::Looked, t0 + Duration::from_secs(1));
        assert!(a.ready(t0 + Duration::from_millis(2500)).is_empty());
        assert_eq!(a.next_due(), Some(t0 + Duration::from_secs(3)));
        let ready = a.ready(t0 + Duration::from_secs(3));
        assert_eq!(ready, vec![(p.to_path_buf(), seen(200, 2).unwrap())]);
        // Handed on: the same file looked at again is not pending.
        a.observe(p, seen(200, 2), Sign::Looked, t0 + Duration::from_secs(9));
        assert_eq!(a.pending_count(), 0);
        // Changed afterwards: pending again.
        a.observe(p, seen(300, 5), Sign::Looked, t0 + Duration::from_secs(10));
        assert_eq!(a.pending_count(), 1);
    }

    #[test]
    fn a_file_open_for_writing_waits_for_its_close() {
        let t0 = Instant::now();
        let mut a = Arrivals::new(Duration::from_secs(1));
        let p = Path::new("in/a.jpg");
        a.observe(p, seen(100, 1), Sign::Written, t0);
        // Still for longer than the settle time, but not closed.
        assert!(a.ready(t0 + Duration::from_secs(5)).is_empty());
        a.observe(p, seen(100, 1), Sign::Closed, t0 + Duration::from_secs(5));
        assert_eq!(a.ready(t0 + Duration::from_secs(6)).len(), 1);
        // A writer that never closes holds it back for a minute at most.
        let q = Path::new("in/b.jpg");
        a.observe(q, seen(10, 1), Sign::Written, t0);
        assert!(a.ready(t0 + Duration::from_secs(59)).is_empty());
        assert_eq!(a.ready(t0 + OPEN_AND_STILL).len(), 1);
    }

    #[test]
    fn a_file_that_goes_away_is_forgotten() {
        let t0 = Instant::now();
        let mut a = Arrivals::new(Duration::from_secs(1));
        let p = Path::new("in/a.jpg");
        a.observe(p, seen(100, 1), Sign::Looked, t0);
        a.observe(p, None, Sign::Looked, t0);
        assert!(a.ready(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(a.pending_count(), 0);
    }

    #[test]
    fn a_file_that_arrives_as_one_that_went_away_is_it_renamed() {
        let t0 = Instant::now();
        let mut a = Arrivals::new(Duration::from_secs(1));
        let (old, new) = (
            Path::new("/nowhere/in/a.jpg"),
            Path::new("/nowhere/in/b.jpg"),
        );
        a.handed(old.to_path_buf(), seen(100, 7).unwrap());
        a.observe(old, None, Sign::Looked, t0);
        a.observe(new, seen(100, 7), Sign::Looked, t0);
        let ready = a.ready(t0 + Duration::from_secs(1));
        assert_eq!(a.renamed_from(&ready[0].1), Some(old.to_path_buf()));
        // Asked once; and a file with another time (a copy) is not it.
        assert_eq!(a.renamed_from(&ready[0].1), None);
        a.handed(old.to_path_buf(), seen(100, 7).unwrap());
        a.observe(old, None, Sign::Looked, t0);
        assert_eq!(a.renamed_from(&seen(100, 8).unwrap()), None);
    }

    #[test]
    fn names_of_files_in_progress_are_known() {
        for name in [
            "photo.jpg.part",
            "photo.jpg.crdownload",
            "~photo.jpg",
            ".photo.jpg.Xa3b2c",
            ".hidden.jpg",
            "IMG.JPG.PART",
        ] {
            assert!(in_progress_name(OsStr::new(name)), "{name}");
        }
        for name in ["photo.jpg", "a~b.png", "part.jpg"] {
            assert!(!in_progress_name(OsStr::new(name)), "{name}");
        }
    }
}
