//! The command-line front end: argument parsing, the `run` command and terminal progress.

pub mod args;
pub mod progress;
pub mod run;

pub use args::{Cli, Command, GuiArgs, RecipeArgs, RunArgs};

/// Makes panics inside worker threads quiet: the pool catches them and reports them as that
/// file's failure, so the default hook's message would only garble the progress display.
pub fn quiet_worker_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_worker = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("conveyor-worker-"));
        if !in_worker {
            default(info);
        }
    }));
}
