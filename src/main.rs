//! `conveyor`: no arguments or `gui` opens the window; `run` converts headless.

use std::process::ExitCode;

use clap::Parser;
use conveyor::cli::{Cli, Command, GuiArgs};
use conveyor::gui::Launch;

/// What `conveyor gui …` asks of the window.
fn launch(args: &GuiArgs) -> Launch {
    Launch {
        inputs: args.input.iter().cloned().collect(),
        out: args.out.clone(),
        recipe: args.recipe.patch(),
        workers: args.workers.map(usize::from),
        start: args.start,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => conveyor::cli::run::run(&args),
        Some(Command::Gui(args)) => conveyor::gui::run(launch(&args)),
        None => conveyor::gui::run(Launch::default()),
    }
}
