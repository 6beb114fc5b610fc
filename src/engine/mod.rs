//! The engine: scan and plan, the worker pool, the image pipeline and the report.
//! It knows nothing of any user interface; front ends drive it through [`pool::PoolHandle`]
//! and the [`event::Event`] stream.

pub mod event;
pub mod pipeline;
pub mod pool;
pub mod preview;
pub mod recipe;
pub mod report;
pub mod scan;
