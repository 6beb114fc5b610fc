//! `s3` in a build without the `s3` feature: no object storage, said plainly.

use std::sync::Arc;

use super::remote::Store;

/// Always the error that this build has no object storage.
pub fn connect() -> Result<Arc<dyn Store>, String> {
    connect_with(&|_| None)
}

/// Always the error that this build has no object storage.
pub fn connect_with(_var: &dyn Fn(&str) -> Option<String>) -> Result<Arc<dyn Store>, String> {
    Err("this build of Conveyor has no object storage; build it with --features s3".into())
}
