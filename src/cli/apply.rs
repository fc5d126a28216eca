//! `gpaudit apply PLAN`: the preflight (a dry run by default), then with
//! `--execute` every step, journaled beside the plan.

use super::args::AdminArgs;
use gpaudit::admin::SiteAdmin;
use gpaudit::apply;
use gpaudit::migrate::MigrationPlan;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `apply`.
#[derive(Debug)]
pub struct Args {
    pub plan: PathBuf,
    pub options: apply::Options,
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut plan = MigrationPlan::load(&args.plan)?;
    let site = gpaudit::site::Site::load(std::path::Path::new(&plan.site_file)).ok();
    // The plan's paths are the server's: find them here through the site
    // file (when it does not load, the preflight says why).
    if let Some(site) = &site {
        apply::localize(&mut plan, site);
    }
    let mut client = args.admin.connect(site.as_ref())?;
    let options = args.options;
    if options.execute {
        let flag = options.interrupted.clone();
        let _ = ctrlc::set_handler(move || {
            if !flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
                eprintln!("gpaudit: interrupted: finishing the current step, then stopping (the journal records where)");
            }
        });
    }
    let execute = options.execute;
    let mut progress =
        |line: &str| super::common::out(&format!("{}\n", gpaudit::redact::terminal_safe(line)));
    let runner = apply::Runner {
        plan: &plan,
        files: apply::Files::beside(&args.plan, &plan),
        options,
        admin: client.as_mut().map(|(c, _)| c as &mut dyn SiteAdmin),
        progress: &mut progress,
    };
    let outcome = runner.run()?;
    super::common::out(&gpaudit::redact::terminal_safe(&outcome.render()));
    if !execute {
        if outcome.preflight.ok() {
            super::common::out("dry run: nothing was changed; pass --execute to apply the plan\n");
            return Ok(ExitCode::SUCCESS);
        }
        super::common::out("dry run: the preflight failed; nothing was changed\n");
        return Ok(ExitCode::from(1));
    }
    if !outcome.executed {
        eprintln!("gpaudit: the preflight failed; nothing was changed");
        return Ok(ExitCode::from(1));
    }
    if let Some(error) = &outcome.aborted {
        eprintln!("gpaudit: error: {}", gpaudit::redact::terminal_safe(error));
        return Ok(ExitCode::from(2));
    }
    Ok(if outcome.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
