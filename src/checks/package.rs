//! `package-duplicate`: two or more conda records for one package name in
//! one env (the index's duplicate rule says which record every other check
//! sees; this names the ones it does not). `package-orphaned`: a
//! `.dist-info` conda wrote whose conda record is gone.
//! `package-files-missing`: a conda record whose files are gone.

use super::{env_finding, Context};
use crate::finding::{Code, Finding};

pub fn package_duplicate(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let index = ctx.index(env);
            for records in index.duplicates() {
                let counted = records[0];
                let others: Vec<String> = records[1..].iter().map(|p| p.version_build()).collect();
                let mut f = env_finding(
                    Code::PackageDuplicate,
                    format!(
                        "env `{}` on {} holds {} records of {}: {} counts (the highest version), {} also listed; conda's view of the env is undefined",
                        env.name,
                        machine.name,
                        records.len(),
                        counted.name(),
                        counted.version_build(),
                        others.join(", ")
                    ),
                    machine,
                    env,
                )
                .package(counted.name())
                .expected("one record")
                .found(
                    records
                        .iter()
                        .map(|p| p.version_build())
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                for p in records.iter() {
                    f = f.location(p.file.clone());
                }
                out.push(f);
            }
        }
    }
    out
}

pub fn package_orphaned(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            for dist in ctx.index(env).orphans() {
                out.push(
                    env_finding(
                        Code::PackageOrphaned,
                        format!(
                            "{} {} in env `{}` on {} was installed by conda (its .dist-info says so) but has no conda-meta record any more: conda no longer knows it, so conda update, remove and proup pass it by and its files stay as they are",
                            dist.name, dist.version, env.name, machine.name
                        ),
                        machine,
                        env,
                    )
                    .package(&dist.name)
                    .expected(format!("a conda-meta record for {}", dist.name))
                    .found(format!("{} without a record", dist.path))
                    .location(crate::paths::join_displayed(&env.path, &dist.path)),
                );
            }
        }
    }
    out
}

pub fn package_files_missing(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            for p in ctx.index(env).packages().filter(|p| p.files_missing) {
                out.push(
                    env_finding(
                        Code::PackageFilesMissing,
                        format!(
                            "{} {} in env `{}` on {} has a conda record but its files are gone from site-packages (no {} and no dist-info): `pip uninstall` (or a hand delete) removed them, and conda still counts it installed",
                            p.name(),
                            p.record.version.as_str(),
                            env.name,
                            machine.name,
                            p.modules.join(", ")
                        ),
                        machine,
                        env,
                    )
                    .package(p.name())
                    .expected(format!("the files of {} in site-packages", p.version_build()))
                    .found("record only")
                    .location(p.file.clone()),
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
    fn issue_13_item_3_two_records_for_one_name_are_a_finding_and_checks_agree() {
        let mut e = env("hydro", &[("python", "3.9.16", "h_0")]);
        e.packages.push(pkg("numpy", "1.20.1", "py39_0", &[]));
        e.packages.push(pkg("numpy", "1.24.3", "py39_0", &[]));
        e.packages
            .push(pkg("scipy", "1.9", "py39_0", &["numpy >=1.22"]));
        let s = snapshot(vec![machine("GIS1", vec![e])], Some("11.1"));
        let found = run_one(&s, package_duplicate);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].package.as_deref(), Some("numpy"));
        assert!(
            found[0].message.contains("1.24.3 py39_0 counts"),
            "{}",
            found[0].message
        );
        // The dependency check sees the record that counts (1.24.3), so
        // scipy's `numpy >=1.22` holds.
        assert!(run_one(&s, super::super::dependency::dependencies).is_empty());
    }

    #[test]
    fn issue_13_item_6_a_conda_package_whose_files_pip_removed_is_reported() {
        let mut e = env(
            "hydro",
            &[("python", "3.9.16", "h_0"), ("six", "1.16.0", "py_0")],
        );
        e.packages[1].files_missing = true;
        let s = snapshot(vec![machine("GIS1", vec![e])], Some("11.1"));
        let f = run_one(&s, package_files_missing);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].package.as_deref(), Some("six"));
    }

    #[test]
    fn issue_13_item_12_a_conda_dist_info_without_its_record_is_an_orphan_not_pip() {
        let mut e = env("hydro", &[("python", "3.9.16", "h_0")]);
        e.pip.push(crate::model::PipDist {
            name: "six".into(),
            version: "1.16.0".into(),
            installer: Some("conda".into()),
            path: "Lib/site-packages/six-1.16.0.dist-info".into(),
            overwrote: vec![],
            modules: vec!["six".into()],
        });
        let s = snapshot(vec![machine("GIS1", vec![e])], Some("11.1"));
        assert!(run_one(&s, super::super::pip::pip_installed).is_empty());
        let f = run_one(&s, package_orphaned);
        assert_eq!(f.len(), 1);
        assert!(!f[0].message.contains("PyPI"), "{}", f[0].message);
        assert_eq!(f[0].package.as_deref(), Some("six"));
    }
}
