//! The command-line front end: argument parsing, the `run` command and terminal progress.

pub mod args;
pub mod docs;
pub mod exit;
pub mod progress;
pub mod recipe;
pub mod report;
pub mod run;
pub mod watch;

pub use args::{Cli, Command, GuiArgs, RecipeArgs, ReportCommand, RunArgs, WatchArgs};
