//! The engine: scan and plan, the worker pool, the image pipeline and the report.
//! It knows nothing of any user interface; front ends drive it through [`pool::PoolHandle`]
//! and the [`event::Event`] stream. `docs/ARCHITECTURE.md` walks through the flow.

pub mod bars;
pub mod batch;
pub mod codec;
pub mod durable;
pub mod edit;
pub mod event;
pub mod format;
pub mod hash;
pub mod header;
pub mod hot;
pub mod job;
pub mod journal;
pub mod name;
pub mod options;
pub mod photo;
pub mod pipeline;
pub mod plan;
pub mod pool;
pub mod preview;
pub mod recipe;
pub mod recipe_file;
pub mod remote;
pub mod report;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(not(feature = "s3"))]
#[path = "s3_missing.rs"]
pub mod s3;
pub mod scan;
pub mod spec;
pub mod units;
pub mod watch;
