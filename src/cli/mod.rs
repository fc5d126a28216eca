//! The command line: `args` defines it (clap), one file per command turns
//! its arguments into library calls and picks a renderer. No domain logic
//! lives here; exit codes are decided here and in `main`.

pub mod args;
mod common;

mod apply;
mod audit;
mod baseline;
mod diff;
mod graph;
mod plan;
mod restart;
mod rollback;
mod rules;
mod scan;
mod services;

use args::{AdminArgs, Command};
use gpaudit::admin::SiteAdmin;
use gpaudit::audit::Loaded;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Load the inputs; when the site file (or `--url`) names an API, sign in
/// and read it at the same time.
fn load_with_live(inputs: &[PathBuf], admin: &AdminArgs) -> anyhow::Result<Loaded> {
    let site = gpaudit::audit::site_of(inputs);
    let mut live = admin.connect(site.as_ref())?;
    let live = live
        .as_mut()
        .map(|(client, url)| (client as &mut (dyn SiteAdmin + Send), url.as_str()));
    Ok(gpaudit::audit::load_with_live(inputs, live)?)
}

/// Turn the caches (records, scripts) on, unless `--no-cache` said not to.
pub fn use_cache(no_cache: bool) {
    if let Some(dir) = gpaudit::cache::default_dir().filter(|_| !no_cache) {
        gpaudit::cache::enable(dir);
    }
}

/// Run one command.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Audit {
            inputs,
            config,
            format,
            fail_on,
            output,
            reference,
            target,
            channel,
            admin,
            reference_format,
            narrow,
            color,
        } => audit::run(audit::Args {
            narrow,
            color,
            inputs,
            config,
            format,
            fail_on,
            output,
            reference,
            reference_format,
            target,
            channel,
            admin,
        }),
        Command::Diff {
            a,
            b,
            machine,
            env,
            input_format,
            format,
            fail_on,
        } => diff::run(diff::Args {
            a,
            b,
            machine,
            env,
            input_format,
            format,
            fail_on,
        }),
        Command::Baseline {
            release,
            from,
            machine,
            env,
            format,
            output,
        } => baseline::run(baseline::Args {
            release,
            from,
            machine,
            env,
            format,
            output,
        }),
        Command::Services {
            site,
            env,
            machine,
            quiet,
            admin,
        } => services::run(services::Args {
            site,
            env,
            machine,
            quiet,
            admin,
        }),
        Command::Restart {
            site,
            env,
            service,
            execute,
            timeout,
            admin,
        } => restart::run(restart::Args {
            site,
            env,
            service,
            execute,
            timeout,
            admin,
        }),
        Command::Plan {
            site,
            format,
            output,
            conda,
            admin,
        } => plan::run(plan::Args {
            site,
            format,
            output,
            conda,
            admin,
        }),
        Command::Apply {
            plan,
            execute,
            resume,
            stop_on_failure,
            machine,
            proup_timeout,
            timeout,
            admin,
        } => apply::run(apply::Args {
            plan,
            options: gpaudit::apply::Options {
                execute,
                resume,
                stop_on_failure,
                machines: machine,
                proup_timeout: Duration::from_secs(proup_timeout),
                service_timeout: Duration::from_secs(timeout),
                interrupted: Default::default(),
            },
            admin,
        }),
        Command::Rollback {
            plan,
            env,
            machine,
            execute,
            timeout,
        } => rollback::run(rollback::Args {
            plan,
            env,
            machine,
            execute,
            timeout,
        }),
        Command::Scan {
            site,
            output,
            admin,
        } => scan::run(scan::Args {
            site,
            output,
            admin,
        }),
        Command::Graph {
            input,
            machine,
            env,
            dot,
            query,
        } => graph::run(graph::Args {
            input,
            machine,
            env,
            dot,
            query,
        }),
        Command::Rules => rules::run(),
    }
}
