//! The audit pipeline: load the input (a site file, scanned now, or saved
//! snapshots), run the checks, apply the policy, and build the report.

use crate::checks::{self, Context};
use crate::finding::Finding;
use crate::model::{Env, LookupError, Machine, Snapshot, SnapshotError};
use crate::paths;
use crate::policy::Policy;
use crate::release::ReleaseTable;
use crate::report::{MatrixCell, Report, ReportFilter, ReportSite};
use crate::rules::RuleBook;
use crate::scan;
use crate::site::{Site, SiteError};
use jiff::civil::Date;
use std::path::{Path, PathBuf};

/// Why the input could not be loaded: the site cannot be audited (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{0}: a site file cannot be merged with other inputs; give one site.toml, or one or more snapshots")]
    Mixed(String),
    #[error("{path}: cannot read: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("reading the Administrator API failed unexpectedly")]
    LiveCrashed,
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

/// A loaded input.
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Snapshot,
    /// The site file, when the input was one.
    pub site: Option<Site>,
    /// Where `gpaudit.toml` is looked for by default.
    pub config_dir: PathBuf,
}

fn is_snapshot_text(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
}

/// Load a site file (and scan it) or one or more snapshots (and merge them).
/// The kind is told from the content, not the file name. A folder stands for
/// the `site.toml` inside it.
pub fn load(inputs: &[PathBuf]) -> Result<Loaded, InputError> {
    load_with(inputs, |site| Ok(scan::scan_site(site)))
}

/// Load an input for a question about a few of its envs (`graph`): a site
/// file is only listed, `pick` chooses envs on that listing (their names and
/// paths; nothing is read yet), and only the chosen envs are read, without
/// the references or the services' code. What the snapshot holds about those
/// envs, their machines and the services is what a full scan holds; the other
/// envs are left out. Snapshots are loaded whole, as [`load`] does.
pub fn load_envs(
    inputs: &[PathBuf],
    pick: impl for<'a> Fn(&'a Snapshot) -> Result<Vec<(&'a Machine, &'a Env)>, LookupError>,
) -> Result<Loaded, InputError> {
    load_with(inputs, |site| {
        let listing = scan::list_site(site);
        let chosen: Vec<(String, String)> = pick(listing.snapshot())?
            .into_iter()
            .map(|(m, e)| (m.name.clone(), e.path.clone()))
            .collect();
        Ok(listing.read_envs(|m, e| {
            chosen
                .iter()
                .any(|(machine, path)| *machine == m.name && *path == e.path)
        }))
    })
}

/// [`load`], with `scan` turning a site file into a snapshot.
fn load_with(
    inputs: &[PathBuf],
    scan: impl FnOnce(&Site) -> Result<Snapshot, InputError>,
) -> Result<Loaded, InputError> {
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .map(|p| {
            let inside = p.join("site.toml");
            if p.is_dir() && inside.is_file() {
                inside
            } else {
                p.clone()
            }
        })
        .collect();
    let mut texts = Vec::new();
    for path in &inputs {
        let text = crate::read::read_text_io(path).map_err(|cause| InputError::Read {
            path: paths::display(path),
            cause,
        })?;
        texts.push((path, text));
    }
    let config_dir = inputs
        .first()
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if let [(path, text)] = texts.as_slice() {
        if !is_snapshot_text(text) {
            let site = Site::parse(text, path)?;
            let snapshot = scan(&site)?;
            return Ok(Loaded {
                snapshot,
                site: Some(site),
                config_dir,
            });
        }
    }
    let mut parts = Vec::new();
    for (path, text) in texts {
        let display = paths::display(path);
        if !is_snapshot_text(&text) {
            return Err(InputError::Mixed(display));
        }
        parts.push((display.clone(), Snapshot::from_json(&text, &display)?));
    }
    Ok(Loaded {
        snapshot: Snapshot::merge(parts)?,
        site: None,
        config_dir,
    })
}

/// Check a snapshot and build the report.
pub fn audit(snapshot: &Snapshot, policy: &Policy, today: Date) -> Report {
    audit_for(snapshot, policy, today, None, &ReportFilter::default())
}

/// Check a snapshot, and what would break on the `target` release's Python
/// (`audit --target`), and build the report.
pub fn audit_for(
    snapshot: &Snapshot,
    policy: &Policy,
    today: Date,
    target: Option<&crate::release::Release>,
    filter: &ReportFilter,
) -> Report {
    audit_with_channels(snapshot, policy, today, target, None, filter)
}

/// [`audit_for`], and with `channels` (`audit --target R --channel ...`) a
/// solve of each clone's re-creation on the target over those channels.
pub fn audit_with_channels(
    snapshot: &Snapshot,
    policy: &Policy,
    today: Date,
    target: Option<&crate::release::Release>,
    channels: Option<&crate::solve::Channels>,
    filter: &ReportFilter,
) -> Report {
    let releases = ReleaseTable::builtin();
    let rules = RuleBook::builtin();
    let mut ctx = Context::new(snapshot, &releases);
    ctx.target = target.cloned();
    ctx.channels = channels;
    ctx.target_python = target
        .and_then(|r| r.package("python"))
        .and_then(|p| crate::python::PyVersion::parse(&p.version));
    let findings = checks::run(&ctx);
    let applied = policy.apply(findings, &rules, today);
    let site = ReportSite {
        name: snapshot.site.name.clone(),
        version: ctx.site_release.as_ref().map(|r| r.version.to_string()),
        version_source: ctx.site_release.as_ref().map(|r| r.source.clone()),
        machines: snapshot.machines.iter().map(|m| m.name.clone()).collect(),
    };
    let matrix = matrix(snapshot, &releases, &applied.findings);
    let mut report = Report::assemble(
        site,
        applied.findings,
        applied.waived,
        matrix,
        target.map(|t| t.server.to_string()),
        filter.clone(),
    );
    add_why_chains(snapshot, &mut report);
    report
}

/// For each package group, who pulls the package in: the `depends` edges
/// above it (two levels) in the env on the group's first machine that has it.
fn add_why_chains(snapshot: &Snapshot, report: &mut Report) {
    for g in &mut report.groups {
        let (Some(package), Some(env)) = (&g.package, &g.env) else {
            continue;
        };
        let found = g.machines.iter().find_map(|m| {
            let (_, e) = snapshot.find_env(m, env).ok()?;
            e.package(package).map(|_| e)
        });
        if let Some(e) = found {
            g.why = crate::graph::DepGraph::build(e)
                .why_edges(package, 2, 12)
                .into_iter()
                .map(|(from, to, spec)| crate::report::WhyLink { from, to, spec })
                .collect();
        }
    }
}

/// Every env of every machine with its release, services and worst finding.
fn matrix(snapshot: &Snapshot, releases: &ReleaseTable, findings: &[Finding]) -> Vec<MatrixCell> {
    let mut cells = Vec::new();
    for m in &snapshot.machines {
        for e in &m.envs {
            let own: Vec<&Finding> = findings
                .iter()
                .filter(|f| {
                    f.machine.as_deref() == Some(m.name.as_str())
                        && f.env_path.as_deref() == Some(e.path.as_str())
                })
                .collect();
            cells.push(MatrixCell {
                machine: m.name.clone(),
                env: e.name.clone(),
                release: checks::env_release(e, releases).map(|r| r.to_string()),
                severity: own.iter().map(|f| f.severity).max(),
                findings: own.len(),
                services: m.services_in(&e.path),
            });
        }
    }
    cells
}

/// The site file among `inputs`, when they are one site file (or a folder
/// holding one): what decides whether the Administrator API is read.
pub fn site_of(inputs: &[PathBuf]) -> Option<Site> {
    let [one] = inputs else { return None };
    let file = if one.is_dir() {
        one.join("site.toml")
    } else {
        one.clone()
    };
    crate::read::read_text_io(&file)
        .ok()
        .filter(|t| !is_snapshot_text(t))
        .and_then(|t| Site::parse(&t, &file).ok())
}

/// Load the inputs and, with a signed-in client, read the Administrator API
/// at the same time. An API that cannot be read is a scan error; the disk
/// audit goes on.
pub fn load_with_live(
    inputs: &[PathBuf],
    live: Option<(&mut (dyn crate::admin::SiteAdmin + Send), &str)>,
) -> Result<Loaded, InputError> {
    let Some((client, url)) = live else {
        return load(inputs);
    };
    let (loaded, api) = std::thread::scope(|scope| {
        let api = scope.spawn(move || crate::admin::gather_live(client, url));
        let loaded = load(inputs);
        (loaded, api.join())
    });
    let mut loaded = loaded?;
    let scan_error = |path: String, message: String| crate::model::ScanError {
        machine: None,
        env: None,
        env_path: None,
        path,
        message,
    };
    match api {
        Ok(Ok((live, problems))) => {
            for problem in problems {
                let e = scan_error(live.url.clone(), format!("Administrator API: {problem}"));
                loaded.snapshot.scan_errors.push(e);
            }
            loaded.snapshot.add_live(live);
        }
        Ok(Err(e)) => loaded.snapshot.scan_errors.push(scan_error(
            crate::redact::text(url),
            format!("the Administrator API could not be read, so live states are not checked: {e}"),
        )),
        Err(_) => return Err(InputError::LiveCrashed),
    }
    Ok(loaded)
}
