//! `gpaudit plan`: the post-upgrade migration as a saved value.

use super::args::AdminArgs;
use super::common::emit;
use anyhow::anyhow;
use gpaudit::paths;
use gpaudit::release::ReleaseTable;
use gpaudit::report::{self, Format, RenderOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `plan`.
#[derive(Debug)]
pub struct Args {
    pub site: PathBuf,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub conda: Option<String>,
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = super::load_with_live(std::slice::from_ref(&args.site), &args.admin)?;
    let Some(site) = loaded.site.as_ref() else {
        return Err(anyhow!(
            "{}: plan takes a site file",
            paths::display(&args.site)
        ));
    };
    let plan = gpaudit::migrate::build(
        &loaded.snapshot,
        &ReleaseTable::builtin(),
        args.conda.as_deref(),
        site.file.as_path(),
    );
    let text = report::render(&plan, args.format, &RenderOptions::default());
    let what = format!(
        "the plan ({} machine(s), {} env(s))",
        plan.machines.len(),
        plan.machines.iter().map(|m| m.envs.len()).sum::<usize>()
    );
    emit(&text, &what, args.output.as_deref(), Some(&loaded))?;
    Ok(ExitCode::SUCCESS)
}
