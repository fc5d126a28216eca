//! The pre-upgrade forecast (`audit --target RELEASE`): what moving the site
//! to the target release does to each cloned env. `upgrade-needs-proup`,
//! `upgrade-python-abi`, `upgrade-pin-conflict`, `upgrade-unowned-files`,
//! `upgrade-pip-packages`, `upgrade-proup-unavailable`. Runs only with a
//! target. Models what proup does: the new env is the target's whole stack
//! (Esri's list for its Pro release, through `rules/releases.toml`) plus the
//! clone's added packages, so every added package's `depends` and
//! `constrains` and every `pinned` line is checked against every package of
//! that stack with conda's match semantics.
//!
//! Over 600 lines with its unit tests: the code itself is under 450 lines,
//! and the tests build their envs inline beside the cases they pin.

use super::{env_finding, env_release, parse_spec, spec_name, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, Machine, Package};
use crate::release::{ArcgisVersion, Feature, Release};
use rattler_conda_types::{MatchSpec, ParseStrictness, Version};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

pub fn upgrade_forecast(ctx: &Context) -> Vec<Finding> {
    let Some(target) = &ctx.target else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (machine, env, release) in upgraded_clones(ctx, target) {
        forecast_env(ctx, target, machine, env, &release, &mut out);
    }
    out
}

/// The clones proup would upgrade: ArcGIS envs (cloned from arcgispro-py3)
/// other than the default, at a release before the target.
pub(super) fn upgraded_clones<'a>(
    ctx: &Context<'a>,
    target: &Release,
) -> Vec<(&'a Machine, &'a Env, ArcgisVersion)> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            if env.is_arcgispro_py3() {
                continue;
            }
            let Some(release) = env_release(env, ctx.releases) else {
                continue;
            };
            if release < target.server {
                out.push((machine, env, release));
            }
        }
    }
    out
}

/// Packages of the clone that are not in the machine's default env:
/// what the admin added (and proup must reinstall). Without a default env
/// to compare with, nothing can be called added.
pub(super) fn added<'a>(machine: &'a Machine, env: &'a Env) -> Vec<&'a Package> {
    let Some(default) = machine.arcgispro_py3() else {
        return Vec::new();
    };
    let default = default.index();
    env.index()
        .packages()
        .filter(|p| default.package(p.name()).is_none())
        .collect()
}

/// The target stack's version of `name`, and how to show it
/// (`numpy 1.24.3 (Esri, arcgis-dist.json (Pro 3.3))`).
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

/// The target stack's `name`, shown, when `spec` (about `name`) rejects
/// its version.
fn contradicted(target: &Release, spec: &MatchSpec, name: &str) -> Option<String> {
    let vspec = spec.version.as_ref()?;
    let (v, shown) = target_version(target, name)?;
    (!vspec.matches(&v)).then_some(shown)
}

/// Where the target's stack comes from, as the messages say it.
fn stack_source(target: &Release) -> String {
    match &target.stack_source {
        Some(s) => s.clone(),
        None => "rules/releases.toml".into(),
    }
}

/// Why an added package cannot sit on the target stack as it is built.
struct Blocked<'a> {
    package: &'a Package,
    /// The `depends` or `constrains` entry, as written.
    spec: &'a str,
    constrains: bool,
    /// The target package that fails it.
    target_name: String,
    shown: String,
}

/// Every `depends` and `constrains` of the added packages that a package
/// of the target stack fails. An added package that the target stack also
/// ships is replaced by the stack's, so its own requirements do not count.
fn blocked_added<'a>(target: &Release, added: &[&'a Package]) -> Vec<Blocked<'a>> {
    let mut out = Vec::new();
    for p in added {
        if target.package(p.name()).is_some() {
            continue;
        }
        let record = &p.record;
        let entries = record
            .depends
            .iter()
            .map(|d| (d, false))
            .chain(record.constrains.iter().map(|c| (c, true)));
        for (entry, constrains) in entries {
            let Ok(spec) = parse_spec(entry) else {
                continue;
            };
            let Some(name) = spec_name(&spec) else {
                continue;
            };
            if let Some(shown) = contradicted(target, &spec, name) {
                out.push(Blocked {
                    package: p,
                    spec: entry,
                    constrains,
                    target_name: name.to_string(),
                    shown,
                });
            }
        }
    }
    out
}

/// The specs the admin asked for (history's `update specs`, later ones
/// replacing earlier ones, removed ones dropped, the clone's own `create`
/// left out), kept for the packages added to the clone. A clone whose
/// history says nothing gets the added packages no other added package
/// depends on, by name.
pub(super) fn requested_specs(env: &Env, added: &[&Package]) -> Vec<MatchSpec> {
    let added_names: BTreeSet<&str> = added.iter().map(|p| p.name()).collect();
    let mut asked: BTreeMap<String, MatchSpec> = BTreeMap::new();
    for entry in &env.history {
        if entry.subcommand() == Some("create") {
            continue;
        }
        for text in &entry.update_specs {
            if let Ok(spec) = parse_spec(text) {
                if let Some(name) = spec_name(&spec) {
                    asked.insert(name.to_string(), spec.clone());
                }
            }
        }
        for text in &entry.remove_specs {
            if let Ok(spec) = parse_spec(text) {
                if let Some(name) = spec_name(&spec) {
                    asked.remove(name);
                }
            }
        }
    }
    asked.retain(|name, _| added_names.contains(name.as_str()));
    if !asked.is_empty() {
        return asked.into_values().collect();
    }
    let needed: BTreeSet<String> = added
        .iter()
        .flat_map(|p| p.record.depends.iter())
        .filter_map(|d| parse_spec(d).ok())
        .filter_map(|s| spec_name(&s).map(str::to_string))
        .collect();
    added
        .iter()
        .filter(|p| !needed.contains(p.name()))
        .filter_map(|p| MatchSpec::from_str(p.name(), ParseStrictness::Lenient).ok())
        .collect()
}

/// The GP services running in `env` on `machine` whose code imports a
/// module only a hand-copied (unowned) entry of site-packages provides.
fn unowned_importers(ctx: &Context, machine: &Machine, env: &Env) -> Vec<String> {
    let index = ctx.index(env);
    let bound = machine.services_in(&env.path);
    let mut out: Vec<String> = ctx
        .snapshot
        .service_code
        .iter()
        .filter(|c| bound.iter().any(|b| b.eq_ignore_ascii_case(&c.service)))
        .filter(|c| {
            c.scripts.iter().flat_map(|s| &s.imports).any(|i| {
                let top = i.module.split('.').next().unwrap_or(&i.module);
                let providers = index.providers(top);
                !providers.is_empty()
                    && providers
                        .iter()
                        .all(|p| matches!(p, crate::model::Provider::Unowned(_)))
            })
        })
        .map(|c| c.service.clone())
        .collect();
    out.sort();
    out
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
    let solve_note = if ctx.channels.is_some() {
        "the solve over the given channels is reported as upgrade-unsolvable or upgrade-will-change"
    } else {
        "they were checked against the stack's versions, but no solve was run: pass `--channel` with local copies of the channels proup uses (esri's and main's win-64 and noarch repodata.json) to know whether proup finds versions that fit"
    };
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
                    "env `{}` on {} is at ArcGIS Server {release}; after the upgrade to {to} it must be upgraded with `{command}` and its services restarted. proup re-creates it as the target stack ({}) plus its {} added package(s); {}",
                    env.name,
                    machine.name,
                    stack_source(target),
                    added(machine, env).len(),
                    solve_note
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
    // An added package the target stack also ships is replaced by the
    // stack's version; the admin's spec for it must still hold.
    for spec in requested_specs(env, &added) {
        let Some(name) = spec_name(&spec) else {
            continue;
        };
        let Some(shown) = contradicted(target, &spec, name) else {
            continue;
        };
        out.push(
            env_finding(
                Code::UpgradePinConflict,
                format!(
                    "`{spec}` was asked for in `{}` on {} (its history), but the target stack ships {shown}: proup's reinstall of it conflicts with the stack",
                    env.name, machine.name
                ),
                machine,
                env,
            )
            .package(name)
            .expected(shown)
            .found(format!("{spec} (conda-meta/history)")),
        );
    }
    for b in blocked_added(target, &added) {
        let p = b.package;
        let where_ = format!("added to `{}` on {}", env.name, machine.name);
        let finding = if b.target_name == "python" && !b.constrains {
            env_finding(
                Code::UpgradePythonAbi,
                format!(
                    "{} {} ({where_}) is built for `{}`; the target stack has {}: proup must find another build of it, or fail",
                    p.name(),
                    p.version_build(),
                    b.spec,
                    b.shown
                ),
                machine,
                env,
            )
        } else {
            let verb = if b.constrains { "constrains" } else { "needs" };
            env_finding(
                Code::UpgradePinConflict,
                format!(
                    "{} {} ({where_}) {verb} `{}`, but the target stack has {}: {} blocks it, so proup must find another version of {}, or fail",
                    p.name(),
                    p.record.version.as_str(),
                    b.spec,
                    b.shown,
                    b.target_name,
                    p.name()
                ),
                machine,
                env,
            )
        };
        out.push(
            finding
                .package(p.name())
                .expected(b.shown)
                .found(format!(
                    "{} ({} of {} {})",
                    b.spec,
                    if b.constrains {
                        "constrains"
                    } else {
                        "depends"
                    },
                    p.name(),
                    p.record.version.as_str()
                ))
                .location(p.file.clone()),
        );
    }
    if let Some(pinned) = &env.pinned {
        for pin in &pinned.specs {
            let Ok(spec) = parse_spec(&pin.spec) else {
                continue;
            };
            // Every target package the pin names (a glob name can name several).
            for (name, _) in target.packages.iter().filter(|(name, _)| {
                rattler_conda_types::PackageName::try_from(name.as_str())
                    .is_ok_and(|n| spec.name.matches(&n))
            }) {
                let Some(shown) = contradicted(target, &spec, name) else {
                    continue;
                };
                out.push(
                    env_finding(
                        Code::UpgradePinConflict,
                        format!(
                            "`{}` (pinned, line {}) in `{}` on {} contradicts the target stack's {shown}: update the pin before or with proup",
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
    // Hand-made `.pth` files and editable installs: proup re-creates the
    // env from packages and carries neither over.
    let index = ctx.index(env);
    let mut pth: Vec<String> = index
        .unowned_pth()
        .map(|f| {
            let adds: Vec<&str> = f.lines.iter().map(|l| l.text.as_str()).collect();
            format!("{} (made by hand: {})", f.path, adds.join("; "))
        })
        .collect();
    pth.extend(
        index
            .editables()
            .filter(|(f, _)| f.owner.is_some())
            .map(|(_, e)| {
                format!(
                    "{} (an editable install from {})",
                    e.project,
                    e.sources.join(", ")
                )
            }),
    );
    if !env.unowned.is_empty() || !pth.is_empty() {
        let importers = unowned_importers(ctx, machine, env);
        let mut message = if env.unowned.is_empty() {
            format!(
                "`{}` on {} has .pth files or editable installs no package owns, which proup does not carry over: {}",
                env.name,
                machine.name,
                pth.join(", ")
            )
        } else {
            format!(
                "`{}` on {} holds modules no package owns, which proup does not carry over: {}",
                env.name,
                machine.name,
                env.unowned.join(", ")
            )
        };
        if !env.unowned.is_empty() && !pth.is_empty() {
            message.push_str(&format!(", and {}", pth.join(", ")));
        }
        if !importers.is_empty() {
            message.push_str(&format!(
                "; imported by {}, which will fail to import them after the upgrade",
                importers.join(", ")
            ));
        }
        let found: Vec<&str> = env
            .unowned
            .iter()
            .map(String::as_str)
            .chain(index.unowned_pth().map(|f| f.path.as_str()))
            .chain(
                index
                    .editables()
                    .filter(|(f, _)| f.owner.is_some())
                    .map(|(_, e)| e.project.as_str()),
            )
            .collect();
        out.push(
            env_finding(Code::UpgradeUnownedFiles, message, machine, env).found(found.join(", ")),
        );
    }
    // A conda-written dist-info without its record is package-orphaned.
    let pip: Vec<String> = ctx
        .index(env)
        .pip_dists()
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
    use crate::model::{HistoryEntry, Pinned, PinnedSpec};

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
        // issue 13 item 1: the services that import a hand-copied module
        // are named.
        let mut s = s.clone();
        s.service_code.push(crate::model::ServiceCode {
            service: "Hydro/Flood.GPServer".into(),
            folder: None,
            missing: None,
            local_modules: vec![],
            scripts: vec![crate::model::Script {
                path: "flood.py".into(),
                imports: vec![crate::model::ScriptImport {
                    module: "floodmodel.core".into(),
                    line: 3,
                    optional: false,
                    dynamic: false,
                }],
                not_python3: None,
                unreadable: None,
            }],
        });
        let releases = crate::release::ReleaseTable::builtin();
        let mut ctx = Context::new(&s, &releases);
        ctx.target = releases.by_server(&"11.3".parse().unwrap()).last().cloned();
        let unowned: Vec<_> = upgrade_forecast(&ctx)
            .into_iter()
            .filter(|f| f.code == Code::UpgradeUnownedFiles)
            .collect();
        assert!(
            unowned[0]
                .message
                .contains("imported by Hydro/Flood.GPServer"),
            "{}",
            unowned[0].message
        );

        // A 10.8 clone going to 10.9 (no proup yet): re-create it by hand.
        let mut m = machine("GIS1", vec![env("old", &[("arcpy", "2.5", "py36_1")])]);
        bind(&mut m, "A/B.GPServer", "/envs/old", "old");
        let s = snapshot(vec![m], Some("10.8"));
        assert_eq!(forecast(&s, "10.9"), ["upgrade-proup-unavailable "]);
    }

    #[test]
    fn issue_13_item_2_a_hand_made_pth_and_an_editable_install_are_listed_as_dropped() {
        use crate::model::{Editable, PthFile, PthLine, PthLineKind, PthOwner};
        let clone = || {
            env_with(
                "hydro",
                vec![
                    pkg("arcpy", "3.1", "py39_arcgispro_41759", &[]),
                    pkg("python", "3.9.16", "h_0", &[]),
                ],
            )
        };
        let mut hydro = clone();
        let share = PthFile {
            path: "Lib/site-packages/gp-share.pth".into(),
            owner: None,
            lines: vec![PthLine {
                line: 1,
                text: r"D:\gp".into(),
                kind: PthLineKind::Outside {
                    dir: r"D:\gp".into(),
                },
            }],
            editables: vec![],
        };
        let editable = PthFile {
            path: "Lib/site-packages/__editable__.clusterkit-0.3.pth".into(),
            owner: Some(PthOwner::Pip("clusterkit".into())),
            lines: vec![],
            editables: vec![Editable {
                project: "clusterkit".into(),
                kind: "pep660".into(),
                sources: vec![r"D:\src\clusterkit".into()],
                modules: vec!["clusterkit".into()],
            }],
        };
        hydro.pth = Some(vec![share, editable]);
        let mut m = machine("GIS1", vec![clone(), hydro]);
        m.envs[0].name = "arcgispro-py3".into();
        m.envs[0].path = "/envs/arcgispro-py3".into();
        let s = snapshot(vec![m], Some("11.1"));
        let releases = crate::release::ReleaseTable::builtin();
        let mut ctx = Context::new(&s, &releases);
        ctx.target = releases.by_server(&"11.3".parse().unwrap()).last().cloned();
        let unowned: Vec<_> = upgrade_forecast(&ctx)
            .into_iter()
            .filter(|f| f.code == Code::UpgradeUnownedFiles)
            .collect();
        assert_eq!(unowned.len(), 1, "{unowned:?}");
        assert_eq!(
            unowned[0].found.as_deref(),
            Some("Lib/site-packages/gp-share.pth, clusterkit")
        );
        assert!(
            unowned[0]
                .message
                .contains(r"gp-share.pth (made by hand: D:\gp)")
                && unowned[0]
                    .message
                    .contains(r"clusterkit (an editable install from D:\src\clusterkit)"),
            "{}",
            unowned[0].message
        );
    }

    fn entry(cmd: &str, update: &[&str], remove: &[&str]) -> HistoryEntry {
        HistoryEntry {
            cmd: Some(format!("conda {cmd}")),
            update_specs: update.iter().map(|s| s.to_string()).collect(),
            remove_specs: remove.iter().map(|s| s.to_string()).collect(),
            ..HistoryEntry::default()
        }
    }

    #[test]
    fn requested_specs_come_from_history_for_added_packages() {
        let numba = pkg("numba", "0.56.4", "py39_0", &["llvmlite >=0.39"]);
        let llvmlite = pkg("llvmlite", "0.39.1", "py39_0", &[]);
        let pyarrow = pkg("pyarrow", "0.17.1", "py39_0", &[]);
        let added = vec![&numba, &llvmlite, &pyarrow];
        let mut env = env_with("hydro", vec![]);
        env.history = vec![
            entry("create --clone arcgispro-py3", &["arcpy"], &[]),
            entry("install numba rasterio", &["numba", "rasterio"], &[]),
            entry(
                "install numpy=1.24 pyarrow=0.17",
                &["numpy=1.24", "pyarrow=0.17"],
                &[],
            ),
            entry("remove rasterio", &[], &["rasterio"]),
        ];
        let specs: Vec<String> = requested_specs(&env, &added)
            .iter()
            .map(|s| s.to_string())
            .collect();
        // numpy is the stack's, rasterio was removed, arcpy came with the clone.
        assert_eq!(specs, ["numba", "pyarrow 0.17.*"]);
        // No history: the added packages nothing else added needs.
        env.history.clear();
        let specs: Vec<String> = requested_specs(&env, &added)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(specs, ["numba", "pyarrow"]);
    }

    #[test]
    fn added_packages_are_checked_against_the_whole_target_stack() {
        let default = env_with(
            "arcgispro-py3",
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41759", &[]),
                pkg("python", "3.9.16", "h_0", &[]),
            ],
        );
        // Pro 3.3's stack (Esri): gdal 3.8.1, pandas 2.0.2, pyarrow 15.0.0.
        let mut gdal_tool = pkg("gdaltool", "1.0", "py_0", &["gdal >=3.4,<3.5"]);
        gdal_tool.record.constrains = vec!["pandas <2".into(), "scipy >=1.9".into()];
        let mut clone = env_with(
            "tools",
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41759", &[]),
                gdal_tool,
                pkg("pyarrow", "0.17.1", "py39_0", &["python >=3.9,<3.10.0a0"]),
            ],
        );
        clone.history = vec![entry(
            "install gdaltool pyarrow=0.17",
            &["gdaltool", "pyarrow=0.17"],
            &[],
        )];
        let mut m = machine("GIS1", vec![default, clone]);
        bind(&mut m, "Tools/Gdal.GPServer", "/envs/tools", "tools");
        let s = snapshot(vec![m], Some("11.1"));
        let releases = crate::release::ReleaseTable::builtin();
        let mut ctx = Context::new(&s, &releases);
        ctx.target = releases.own(&"11.3".parse().unwrap()).cloned();
        let mut f = upgrade_forecast(&ctx);
        crate::finding::sort_findings(&mut f);
        let got: Vec<(String, String, String)> = f
            .iter()
            .filter(|f| f.code == Code::UpgradePinConflict)
            .map(|f| {
                (
                    f.package.clone().unwrap_or_default(),
                    f.expected.clone().unwrap_or_default(),
                    f.found.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "gdaltool".into(),
                    "gdal 3.8.1".into(),
                    "gdal >=3.4,<3.5 (depends of gdaltool 1.0)".into()
                ),
                (
                    "gdaltool".into(),
                    "pandas 2.0.2".into(),
                    "pandas <2 (constrains of gdaltool 1.0)".into()
                ),
                (
                    "pyarrow".into(),
                    "pyarrow 15.0.0".into(),
                    "pyarrow 0.17.* (conda-meta/history)".into()
                ),
            ]
        );
        let gdal = f
            .iter()
            .find(|f| f.expected.as_deref() == Some("gdal 3.8.1"))
            .unwrap();
        assert!(gdal.message.contains("gdal blocks it"), "{}", gdal.message);
        assert_eq!(gdal.services, ["Tools/Gdal.GPServer"]);
        // pyarrow is the stack's now: its own py39 build is not reported.
        assert!(!f.iter().any(|f| f.code == Code::UpgradePythonAbi));
    }
}
