//! `gpaudit audit`: load (scan or merge snapshots, with the API when
//! configured), check, apply the policy, render.

use super::args::{AdminArgs, ColorChoice, FailOn, NarrowArgs};
use super::common::{emit, hint, terminal_width, today, warn_all};
use anyhow::anyhow;
use gpaudit::audit;
use gpaudit::baseline;
use gpaudit::policy::Policy;
use gpaudit::reference::{self, EnvFormat};
use gpaudit::release::{ArcgisVersion, ReleaseTable};
use gpaudit::report::{self, Format, RenderOptions, ReportFilter};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `audit`.
#[derive(Debug)]
pub struct Args {
    pub inputs: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub format: Format,
    pub fail_on: FailOn,
    pub output: Option<PathBuf>,
    pub reference: Option<String>,
    pub reference_format: Option<EnvFormat>,
    pub target: Option<ArcgisVersion>,
    /// `--channel`: local channels to solve the upgrade over.
    pub channel: Vec<PathBuf>,
    pub admin: AdminArgs,
    pub narrow: NarrowArgs,
    pub color: ColorChoice,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let channels = match args.channel.is_empty() {
        true => None,
        false => Some(gpaudit::solve::Channels::load(&args.channel)?),
    };
    let mut loaded = super::load_with_live(&args.inputs, &args.admin)?;
    if let Some(arg) = args.reference {
        let (path, selector) = reference::split_selector(&arg);
        let select = reference::Selection::inline(selector.as_deref());
        let listing = reference::load(&path, select, args.reference_format)
            .map_err(|e| hint(e, "--reference-format"))?;
        warn_all(&listing.warnings);
        loaded.snapshot.set_default_reference(arg, listing);
    }
    // Snapshots audited together: say what none of them read.
    for e in loaded
        .snapshot
        .scan_errors
        .iter()
        .filter(|e| e.machine.is_none() && e.path == gpaudit::model::UNREAD_CONFIG_STORE)
    {
        warn_all(std::slice::from_ref(&e.message));
    }
    let policy = Policy::for_audit(args.config.as_deref(), &loaded.config_dir)?;
    let table = ReleaseTable::builtin();
    let target = args
        .target
        .map(|t| baseline::release_for(&table, &t))
        .transpose()?;
    if let Some(t) = target {
        if t.package("python").is_none() {
            return Err(anyhow!(
                "the release table has no Python version for ArcGIS Server {}",
                t.server
            ));
        }
    }
    let filter = ReportFilter {
        machine: args.narrow.machine,
        env: args.narrow.env,
        service: args.narrow.service,
        min_severity: args.narrow.min_severity.map(Into::into),
    };
    let report = audit::audit_with_channels(
        &loaded.snapshot,
        &policy,
        today(),
        target,
        channels.as_ref(),
        &filter,
    );
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let options = RenderOptions {
        color: args.color.enabled(terminal),
        width: terminal_width(terminal),
    };
    let text = report::render(&report, args.format, &options);
    let what = format!(
        "the report ({} findings, {} services at risk)",
        report.findings.len(),
        report.services_at_risk.len()
    );
    emit(&text, &what, args.output.as_deref(), Some(&loaded))?;
    Ok(args
        .fail_on
        .exit_code(report.findings.iter().map(|f| f.severity)))
}
