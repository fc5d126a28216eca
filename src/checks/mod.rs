//! The check phase: pure functions over a [`Snapshot`] that return findings.
//! A check never does I/O and never decides a final severity (it may name a
//! condition; `policy` turns codes and conditions into severities). Each
//! module is named after the codes it reports (`pin` → `pin-*`).

mod arcmap;
mod capped;
mod constraint;
mod default_env;
mod dependency;
mod env;
mod live;
mod package;
mod per_service_env;
mod pin;
mod pip;
mod pth;
mod reference;
mod scan_error;
mod service_code;
mod site;
mod upgrade;
mod upgrade_solve;

use crate::finding::{Code, Finding};
use crate::model::{Env, EnvIndex, Machine, Snapshot};
use crate::release::{ArcgisVersion, ReleaseTable};
use crate::roles::Roles;
use rattler_conda_types::{MatchSpec, ParseMatchSpecError};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;

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
    /// Each env's package index, built once, keyed by the env's address in
    /// the snapshot (borrowed for `'a`, so it does not move).
    indexes: HashMap<usize, EnvIndex<'a>>,
    /// Every `depends` and `constrains` entry of the snapshot, parsed once
    /// (`None`: it does not parse): the same strings recur in every env.
    specs: HashMap<&'a str, Option<MatchSpec>>,
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
            indexes: snapshot
                .machines
                .iter()
                .flat_map(|m| &m.envs)
                .map(|e| (e as *const Env as usize, env_index(e)))
                .collect(),
            specs: record_specs(snapshot),
        }
    }

    /// A `depends`/`constrains` entry as a match spec ([`parse_spec`]),
    /// `None` when it does not parse: from the memo for the snapshot's own.
    pub fn spec(&self, text: &str) -> Option<Cow<'_, MatchSpec>> {
        match self.specs.get(text) {
            Some(spec) => spec.as_ref().map(Cow::Borrowed),
            None => parse_spec(text).ok().map(Cow::Owned),
        }
    }

    /// The package index of an env of the snapshot: every check's package
    /// and module lookups go through it (built here for an env from
    /// elsewhere).
    pub fn index<'e>(&'e self, env: &'e Env) -> Cow<'e, EnvIndex<'e>> {
        match self.indexes.get(&(env as *const Env as usize)) {
            Some(index) => Cow::Borrowed(index),
            None => Cow::Owned(env_index(env)),
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

/// An env's index, with the modules `rules/python.toml`'s `[[provides]]`
/// says its packages provide beyond their files (import hooks; and, for a
/// snapshot written before gpaudit read `.pth` files, what a package's
/// `.pth` file adds).
fn env_index(env: &Env) -> EnvIndex<'_> {
    let stdlib = crate::python::Stdlib::shared();
    let pth_read = env.pth.is_some();
    EnvIndex::with_declared(env, &|name| stdlib.provided_by(name, pth_read))
}

/// The distinct `depends` and `constrains` entries of every record,
/// parsed in parallel.
fn record_specs(snapshot: &Snapshot) -> HashMap<&str, Option<MatchSpec>> {
    let texts: std::collections::HashSet<&str> = snapshot
        .machines
        .iter()
        .flat_map(|m| &m.envs)
        .flat_map(|e| &e.packages)
        .flat_map(|p| p.record.depends.iter().chain(&p.record.constrains))
        .map(String::as_str)
        .collect();
    texts
        .into_iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|text| (text, parse_spec(text).ok()))
        .collect()
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
pub fn release_marker(env: &Env) -> Option<&crate::model::Package> {
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

/// Parse a match spec the way conda reads installed metadata: leniently,
/// and with glob names (`*[build=*mkl]` in `pinned`), which conda accepts.
pub fn parse_spec(spec: &str) -> Result<MatchSpec, ParseMatchSpecError> {
    MatchSpec::from_str(spec, crate::model::conda_spec_options())
}

/// Whether an installed package satisfies a spec as conda decides it: the
/// record's fields, and the spec's channel (`conda-forge::numpy`) and
/// subdir (`pkgs/main/linux-64::pandas`), which the record alone cannot
/// say. `defaults` is conda's `pkgs/main`, `pkgs/r` and `pkgs/msys2`.
pub fn spec_matches(spec: &MatchSpec, package: &crate::model::Package) -> bool {
    use rattler_conda_types::Matches;
    if !spec.matches(&package.record) {
        return false;
    }
    if let Some(subdir) = spec.subdir.as_deref() {
        if !package.record.subdir.is_empty() && package.record.subdir != subdir {
            return false;
        }
    }
    let Some(channel) = &spec.channel else {
        return true;
    };
    let Some(have) = package.channel.as_deref().map(crate::model::channel_name) else {
        // A record that does not say where it came from cannot be refuted.
        return true;
    };
    let want = channel.name().trim_end_matches('/');
    let defaults = ["pkgs/main", "pkgs/r", "pkgs/msys2", "defaults"];
    if want == "defaults" {
        defaults.contains(&have.as_str())
    } else {
        have.eq_ignore_ascii_case(want)
    }
}

/// A spec's package name, when it names exactly one package.
pub fn spec_name(spec: &MatchSpec) -> Option<&str> {
    spec.name.as_exact().map(|n| n.as_normalized())
}

type CheckFn = fn(&Context) -> Vec<Finding>;

/// A check and the codes it owns: it reports only these, and no other
/// check reports them (tests hold both), as in cargo-deny.
struct Check {
    run: CheckFn,
    codes: &'static [Code],
}

/// Every check, in no particular order (findings are sorted afterwards).
const CHECKS: &[Check] = &[
    Check {
        run: env::env_missing,
        codes: &[Code::EnvMissing],
    },
    Check {
        run: env::env_not_arcgis,
        codes: &[Code::EnvNotArcgis],
    },
    Check {
        run: env::env_release_mismatch,
        codes: &[Code::EnvReleaseMismatch],
    },
    Check {
        run: pin::pin_violation,
        codes: &[Code::PinViolation],
    },
    Check {
        run: pin::pin_file_missing,
        codes: &[Code::PinFileMissing],
    },
    Check {
        run: dependency::dependencies,
        codes: &[Code::DependencyMissing, Code::DependencyUnsatisfied],
    },
    Check {
        run: constraint::constraint_violated,
        codes: &[Code::ConstraintViolated],
    },
    Check {
        run: package::package_duplicate,
        codes: &[Code::PackageDuplicate],
    },
    Check {
        run: package::package_orphaned,
        codes: &[Code::PackageOrphaned],
    },
    Check {
        run: package::package_files_missing,
        codes: &[Code::PackageFilesMissing],
    },
    Check {
        run: pip::pip_installed,
        codes: &[Code::PipInstalled],
    },
    Check {
        run: pip::pip_clobbered,
        codes: &[Code::PipClobbered],
    },
    Check {
        run: pip::pip_editable,
        codes: &[Code::PipEditable],
    },
    Check {
        run: pth::pth_path_outside_env,
        codes: &[Code::PthPathOutsideEnv],
    },
    Check {
        run: site::site_inconsistent,
        codes: &[Code::SiteInconsistent],
    },
    Check {
        run: default_env::default_env_modified,
        codes: &[Code::DefaultEnvModified],
    },
    Check {
        run: arcmap::arcmap_service,
        codes: &[Code::ArcmapService],
    },
    Check {
        run: per_service_env::per_service_env_unsupported,
        codes: &[Code::PerServiceEnvUnsupported],
    },
    Check {
        run: reference::reference_findings,
        codes: &[
            Code::ReferenceDrift,
            Code::ReferenceMissing,
            Code::ReferenceExtra,
        ],
    },
    Check {
        run: live::live_findings,
        codes: &[
            Code::ServiceStateMismatch,
            Code::ServiceStopped,
            Code::SiteMachinesMismatch,
        ],
    },
    Check {
        run: upgrade::upgrade_forecast,
        codes: &[
            Code::UpgradeNeedsProup,
            Code::UpgradePythonAbi,
            Code::UpgradePinConflict,
            Code::UpgradeUnownedFiles,
            Code::UpgradePipPackages,
            Code::UpgradeProupUnavailable,
        ],
    },
    Check {
        run: upgrade_solve::upgrade_solve,
        codes: &[Code::UpgradeUnsolvable, Code::UpgradeWillChange],
    },
    Check {
        run: scan_error::scan_errors,
        codes: &[Code::ScanError],
    },
    Check {
        // findings-capped comes from `capped::cap_findings`, run over
        // every check's findings in `run`.
        run: capped::input_capped,
        codes: &[Code::InputCapped, Code::FindingsCapped],
    },
    Check {
        run: env::env_path_refused,
        codes: &[Code::EnvPathRefused],
    },
    Check {
        run: service_code::service_code,
        codes: &[
            Code::ServiceImportUnresolved,
            Code::ServiceImportRemovedStdlib,
            Code::ServiceCodePython2,
            Code::ServiceCodeMissing,
        ],
    },
];

/// Run every check over the snapshot.
pub fn run(ctx: &Context) -> Vec<Finding> {
    capped::cap_findings(
        CHECKS
            .par_iter()
            .flat_map(|check| (check.run)(ctx))
            .collect(),
    )
}

/// Which check (by its place in [`CHECKS`]) owns each code; the codes the
/// policy itself reports are not here.
pub fn owned_codes() -> Vec<(usize, Code)> {
    CHECKS
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.codes.iter().map(move |code| (i, *code)))
        .collect()
}

#[cfg(test)]
mod ownership_tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_code_has_exactly_one_owner() {
        let mut owners: BTreeMap<Code, Vec<String>> = BTreeMap::new();
        for (i, code) in owned_codes() {
            owners.entry(code).or_default().push(format!("check #{i}"));
        }
        for code in crate::policy::CODES {
            owners.entry(*code).or_default().push("policy".into());
        }
        for code in Code::ALL {
            let who = owners.get(code).cloned().unwrap_or_default();
            assert_eq!(who.len(), 1, "code {code} is owned by {who:?}");
        }
    }

    #[test]
    fn each_check_reports_only_the_codes_it_owns_on_the_demo_and_its_forecast() {
        let site_file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sites/demo/site.toml");
        let text = std::fs::read_to_string(&site_file).unwrap();
        let site = crate::site::Site::parse(&text, &site_file).unwrap();
        let snapshot = crate::scan::scan_site(&site);
        let releases = ReleaseTable::builtin();
        let mut ctx = Context::new(&snapshot, &releases);
        let target = releases
            .releases()
            .iter()
            .max_by(|a, b| a.server.cmp(&b.server))
            .cloned();
        ctx.target_python = target
            .as_ref()
            .and_then(|r| r.package("python"))
            .and_then(|p| crate::python::PyVersion::parse(&p.version));
        ctx.target = target;
        let mut seen = 0;
        for (i, check) in CHECKS.iter().enumerate() {
            for f in (check.run)(&ctx) {
                seen += 1;
                assert!(
                    check.codes.contains(&f.code),
                    "check #{i} reported {} which it does not own",
                    f.code
                );
            }
        }
        assert!(seen > 50, "the demo should give many findings, got {seen}");
    }
}

#[cfg(test)]
pub(crate) mod testkit;
