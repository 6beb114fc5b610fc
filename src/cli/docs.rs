//! Shell completions and man pages, generated from the same clap definitions the parser uses,
//! so they never fall behind the options.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use super::args::Cli;

/// Writes `bytes` to standard output. A reader that stops early (`| head`) is not an error.
fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "conveyor", &mut script);
    match print(&script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "conveyor: cannot write the completions: {}",
                crate::engine::job::io_words(&e)
            );
            ExitCode::from(1)
        }
    }
}

/// Prints the man page of `conveyor`, or with `dir` writes one page per command there.
pub fn man(dir: Option<&Path>) -> ExitCode {
    let cmd = Cli::command();
    let result = match dir {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .and_then(|()| print(&page))
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
