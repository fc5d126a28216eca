//! The gather phase: reads a site from disk into a [`Snapshot`], in parallel
//! across machines, envs, records and services. It only reads; it never writes
//! inside the site and never runs anything in it. Every file that cannot be
//! read or parsed becomes a [`ScanError`] and the scan goes on.

pub(crate) mod config_store;
pub mod imports;
mod machine;
mod references;
mod service_code;
pub(crate) mod services;

pub use config_store::read_connection_string;

use crate::model::{ScanError, SiteInfo, Snapshot, ToolInfo, KIND, SCHEMA};
use crate::paths;
use crate::site::Site;
use rayon::prelude::*;
use std::path::PathBuf;

/// Scan a whole site into a snapshot.
pub fn scan_site(site: &Site) -> Snapshot {
    let mut errors = Vec::new();
    let config_store = locate_config_store(site, &mut errors);
    let services = match &config_store {
        Some(store) => services::scan_services(store, &mut errors),
        None => Vec::new(),
    };
    let machines: Vec<_> = site
        .machines
        .par_iter()
        .map(|m| machine::scan_machine(m, config_store.is_some().then_some(services.as_slice())))
        .collect();
    let references = references::gather_references(site, &services, &mut errors);
    let service_code = service_code::gather_service_code(site, config_store.as_deref(), &services);
    let mut out_machines = Vec::with_capacity(machines.len());
    for (machine, machine_errors) in machines {
        out_machines.push(machine);
        errors.extend(machine_errors);
    }
    errors.sort();
    Snapshot {
        schema: SCHEMA,
        kind: KIND.into(),
        tool: ToolInfo::current(),
        site: SiteInfo {
            name: site.name.clone(),
            version: site.version.as_ref().map(ToString::to_string),
            config_store: config_store.as_deref().map(paths::display),
        },
        machines: out_machines,
        services,
        references,
        service_code,
        live: None,
        scan_errors: errors,
    }
}

/// How the per-machine recipe gets the services of a scan that could not
/// read the config store.
const ANOTHER: &str = "or audit this snapshot together with one whose scan read the store: its services are bound to this machine's envs";

/// The config store: from site.toml, else from the first machine whose
/// `config-store-connection.xml` names a store it can reach (mapped through
/// its `path_map`). One read serves the whole site: the machines share it.
/// When none can, each machine's reason is a scan error saying the services
/// were not read.
pub fn locate_config_store(site: &Site, errors: &mut Vec<ScanError>) -> Option<PathBuf> {
    if let Some(store) = &site.config_store {
        return Some(store.clone());
    }
    let mut problems = Vec::new();
    for machine in &site.machines {
        let xml = machine
            .install_dir
            .join(crate::site::CONFIG_STORE_CONNECTION);
        let fail = |message: String| ScanError {
            machine: Some(machine.name.clone()),
            env: None,
            env_path: None,
            path: paths::display(&xml),
            message,
        };
        match read_connection_string(&xml) {
            Ok(conn) => match machine.resolve_path(&conn, &site.dir) {
                Ok(p) => return Some(p),
                Err(unmapped) => problems.push(fail(format!(
                    "the config store: {unmapped}; services were not read (or set config_store in the site file; {ANOTHER})"
                ))),
            },
            Err(e) => problems.push(fail(format!(
                "{}; services were not read (set config_store in the site file; {ANOTHER})",
                e.message
            ))),
        }
    }
    errors.extend(problems);
    None
}
