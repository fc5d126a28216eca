//! `gpaudit restart`: stop and start an env's GP services (or the named
//! ones) through the API; a dry run unless `--execute`.

use super::args::AdminArgs;
use anyhow::anyhow;
use gpaudit::audit;
use gpaudit::restart;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The arguments of `restart`.
#[derive(Debug)]
pub struct Args {
    pub site: PathBuf,
    pub env: Option<String>,
    pub service: Vec<String>,
    pub execute: bool,
    pub timeout: u64,
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = audit::load(std::slice::from_ref(&args.site))?;
    let config = args.admin.config(loaded.site.as_ref())?.ok_or_else(|| {
        anyhow!(
            "restarting needs the Administrator API: add [admin] to the site file or pass --url"
        )
    })?;
    let targets = restart::targets(&loaded.snapshot, args.env.as_deref(), &args.service)?;
    let mut client = gpaudit::admin::sign_in(&config)?;
    let plan = restart::plan(&mut client, &targets);
    super::common::out(&gpaudit::redact::terminal_safe(&plan.describe()));
    if !args.execute {
        super::common::out(
            "dry run: nothing was changed; pass --execute to restart these services\n",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes = plan.execute(&mut client, Duration::from_secs(args.timeout), |o| {
        super::common::out(&format!(
            "{} {}: {}\n",
            if o.ok { "ok    " } else { "FAILED" },
            gpaudit::redact::terminal_safe_line(&o.service),
            gpaudit::redact::terminal_safe(&o.detail)
        ));
    });
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    if failed > 0 {
        eprintln!(
            "gpaudit: {failed} of {} service(s) did not restart",
            outcomes.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
