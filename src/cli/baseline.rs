//! `gpaudit baseline`: a pinned file (or environment.yml) from a release's
//! stack or from an env.

use super::args::BaselineFormat;
use super::common::{emit, warn_all};
use anyhow::anyhow;
use gpaudit::release::{ArcgisVersion, ReleaseTable};
use gpaudit::roles::Roles;
use gpaudit::{baseline, diff, output};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `baseline`.
#[derive(Debug)]
pub struct Args {
    pub release: Option<ArcgisVersion>,
    pub from: Option<String>,
    pub machine: Option<String>,
    pub env: Option<String>,
    pub format: BaselineFormat,
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let table = ReleaseTable::builtin();
    let release = args
        .release
        .map(|r| baseline::release_for(&table, &r))
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let built = match &args.from {
        Some(arg) => {
            let listing = diff::load_side(arg, args.machine.as_deref(), args.env.as_deref(), None)?;
            warn_all(&listing.warnings);
            if let Some(r) = release {
                if let Some(note) = baseline::release_mismatch(&listing, r) {
                    eprintln!("gpaudit: warning: {note}");
                }
            }
            baseline::from_env(&listing, &Roles::builtin())
        }
        None => match release {
            Some(r) => baseline::from_release(r),
            None => Err("give --release or --from".into()),
        },
    }
    .map_err(|e| anyhow!(e))?;
    if !built.unverified.is_empty() {
        eprintln!(
            "gpaudit: warning: unverified versions pinned ({}); see the file's header",
            built.unverified.join(", ")
        );
    }
    let text = match args.format {
        BaselineFormat::Pinned => built.render_pinned(),
        BaselineFormat::EnvironmentYml => built.render_environment_yml(),
    };
    if let (Some(out), Some(arg)) = (&args.output, &args.from) {
        for root in diff::read_roots(arg) {
            output::check_outside(out, &[root.as_path()])?;
        }
    }
    emit(&text, "the baseline", args.output.as_deref(), None)?;
    Ok(ExitCode::SUCCESS)
}
