//! `gpaudit services`: the site's GP services, their envs and states.

use super::args::AdminArgs;
use gpaudit::admin::SiteAdmin;
use gpaudit::audit;
use gpaudit::services::{self, Filter};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `services`.
#[derive(Debug)]
pub struct Args {
    pub site: PathBuf,
    pub env: Option<String>,
    pub machine: Option<String>,
    /// No progress bar.
    pub quiet: bool,
    pub admin: AdminArgs,
}

/// A progress bar on stderr when it is a terminal and not `--quiet`;
/// hidden (drawing nothing) otherwise.
fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("reading service states {bar:30} {pos}/{len} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = audit::load(std::slice::from_ref(&args.site))?;
    let mut live = args.admin.connect(loaded.site.as_ref())?;
    let filter = Filter {
        env: args.env.as_deref(),
        machine: args.machine.as_deref(),
    };
    services::check_filter(&loaded.snapshot, &filter)?;
    let bar = progress_bar(args.quiet);
    let total = |n: usize| bar.set_length(n as u64);
    let tick = || bar.inc(1);
    let list = services::gather_with_progress(
        &loaded.snapshot,
        filter,
        live.as_mut()
            .map(|(client, _)| client as &mut dyn SiteAdmin),
        &services::Progress {
            total: &total,
            tick: &tick,
        },
    )?;
    bar.finish_and_clear();
    super::common::out(&gpaudit::redact::terminal_safe(&list.render_table()));
    Ok(ExitCode::SUCCESS)
}
