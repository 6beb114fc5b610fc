//! Shell completions and man pages, generated from the same clap definitions the parser uses,
//! so they never fall behind the options.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use super::args::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "conveyor", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page of `conveyor`, or with `dir` writes one page per command there.
pub fn man(dir: Option<&Path>) -> ExitCode {
    let cmd = Cli::command();
    let result = match dir {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .and_then(|()| out.flush())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conveyor: cannot write the man page: {e}");
            ExitCode::from(1)
        }
    }
}
