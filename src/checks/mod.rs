//! The check phase: pure functions over a [`Snapshot`] that return findings.
//! A check never does I/O and never decides a final severity (it may name a
//! condition; `policy` turns codes and conditions into severities). Each
//! module is named after the codes it reports (`pin` → `pin-*`).

mod arcmap;
mod constraint;
mod default_env;
mod dependency;
mod env;
mod live;
mod per_service_env;
mod pin;
mod pip;
mod reference;
mod scan_error;
mod service_code;
mod site;
mod upgrade;
mod upgrade_solve;

use crate::finding::{Code, Finding};
use crate::release::{ArcgisVersion, ReleaseTable};
use crate::roles::Roles;
use crate::snapshot::{Env, Machine, Snapshot};
use rattler_conda_types::{MatchSpec, ParseStrictness};
use rayon::prelude::*;

/// The site's ArcGIS Server release and how it was decided.
#[derive(Clone, Debug)]
pub struct SiteRelease {
    pub version: ArcgisVersion,
    pub source: String,
}

/// What every check sees.
#[derive(Debug)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub releases: &'a ReleaseTable,
    pub roles: Roles,
    pub site_release: Option<SiteRelease>,
    /// The Python of the release an upgrade goes to (`audit --target`).
    pub target_python: Option<crate::python::PyVersion>,
    /// The release an upgrade goes to (`audit --target`).
    pub target: Option<crate::release::Release>,
    /// Local channels to solve the upgrade over (`audit --target --channel`).
    pub channels: Option<&'a crate::solve::Channels>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, releases: &'a ReleaseTable) -> Context<'a> {
        let site_release = site_release(snapshot, releases);
        Context {
            snapshot,
            releases,
            roles: Roles::builtin(),
            site_release,
            target_python: None,
            target: None,
            channels: None,
        }
    }

    /// The release a machine runs: the one its `arcgispro-py3`'s arcpy
    /// belongs to, else the site's.
    pub fn machine_release(&self, machine: &Machine) -> Option<ArcgisVersion> {
        machine
            .arcgispro_py3()
            .and_then(|env| env_release(env, self.releases))
            .or_else(|| self.site_release.as_ref().map(|r| r.version.clone()))
    }
}

/// The site's release: declared in the site file (or snapshot), else derived
/// from the arcpy in the first machine's `arcgispro-py3`.
pub fn site_release(snapshot: &Snapshot, releases: &ReleaseTable) -> Option<SiteRelease> {
    if let Some(v) = snapshot
        .site
        .version
        .as_deref()
        .and_then(|v| v.parse::<ArcgisVersion>().ok())
    {
        return Some(SiteRelease {
            version: v,
            source: "declared in the site file".into(),
        });
    }
    if let Some(v) = snapshot
        .live
        .as_ref()
        .and_then(|l| l.version.as_deref())
        .and_then(|v| v.parse::<ArcgisVersion>().ok())
    {
        return Some(SiteRelease {
            version: v,
            source: "reported by the Administrator API".into(),
        });
    }
    snapshot.machines.iter().find_map(|m| {
        let env = m.arcgispro_py3()?;
        let marker = release_marker(env)?;
        let release = releases.server_for_arcpy(&marker.record.version)?;
        Some(SiteRelease {
            version: release.server.clone(),
            source: format!(
                "derived from {} {} in arcgispro-py3 on {}",
                marker.name(),
                marker.record.version.as_str(),
                m.name
            ),
        })
    })
}

/// The package whose version is the env's ArcGIS Pro release: `arcpy`, or
/// `arcgispro` in envs before Pro 2.7, which have no arcpy package.
pub fn release_marker(env: &Env) -> Option<&crate::snapshot::Package> {
    env.package("arcpy").or_else(|| env.package("arcgispro"))
}

/// The Server release an env's arcpy (or arcgispro) belongs to.
pub fn env_release(env: &Env, releases: &ReleaseTable) -> Option<ArcgisVersion> {
    let marker = release_marker(env)?;
    releases
        .server_for_arcpy(&marker.record.version)
        .map(|r| r.server.clone())
}

/// A finding about an env on a machine, listing the services it affects.
pub(crate) fn env_finding(code: Code, message: String, machine: &Machine, env: &Env) -> Finding {
    Finding::new(code, message)
        .machine(&machine.name)
        .env(&env.name, &env.path)
        .services(machine.services_in(&env.path))
}

/// Parse a match spec the way conda reads installed metadata: leniently.
pub fn parse_spec(spec: &str) -> Result<MatchSpec, String> {
    MatchSpec::from_str(spec, ParseStrictness::Lenient).map_err(|e| e.to_string())
}

/// A spec's package name, when it names exactly one package.
pub fn spec_name(spec: &MatchSpec) -> Option<&str> {
    spec.name.as_exact().map(|n| n.as_normalized())
}

type Check = fn(&Context) -> Vec<Finding>;

/// Every check, in no particular order (findings are sorted afterwards).
const CHECKS: &[Check] = &[
    env::env_missing,
    env::env_not_arcgis,
    env::env_release_mismatch,
    pin::pin_violation,
    pin::pin_file_missing,
    dependency::dependencies,
    constraint::constraint_violated,
    pip::pip_installed,
    pip::pip_clobbered,
    site::site_inconsistent,
    default_env::default_env_modified,
    arcmap::arcmap_service,
    per_service_env::per_service_env_unsupported,
    reference::reference_findings,
    live::live_findings,
    upgrade::upgrade_forecast,
    upgrade_solve::upgrade_solve,
    scan_error::scan_errors,
    service_code::service_code,
];

/// Run every check over the snapshot.
pub fn run(ctx: &Context) -> Vec<Finding> {
    CHECKS.par_iter().flat_map(|check| check(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod testkit;
