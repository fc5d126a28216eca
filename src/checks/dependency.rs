//! `dependency-missing`, `dependency-unsatisfied`: whether every record's
//! `depends` is installed, at a matching version and build.

use super::{env_finding, spec_name, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, EnvIndex, Machine};
use rattler_conda_types::Matches;
use rayon::prelude::*;

/// Virtual packages (`__win`, `__glibc`, ...) come from the system.
pub(crate) fn is_virtual(name: &str) -> bool {
    name.starts_with("__")
}

pub fn dependencies(ctx: &Context) -> Vec<Finding> {
    ctx.snapshot
        .machines
        .par_iter()
        .flat_map(|m| m.envs.par_iter().map(move |e| (m, e)))
        .flat_map_iter(|(machine, env)| check_env(ctx, &ctx.index(env), machine, env))
        .collect()
}

fn check_env(ctx: &Context, index: &EnvIndex, machine: &Machine, env: &Env) -> Vec<Finding> {
    let mut out = Vec::new();
    for package in index.packages() {
        for dep in &package.record.depends {
            // A malformed spec is scan_error's to report.
            let Some(spec) = ctx.spec(dep) else {
                continue;
            };
            let Some(name) = spec_name(&spec) else {
                continue;
            };
            if is_virtual(name) {
                continue;
            }
            match index.package(name) {
                None => out.push(
                    env_finding(
                        Code::DependencyMissing,
                        format!(
                            "{} {} in env `{}` on {} depends on `{dep}`, which is not installed",
                            package.name(),
                            package.record.version.as_str(),
                            env.name,
                            machine.name
                        ),
                        machine,
                        env,
                    )
                    .package(name)
                    .expected(format!("{dep} (required by {})", package.name()))
                    .found("not installed")
                    .location(package.file.clone()),
                ),
                Some(installed) if !spec.matches(&installed.record) => out.push(
                    env_finding(
                        Code::DependencyUnsatisfied,
                        format!(
                            "{} {} in env `{}` on {} depends on `{dep}`, but {} is installed",
                            package.name(),
                            package.record.version.as_str(),
                            env.name,
                            machine.name,
                            installed.version_build()
                        ),
                        machine,
                        env,
                    )
                    .package(name)
                    .expected(format!("{dep} (required by {})", package.name()))
                    .found(installed.version_build())
                    .location(package.file.clone()),
                ),
                Some(_) => {}
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
    fn missing_unsatisfied_and_virtual_dependencies() {
        let e = env_with(
            "hydro",
            vec![
                pkg(
                    "pandas",
                    "1.4.4",
                    "py39hd77b12b_0",
                    &[
                        "numpy >=1.21",
                        "python >=3.9,<3.10.0a0",
                        "__win",
                        "pytz >=2020.1",
                    ],
                ),
                pkg(
                    "numpy",
                    "1.20.1",
                    "py39h34a8a5c_0",
                    &["python >=3.9,<3.10.0a0"],
                ),
                pkg("python", "3.9.16", "h6244533_2", &[]),
                pkg(
                    "scipy",
                    "1.7.3",
                    "py39h0a974cb_0",
                    &["python 3.9.* *_cpython"],
                ),
            ],
        );
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        let f = run_one(&snap, dependencies);
        let got: Vec<_> = f
            .iter()
            .map(|f| {
                (
                    f.code,
                    f.package.as_deref().unwrap(),
                    f.found.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Code::DependencyMissing, "pytz", "not installed"),
                (
                    Code::DependencyUnsatisfied,
                    "numpy",
                    "1.20.1 py39h34a8a5c_0"
                ),
                (Code::DependencyUnsatisfied, "python", "3.9.16 h6244533_2"),
            ]
        );
        assert_eq!(
            f[1].expected.as_deref(),
            Some("numpy >=1.21 (required by pandas)")
        );
    }

    #[test]
    fn a_dependency_cycle_is_fine() {
        let e = env_with(
            "x",
            vec![pkg("a", "1", "0", &["b"]), pkg("b", "1", "0", &["a"])],
        );
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        assert!(run_one(&snap, dependencies).is_empty());
    }
}
