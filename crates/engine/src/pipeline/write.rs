//! The pipeline's last stage: the output written durably and atomically (see
//! [`crate::durable`]), with write errors turned into the file's typed failure.

use std::io::ErrorKind as IoKind;
use std::path::Path;

use crate::durable::{self, CommitError};
use crate::job::{ErrorKind, JobError};

pub use crate::durable::{TEMP_PREFIX, TEMP_SUFFIX};

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        IoKind::StorageFull => "the disk is full".to_owned(),
        IoKind::ReadOnlyFilesystem => "the output folder is on a read-only file system".to_owned(),
        IoKind::PermissionDenied => "permission denied in the output folder".to_owned(),
        IoKind::NotFound => "the output folder disappeared".to_owned(),
        _ => crate::job::io_words(e),
    }
}

/// A write error as the file's failure. A full disk, a read-only or unwritable output folder,
/// or one that disappeared, is the batch's failure, not this file's: marked systemic, so the
/// batch stops (or pauses) rather than fail every file after it the same way.
fn fail(what: &str, dir: &Path, e: &std::io::Error) -> JobError {
    let reason = format!("cannot {what} in {}: {}", dir.display(), io_reason(e));
    let kind = ErrorKind::of_io(e);
    if matches!(kind, ErrorKind::DiskFull | ErrorKind::Permission) || e.kind() == IoKind::NotFound {
        JobError::systemic(kind, reason)
    } else {
        JobError::failed(kind, reason)
    }
}

/// The folder `output` goes into (`.` for a bare name).
fn folder_of(output: &Path) -> &Path {
    output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A whole output on disk under a temporary name; dropping it removes it.
pub struct Staged(durable::Staged);

/// Writes and syncs `bytes` to a temporary file in `output`'s folder (creating folders).
pub fn stage(output: &Path, bytes: &[u8]) -> Result<Staged, JobError> {
    let dir = folder_of(output);
    durable::stage(dir, bytes)
        .map(Staged)
        .map_err(|e| fail("write the output", dir, &e))
}

impl Staged {
    /// The staged file's metadata: its size and modification time are the output's once it is
    /// renamed into place (a rename keeps both).
    pub fn metadata(&self) -> std::io::Result<std::fs::Metadata> {
        self.0.file().metadata()
    }

    /// Gives the staged file `input`'s modification time, durably.
    pub fn keep_date_of(&self, input: &Path) -> std::io::Result<()> {
        let modified = std::fs::metadata(input)?.modified()?;
        self.0.file().set_modified(modified)?;
        self.0.file().sync_all()
    }

    /// Renames the staged file to `output` and syncs the folder. Without `overwrite`, a file
    /// that appeared at `output` meanwhile is left alone and the job fails.
    pub fn commit(self, output: &Path, overwrite: bool) -> Result<(), JobError> {
        self.0.commit(output, overwrite).map_err(|e| match e {
            CommitError::Exists => JobError::failed(
                ErrorKind::Conflict,
                "another file appeared at the output path while converting; left it alone",
            ),
            CommitError::Io(e) => fail("move the output into place", folder_of(output), &e),
        })
    }
}
