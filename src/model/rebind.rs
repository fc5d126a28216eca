//! Binding the services of a config store one snapshot read to the machine
//! of another snapshot, whose scan could not read it (the per-machine
//! recipe): which env each GP service runs in there, from the machine's
//! envs, its `path_map` and the envs its `path_map` folders hold. The same
//! rules as the scan's (`scan::machine`), over data: no file is read here.

use super::snapshot::*;
use crate::paths;

/// The scan error of a machine that could not read the config store (its
/// `config-store-connection.xml`), superseded once another snapshot did.
pub fn is_config_store_error(e: &ScanError) -> bool {
    e.env.is_none()
        && paths::last_component(&e.path).eq_ignore_ascii_case("config-store-connection.xml")
}

/// The `path` of the scan error a merge adds when no snapshot read the
/// config store.
pub const UNREAD_CONFIG_STORE: &str = "config store";

/// What a merge says when no snapshot read the config store.
pub fn no_config_store_note(snapshots: usize) -> String {
    format!(
        "none of the {snapshots} snapshot(s) read the site's config store: its services, the env each runs in and their findings are unknown (not zero); scan one machine with `config_store` set in its site file, or one that can reach the store, and audit its snapshot with these"
    )
}

/// Bind every GP service of `services` on `machine`, whose scan did not
/// know them. Candidates a service names become `referenced` envs; the
/// others are dropped, with their scan errors from `errors`.
pub fn rebind(machine: &mut Machine, services: &[Service], errors: &mut Vec<ScanError>) {
    let map = machine.path_map();
    let envs_dir = paths::join_displayed(&machine.python_root, "envs");
    let mut bindings = Vec::new();
    for service in services.iter().filter(|s| s.is_gp()) {
        let binding = |env_name: String, env_path: String| ServiceBinding {
            service: service.key.clone(),
            env_name,
            env_path,
            via: BindingVia::ServiceProperty,
            unresolved: None,
            refused: None,
        };
        let Some(value) = &service.conda_environment_path else {
            bindings.push(ServiceBinding {
                env_name: paths::last_component(&machine.active_env).to_string(),
                via: BindingVia::ActiveEnv,
                ..binding(String::new(), machine.active_env.clone())
            });
            continue;
        };
        let refused = |why: String| ServiceBinding {
            refused: Some(why),
            ..binding(paths::last_component(value).to_string(), value.clone())
        };
        if paths::is_bare_name(value) {
            if value == "." || value == ".." || value.chars().any(char::is_control) {
                bindings.push(refused(format!("`{value}` is not an env name")));
                continue;
            }
            let installed = machine
                .envs
                .iter()
                .find(|e| e.origin == EnvOrigin::Install && e.name.eq_ignore_ascii_case(value));
            bindings.push(match installed {
                Some(e) => binding(e.name.clone(), e.path.clone()),
                None => binding(value.clone(), paths::join_displayed(&envs_dir, value)),
            });
            continue;
        }
        let has_dotdot = value.split(['/', '\\']).any(|c| c == "..");
        let absolute =
            paths::is_windows_absolute(value) || std::path::Path::new(value).is_absolute();
        if !absolute || has_dotdot {
            bindings.push(refused(format!(
                "`{value}` is neither an env name nor the full path of an env"
            )));
            continue;
        }
        let here = match map.map(value) {
            Some(p) => paths::display(&p),
            None if machine.local && std::path::Path::new(value).is_absolute() => value.clone(),
            None => {
                bindings.push(ServiceBinding {
                    unresolved: Some(
                        paths::Unmapped {
                            path: value.clone(),
                            machine: machine.name.clone(),
                        }
                        .to_string(),
                    ),
                    ..binding(paths::last_component(value).to_string(), value.clone())
                });
                continue;
            }
        };
        let key = paths::path_key(&here);
        let known = machine.envs.iter().any(|e| paths::path_key(&e.path) == key);
        if !known {
            if let Some(i) = machine
                .candidates
                .iter()
                .position(|e| paths::path_key(&e.path) == key)
            {
                let env = machine.candidates.remove(i);
                machine.envs.push(env);
            } else if machine.local {
                // The scan reads a local machine's absolute paths as they
                // are, but without the config store it did not know this
                // one: say so rather than call the env missing.
                bindings.push(ServiceBinding {
                    unresolved: Some(format!(
                        "`{value}` was not read: this machine's snapshot was made without the config store, so its scan did not know a service names it; scan it again with `config_store` set in its site file"
                    )),
                    ..binding(paths::last_component(value).to_string(), value.clone())
                });
                continue;
            }
        }
        bindings.push(binding(paths::last_component(value).to_string(), here));
    }
    machine.envs.sort_by(|a, b| a.path.cmp(&b.path));
    let dropped: Vec<String> = machine
        .candidates
        .drain(..)
        .map(|e| paths::path_key(&e.path))
        .collect();
    errors.retain(|e| {
        e.env_path
            .as_deref()
            .is_none_or(|p| !dropped.contains(&paths::path_key(p)))
    });
    machine.bindings = bindings;
}
