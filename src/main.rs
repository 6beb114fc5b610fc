//! `conveyor`: no arguments or `gui` opens the window; `run` converts headless.

use std::process::ExitCode;

use clap::Parser;
use conveyor::cli::{Cli, Command, GuiArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => conveyor::cli::run::run(&args),
        Some(Command::Gui(args)) => conveyor::gui::run(args),
        None => conveyor::gui::run(GuiArgs::default()),
    }
}
