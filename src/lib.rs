//! Conveyor: batch image conversion with a desktop app and a headless CLI over one engine.
//! The engine is its own crate (`crates/engine`, re-exported here as [`engine`]); the window
//! is the default `gui` feature.

pub mod cli;
pub use conveyor_engine as engine;
#[cfg(feature = "gui")]
pub mod gui;
