//! The desktop front end.

use std::process::ExitCode;

use crate::cli::GuiArgs;

/// Opens the window.
pub fn run(_args: GuiArgs) -> ExitCode {
    ExitCode::SUCCESS
}
