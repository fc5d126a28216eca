//! `site-inconsistent`: envs of the same name that differ between the
//! machines of a site (missing on one, or packages and versions differ).

use super::{env_release, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, EnvIndex, Machine};
use std::collections::{BTreeMap, BTreeSet};

/// What a machine has of one package: `None` when not installed.
type Value = Option<String>;

fn package_values(index: &EnvIndex) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = index
        .packages()
        .map(|p| (p.name().to_string(), p.version_build()))
        .collect();
    let env = index.env;
    for dist in &env.pip {
        values.insert(
            format!("{} (pip)", dist.name.to_lowercase()),
            dist.version.clone(),
        );
    }
    values
}

/// The value more than half of the machines have, if one does. Without a
/// majority (two machines that differ, or a three-way split) no machine is
/// the truth: the difference is reported once, on the env.
fn majority_value<'a>(values: &'a [(&Machine, Value)]) -> Option<&'a Value> {
    values.iter().map(|(_, v)| v).find(|v| {
        let count = values.iter().filter(|(_, w)| w == *v).count();
        count * 2 > values.len()
    })
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
            .map(|((m, e), _)| (*m, *e, package_values(&ctx.index(e))))
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
            let show = |v: &Value| v.clone().unwrap_or_else(|| "not installed".into());
            if values.iter().all(|(_, v)| *v == values[0].1) {
                continue;
            }
            let Some(reference) = majority_value(&values).cloned() else {
                out.push(tie_finding(package, &values, &comparable, show));
                continue;
            };
            let holders: Vec<&str> = values
                .iter()
                .filter(|(_, v)| *v == reference)
                .map(|(m, _)| m.name.as_str())
                .collect();
            for ((machine, value), (_, env, _)) in values.iter().zip(&comparable) {
                if *value == reference {
                    continue;
                }
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

/// A package that differs with no majority: one finding on the env,
/// naming every machine's value; the other checks say which side is wrong.
fn tie_finding(
    package: &str,
    values: &[(&Machine, Value)],
    comparable: &[(&Machine, &Env, BTreeMap<String, String>)],
    show: impl Fn(&Value) -> String,
) -> Finding {
    let env = comparable[0].1;
    let each = values
        .iter()
        .map(|(m, v)| format!("{} on {}", show(v), m.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut services: Vec<String> = comparable
        .iter()
        .flat_map(|(m, e, _)| m.services_in(&e.path))
        .collect();
    services.sort();
    services.dedup();
    let mut f = Finding::new(
        Code::SiteInconsistent,
        format!(
            "{package} in env `{}` differs between machines, with no majority to take as right: {each}",
            env.name
        ),
    )
    .env(&env.name, &env.path)
    .package(package.to_string())
    .expected("the same on every machine")
    .found(each)
    .services(services);
    for (_, e, _) in comparable {
        f = f.location(e.conda_meta());
    }
    f
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
    fn issue_13_item_14_two_machines_that_differ_have_no_majority() {
        let a = env(
            "hydro",
            &[
                ("arcpy", "3.1", "py39_arcgispro_41759"),
                ("numpy", "1.24.3", "py39_0"),
            ],
        );
        let mut b = a.clone();
        b.packages[1] = pkg("numpy", "1.20.1", "py39_0", &[]);
        let snap = snapshot(
            vec![machine("GIS1", vec![a]), machine("GIS2", vec![b])],
            None,
        );
        let f = run_one(&snap, site_inconsistent);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].machine, None);
        assert_eq!(f[0].package.as_deref(), Some("numpy"));
        assert_eq!(
            f[0].found.as_deref(),
            Some("1.24.3 py39_0 on GIS1, 1.20.1 py39_0 on GIS2")
        );
        assert!(!f[0].message.contains("as on"), "{}", f[0].message);
    }

    #[test]
    fn a_single_machine_site_is_consistent() {
        let snap = snapshot(vec![machine("GIS1", vec![env("x", &[])])], None);
        assert!(run_one(&snap, site_inconsistent).is_empty());
    }
}
