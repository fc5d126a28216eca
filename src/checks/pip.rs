//! `pip-installed`, `pip-clobbered`, `pip-editable`: Python distributions
//! that conda does not own, those that overwrote or shadow conda packages,
//! and editable installs (their code stays in a source folder).

use super::{env_finding, Context};
use crate::finding::{Code, Finding};
use crate::model::normalize_dist_name;
use crate::model::PipDist;

fn dist_source(env_path: &str, dist: &PipDist) -> String {
    crate::paths::join_displayed(env_path, &dist.path)
}

pub fn pip_installed(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            // A conda-written dist-info without its record is package-orphaned.
            for dist in ctx.index(env).pip_dists() {
                let installer = dist.installer.as_deref().unwrap_or("an unknown installer");
                out.push(
                    env_finding(
                        Code::PipInstalled,
                        format!(
                            "{} {} in env `{}` on {} was installed by {installer}, not conda",
                            dist.name, dist.version, env.name, machine.name
                        ),
                        machine,
                        env,
                    )
                    .package(&dist.name)
                    .expected("installed by conda")
                    .found(format!(
                        "{} {} (installer: {installer})",
                        dist.name, dist.version
                    ))
                    .location(dist_source(&env.path, dist)),
                );
            }
        }
    }
    out
}

pub fn pip_editable(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            for (file, editable) in ctx.index(env).editables() {
                let how = match editable.kind.as_str() {
                    "egg-link" => "`setup.py develop` (an .egg-link and easy-install.pth)",
                    _ => "`pip install -e` (PEP 660)",
                };
                let sources = if editable.sources.is_empty() {
                    "a source folder the files do not name".to_string()
                } else {
                    editable.sources.join(", ")
                };
                let modules = if editable.modules.is_empty() {
                    String::new()
                } else {
                    format!(" (modules {})", editable.modules.join(", "))
                };
                out.push(
                    env_finding(
                        Code::PipEditable,
                        format!(
                            "{} in env `{}` on {} is an editable install made with {how}: its code{modules} is imported from {sources}, not from the env, so it changes whenever that folder does and is gone if the folder is; conda proup cannot reinstall it (it is not in any channel, nor PyPI under that name)",
                            editable.project, env.name, machine.name
                        ),
                        machine,
                        env,
                    )
                    .package(&editable.project)
                    .expected("installed from a wheel or a conda package")
                    .found(format!("editable, from {sources}"))
                    .location(crate::paths::join_displayed(&env.path, &file.path)),
                );
            }
        }
    }
    out
}

pub fn pip_clobbered(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let index = ctx.index(env);
            for dist in &env.pip {
                if let Some(conda) = index
                    .packages()
                    .find(|p| normalize_dist_name(p.name()) == normalize_dist_name(&dist.name))
                {
                    out.push(
                        env_finding(
                            Code::PipClobbered,
                            format!(
                                "pip's {} {} in env `{}` on {} shadows the conda package {} {}",
                                dist.name,
                                dist.version,
                                env.name,
                                machine.name,
                                conda.name(),
                                conda.record.version.as_str()
                            ),
                            machine,
                            env,
                        )
                        .package(conda.name())
                        .expected(format!("{} from conda only", conda.version_build()))
                        .found(format!("pip {} {} beside it", dist.name, dist.version))
                        .location(dist_source(&env.path, dist)),
                    );
                }
                let mut owners: Vec<&str> =
                    dist.overwrote.iter().map(|f| f.package.as_str()).collect();
                owners.sort_unstable();
                owners.dedup();
                for owner in owners {
                    let files: Vec<&str> = dist
                        .overwrote
                        .iter()
                        .filter(|f| f.package == owner)
                        .map(|f| f.path.as_str())
                        .collect();
                    let shown = files.iter().take(3).copied().collect::<Vec<_>>().join(", ");
                    let more = if files.len() > 3 {
                        format!(" and {} more", files.len() - 3)
                    } else {
                        String::new()
                    };
                    out.push(
                        env_finding(
                            Code::PipClobbered,
                            format!(
                                "pip's {} {} in env `{}` on {} overwrote {} file(s) of the conda package {owner}: {shown}{more}",
                                dist.name,
                                dist.version,
                                env.name,
                                machine.name,
                                files.len()
                            ),
                            machine,
                            env,
                        )
                        .package(owner)
                        .expected(format!("files of {owner} owned by conda only"))
                        .found(format!("{} file(s) rewritten by pip {}", files.len(), dist.name))
                        .location(dist_source(&env.path, dist)),
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
    use crate::model::OverwrittenFile;

    fn dist(name: &str, overwrote: &[(&str, &str)]) -> PipDist {
        PipDist {
            name: name.into(),
            version: "1.0".into(),
            installer: Some("pip".into()),
            path: format!("Lib/site-packages/{name}-1.0.dist-info"),
            overwrote: overwrote
                .iter()
                .map(|(p, o)| OverwrittenFile {
                    path: p.to_string(),
                    package: o.to_string(),
                })
                .collect(),
            modules: vec![name.to_lowercase()],
        }
    }

    #[test]
    fn pip_dists_are_reported_and_clobbers_found() {
        let mut e = env(
            "hydro",
            &[
                ("python-dateutil", "2.8.2", "pyhd3eb1b0_0"),
                ("six", "1.16.0", "pyhd3eb1b0_1"),
            ],
        );
        e.pip = vec![
            dist("requests_toolbelt", &[]),
            dist("Python_Dateutil", &[]),
            dist("sixish", &[("Lib/site-packages/six.py", "six")]),
        ];
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        assert_eq!(run_one(&snap, pip_installed).len(), 3);
        let f = run_one(&snap, pip_clobbered);
        let got: Vec<_> = f.iter().map(|f| f.package.as_deref().unwrap()).collect();
        assert_eq!(got, vec!["python-dateutil", "six"]);
        assert!(
            f[1].message.contains("Lib/site-packages/six.py"),
            "{}",
            f[1].message
        );
    }
}
