//! `constraint-violated`: whether installed packages keep every other
//! record's `constrains` (bounds that apply only if the package is installed).

use super::dependency::is_virtual;
use super::{env_finding, spec_name, Context};
use crate::finding::{Code, Finding};
use rattler_conda_types::Matches;

pub fn constraint_violated(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let index = ctx.index(env);
            for package in index.packages() {
                for constraint in &package.record.constrains {
                    // A malformed spec is scan_error's to report.
                    let Some(spec) = ctx.spec(constraint) else {
                        continue;
                    };
                    let Some(name) = spec_name(&spec).filter(|n| !is_virtual(n)) else {
                        continue;
                    };
                    let Some(installed) = index.package(name) else {
                        continue;
                    };
                    if spec.matches(&installed.record) {
                        continue;
                    }
                    out.push(
                        env_finding(
                            Code::ConstraintViolated,
                            format!(
                                "{} {} in env `{}` on {} violates `{constraint}`, a constraint of {} {}",
                                installed.name(),
                                installed.record.version.as_str(),
                                env.name,
                                machine.name,
                                package.name(),
                                package.record.version.as_str()
                            ),
                            machine,
                            env,
                        )
                        .package(name)
                        .expected(format!("{constraint} (constrained by {})", package.name()))
                        .found(installed.version_build())
                        .location(package.file.clone()),
                    );
                }
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
    fn constrains_apply_only_to_installed_packages() {
        let mut numpy = pkg("numpy", "1.20.1", "py39_0", &[]);
        numpy.record.constrains = vec!["scipy >=1.8".into(), "numba >=0.50".into()];
        let e = env_with("x", vec![numpy, pkg("scipy", "1.7.3", "py39_0", &[])]);
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        let f = run_one(&snap, constraint_violated);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].package.as_deref(), Some("scipy"));
        assert_eq!(
            f[0].expected.as_deref(),
            Some("scipy >=1.8 (constrained by numpy)")
        );
    }
}
