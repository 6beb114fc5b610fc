//! Conveyor: batch image conversion with a desktop app and a headless CLI over one engine.

pub mod cli;
pub mod engine;
pub mod gui;
