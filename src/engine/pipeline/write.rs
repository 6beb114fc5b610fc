//! Atomic writes: a temporary file in the destination folder, renamed into place when whole.

use std::fs;
use std::io::{ErrorKind as IoKind, Write};
use std::path::Path;

use crate::engine::job::{ErrorKind, JobError};

/// Prefix of Conveyor's temporary files; they end in [`TEMP_SUFFIX`].
pub const TEMP_PREFIX: &str = ".conveyor-";
/// Suffix of Conveyor's temporary files.
pub const TEMP_SUFFIX: &str = ".tmp";

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        IoKind::StorageFull => "the disk is full".to_owned(),
        IoKind::ReadOnlyFilesystem => "the output folder is on a read-only file system".to_owned(),
        IoKind::PermissionDenied => "permission denied in the output folder".to_owned(),
        IoKind::NotFound => "the output folder disappeared".to_owned(),
        _ => e.to_string(),
    }
}

/// A whole output written to a temporary file beside its destination, not yet visible under
/// its final name. Dropping it removes the temporary file.
pub struct Staged {
    file: tempfile::NamedTempFile,
}

/// Writes `bytes` to a temporary file in `output`'s folder (creating folders as needed).
pub fn stage(output: &Path, bytes: &[u8]) -> Result<Staged, JobError> {
    let fail = |what: &str, e: &std::io::Error| {
        JobError::failed(
            ErrorKind::of_io(e),
            format!("cannot {what}: {}", io_reason(e)),
        )
    };
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| fail("create the output folder", &e))?;
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file", &e))?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| fail("write the output", &e))?;
    Ok(Staged { file })
}

impl Staged {
    /// Renames the staged file to `output`. Without `overwrite`, a file that appeared at
    /// `output` meanwhile is left alone and the job fails.
    pub fn commit(self, output: &Path, overwrite: bool) -> Result<(), JobError> {
        let result = if overwrite {
            self.file.persist(output).map(drop)
        } else {
            self.file.persist_noclobber(output).map(drop)
        };
        result.map_err(|e| {
            if e.error.kind() == IoKind::AlreadyExists {
                JobError::failed(
                    ErrorKind::Conflict,
                    "another file appeared at the output path while converting; left it alone",
                )
            } else {
                JobError::failed(
                    ErrorKind::of_io(&e.error),
                    format!("cannot move the output into place: {}", io_reason(&e.error)),
                )
            }
        })
    }
}
