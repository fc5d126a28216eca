//! The `gpaudit` binary: parses the command line and maps outcomes to exit
//! codes (0 clean, 1 findings at or above `--fail-on`, 2 the site could not
//! be audited). `anyhow` lives only in the binary; each command is a file
//! in `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    cli::use_cache(args.no_cache);
    match cli::run(args.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "gpaudit: error: {}",
                gpaudit::redact::terminal_safe(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cli::args::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
