//! `site-inconsistent`: envs of the same name that differ between the
//! machines of a site (missing on one, or packages and versions differ).

use super::{env_release, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, Machine};
use std::collections::{BTreeMap, BTreeSet};

/// What a machine has of one package: `None` when not installed.
type Value = Option<String>;

fn package_values(env: &Env) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = env
        .packages
        .iter()
        .map(|p| (p.name().to_string(), p.version_build()))
        .collect();
    for dist in &env.pip {
        values.insert(
            format!("{} (pip)", dist.name.to_lowercase()),
            dist.version.clone(),
        );
    }
    values
}

/// The value most machines have; ties go to the machine listed first.
fn reference<'a>(values: &'a [(&Machine, Value)]) -> &'a Value {
    let mut best: Option<(&Value, usize)> = None;
    for (_, v) in values {
        let count = values.iter().filter(|(_, w)| w == v).count();
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((v, count));
        }
    }
    best.map(|(v, _)| v).unwrap_or(&values[0].1)
}

pub fn site_inconsistent(ctx: &Context) -> Vec<Finding> {
    let machines = &ctx.snapshot.machines;
    if machines.len() < 2 {
        return Vec::new();
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for m in machines {
        for e in &m.envs {
            names.insert(e.name.to_lowercase());
        }
    }
    let mut out = Vec::new();
    for name in names {
        let present: Vec<(&Machine, &Env)> = machines
            .iter()
            .filter_map(|m| {
                m.envs
                    .iter()
                    .find(|e| e.name.to_lowercase() == name)
                    .map(|e| (m, e))
            })
            .collect();
        let first = present[0].1;
        for m in machines
            .iter()
            .filter(|m| !present.iter().any(|(p, _)| p.name == m.name))
        {
            let mut finding = Finding::new(
                Code::SiteInconsistent,
                format!(
                    "env `{}` exists on {} but not on {}",
                    first.name,
                    present
                        .iter()
                        .map(|(p, _)| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    m.name
                ),
            )
            .machine(&m.name)
            .expected(format!("env `{}` as on {}", first.name, present[0].0.name))
            .found("no such env")
            .services(
                m.bindings
                    .iter()
                    .filter(|b| b.env_name.to_lowercase() == name)
                    .map(|b| b.service.clone())
                    .collect(),
            );
            finding.env = Some(first.name.clone());
            out.push(finding);
        }
        if present.len() < 2 {
            continue;
        }
        // Compare packages only between machines whose env is at the same
        // ArcGIS release: across releases every package differs, and that is
        // one `env-release-mismatch`, not dozens of findings here.
        let releases: Vec<_> = present
            .iter()
            .map(|(_, e)| env_release(e, ctx.releases))
            .collect();
        let majority = {
            let mut best = &releases[0];
            let mut best_count = 0;
            for r in &releases {
                let c = releases.iter().filter(|x| *x == r).count();
                if c > best_count {
                    best = r;
                    best_count = c;
                }
            }
            best.clone()
        };
        let comparable: Vec<(&Machine, &Env, BTreeMap<String, String>)> = present
            .iter()
            .zip(&releases)
            .filter(|(_, r)| **r == majority)
            .map(|((m, e), _)| (*m, *e, package_values(e)))
            .collect();
        if comparable.len() < 2 {
            continue;
        }
        let all: BTreeSet<&String> = comparable.iter().flat_map(|(_, _, v)| v.keys()).collect();
        for package in all {
            let values: Vec<(&Machine, Value)> = comparable
                .iter()
                .map(|(m, _, v)| (*m, v.get(package).cloned()))
                .collect();
            let reference = reference(&values).clone();
            let holders: Vec<&str> = values
                .iter()
                .filter(|(_, v)| *v == reference)
                .map(|(m, _)| m.name.as_str())
                .collect();
            for ((machine, value), (_, env, _)) in values.iter().zip(&comparable) {
                if *value == reference {
                    continue;
                }
                let show = |v: &Value| v.clone().unwrap_or_else(|| "not installed".into());
                out.push(
                    Finding::new(
                        Code::SiteInconsistent,
                        format!(
                            "{package} in env `{}` differs between machines: {} on {}, {} on {}",
                            env.name,
                            show(value),
                            machine.name,
                            show(&reference),
                            holders.join(", ")
                        ),
                    )
                    .machine(&machine.name)
                    .env(&env.name, &env.path)
                    .package(package.clone())
                    .expected(format!(
                        "{} (as on {})",
                        show(&reference),
                        holders.join(", ")
                    ))
                    .found(show(value))
                    .location(env.conda_meta())
                    .services(machine.services_in(&env.path)),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn drift_between_machines_names_the_odd_one_out() {
        let a = env(
            "hydro",
            &[
                ("arcpy", "3.1", "py39_arcgispro_41759"),
                ("numpy", "1.20.1", "py39_0"),
            ],
        );
        let mut b = a.clone();
        b.packages[1] = pkg("numpy", "1.24.3", "py39_0", &[]);
        b.packages.push(pkg("scikit-learn", "1.0.2", "py39_0", &[]));
        let snap = snapshot(
            vec![
                machine("GIS1", vec![a.clone()]),
                machine("GIS2", vec![b]),
                machine("GIS3", vec![a, env("only-here", &[])]),
            ],
            None,
        );
        let f = run_one(&snap, site_inconsistent);
        let got: Vec<_> = f
            .iter()
            .map(|f| {
                (
                    f.machine.as_deref().unwrap(),
                    f.env.as_deref().unwrap(),
                    f.package.as_deref(),
                    f.found.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("GIS1", "only-here", None, "no such env"),
                ("GIS2", "hydro", Some("numpy"), "1.24.3 py39_0"),
                ("GIS2", "hydro", Some("scikit-learn"), "1.0.2 py39_0"),
                ("GIS2", "only-here", None, "no such env"),
            ]
        );
    }

    #[test]
    fn a_single_machine_site_is_consistent() {
        let snap = snapshot(vec![machine("GIS1", vec![env("x", &[])])], None);
        assert!(run_one(&snap, site_inconsistent).is_empty());
    }
}
