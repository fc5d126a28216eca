//! `package-duplicate`: two or more conda records for one package name in
//! one env. The index's duplicate rule says which record every other check
//! sees; this names the ones it does not.

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
}
