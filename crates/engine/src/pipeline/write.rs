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

fn fail(what: &str, e: &std::io::Error) -> JobError {
    JobError::failed(
        ErrorKind::of_io(e),
        format!("cannot {what}: {}", io_reason(e)),
    )
}

/// A whole output on disk under a temporary name; dropping it removes it.
pub struct Staged(durable::Staged);

/// Writes and syncs `bytes` to a temporary file in `output`'s folder (creating folders).
pub fn stage(output: &Path, bytes: &[u8]) -> Result<Staged, JobError> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    durable::stage(dir, bytes)
        .map(Staged)
        .map_err(|e| fail("write the output", &e))
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
            CommitError::Io(e) => fail("move the output into place", &e),
        })
    }
}
