//! Conveyor's integration tests, in one binary: one link of the whole stack instead of one per
//! file (as ripgrep's `tests/tests.rs`). Each module is one area; `tests/common` holds the
//! shared helpers (the binary, images made at run time, folder snapshots, reports). Run one
//! area with a filter: `cargo test --test integration -- cli::`. `tests/memory_reuse.rs` stays
//! a binary of its own: it measures one thread against process-wide malloc state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

#[path = "../common/mod.rs"]
mod common;

mod cli;
#[cfg(feature = "gui")]
mod dialogs;
mod edits;
mod faults;
mod formats;
mod fuzz;
#[cfg(feature = "gui")]
mod gui;
mod hostile;
mod images;
mod layering;
mod libwebp_simd;
mod modern;
mod names;
mod package;
mod plan;
mod pool;
mod quality;
mod real_photos;
mod review;
#[cfg(feature = "s3")]
mod s3;
mod scale;
mod watch;
#[cfg(feature = "gui")]
mod window;
