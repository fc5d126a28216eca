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
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = audit::load(std::slice::from_ref(&args.site))?;
    let mut live = args.admin.connect(loaded.site.as_ref())?;
    let filter = Filter {
        env: args.env.as_deref(),
        machine: args.machine.as_deref(),
    };
    let list = services::gather(
        &loaded.snapshot,
        filter,
        live.as_mut()
            .map(|(client, _)| client as &mut dyn SiteAdmin),
    )?;
    print!("{}", gpaudit::redact::terminal_safe(&list.render_table()));
    Ok(ExitCode::SUCCESS)
}
