//! The post-upgrade migration as a value (`gpaudit plan`): after the Server
//! upgrade, every clone that is behind its machine's release gets, machine by
//! machine (so the site keeps serving), `snapshot` → `stop` its services →
//! `proup` → `verify` → `start` the services that were running. The plan
//! records a fingerprint of each env it touches so that applying it later
//! can refuse an env that changed in between. Building and rendering only:
//! nothing here runs a command or calls the API.
//!
//! Over 600 lines with its unit tests: the code itself is under 500 lines,
//! and the tests build their envs inline beside the cases they pin.

use crate::checks::{env_release, Context};
use crate::model::{Env, EnvOrigin, Machine, Snapshot, ToolInfo};
use crate::release::ReleaseTable;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// 3: paths as the server sees them (or relative to the site file), not
/// where the plan was made.
pub const PLAN_SCHEMA: u32 = 3;
pub const PLAN_KIND: &str = "gpaudit-migration-plan";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub schema: u32,
    pub kind: String,
    pub tool: ToolInfo,
    pub site: String,
    /// The site file the plan was made from (absolute): apply rescans it to
    /// check fingerprints and to verify, and finds the plan's paths on the
    /// machine it runs on through it (see [`PlanPath`]).
    pub site_file: String,
    pub machines: Vec<MachinePlan>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MachinePlan {
    pub machine: String,
    /// The release the machine runs now (its arcgispro-py3's arcpy).
    pub release: String,
    /// `<install>/framework/runtime/ArcGIS/bin/Python`, a [`PlanPath`];
    /// conda runs from its `Scripts` folder.
    pub python_root: String,
    pub envs: Vec<EnvPlan>,
    /// Where `python_root` is for this run ([`MigrationPlan::localize`]).
    #[serde(skip)]
    pub python_root_here: Option<Result<String, String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvPlan {
    /// `MACHINE/ENV`, unique in the plan (`MACHINE/ENV~2` for a second env
    /// of the same name elsewhere on the machine): the prefix of its steps'
    /// ids and its backup folder.
    pub id: String,
    pub env: String,
    /// The env, a [`PlanPath`]: as the server sees it.
    pub path: String,
    pub from_release: String,
    pub to_release: String,
    /// SHA-256 of the env's sorted package list (conda and pip).
    pub fingerprint: String,
    /// Packages the admin added (not in arcgispro-py3): proup must bring
    /// them back, and verify checks that it did.
    pub added: Vec<String>,
    pub pip: Vec<String>,
    pub services: Vec<PlannedService>,
    pub steps: Vec<PlanStep>,
    /// Where `path` is for this run ([`MigrationPlan::localize`]), or why
    /// it cannot be found there.
    #[serde(skip)]
    pub here: Option<Result<String, String>>,
}

/// A path as a plan writes it, so that the plan does not depend on the
/// folder or the machine it was made on: as the server sees it
/// (`C:\Program Files\ArcGIS\Server\...\envs\hydro`, `D:\envs\special`),
/// found through the machine's `path_map` in the site file, backwards; else,
/// for a machine read from a copy no `path_map` entry names, relative to
/// the site file's folder (`gis1/ArcGIS/Server/...`), as the site file
/// writes it; else the absolute path it was read at. Apply finds it where
/// it runs through the site file again (`path_map`, `local`, its folder).
pub fn plan_path(machine: &Machine, site_dir: &Path, here: &str) -> String {
    if let Some(server) = machine.server_path(here) {
        return server;
    }
    // A path written absolute (a Windows path read on Linux included) is
    // not relative to the folder gpaudit ran in.
    let written_absolute = crate::paths::is_windows_absolute(here)
        || here.starts_with(['/', '\\'])
        || Path::new(here).is_absolute();
    let absolute = if written_absolute {
        Path::new(here).to_path_buf()
    } else {
        std::path::absolute(here).unwrap_or_else(|_| Path::new(here).to_path_buf())
    };
    // On the machine gpaudit runs on, the path here is the server's own,
    // however the site file was named on the command line.
    if let Some(own) = machine.server_path(&crate::paths::display(&absolute)) {
        return own;
    }
    let dir = std::path::absolute(site_dir).unwrap_or_else(|_| site_dir.to_path_buf());
    match absolute.strip_prefix(&dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        _ if written_absolute => here.to_string(),
        _ => crate::paths::display(&absolute),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedService {
    pub key: String,
    /// Whether it was running when the plan was made (configured state in
    /// the config store, or the API's real state when it was read).
    pub running: bool,
    /// SHA-256 of what ties the service to the env: see
    /// [`service_fingerprint`].
    pub fingerprint: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Snapshot,
    Stop,
    Proup,
    Verify,
    Start,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanStep {
    /// Stable id: `MACHINE/ENV/3-proup`.
    pub id: String,
    pub kind: StepKind,
    pub detail: String,
    /// The command line, for steps that run one (arguments as a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
}

/// The `conda proup` command line for an env: `-n NAME` for an env in the
/// install's `envs` folder, as Esri documents it; `-p PATH` for one
/// elsewhere (not confirmed by Esri). The one place this is decided.
/// `path` is the env's path as the plan writes it ([`plan_path`]).
pub fn proup_argv(conda: &str, env: &Env, path: &str) -> Vec<String> {
    let mut argv = vec![conda.to_string(), "proup".to_string()];
    if env.origin == EnvOrigin::Install {
        argv.extend(["-n".to_string(), env.name.clone()]);
    } else {
        argv.extend(["-p".to_string(), path.to_string()]);
    }
    argv
}

/// The conda an install ships: `<python root>/Scripts/conda.exe`, from the
/// python root as the plan writes it.
pub fn default_conda(python_root: &str) -> String {
    crate::paths::join_displayed(python_root, "Scripts/conda.exe")
}

/// SHA-256 over the env's sorted `name version build` lines and pip dists.
pub fn fingerprint(env: &Env) -> String {
    let mut lines: Vec<String> = env
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name(), p.version_build()))
        .chain(
            env.pip
                .iter()
                .map(|d| format!("pip:{} {}", d.name.to_ascii_lowercase(), d.version)),
        )
        .collect();
    lines.sort();
    sha256_hex(lines.join("\n").as_bytes())
}

/// What the plan says of Esri's own GP services (`System/`, `Utilities/`)
/// among those it stops: their code ships with the install, so the audit
/// does not check it, but they run in the env and go with it.
fn esri_note(services: &[&str]) -> String {
    let esri: Vec<&str> = services
        .iter()
        .copied()
        .filter(|k| crate::model::is_esri_service(k))
        .collect();
    if esri.is_empty() {
        return String::new();
    }
    format!(
        " ({} {} Esri's own: {} code ships with the install and is not checked, but {} in this env, so {} stopped and started with it)",
        esri.join(", "),
        if esri.len() == 1 { "is" } else { "are" },
        if esri.len() == 1 { "its" } else { "their" },
        if esri.len() == 1 { "it runs" } else { "they run" },
        if esri.len() == 1 { "it is" } else { "they are" },
    )
}

/// SHA-256 of a service's key, provider, `condaEnvironmentPath` and the env
/// it runs in on `machine` (its path as the plan writes it, so that where
/// the site was read does not count): what must not change between plan
/// and apply (its running state may). `site_dir` is the site file's folder.
pub fn service_fingerprint(
    snapshot: &Snapshot,
    machine: &Machine,
    key: &str,
    site_dir: &Path,
) -> String {
    let service = snapshot.service(key);
    let bound = machine
        .bindings
        .iter()
        .find(|b| b.service.eq_ignore_ascii_case(key))
        .map(|b| {
            if b.unresolved.is_some() || b.refused.is_some() {
                crate::paths::path_key(&b.env_path)
            } else {
                crate::paths::path_key(&plan_path(machine, site_dir, &b.env_path))
            }
        });
    let text = format!(
        "{}\n{}\n{}\n{}",
        key.to_ascii_lowercase(),
        service.and_then(|s| s.provider.as_deref()).unwrap_or(""),
        service
            .and_then(|s| s.conda_environment_path.as_deref())
            .unwrap_or(""),
        bound.unwrap_or_default()
    );
    sha256_hex(text.as_bytes())
}

/// Build the plan for a scanned site. `conda` overrides the conda path;
/// `site_file` is recorded for apply.
pub fn build(
    snapshot: &Snapshot,
    releases: &ReleaseTable,
    conda: Option<&str>,
    site_file: &Path,
) -> MigrationPlan {
    let ctx = Context::new(snapshot, releases);
    let site_dir = site_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A conda given as a relative path is made absolute: the plan is run
    // from other folders. A bare name stays (found on PATH).
    let conda = conda.map(|c| {
        if crate::paths::is_bare_name(c) || Path::new(c).is_absolute() {
            c.to_string()
        } else {
            crate::paths::display(&std::path::absolute(c).unwrap_or_else(|_| c.into()))
        }
    });
    let mut machines = Vec::new();
    for machine in &snapshot.machines {
        let Some(now) = ctx.machine_release(machine) else {
            continue;
        };
        let python_root = plan_path(machine, site_dir, &machine.python_root);
        let conda = conda.clone().unwrap_or_else(|| default_conda(&python_root));
        let default = machine.arcgispro_py3();
        let mut envs = Vec::new();
        for env in machine.envs.iter().filter(|e| !e.is_arcgispro_py3()) {
            let Some(from) = env_release(env, releases) else {
                continue;
            };
            if from >= now {
                continue;
            }
            let same_name = envs
                .iter()
                .filter(|e: &&EnvPlan| e.env.eq_ignore_ascii_case(&env.name))
                .count();
            let prefix = if same_name == 0 {
                format!("{}/{}", machine.name, env.name)
            } else {
                format!("{}/{}~{}", machine.name, env.name, same_name + 1)
            };
            let services: Vec<PlannedService> = machine
                .services_in(&env.path)
                .into_iter()
                .map(|key| {
                    let live = snapshot
                        .live
                        .as_ref()
                        .and_then(|l| l.services.iter().find(|s| s.key.eq_ignore_ascii_case(&key)))
                        .and_then(|s| s.real_state.clone());
                    let configured = snapshot
                        .service(&key)
                        .and_then(|s| s.configured_state.clone());
                    let running = live
                        .or(configured)
                        .is_none_or(|s| s.eq_ignore_ascii_case("STARTED"));
                    let fingerprint = service_fingerprint(snapshot, machine, &key, site_dir);
                    PlannedService {
                        key,
                        running,
                        fingerprint,
                    }
                })
                .collect();
            let stop: Vec<&str> = services.iter().map(|s| s.key.as_str()).collect();
            let start: Vec<&str> = services
                .iter()
                .filter(|s| s.running)
                .map(|s| s.key.as_str())
                .collect();
            let added: Vec<String> = env
                .packages
                .iter()
                .filter(|p| default.is_some_and(|d| d.package(p.name()).is_none()))
                .map(|p| format!("{} {}", p.name(), p.record.version.as_str()))
                .collect();
            let pip: Vec<String> = env
                .pip
                .iter()
                .map(|d| format!("{} {}", d.name, d.version))
                .collect();
            let path = plan_path(machine, site_dir, &env.path);
            let step =
                |n: usize, kind: StepKind, detail: String, argv: Option<Vec<String>>| PlanStep {
                    id: format!("{prefix}/{n}-{}", kind_name(kind)),
                    kind,
                    detail,
                    argv,
                };
            let steps = vec![
                step(1, StepKind::Snapshot, format!("save `{}`'s package list (explicit spec and snapshot) to the backup folder", env.name), None),
                step(2, StepKind::Stop, if stop.is_empty() { "no GP service runs in it".into() } else { format!("stop {}{}", stop.join(", "), esri_note(&stop)) }, None),
                step(3, StepKind::Proup, format!("upgrade `{}` from {from} to {now}", env.name), Some(proup_argv(&conda, env, &path))),
                step(4, StepKind::Verify, format!("rescan: arcpy at {now}, pins and dependencies satisfied, the {} added and {} pip package(s) still there", added.len(), pip.len()), None),
                step(5, StepKind::Start, if start.is_empty() { "nothing was running".into() } else { format!("start {}", start.join(", ")) }, None),
            ];
            envs.push(EnvPlan {
                id: prefix.clone(),
                env: env.name.clone(),
                path,
                from_release: from.to_string(),
                to_release: now.to_string(),
                fingerprint: fingerprint(env),
                added,
                pip,
                services,
                steps,
                here: None,
            });
        }
        if !envs.is_empty() {
            machines.push(MachinePlan {
                machine: machine.name.clone(),
                release: now.to_string(),
                python_root,
                envs,
                python_root_here: None,
            });
        }
    }
    MigrationPlan {
        schema: PLAN_SCHEMA,
        kind: PLAN_KIND.into(),
        tool: ToolInfo::current(),
        site: snapshot.site.name.clone(),
        site_file: crate::paths::display(
            &std::path::absolute(site_file).unwrap_or_else(|_| site_file.to_path_buf()),
        ),
        machines,
    }
}

pub fn kind_name(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Snapshot => "snapshot",
        StepKind::Stop => "stop",
        StepKind::Proup => "proup",
        StepKind::Verify => "verify",
        StepKind::Start => "start",
    }
}

/// A plan whose shape apply cannot trust (hand-edited, or damaged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPlan {
    #[error("env `{0}` is in the plan twice")]
    DuplicateEnv(String),
    #[error("env `{0}`: its steps must be snapshot, stop, proup, verify, start, in that order")]
    StepOrder(String),
    #[error("step `{step}` is not under env `{env}`")]
    StepNotUnderEnv { step: String, env: String },
    #[error("step `{0}` has no command line")]
    NoCommandLine(String),
    #[error("env id `{0}` is not MACHINE/ENV made of plain names (no `..`, no `\\`, no `:`, no control characters)")]
    BadEnvId(String),
}

/// A machine or env name that is safe as one file-name component: not
/// empty, no `..`, no path separator or drive colon, no control character.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && !name.contains("..")
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
}

/// Why a plan file cannot be applied.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlanError {
    pub path: String,
    pub message: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = rattler_digest::compute_bytes_digest::<rattler_digest::Sha256>(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl MachinePlan {
    /// Where the python root is for this run: localized, else as written.
    pub fn python_root_here(&self) -> &str {
        match &self.python_root_here {
            Some(Ok(p)) => p,
            _ => &self.python_root,
        }
    }

    /// The command line of `step` as run here: the install's conda and a
    /// `-p` env path found where apply runs; shown as the plan wrote it.
    pub fn argv_here(&self, env: &EnvPlan, step: &PlanStep) -> Option<Vec<String>> {
        let mut argv = step.argv.clone()?;
        let default = default_conda(&self.python_root);
        if let Some(first) = argv.first_mut() {
            if crate::paths::path_key(first) == crate::paths::path_key(&default) {
                *first = crate::paths::join_displayed(self.python_root_here(), "Scripts/conda.exe");
            }
        }
        if let Some(i) = argv.iter().position(|a| a == "-p") {
            if let Some(p) = argv.get_mut(i + 1) {
                *p = env.here().to_string();
            }
        }
        Some(argv)
    }
}

impl EnvPlan {
    /// Where the env is for this run: localized, else as written.
    pub fn here(&self) -> &str {
        match &self.here {
            Some(Ok(p)) => p,
            _ => &self.path,
        }
    }

    /// The env's step of `kind` (a validated plan has each once).
    pub fn step(&self, kind: StepKind) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.kind == kind)
    }
}

impl PlanStep {
    /// What the journal records to tie an entry to this exact step: its
    /// id, kind, command line and the env's fingerprint.
    pub fn checksum(&self, env: &EnvPlan) -> String {
        let argv = self
            .argv
            .as_ref()
            .map(|a| a.join("\u{1f}"))
            .unwrap_or_default();
        sha256_hex(
            format!(
                "{}\n{}\n{}\n{}\n{}",
                self.id,
                kind_name(self.kind),
                argv,
                env.path,
                env.fingerprint
            )
            .as_bytes(),
        )
    }
}

impl MigrationPlan {
    /// The plan file `apply` reads (pretty JSON, a final newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Read a plan written by `gpaudit plan --format json`.
    pub fn load(path: &Path) -> Result<MigrationPlan, PlanError> {
        let err = |message: String| PlanError {
            path: crate::paths::display(path),
            message,
        };
        let text = crate::read::read_text_io(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| err(format!("not JSON: {e}")))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(PLAN_KIND) {
            return Err(err(format!(
                "not a migration plan (write one with `gpaudit plan SITE --format json -o {}`)",
                crate::paths::display(path)
            )));
        }
        let schema = value.get("schema").and_then(|s| s.as_u64());
        if schema.is_some_and(|s| s < u64::from(PLAN_SCHEMA)) {
            return Err(err(format!(
                "plan schema {} was made by an earlier gpaudit: its paths are where gpaudit read the site when the plan was made (relative to that folder, on that machine), so it cannot be applied from elsewhere; make the plan again with this gpaudit (`gpaudit plan SITE --format json -o {}`), whose paths are as the server sees them",
                schema.unwrap_or_default(),
                crate::paths::display(path)
            )));
        }
        if schema != Some(u64::from(PLAN_SCHEMA)) {
            return Err(err(format!(
                "plan schema {} is not the one this gpaudit reads ({PLAN_SCHEMA}); make the plan again",
                schema.map_or_else(|| "?".to_string(), |s| s.to_string())
            )));
        }
        let plan: MigrationPlan =
            serde_json::from_value(value).map_err(|e| err(format!("not a valid plan: {e}")))?;
        plan.validate().map_err(|e| err(e.to_string()))?;
        Ok(plan)
    }

    /// A plan apply can trust: each env's five steps in their order, ids
    /// unique and under the env's id, a command line for proup.
    fn validate(&self) -> Result<(), InvalidPlan> {
        const ORDER: [StepKind; 5] = [
            StepKind::Snapshot,
            StepKind::Stop,
            StepKind::Proup,
            StepKind::Verify,
            StepKind::Start,
        ];
        let mut ids = std::collections::HashSet::new();
        for m in &self.machines {
            for e in &m.envs {
                // The id names the env's backup folder: a hand-edited `..`
                // would put the backup outside `<plan>.backup`.
                let plain =
                    e.id.split_once('/')
                        .is_some_and(|(machine, env)| is_plain_name(machine) && is_plain_name(env));
                if !plain {
                    return Err(InvalidPlan::BadEnvId(e.id.clone()));
                }
                if !ids.insert(e.id.to_ascii_lowercase()) {
                    return Err(InvalidPlan::DuplicateEnv(e.id.clone()));
                }
                let kinds: Vec<StepKind> = e.steps.iter().map(|s| s.kind).collect();
                if kinds != ORDER {
                    return Err(InvalidPlan::StepOrder(e.id.clone()));
                }
                for s in &e.steps {
                    if !s.id.starts_with(&format!("{}/", e.id)) {
                        return Err(InvalidPlan::StepNotUnderEnv {
                            step: s.id.clone(),
                            env: e.id.clone(),
                        });
                    }
                }
                let proup = &e.steps[2];
                if proup
                    .argv
                    .as_ref()
                    .is_none_or(|a| a.is_empty() || a[0].is_empty())
                {
                    return Err(InvalidPlan::NoCommandLine(proup.id.clone()));
                }
            }
        }
        Ok(())
    }

    /// A checksum of the plan's content (not of its formatting): a journal
    /// belongs to exactly one plan.
    pub fn checksum(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        // The tool that wrote it does not change what it does.
        if let Some(o) = value.as_object_mut() {
            o.remove("tool");
        }
        sha256_hex(value.to_string().as_bytes())
    }

    /// One row per step: machine, env, step, what it does.
    pub fn rows(&self) -> Vec<[String; 4]> {
        let mut rows = Vec::new();
        for m in &self.machines {
            for e in &m.envs {
                for s in &e.steps {
                    let what = match &s.argv {
                        Some(argv) => format!("{}\n  {}", s.detail, argv.join(" ")),
                        None => s.detail.clone(),
                    };
                    rows.push([
                        m.machine.clone(),
                        e.env.clone(),
                        kind_name(s.kind).to_string(),
                        what,
                    ]);
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn clones_behind_their_machine_are_planned_in_order() {
        let default = arcgis_env("arcgispro-py3", "3.3");
        let mut old = env_with(
            "hydro",
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_1", &[]),
                pkg("numba", "0.56.4", "py39_0", &[]),
            ],
        );
        old.path = "/envs/hydro".into();
        let mut outside = arcgis_env("special", "3.1");
        outside.origin = EnvOrigin::Extra;
        outside.path = "D:/envs/special".into();
        let current = arcgis_env("fresh", "3.3");
        let mut m = machine("GIS1", vec![default, old, outside, current]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        bind(
            &mut m,
            "Utilities/PrintingTools.GPServer",
            "/envs/hydro",
            "hydro",
        );
        let mut s = snapshot(vec![m], None);
        let mut flood = service("Hydro/Flood.GPServer", "ArcObjects11", Some("hydro"));
        flood.configured_state = Some("STOPPED".into());
        s.services.push(flood);
        let plan = build(
            &s,
            &ReleaseTable::builtin(),
            Some("conda"),
            Path::new("/sites/x/site.toml"),
        );
        assert_eq!(plan.machines.len(), 1);
        let envs: Vec<&str> = plan.machines[0]
            .envs
            .iter()
            .map(|e| e.env.as_str())
            .collect();
        assert_eq!(envs, ["hydro", "special"]);
        let hydro = &plan.machines[0].envs[0];
        assert_eq!(
            (hydro.from_release.as_str(), hydro.to_release.as_str()),
            ("11.1", "11.3")
        );
        let kinds: Vec<StepKind> = hydro.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Snapshot,
                StepKind::Stop,
                StepKind::Proup,
                StepKind::Verify,
                StepKind::Start
            ]
        );
        assert_eq!(
            hydro.steps[2].argv.as_deref().unwrap(),
            ["conda", "proup", "-n", "hydro"]
        );
        assert_eq!(
            plan.machines[0].envs[1].steps[2].argv.as_deref().unwrap(),
            ["conda", "proup", "-p", "D:/envs/special"]
        );
        // Flood was stopped: stopped, not started again.
        assert!(hydro.steps[1].detail.contains("Hydro/Flood.GPServer"));
        // issue 13 item 17: Esri's own services go with the env, and the
        // plan says so.
        assert!(
            hydro.steps[1]
                .detail
                .contains("Utilities/PrintingTools.GPServer is Esri's own"),
            "{}",
            hydro.steps[1].detail
        );
        assert_eq!(
            hydro.steps[4].detail,
            "start Utilities/PrintingTools.GPServer"
        );
        assert_eq!(hydro.added, ["numba 0.56.4"]);
        assert_eq!(hydro.fingerprint.len(), 64);
        assert_eq!(hydro.id, "GIS1/hydro");
        assert_eq!(hydro.steps[0].id, "GIS1/hydro/1-snapshot");
        // The plan round-trips through its JSON.
        let back: MigrationPlan = serde_json::from_str(&plan.to_json()).unwrap();
        assert_eq!(back.machines[0].envs[0].fingerprint, hydro.fingerprint);
        assert!(plan
            .rows()
            .iter()
            .any(|r| r[1] == "hydro" && r[3].ends_with("conda proup -n hydro")));
    }

    #[test]
    fn plan_paths_are_the_servers_or_relative_to_the_site_file() {
        let mut m = machine("GIS1", vec![]);
        m.path_map = vec![
            crate::model::MappedPath {
                server: r"C:\Program Files\ArcGIS\Server".into(),
                here: "sites/x/gis1".into(),
            },
            crate::model::MappedPath {
                server: r"D:\envs".into(),
                here: "sites/x/d-envs".into(),
            },
        ];
        let dir = Path::new("sites/x");
        assert_eq!(
            plan_path(
                &m,
                dir,
                "sites/x/gis1/framework/runtime/ArcGIS/bin/Python/envs/hydro"
            ),
            r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python\envs\hydro"
        );
        assert_eq!(
            plan_path(&m, dir, "sites/x/d-envs/special"),
            r"D:\envs\special"
        );
        // No path_map entry holds it: relative to the site file's folder,
        // whatever folder gpaudit ran in.
        assert_eq!(plan_path(&m, dir, "sites/x/copy/envs/a"), "copy/envs/a");
        let abs = std::path::absolute("sites/x/copy/envs/a").unwrap();
        assert_eq!(
            plan_path(
                &m,
                &std::path::absolute(dir).unwrap(),
                &crate::paths::display(&abs)
            ),
            "copy/envs/a"
        );
        // A path of the machine no entry covers stays as written.
        assert_eq!(plan_path(&m, dir, r"E:\other\env"), r"E:\other\env");
        // On the machine gpaudit runs on, a path is the server's own, made
        // absolute: the same whether the site file was named relative or
        // not (the plan and apply's rescan agree).
        m.local = true;
        assert_eq!(
            plan_path(&m, dir, "sites/x/copy/envs/a"),
            crate::paths::display(&abs)
        );
        assert_eq!(
            plan_path(
                &m,
                &std::path::absolute(dir).unwrap(),
                &crate::paths::display(&abs)
            ),
            crate::paths::display(&abs)
        );
    }

    #[test]
    fn a_plan_edited_out_of_shape_is_refused_and_same_name_envs_get_their_own_ids() {
        let default = arcgis_env("arcgispro-py3", "3.3");
        let mut a = arcgis_env("hydro", "3.1");
        a.path = "/envs/hydro".into();
        let mut b = arcgis_env("hydro", "3.1");
        b.origin = EnvOrigin::Extra;
        b.path = "D:/other/hydro".into();
        let s = snapshot(vec![machine("GIS1", vec![default, a, b])], None);
        let plan = build(
            &s,
            &ReleaseTable::builtin(),
            Some("conda"),
            Path::new("site.toml"),
        );
        let ids: Vec<&str> = plan.machines[0]
            .envs
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["GIS1/hydro", "GIS1/hydro~2"]);
        assert!(plan.validate().is_ok());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        let mut edited = plan.clone();
        edited.machines[0].envs[0].steps.swap(1, 2);
        std::fs::write(&file, edited.to_json()).unwrap();
        let e = MigrationPlan::load(&file).unwrap_err().to_string();
        assert!(e.contains("in that order"), "{e}");
        let mut edited = plan.clone();
        edited.machines[0].envs[1].id = "GIS1/hydro".into();
        std::fs::write(&file, edited.to_json()).unwrap();
        let e = MigrationPlan::load(&file).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        std::fs::write(&file, plan.to_json()).unwrap();
        assert!(MigrationPlan::load(&file).is_ok());
    }

    #[test]
    fn regression_plan_env_id_with_dotdot_cannot_put_backups_outside_the_backup_folder() {
        let s = snapshot(
            vec![machine(
                "GIS1",
                vec![arcgis_env("arcgispro-py3", "3.3"), {
                    let mut e = arcgis_env("hydro", "3.1");
                    e.path = "/envs/hydro".into();
                    e
                }],
            )],
            None,
        );
        let plan = build(
            &s,
            &ReleaseTable::builtin(),
            Some("conda"),
            Path::new("site.toml"),
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        for bad in [
            "../../escape",
            "GIS1/../../x",
            "GIS1/..",
            "GIS1/a\\..\\b",
            "GIS1/C:x",
            "GIS1",
            "GIS1/a/b",
        ] {
            let mut edited = plan.clone();
            let env = &mut edited.machines[0].envs[0];
            let old = env.id.clone();
            env.id = bad.into();
            for step in &mut env.steps {
                step.id = step.id.replacen(&old, bad, 1);
            }
            std::fs::write(&file, edited.to_json()).unwrap();
            let e = MigrationPlan::load(&file).unwrap_err().to_string();
            assert!(e.contains("plain names"), "{bad}: {e}");
        }
        std::fs::write(&file, plan.to_json()).unwrap();
        assert!(MigrationPlan::load(&file).is_ok());
    }
}
