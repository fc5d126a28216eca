//! `gpaudit diff A B`: two envs compared package by package.

use super::args::FailOn;
use super::common::{hint, warn_all};
use gpaudit::diff;
use gpaudit::reference::EnvFormat;
use gpaudit::report::{self, Format, RenderOptions};
use std::io::IsTerminal;
use std::process::ExitCode;

/// The arguments of `diff`.
#[derive(Debug)]
pub struct Args {
    pub a: String,
    pub b: String,
    pub machine: Option<String>,
    pub env: Option<String>,
    pub input_format: Option<EnvFormat>,
    pub format: Format,
    pub fail_on: FailOn,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (m, e) = (args.machine.as_deref(), args.env.as_deref());
    let load = |side: &str| {
        diff::load_side(side, m, e, args.input_format).map_err(|e| hint(e, "--input-format"))
    };
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    warn_all(&a.warnings);
    warn_all(&b.warnings);
    let report = diff::diff(&a, &b);
    let terminal = std::io::stdout().is_terminal();
    let options = RenderOptions {
        color: terminal,
        width: super::common::terminal_width(terminal),
    };
    super::common::out(&report::render(&report, args.format, &options));
    Ok(args
        .fail_on
        .exit_code(report.changes.iter().map(|c| c.severity)))
}
