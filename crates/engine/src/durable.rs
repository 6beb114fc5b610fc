//! Durable, atomic file writes, the sequence careful tools use (git's `core.fsync`, dpkg,
//! SQLite): write a temporary file with a random name in the destination folder, fsync it,
//! rename it into place, then fsync the folder. A reader sees the old file or the whole new one,
//! never a part; after a power cut the new name never points at empty or partial data. New files
//! get mode 0666 less the umask, as any other tool's (0644 under umask 022).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Prefix of Conveyor's temporary files; they end in [`TEMP_SUFFIX`]. The full prefix of this
/// process's files also names the host and the process (see [`own_prefix`]), so a later run can
/// tell a temporary left by a killed process from one a live process is writing.
pub const TEMP_PREFIX: &str = ".conveyor-";
/// Suffix of Conveyor's temporary files.
pub const TEMP_SUFFIX: &str = ".tmp";

/// This machine's name as it goes into temporary file names (letters, digits and `_`).
fn host() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = name
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if clean.is_empty() {
        "host".to_owned()
    } else {
        clean
    }
}

/// The prefix of this process's temporary files: `.conveyor-<host>-<pid>-`.
pub fn own_prefix() -> String {
    format!("{TEMP_PREFIX}{}-{}-", host(), std::process::id())
}

/// How old a temporary file from another machine must be before a run here removes it: no
/// single write takes a day, so by then its writer is gone.
const FOREIGN_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether the temporary file `name` (with its modification `age`) was left by a process that is
/// gone: one of this machine whose process no longer runs, or one of another machine's that is
/// over a day old. Files of unknown naming are never stale.
fn is_stale(name: &str, age: std::time::Duration) -> bool {
    let Some(rest) = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(from), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        // An older version's name, with no owner in it: stale once it is clearly not in use.
        return age > FOREIGN_STALE_AFTER;
    };
    match pid.parse::<u32>() {
        Ok(pid) if from == host() => {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => age > FOREIGN_STALE_AFTER,
    }
}

/// Removes the temporary files in `dir` that a killed run left behind (never one a live process
/// may still be writing). Returns how many it removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let age = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            is_stale(&e.file_name().to_string_lossy(), age)
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// Whole contents written and synced to a temporary file beside their destination, not yet
/// visible under the final name. Dropping it removes the temporary file.
pub struct Staged {
    file: tempfile::NamedTempFile,
    dir: PathBuf,
}

/// Why a commit failed.
#[derive(Debug)]
pub enum CommitError {
    /// Without overwrite, a file appeared at the destination meanwhile; it was left alone.
    Exists,
    /// The rename or the folder's sync failed.
    Io(io::Error),
}

/// Writes `bytes` to a new temporary file in `dir` (created if missing) and syncs it to disk.
pub fn stage(dir: &Path, bytes: &[u8]) -> io::Result<Staged> {
    stage_with(dir, |w| w.write_all(bytes))
}

/// [`stage`] of what `fill` writes (through a buffer), for contents too large to hold.
pub fn stage_with(
    dir: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Staged> {
    fs::create_dir_all(dir)?;
    let prefix = own_prefix();
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666; the kernel applies the umask, as for any new file.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    {
        let mut w = io::BufWriter::with_capacity(1 << 16, &mut file);
        fill(&mut w)?;
        w.flush()?;
    }
    // An error seen only here (a full disk on delayed allocation, an NFS server gone) must fail
    // the write, never leave a file that looks whole.
    file.as_file().sync_all()?;
    Ok(Staged {
        file,
        dir: dir.to_path_buf(),
    })
}

/// Makes a rename in `dir` durable (on Unix; elsewhere the rename is all there is).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl Staged {
    /// The staged file, open (to read its metadata or set its time before the rename).
    pub fn file(&self) -> &File {
        self.file.as_file()
    }

    /// Renames the staged file to `dest` (in the same folder) and syncs the folder. Without
    /// `overwrite`, a file already at `dest` is left alone.
    pub fn commit(self, dest: &Path, overwrite: bool) -> Result<(), CommitError> {
        let dir = self.dir.clone();
        let result = if overwrite {
            self.file.persist(dest).map(drop)
        } else {
            self.file.persist_noclobber(dest).map(drop)
        };
        result.map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                CommitError::Exists
            } else {
                CommitError::Io(e.error)
            }
        })?;
        sync_dir(&dir).map_err(CommitError::Io)
    }
}

/// Replaces `path` with `bytes` durably and atomically (a symlink at `path` is replaced, never
/// followed).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// [`write`] of what `fill` writes, streamed (a report of a million records is never held).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    stage_with(dir, fill)?
        .commit(path, true)
        .map_err(|e| match e {
            CommitError::Exists => io::Error::from(io::ErrorKind::AlreadyExists),
            CommitError::Io(e) => e,
        })
}

/// Bytes free to an ordinary user on the disk that holds `path` (or, for a path not made yet,
/// its nearest existing folder); `None` where that cannot be told.
pub fn free_space(path: &Path) -> Option<u64> {
    let mut at = path;
    while !at.exists() {
        at = at.parent().filter(|p| !p.as_os_str().is_empty())?;
    }
    free_space_at(at)
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn free_space_at(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `stat` a properly sized, writable struct
    // that statvfs fills in; nothing is kept after the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(c.as_ptr(), &raw mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // The field types differ between platforms.
    let (blocks, size) = (u64::from(stat.f_bavail), u64::from(stat.f_frsize));
    Some(blocks.saturating_mul(size))
}

#[cfg(not(unix))]
fn free_space_at(_path: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("sub/report.json");
        write(&path, b"first").expect("write");
        write(&path, b"second, longer").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second, longer");
        let names: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    #[test]
    fn only_temporaries_of_gone_processes_are_stale() {
        use std::time::Duration;
        let young = Duration::from_secs(5);
        let old = Duration::from_secs(2 * 24 * 3600);
        let mine = format!("{}abc{TEMP_SUFFIX}", own_prefix());
        assert!(!is_stale(&mine, old), "this process's own file");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let gone = child.id();
        child.wait().expect("reap");
        let dead = format!("{TEMP_PREFIX}{}-{gone}-abc{TEMP_SUFFIX}", host());
        assert!(is_stale(&dead, young), "a killed process's file, at once");
        let foreign = format!("{TEMP_PREFIX}otherhost-1-abc{TEMP_SUFFIX}");
        assert!(!is_stale(&foreign, young) && is_stale(&foreign, old));
        assert!(!is_stale("holiday.jpg", old) && !is_stale(".conveyor-x.txt", old));
    }

    #[test]
    fn without_overwrite_an_existing_file_is_left_alone() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dest = tmp.path().join("out.jpg");
        fs::write(&dest, b"theirs").expect("plant");
        let staged = stage(tmp.path(), b"ours").expect("stage");
        assert!(matches!(
            staged.commit(&dest, false),
            Err(CommitError::Exists)
        ));
        assert_eq!(fs::read(&dest).expect("read"), b"theirs");
    }

    #[test]
    fn free_space_is_told_for_a_folder_not_made_yet() {
        let tmp = tempfile::tempdir().expect("tmp");
        let here = free_space(tmp.path()).expect("free space of a temporary folder");
        assert!(here > 0);
        let later = free_space(&tmp.path().join("a/b/c")).expect("its nearest folder's");
        // The same disk: within what other processes may have written meanwhile.
        assert!(later.abs_diff(here) < 1 << 30, "{here} {later}");
    }
}
