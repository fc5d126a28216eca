//! `env-missing`, `env-not-arcgis`, `env-release-mismatch`: whether the env a
//! GP service runs in exists, is an ArcGIS env, and is at the site's release.

use super::{env_finding, env_release, release_marker, Context};
use crate::finding::{Code, Finding};
use crate::model::BindingVia;
use crate::release::Feature;
use std::collections::BTreeMap;
use std::str::FromStr;

/// An env that services on one machine run in, but which is not there.
struct Missing<'a> {
    name: &'a str,
    why: Option<&'a str>,
    services: Vec<String>,
    via: BindingVia,
}

pub fn env_missing(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        // A release before 10.8.1 ignores condaEnvironmentPath (reported by
        // per-service-env-unsupported); the service runs in the active env.
        let honours_property = ctx
            .machine_release(machine)
            .is_none_or(|r| ctx.releases.supports(&r, Feature::PerServiceEnv));
        let mut missing: BTreeMap<&str, Missing> = BTreeMap::new();
        for b in &machine.bindings {
            if b.refused.is_some()
                || (b.unresolved.is_none() && machine.env_at(&b.env_path).is_some())
            {
                continue;
            }
            if b.via == BindingVia::ServiceProperty && !honours_property {
                continue;
            }
            missing
                .entry(b.env_path.as_str())
                .or_insert_with(|| Missing {
                    name: b.env_name.as_str(),
                    why: b.unresolved.as_deref(),
                    services: Vec::new(),
                    via: b.via,
                })
                .services
                .push(b.service.clone());
        }
        for (
            path,
            Missing {
                name,
                why,
                services,
                via,
            },
        ) in missing
        {
            let how = match via {
                BindingVia::ServiceProperty => "named by condaEnvironmentPath",
                BindingVia::ActiveEnv => "the machine's active env",
            };
            let message = match why {
                Some(why) => format!(
                    "env `{name}` ({how}) cannot be located on {}: {why}",
                    machine.name
                ),
                None => format!("env `{name}` ({how}) does not exist on {}", machine.name),
            };
            out.push(
                Finding::new(Code::EnvMissing, message)
                    .machine(&machine.name)
                    .env(name, path)
                    .expected(format!("a conda env at {path}"))
                    .found("no such env")
                    .services(services),
            );
        }
    }
    out
}

/// `env-path-refused`: a service's `condaEnvironmentPath` that the scan
/// would not follow (a `..`, a relative path, a folder that is no env).
pub fn env_path_refused(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for b in &machine.bindings {
            let Some(why) = &b.refused else { continue };
            out.push(
                Finding::new(
                    Code::EnvPathRefused,
                    format!(
                        "service {} on {}: condaEnvironmentPath {why}; it was not read, and where the service runs is unknown",
                        b.service, machine.name
                    ),
                )
                .machine(&machine.name)
                .expected("an env name, or the full path of a conda env")
                .found(b.env_path.clone())
                .services(vec![b.service.clone()]),
            );
        }
    }
    out
}

pub fn env_not_arcgis(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            // Before Pro 2.7 an ArcGIS env has `arcgispro` and no arcpy package.
            if release_marker(env).is_some() || machine.services_in(&env.path).is_empty() {
                continue;
            }
            out.push(
                env_finding(
                    Code::EnvNotArcgis,
                    format!(
                        "env `{}` on {} has no arcpy (nor arcgispro), but GP services run in it; proswap refuses such envs",
                        env.name, machine.name
                    ),
                    machine,
                    env,
                )
                .package("arcpy")
                .expected("arcpy installed (clone arcgispro-py3)")
                .found("not installed")
                .location(env.conda_meta()),
            );
        }
    }
    out
}

pub fn env_release_mismatch(ctx: &Context) -> Vec<Finding> {
    let Some(site) = &ctx.site_release else {
        return Vec::new();
    };
    let site_pros: Vec<String> = ctx
        .releases
        .by_server(&site.version)
        .map(|r| r.pro.to_string())
        .collect();
    if site_pros.is_empty() {
        return Vec::new(); // a release gpaudit has no table entry for
    }
    let own = ctx.releases.own(&site.version);
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let Some(marker) = release_marker(env) else {
                continue;
            };
            let env_server = env_release(env, ctx.releases);
            if env_server.as_ref() == Some(&site.version) {
                continue;
            }
            let found = match &env_server {
                Some(server) => format!(
                    "{} {} (ArcGIS Server {server})",
                    marker.name(),
                    marker.record.version.as_str()
                ),
                None => format!(
                    "{} {} (a release gpaudit does not know)",
                    marker.name(),
                    marker.record.version.as_str()
                ),
            };
            let stack = own.map(|r| stack_difference(env, r)).unwrap_or_default();
            out.push(
                env_finding(
                    Code::EnvReleaseMismatch,
                    format!(
                        "env `{}` on {} is at another ArcGIS release than the site ({}, {}){stack}",
                        env.name, machine.name, site.version, site.source
                    ),
                    machine,
                    env,
                )
                .package(marker.name())
                .expected(format!(
                    "arcpy {} (ArcGIS Server {})",
                    site_pros.join(" or "),
                    site.version
                ))
                .found(found)
                .location(marker.file.clone()),
            );
        }
    }
    out
}

/// How many of the env's packages the release's stack lists at another
/// version, naming the critical ones first: `; 12 of its 40 packages in
/// Pro 3.1's stack are at other versions: python 3.9.11 (stack 3.9.16), ...`.
fn stack_difference(env: &crate::model::Env, release: &crate::release::Release) -> String {
    let mut listed = 0;
    let mut differ: Vec<(usize, String)> = Vec::new();
    for p in env.index().packages() {
        let Some(want) = release.package(p.name()) else {
            continue;
        };
        listed += 1;
        let same = rattler_conda_types::Version::from_str(&want.version)
            .is_ok_and(|v| v == *p.record.version);
        if !same {
            let rank = crate::baseline::CRITICAL_STACK
                .iter()
                .position(|c| *c == p.name())
                .unwrap_or(usize::MAX);
            differ.push((
                rank,
                format!(
                    "{} {} (stack {})",
                    p.name(),
                    p.record.version.as_str(),
                    want.version
                ),
            ));
        }
    }
    if differ.is_empty() {
        return String::new();
    }
    differ.sort();
    let total = differ.len();
    let shown: Vec<String> = differ.into_iter().take(5).map(|(_, s)| s).collect();
    format!(
        "; {total} of its {listed} packages in ArcGIS Pro {}'s stack are at other versions: {}{}",
        release.pro,
        shown.join(", "),
        if total > 5 { ", ..." } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn missing_env_lists_its_services_once() {
        let mut m = machine("GIS1", vec![arcgis_env("arcgispro-py3", "3.1")]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        bind(&mut m, "Hydro/Ebb.GPServer", "/envs/hydro", "hydro");
        let snap = snapshot(vec![m], Some("11.1"));
        let f = run_one(&snap, env_missing);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::EnvMissing);
        assert_eq!(f[0].env.as_deref(), Some("hydro"));
        assert_eq!(
            f[0].services,
            vec!["Hydro/Ebb.GPServer", "Hydro/Flood.GPServer"]
        );
    }

    #[test]
    fn env_without_arcpy_used_by_a_service() {
        let mut m = machine(
            "GIS1",
            vec![
                arcgis_env("arcgispro-py3", "3.1"),
                env("plain", &[("python", "3.9.16", "h6244533_2")]),
            ],
        );
        bind(&mut m, "Tools/X.GPServer", "/envs/plain", "plain");
        let snap = snapshot(vec![m], Some("11.1"));
        let f = run_one(&snap, env_not_arcgis);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].env.as_deref(), Some("plain"));
        assert_eq!(f[0].services, vec!["Tools/X.GPServer"]);
    }

    #[test]
    fn stale_clone_is_a_release_mismatch() {
        let m = machine(
            "GIS1",
            vec![arcgis_env("arcgispro-py3", "3.1"), arcgis_env("old", "3.0")],
        );
        let snap = snapshot(vec![m], Some("11.1"));
        let f = run_one(&snap, env_release_mismatch);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].env.as_deref(), Some("old"));
        assert_eq!(
            f[0].expected.as_deref(),
            Some("arcpy 3.1 (ArcGIS Server 11.1)")
        );
        assert_eq!(
            f[0].found.as_deref(),
            Some("arcpy 3.0 (ArcGIS Server 11.0)")
        );
    }

    #[test]
    fn site_release_is_derived_from_arcpy_when_not_declared() {
        let m = machine(
            "GIS1",
            vec![arcgis_env("arcgispro-py3", "3.2"), arcgis_env("old", "3.1")],
        );
        let snap = snapshot(vec![m], None);
        let f = run_one(&snap, env_release_mismatch);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("11.2"), "{}", f[0].message);
    }

    #[test]
    fn release_mismatch_names_the_stack_packages_that_differ() {
        // GIS3 in the demo: a 10.8 env (no arcpy before Pro 2.7: arcgispro)
        // on an 11.1 site.
        let old = env(
            "arcgispro-py3",
            &[
                ("arcgispro", "2.5", "0"),
                ("python", "3.6.9", "h5500b2f_0"),
                ("numpy", "1.16.5", "py36_0"),
                ("six", "1.16.0", "py_0"),
            ],
        );
        let snap = snapshot(vec![machine("GIS3", vec![old])], Some("11.1"));
        let f = run_one(&snap, env_release_mismatch);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].package.as_deref(), Some("arcgispro"));
        assert_eq!(
            f[0].found.as_deref(),
            Some("arcgispro 2.5 (ArcGIS Server 10.8)")
        );
        assert!(
            f[0].message.ends_with("; 3 of its 4 packages in ArcGIS Pro 3.1's stack are at other versions: python 3.6.9 (stack 3.9.16), numpy 1.16.5 (stack 1.20.1), arcgispro 2.5 (stack 3.1)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn an_env_before_pro_2_7_is_an_arcgis_env_by_its_arcgispro() {
        let old = env(
            "clone",
            &[("arcgispro", "2.6", "0"), ("python", "3.6.10", "h_0")],
        );
        let mut m = machine("GIS1", vec![old]);
        bind(&mut m, "Tools/X.GPServer", "/envs/clone", "clone");
        let snap = snapshot(vec![m], Some("10.8.1"));
        assert!(run_one(&snap, env_not_arcgis).is_empty());
        assert!(run_one(&snap, env_release_mismatch).is_empty());
    }
}
