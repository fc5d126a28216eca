//! `gpaudit scan`: gather a site into one snapshot file.

use super::args::AdminArgs;
use super::common::emit;
use anyhow::{anyhow, Context as _};
use gpaudit::paths;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `scan`.
#[derive(Debug)]
pub struct Args {
    pub site: PathBuf,
    pub output: Option<PathBuf>,
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = super::load_with_live(std::slice::from_ref(&args.site), &args.admin)?;
    if loaded.site.is_none() {
        return Err(anyhow!(
            "{}: scan takes a site file, not a snapshot",
            paths::display(&args.site)
        ));
    }
    let json =
        serde_json::to_string_pretty(&loaded.snapshot).context("serializing the snapshot")? + "\n";
    let what = format!(
        "the snapshot ({} machine(s), {} env(s), {} service(s))",
        loaded.snapshot.machines.len(),
        loaded
            .snapshot
            .machines
            .iter()
            .map(|m| m.envs.len())
            .sum::<usize>(),
        loaded.snapshot.services.len()
    );
    emit(&json, &what, args.output.as_deref(), Some(&loaded))?;
    for e in &loaded.snapshot.scan_errors {
        eprintln!(
            "gpaudit: warning: {}",
            gpaudit::redact::terminal_safe(&format!("{}: {}", e.path, e.message))
        );
    }
    Ok(ExitCode::SUCCESS)
}
