//! `gpaudit rollback PLAN`: get back the pre-upgrade env of a failed
//! migration; a dry run unless `--execute`.

use gpaudit::apply;
use gpaudit::migrate::MigrationPlan;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The arguments of `rollback`.
#[derive(Debug)]
pub struct Args {
    pub plan: PathBuf,
    pub env: Vec<String>,
    pub machine: Vec<String>,
    pub execute: bool,
    pub timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut migration = MigrationPlan::load(&args.plan)?;
    match gpaudit::site::Site::load(std::path::Path::new(&migration.site_file)) {
        Ok(site) => apply::localize(&mut migration, &site),
        Err(e) => eprintln!(
            "gpaudit: warning: {}; the plan's paths are taken as it writes them",
            gpaudit::redact::terminal_safe(&e.to_string())
        ),
    }
    let files = apply::Files::beside(&args.plan, &migration);
    let journal = apply::journal::Journal::read(&files.journal)?;
    let targets = apply::rollback::targets(&migration, &files, &journal, &args.machine, &args.env)?;
    if targets.is_empty() {
        super::common::out(
            "No env of the plan failed to upgrade; name one with --env to roll it back anyway.\n",
        );
        return Ok(ExitCode::SUCCESS);
    }
    for t in &targets {
        super::common::out(&format!(
            "{}\n",
            gpaudit::redact::terminal_safe(&t.describe())
        ));
    }
    if !args.execute {
        super::common::out("dry run: nothing was changed; pass --execute to roll back\n");
        return Ok(ExitCode::SUCCESS);
    }
    let restored = apply::rollback::execute(
        &migration,
        &files,
        &targets,
        Duration::from_secs(args.timeout),
        &mut |line| super::common::out(&format!("{}\n", gpaudit::redact::terminal_safe(line))),
    )?;
    if restored.iter().all(|r| r.ok) {
        super::common::out(
            "Restart the envs' services once the server runs the release they are for.\n",
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}
