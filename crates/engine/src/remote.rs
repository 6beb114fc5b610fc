//! Object storage as an input, an output folder and a place for reports: `s3://bucket/prefix`
//! locations, and the [`Store`] the engine asks to list, fetch and write objects. The S3 client
//! itself is `s3.rs` (the `s3` cargo feature, object_store from Apache Arrow); without it,
//! `s3::connect` (then `s3_missing.rs`) says the build has none.
//!
//! Inside the engine a location travels as a path whose text is its URL (`s3://b/p/x.jpg`), so
//! scan, plan and report name it as they name a file; [`is_remote`] tells them apart.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

/// The URL scheme of S3-compatible object storage.
pub const SCHEME: &str = "s3://";

/// The user metadata key under which an output object carries its journal entry.
pub const ENTRY_METADATA: &str = "conveyor-entry";

/// Whether `path` names an object store location rather than a file.
pub fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// A bucket and a key (or a key prefix, for a folder-like location).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The key, without a leading `/`; for a prefix, without a trailing one either.
    pub key: String,
}

impl Location {
    /// The location `path` names, if it is one (`None` for a file path); a URL without a bucket
    /// is an error.
    pub fn parse(path: &Path) -> Option<Result<Location, String>> {
        let text = path.to_str()?;
        let rest = text.strip_prefix(SCHEME)?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{text}: no bucket; use s3://bucket/prefix")));
        }
        let key = key.trim_matches('/');
        if key.split('/').any(|part| part == "." || part == "..") {
            return Some(Err(format!("{text}: . and .. are not allowed in a key")));
        }
        Some(Ok(Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }))
    }

    /// The object `rel` (`/`-separated) under this prefix.
    pub fn join(&self, rel: &str) -> Location {
        let rel = rel.trim_matches('/');
        let key = match (self.key.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_owned(),
            (false, true) => self.key.clone(),
            (false, false) => format!("{}/{rel}", self.key),
        };
        Location {
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// `key` relative to this prefix, if it is under it.
    pub fn relative<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.key.is_empty() {
            return Some(key);
        }
        key.strip_prefix(self.key.as_str())?.strip_prefix('/')
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.bucket, self.key)
    }
}

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key relative to the prefix listed, `/`-separated.
    pub rel: String,
    /// Its size.
    pub bytes: u64,
    /// When it was last written.
    pub modified: Option<SystemTime>,
    /// Its entity tag (changes whenever its content does).
    pub etag: Option<String>,
}

/// An object's [`ENTRY_METADATA`] (if it carries one) and its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// The journal entry the object carries.
    pub entry: Option<String>,
    /// Its entity tag.
    pub etag: Option<String>,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// The store refused the batch as a whole (credentials rejected or expired, no such
    /// bucket): stop at once instead of failing every file alike.
    pub fatal: bool,
    /// For people.
    pub reason: String,
}

impl StoreError {
    /// The local copy of `object` could not be made or written. A temporary folder that is
    /// missing, read-only or full would fail every input alike, so that stops the batch.
    pub fn local_copy(object: &Location, e: &std::io::Error, creating: bool) -> StoreError {
        use std::io::ErrorKind as K;
        let folder = std::env::temp_dir();
        let fatal = creating || matches!(e.kind(), K::StorageFull | K::QuotaExceeded);
        StoreError {
            fatal,
            reason: if fatal {
                format!(
                    "cannot make local copies of the inputs in {} (the temporary folder; \
                     TMPDIR chooses another): {e}",
                    folder.display()
                )
            } else {
                format!("cannot make a local copy of {object}: {e}")
            },
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What the engine asks of object storage. Every call blocks; failures that may pass (a
/// dropped connection, a 5xx) are retried with backoff a bounded number of times first.
pub trait Store: Send + Sync + fmt::Debug {
    /// Every object under `prefix` (all depths when `recursive`, else the top level only),
    /// each handed to `each` as the listing's pages arrive (a listing of a million keys is
    /// never held whole).
    fn list_each(
        &self,
        prefix: &Location,
        recursive: bool,
        each: &mut dyn FnMut(Listed),
    ) -> Result<(), StoreError>;
    /// Every object under `prefix`, collected ([`Store::list_each`]).
    fn list(&self, prefix: &Location, recursive: bool) -> Result<Vec<Listed>, StoreError> {
        let mut all = Vec::new();
        self.list_each(prefix, recursive, &mut |o| all.push(o))?;
        Ok(all)
    }
    /// Streams the object into the open file `to` (memory stays bounded whatever its size).
    fn fetch(&self, object: &Location, to: &mut std::fs::File) -> Result<(), StoreError>;
    /// A small object's bytes (a journal, a report); `None` if there is no such object.
    fn read(&self, object: &Location) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes `bytes` as the whole object, which appears only once complete (multipart for
    /// large ones), with `entry` as its [`ENTRY_METADATA`]. Returns the new entity tag.
    fn put(
        &self,
        object: &Location,
        bytes: &[u8],
        entry: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
    /// The object's [`ENTRY_METADATA`] and entity tag, if it exists.
    fn entry(&self, object: &Location) -> Result<Option<Tagged>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_join_and_relate() {
        let loc = Location::parse(Path::new("s3://photos/2024/trip/"))
            .expect("a location")
            .expect("valid");
        assert_eq!(
            (loc.bucket.as_str(), loc.key.as_str()),
            ("photos", "2024/trip")
        );
        assert_eq!(
            loc.join("a/b.jpg").to_string(),
            "s3://photos/2024/trip/a/b.jpg"
        );
        assert_eq!(loc.relative("2024/trip/a/b.jpg"), Some("a/b.jpg"));
        assert_eq!(loc.relative("2024/tripx/b.jpg"), None);
        let top = Location::parse(Path::new("s3://photos"))
            .expect("loc")
            .expect("ok");
        assert_eq!(top.join("x.jpg").to_string(), "s3://photos/x.jpg");
        assert_eq!(top.relative("x.jpg"), Some("x.jpg"));
        assert!(Location::parse(Path::new("/tmp/s3:")).is_none());
        assert!(Location::parse(Path::new("s3:///x")).expect("loc").is_err());
        assert!(
            Location::parse(Path::new("s3://b/../x"))
                .expect("loc")
                .is_err()
        );
        assert!(is_remote(Path::new("s3://b/x")) && !is_remote(Path::new("b/x")));
    }
}
