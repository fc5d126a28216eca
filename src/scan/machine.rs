//! Scanning one machine: which envs it has (install `envs` folder,
//! `extra_envs`, and any env a service or `default_env` names), and which env
//! each GP service runs in there.

use crate::model::{
    BindingVia, Env, EnvOrigin, Machine, MappedPath, ScanError, Service, ServiceBinding,
};
use crate::paths;
use crate::prefix::{scan_env_as, unread_env};
use crate::site::{MachineSpec, DEFAULT_ENV};
use rayon::prelude::*;
use std::path::PathBuf;

/// Where an env named or pointed to by ArcGIS is, here.
struct EnvTarget {
    name: String,
    path: PathBuf,
}

/// The env proswap activated on this machine, and how that was decided.
///
/// Where ArcGIS Server records the env proswap activated is not confirmed
/// (domain.md §3); until it is, the site file's `default_env` is the
/// explicit override and `arcgispro-py3` the default. Keep that decision in
/// this one function.
fn resolve_active_env(
    machine: &MachineSpec,
    installed: &[(String, PathBuf)],
) -> Result<(EnvTarget, String), paths::Unmapped> {
    match machine.default_env.as_deref() {
        None => Ok((
            lookup_name(machine, installed, DEFAULT_ENV),
            format!("not set in the site file: {DEFAULT_ENV} assumed"),
        )),
        Some(value) => resolve_reference(machine, installed, value)
            .map(|t| (t, format!("default_env = \"{value}\" in the site file"))),
    }
}

/// An env name resolves in the install's `envs` folder (ignoring case, as
/// Windows does); a path goes through the machine's `path_map`.
fn resolve_reference(
    machine: &MachineSpec,
    installed: &[(String, PathBuf)],
    value: &str,
) -> Result<EnvTarget, paths::Unmapped> {
    if paths::is_bare_name(value) {
        return Ok(lookup_name(machine, installed, value));
    }
    machine
        .resolve_path(value, &machine.install_dir)
        .map(|path| EnvTarget {
            name: paths::last_component(value).to_string(),
            path,
        })
}

/// Why a service's `condaEnvironmentPath` was not followed.
enum Unfollowed {
    /// A path no `path_map` entry covers (reported as `env-missing`).
    Unresolved(paths::Unmapped),
    /// Not something to read at all (reported as `env-path-refused`).
    Refused(String),
}

/// A service's `condaEnvironmentPath`, which comes from the config store (outside input):
/// a plain env name in the install's `envs` folder, or the full path of a
/// conda env (Esri allows envs outside the install). Anything else, a
/// relative path, a `..`, a folder that is not a conda env, is not read.
fn resolve_service_env(
    machine: &MachineSpec,
    installed: &[(String, PathBuf)],
    value: &str,
) -> Result<EnvTarget, Unfollowed> {
    let has_dotdot = value.split(['/', '\\']).any(|c| c == "..");
    if paths::is_bare_name(value) {
        if value == "." || value == ".." || value.chars().any(char::is_control) {
            return Err(Unfollowed::Refused(format!("`{value}` is not an env name")));
        }
        return Ok(lookup_name(machine, installed, value));
    }
    let absolute = paths::is_windows_absolute(value) || std::path::Path::new(value).is_absolute();
    if !absolute || has_dotdot {
        return Err(Unfollowed::Refused(format!(
            "`{value}` is neither an env name nor the full path of an env"
        )));
    }
    let target = resolve_reference(machine, installed, value).map_err(Unfollowed::Unresolved)?;
    if target.path.exists() && !target.path.join("conda-meta").is_dir() {
        return Err(Unfollowed::Refused(format!(
            "`{value}` ({}) is not a conda env (it has no conda-meta folder)",
            paths::display(&target.path)
        )));
    }
    Ok(target)
}

fn lookup_name(machine: &MachineSpec, installed: &[(String, PathBuf)], name: &str) -> EnvTarget {
    installed
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, p)| EnvTarget {
            name: n.clone(),
            path: p.clone(),
        })
        .unwrap_or_else(|| EnvTarget {
            name: name.to_string(),
            path: machine.envs_dir().join(name),
        })
}

/// The conda envs in the folders of a machine's `path_map` (each folder,
/// and the folders directly in it, that hold a `conda-meta`): where a
/// service's full `condaEnvironmentPath` can lead, for a scan that could
/// not read the config store to know which it names.
fn path_map_envs(machine: &MachineSpec) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for (_, folder) in machine.path_map.entries() {
        if folder.join("conda-meta").is_dir() {
            found.push(folder.to_path_buf());
            continue;
        }
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        let mut inside: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("conda-meta").is_dir())
            .collect();
        inside.sort();
        found.extend(inside);
    }
    found
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            Some((name, p))
        })
        .collect()
}

/// A machine as listed, before its envs are read: its envs carry their
/// name, path and origin only, beside where each is on disk.
#[derive(Debug)]
pub struct ListedMachine {
    /// The machine, its bindings and its envs (unread), sorted by path.
    pub machine: Machine,
    /// Where each of `machine.envs` is read from, in the same order.
    prefixes: Vec<PathBuf>,
    /// Where each of `machine.candidates` is read from, in the same order.
    candidate_prefixes: Vec<PathBuf>,
    /// What went wrong listing it.
    pub errors: Vec<ScanError>,
}

impl ListedMachine {
    /// Read the envs `keep` picks (in parallel) and drop the others: the
    /// machine that comes back holds only envs that were read.
    pub fn read(self, keep: impl Fn(&Machine, &Env) -> bool) -> (Machine, Vec<ScanError>) {
        let ListedMachine {
            mut machine,
            prefixes,
            candidate_prefixes,
            mut errors,
        } = self;
        let envs = std::mem::take(&mut machine.envs);
        let candidates = std::mem::take(&mut machine.candidates);
        machine.candidates =
            read_kept(&machine, candidates, candidate_prefixes, &keep, &mut errors);
        machine.envs = read_kept(&machine, envs, prefixes, &keep, &mut errors);
        (machine, errors)
    }
}

/// Read the envs of `listed` (beside where each is read from) that `keep`
/// picks, in parallel; the others are dropped.
fn read_kept(
    machine: &Machine,
    listed: Vec<Env>,
    prefixes: Vec<PathBuf>,
    keep: &impl Fn(&Machine, &Env) -> bool,
    errors: &mut Vec<ScanError>,
) -> Vec<Env> {
    let wanted: Vec<(Env, PathBuf)> = listed
        .into_iter()
        .zip(prefixes)
        .filter(|(env, _)| keep(machine, env))
        .collect();
    let scanned: Vec<_> = wanted
        .into_par_iter()
        .map(|(env, prefix)| {
            let server = machine.server_path(&env.path).filter(|s| *s != env.path);
            scan_env_as(
                &machine.name,
                &env.name,
                &prefix,
                env.origin,
                server.as_deref(),
            )
        })
        .collect();
    let mut envs = Vec::with_capacity(scanned.len());
    for (env, env_errors) in scanned {
        envs.push(env);
        errors.extend(env_errors);
    }
    envs
}

/// List a machine: the envs it has (without reading them) and which env
/// each GP service runs in; services come from the site's config store,
/// `None` when it could not be read (the envs its `path_map` folders hold
/// are then listed as candidates for a merge to bind).
pub fn list_machine(machine: &MachineSpec, services: Option<&[Service]>) -> ListedMachine {
    let services_known = services.is_some();
    let services = services.unwrap_or_default();
    let mut errors = Vec::new();
    let error = |path: String, message: String| ScanError {
        machine: Some(machine.name.clone()),
        env: None,
        env_path: None,
        path,
        message,
    };

    let envs_dir = machine.envs_dir();
    let mut installed: Vec<(String, PathBuf)> = Vec::new();
    match std::fs::read_dir(&envs_dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_dir() {
                    continue; // proup archives (`<name>.tar.bz2`) and stray files
                }
                match entry.file_name().to_str() {
                    Some(name) => installed.push((name.to_string(), path)),
                    None => errors.push(error(
                        paths::display(&path),
                        "env folder name is not valid UTF-8; skipped".into(),
                    )),
                }
            }
        }
        Err(e) => errors.push(error(
            paths::display(&envs_dir),
            format!("cannot list the install's envs folder: {e}"),
        )),
    }
    installed.sort();

    let mut to_scan: Vec<(String, PathBuf, EnvOrigin)> = installed
        .iter()
        .map(|(n, p)| (n.clone(), p.clone(), EnvOrigin::Install))
        .collect();
    let mut add = |name: String, path: PathBuf, origin: EnvOrigin| {
        let key = paths::path_key(&paths::display(&path));
        if !to_scan
            .iter()
            .any(|(_, p, _)| paths::path_key(&paths::display(p)) == key)
            && path.is_dir()
        {
            to_scan.push((name, path, origin));
        }
    };
    for extra in &machine.extra_envs {
        add(
            paths::last_component(&paths::display(extra)).to_string(),
            extra.clone(),
            EnvOrigin::Extra,
        );
    }

    let (active_path, active_source) = match resolve_active_env(machine, &installed) {
        Ok((target, source)) => {
            add(
                target.name.clone(),
                target.path.clone(),
                EnvOrigin::Referenced,
            );
            (paths::display(&target.path), source)
        }
        Err(unmapped) => {
            let message = unmapped.to_string();
            errors.push(error("site file: default_env".into(), message.clone()));
            (String::new(), message)
        }
    };

    let mut bindings = Vec::new();
    for service in services.iter().filter(|s| s.is_gp()) {
        let binding = match &service.conda_environment_path {
            Some(value) => match resolve_service_env(machine, &installed, value) {
                Ok(target) => {
                    add(
                        target.name.clone(),
                        target.path.clone(),
                        EnvOrigin::Referenced,
                    );
                    ServiceBinding {
                        service: service.key.clone(),
                        env_name: target.name,
                        env_path: paths::display(&target.path),
                        via: BindingVia::ServiceProperty,
                        unresolved: None,
                        refused: None,
                    }
                }
                Err(Unfollowed::Unresolved(why)) => ServiceBinding {
                    service: service.key.clone(),
                    env_name: paths::last_component(value).to_string(),
                    env_path: value.clone(),
                    via: BindingVia::ServiceProperty,
                    unresolved: Some(why.to_string()),
                    refused: None,
                },
                Err(Unfollowed::Refused(why)) => ServiceBinding {
                    service: service.key.clone(),
                    env_name: paths::last_component(value).to_string(),
                    env_path: value.clone(),
                    via: BindingVia::ServiceProperty,
                    unresolved: None,
                    refused: Some(why),
                },
            },
            None => ServiceBinding {
                service: service.key.clone(),
                env_name: paths::last_component(&active_path).to_string(),
                env_path: active_path.clone(),
                via: BindingVia::ActiveEnv,
                unresolved: None,
                refused: None,
            },
        };
        bindings.push(binding);
    }

    let mut candidate_paths = Vec::new();
    if !services_known {
        for (name, path) in path_map_envs(machine) {
            let key = paths::path_key(&paths::display(&path));
            if !to_scan
                .iter()
                .any(|(_, p, _)| paths::path_key(&paths::display(p)) == key)
            {
                candidate_paths.push((name, path, EnvOrigin::Referenced));
            }
        }
    }
    let unread = |list: Vec<(String, PathBuf, EnvOrigin)>| -> (Vec<Env>, Vec<PathBuf>) {
        list.into_iter()
            .map(|(name, path, origin)| (unread_env(&name, &path, origin), path))
            .unzip()
    };
    let (candidates, candidate_prefixes) = unread(candidate_paths);
    // The order a full scan has always had: by the env's displayed path.
    to_scan.sort_by_cached_key(|(_, path, _)| paths::display(path));
    let (envs, prefixes) = unread(to_scan);

    ListedMachine {
        machine: Machine {
            name: machine.name.clone(),
            install_dir: paths::display(&machine.install_dir),
            python_root: paths::display(&machine.python_root()),
            active_env: active_path,
            active_env_source: active_source,
            envs,
            bindings,
            path_map: machine
                .path_map
                .entries()
                .map(|(server, here)| MappedPath {
                    server: server.to_string(),
                    here: paths::display(here),
                })
                .collect(),
            local: machine.local,
            candidates,
        },
        prefixes,
        candidate_prefixes,
        errors,
    }
}
