//! The pre-upgrade forecast (`audit --target RELEASE`): what moving the site
//! to the target release does to each cloned env. `upgrade-needs-proup`,
//! `upgrade-python-abi`, `upgrade-pin-conflict`, `upgrade-unowned-files`,
//! `upgrade-pip-packages`, `upgrade-proup-unavailable`. Runs only with a
//! target; reads the target's stack from `rules/releases.toml`.

use super::{env_finding, env_release, parse_spec, spec_name, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, Machine, Package};
use crate::release::{ArcgisVersion, Feature, Release};
use rattler_conda_types::Version;
use std::str::FromStr;

pub fn upgrade_forecast(ctx: &Context) -> Vec<Finding> {
    let Some(target) = &ctx.target else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            if env.is_arcgispro_py3() {
                continue;
            }
            // Only ArcGIS envs (cloned from arcgispro-py3) go through proup.
            let Some(release) = env_release(env, ctx.releases) else {
                continue;
            };
            if release >= target.server {
                continue;
            }
            forecast_env(ctx, target, machine, env, &release, &mut out);
        }
    }
    out
}

/// Packages of the clone that are not in the machine's default env:
/// what the admin added (and proup must reinstall). Without a default env
/// to compare with, nothing can be called added.
fn added<'a>(machine: &'a Machine, env: &'a Env) -> Vec<&'a Package> {
    let Some(default) = machine.arcgispro_py3() else {
        return Vec::new();
    };
    env.packages
        .iter()
        .filter(|p| default.package(p.name()).is_none())
        .collect()
}

fn target_version(target: &Release, name: &str) -> Option<(Version, String)> {
    let p = target.package(name)?;
    let v = Version::from_str(&p.version).ok()?;
    let how = if p.is_verified() {
        ""
    } else {
        " (unverified in the release table)"
    };
    Some((v, format!("{} {}{how}", name, p.version)))
}

fn forecast_env(
    ctx: &Context,
    target: &Release,
    machine: &Machine,
    env: &Env,
    release: &ArcgisVersion,
    out: &mut Vec<Finding>,
) {
    let to = &target.server;
    if ctx.releases.supports(to, Feature::Proup) {
        // Esri documents `-n` for envs in the install's envs folder; `-p`
        // for an env elsewhere is not confirmed.
        let command = if env.origin == crate::model::EnvOrigin::Install {
            format!("conda proup -n {}", env.name)
        } else {
            format!(
                "conda proup -p \"{}\" (unconfirmed for envs outside the install)",
                env.path
            )
        };
        out.push(
            env_finding(
                Code::UpgradeNeedsProup,
                format!(
                    "env `{}` on {} is at ArcGIS Server {release}; after the upgrade to {to} it must be upgraded with `{command}` and its services restarted",
                    env.name, machine.name
                ),
                machine,
                env,
            )
            .expected(format!("ArcGIS Server {to}"))
            .found(format!("ArcGIS Server {release}")),
        );
    } else {
        let since = &ctx.releases.capability(Feature::Proup).since;
        out.push(
            env_finding(
                Code::UpgradeProupUnavailable,
                format!(
                    "env `{}` on {} is at {release}; ArcGIS Server {to} has no `conda proup` (it came with {since}): clone arcgispro-py3 again after the upgrade and reinstall the added packages",
                    env.name, machine.name
                ),
                machine,
                env,
            ),
        );
    }

    let added = added(machine, env);
    let python = target_version(target, "python");
    for p in &added {
        for dep in &p.record.depends {
            let Ok(spec) = parse_spec(dep) else { continue };
            let Some(name) = spec_name(&spec) else {
                continue;
            };
            let Some(vspec) = &spec.version else { continue };
            if name == "python" {
                if let Some((v, shown)) = &python {
                    if !vspec.matches(v) {
                        out.push(
                            env_finding(
                                Code::UpgradePythonAbi,
                                format!(
                                    "{} {} (added to `{}` on {}) is built for `{dep}`; the target ships {shown}: proup must find another build of it, or fail",
                                    p.name(),
                                    p.version_build(),
                                    env.name,
                                    machine.name
                                ),
                                machine,
                                env,
                            )
                            .package(p.name())
                            .expected(shown.clone())
                            .found(dep.clone()),
                        );
                    }
                }
            } else if let Some((v, shown)) = target_version(target, name) {
                if !vspec.matches(&v) {
                    out.push(
                        env_finding(
                            Code::UpgradePinConflict,
                            format!(
                                "{} (added to `{}` on {}) needs `{dep}`, but the target ships {shown}",
                                p.name(),
                                env.name,
                                machine.name
                            ),
                            machine,
                            env,
                        )
                        .package(p.name())
                        .expected(shown)
                        .found(dep.clone()),
                    );
                }
            }
        }
    }
    if let Some(pinned) = &env.pinned {
        for pin in &pinned.specs {
            let Ok(spec) = parse_spec(&pin.spec) else {
                continue;
            };
            let (Some(name), Some(vspec)) = (spec_name(&spec), &spec.version) else {
                continue;
            };
            if let Some((v, shown)) = target_version(target, name) {
                if !vspec.matches(&v) {
                    out.push(
                        env_finding(
                            Code::UpgradePinConflict,
                            format!(
                                "`{}` (pinned, line {}) in `{}` on {} contradicts the target's {shown}: update the pin before or with proup",
                                pin.spec, pin.line, env.name, machine.name
                            ),
                            machine,
                            env,
                        )
                        .package(name)
                        .expected(shown)
                        .found(format!("{} (pinned)", pin.spec))
                        .location(pinned.file.clone()),
                    );
                }
            }
        }
    }
    if !env.unowned.is_empty() {
        out.push(
            env_finding(
                Code::UpgradeUnownedFiles,
                format!(
                    "`{}` on {} holds modules no package owns, which proup does not carry over: {}",
                    env.name,
                    machine.name,
                    env.unowned.join(", ")
                ),
                machine,
                env,
            )
            .found(env.unowned.join(", ")),
        );
    }
    let pip: Vec<String> = env
        .pip
        .iter()
        .map(|d| format!("{} {}", d.name, d.version))
        .collect();
    if !pip.is_empty() {
        out.push(
            env_finding(
                Code::UpgradePipPackages,
                format!(
                    "proup must reinstall {} from PyPI in `{}` on {} (it fails on a server without internet access): {}",
                    if pip.len() == 1 { "a pip package" } else { "pip packages" },
                    env.name,
                    machine.name,
                    pip.join(", ")
                ),
                machine,
                env,
            )
            .found(pip.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::model::{Pinned, PinnedSpec};

    fn forecast(s: &crate::model::Snapshot, target: &str) -> Vec<String> {
        let releases = crate::release::ReleaseTable::builtin();
        let mut ctx = Context::new(s, &releases);
        ctx.target = releases.by_server(&target.parse().unwrap()).last().cloned();
        let mut f = upgrade_forecast(&ctx);
        crate::finding::sort_findings(&mut f);
        f.iter()
            .map(|f| format!("{} {}", f.code, f.package.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn a_clone_at_the_old_release() {
        let default = env_with(
            "arcgispro-py3",
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41759", &[]),
                pkg("python", "3.9.16", "h_0", &[]),
                pkg("numpy", "1.20.1", "py39_0", &[]),
            ],
        );
        let mut hydro = env_with(
            "hydro",
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41759", &[]),
                pkg("python", "3.9.16", "h_0", &[]),
                pkg(
                    "numba",
                    "0.56.4",
                    "py39_0",
                    &["python >=3.9,<3.10.0a0", "numpy >=1.18,<1.24.0a0"],
                ),
                pkg("affine", "2.3.0", "pyhd3eb1b0_0", &["python >=3.6"]),
            ],
        );
        hydro.pinned = Some(Pinned {
            file: "/envs/hydro/conda-meta/pinned".into(),
            specs: vec![
                PinnedSpec {
                    line: 1,
                    spec: "numpy 1.20.*".into(),
                },
                PinnedSpec {
                    line: 2,
                    spec: "six".into(),
                },
            ],
        });
        hydro.unowned = vec!["Lib/site-packages/floodmodel".into()];
        hydro.pip.push(crate::model::PipDist {
            name: "requests-toolbelt".into(),
            version: "1.0.0".into(),
            installer: Some("pip".into()),
            path: "x".into(),
            overwrote: vec![],
            modules: vec![],
        });
        let mut m = machine("GIS1", vec![default, hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let s = snapshot(vec![m], Some("11.1"));
        assert_eq!(
            forecast(&s, "11.3"),
            [
                "upgrade-needs-proup ",
                "upgrade-pin-conflict numba",
                "upgrade-pin-conflict numpy",
                "upgrade-pip-packages ",
                "upgrade-python-abi numba",
                "upgrade-unowned-files ",
            ]
        );
        // Already at the target: nothing.
        assert!(forecast(&s, "11.1").is_empty());

        // A 10.8 clone going to 10.9 (no proup yet): re-create it by hand.
        let mut m = machine("GIS1", vec![env("old", &[("arcpy", "2.5", "py36_1")])]);
        bind(&mut m, "A/B.GPServer", "/envs/old", "old");
        let s = snapshot(vec![m], Some("10.8"));
        assert_eq!(forecast(&s, "10.9"), ["upgrade-proup-unavailable "]);
    }
}
