//! `default-env-modified`: whether `arcgispro-py3` itself was changed after
//! install (conda install/update/remove in its history, or pip packages).

use super::{env_finding, Context};
use crate::finding::{Code, Finding};

pub fn default_env_modified(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        let Some(env) = machine.arcgispro_py3() else {
            continue;
        };
        let history_file = crate::paths::join_displayed(&env.conda_meta(), "history");
        for entry in env.history.iter().filter(|h| h.is_modification()) {
            let what = entry
                .cmd
                .clone()
                .unwrap_or_else(|| "a change with no recorded command".into());
            let mut changes = Vec::new();
            changes.extend(entry.added.iter().map(|a| format!("+{a}")));
            changes.extend(entry.removed.iter().map(|r| format!("-{r}")));
            out.push(
                env_finding(
                    Code::DefaultEnvModified,
                    format!(
                        "arcgispro-py3 on {} was changed on {}: {what}",
                        machine.name, entry.timestamp
                    ),
                    machine,
                    env,
                )
                .expected("arcgispro-py3 as installed (change a clone instead)")
                .found(if changes.is_empty() {
                    what.clone()
                } else {
                    changes.join(" ")
                })
                .location(history_file.clone()),
            );
        }
        if !env.pip.is_empty() {
            let dists: Vec<String> = env
                .pip
                .iter()
                .map(|d| format!("{} {}", d.name, d.version))
                .collect();
            out.push(
                env_finding(
                    Code::DefaultEnvModified,
                    format!(
                        "arcgispro-py3 on {} holds {} pip-installed package(s): {}",
                        machine.name,
                        dists.len(),
                        dists.join(", ")
                    ),
                    machine,
                    env,
                )
                .expected("no pip packages in arcgispro-py3")
                .found(dists.join(", "))
                .location(env.path.clone()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::model::HistoryEntry;

    #[test]
    fn install_in_the_default_env_is_reported_but_creation_is_not() {
        let mut e = arcgis_env("arcgispro-py3", "3.1");
        e.history = vec![
            HistoryEntry {
                timestamp: "2023-01-10 09:00:00".into(),
                cmd: Some("conda create -p C:\\x --clone base".into()),
                update_specs: vec!["arcpy".into()],
                ..HistoryEntry::default()
            },
            HistoryEntry {
                timestamp: "2023-05-02 14:12:09".into(),
                cmd: Some(
                    "C:\\Python\\Scripts\\conda-script.py install -n arcgispro-py3 scikit-learn"
                        .into(),
                ),
                added: vec!["defaults/win-64::scikit-learn-1.0.2-py39hf11a4ad_1".into()],
                ..HistoryEntry::default()
            },
        ];
        let clone = {
            let mut c = e.clone();
            c.name = "hydro".into();
            c.path = "/envs/hydro".into();
            c
        };
        let snap = snapshot(vec![machine("GIS1", vec![e, clone])], None);
        let f = run_one(&snap, default_env_modified);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].env.as_deref(), Some("arcgispro-py3"));
        assert!(f[0].message.contains("2023-05-02"), "{}", f[0].message);
        assert_eq!(
            f[0].found.as_deref(),
            Some("+defaults/win-64::scikit-learn-1.0.2-py39hf11a4ad_1")
        );
    }
}
