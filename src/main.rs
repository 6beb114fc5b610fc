//! `conveyor`: no arguments, bare paths or `gui` open the window; `run` converts headless;
//! `completions` and `man` print shell completions and the manual.

use std::process::ExitCode;

use clap::Parser;
#[cfg(feature = "gui")]
use conveyor::cli::GuiArgs;
use conveyor::cli::{Cli, Command};
#[cfg(feature = "gui")]
use conveyor::gui::Launch;

/// What `conveyor gui …` asks of the window; a recipe file that cannot be read is the error.
#[cfg(feature = "gui")]
fn launch(args: &GuiArgs) -> Result<Launch, String> {
    let recipes = match &args.recipe_file {
        Some(file) => conveyor::engine::recipe_file::read(file).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    Ok(Launch {
        inputs: args.input.iter().cloned().collect(),
        out: args.out.clone(),
        recipes,
        recipe: args.recipe.patch(),
        workers: args.workers.map(usize::from),
        start: args.start,
        watch: args.watch,
        storage: None,
    })
}

fn main() -> ExitCode {
    use conveyor::engine::codec::av1;
    // Each worker reuses its last image's memory (before any thread starts).
    conveyor::engine::pipeline::budget::keep_freed_memory();
    // The AV1 decoder runs in a child process of this executable (see `codec/av1.rs`).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == av1::HELPER_ARG)
    {
        return ExitCode::from(av1::helper_main());
    }
    if let Ok(exe) = std::env::current_exe() {
        av1::isolate(exe);
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => conveyor::cli::run::run(&args),
        Some(Command::Watch(args)) => conveyor::cli::watch::watch(&args),
        #[cfg(feature = "gui")]
        Some(Command::Gui(args)) => match launch(&args) {
            Ok(launch) => conveyor::gui::run(launch),
            Err(e) => {
                eprintln!("conveyor: {e}");
                ExitCode::from(conveyor::cli::run::EXIT_USAGE)
            }
        },
        Some(Command::Recipe(cmd)) => conveyor::cli::recipe::command(&cmd),
        Some(Command::Report(cmd)) => conveyor::cli::report::command(&cmd),
        Some(Command::Completions { shell }) => conveyor::cli::docs::completions(shell),
        Some(Command::Man { dir }) => conveyor::cli::docs::man(dir.as_deref()),
        // Bare paths, as a file manager's "Open with" passes them: open them as if dropped.
        #[cfg(feature = "gui")]
        None => conveyor::gui::run(Launch {
            inputs: cli.paths,
            ..Launch::default()
        }),
        #[cfg(not(feature = "gui"))]
        Some(Command::Gui(_)) | None => {
            eprintln!(
                "conveyor: this build has no window (it was built without the `gui` feature); \
                 use `conveyor run INPUT --out DIR`, see `conveyor run --help`"
            );
            ExitCode::from(conveyor::cli::run::EXIT_USAGE)
        }
    }
}
