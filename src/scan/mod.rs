//! The gather phase: reads a site from disk into a [`Snapshot`], in parallel
//! across machines, envs, records and services. It only reads; it never writes
//! inside the site and never runs anything in it. Every file that cannot be
//! read or parsed becomes a [`ScanError`] and the scan goes on.

pub(crate) mod config_store;
pub mod imports;
mod machine;
mod references;
pub(crate) mod script_cache;
mod service_code;
pub(crate) mod services;

pub use config_store::read_connection_string;

use crate::model::{Env, Machine, ScanError, SiteInfo, Snapshot, ToolInfo, KIND, SCHEMA};
use crate::paths;
use crate::site::Site;
use rayon::prelude::*;
use std::path::PathBuf;

/// Scan a whole site into a snapshot.
pub fn scan_site(site: &Site) -> Snapshot {
    let listing = list_site(site);
    let mut errors = Vec::new();
    let references = references::gather_references(site, &listing.snapshot.services, &mut errors);
    let service_code = service_code::gather_service_code(
        site,
        listing.config_store.as_deref(),
        &listing.snapshot.services,
    );
    let mut snapshot = listing.read_envs(|_, _| true);
    snapshot.references = references;
    snapshot.service_code = service_code;
    snapshot.scan_errors.extend(errors);
    snapshot.scan_errors.sort();
    snapshot
}

/// A site listed but not yet read: its services, its machines with their
/// bindings, and the envs each machine has, named but unread (no packages).
/// Commands about a few envs (`graph`, `diff`) pick them on
/// [`SiteListing::snapshot`] and read only those with
/// [`SiteListing::read_envs`].
#[derive(Debug)]
pub struct SiteListing {
    /// The site so far: machines with unread envs, services, no
    /// references or service code, the errors of listing it.
    snapshot: Snapshot,
    /// Where each machine's envs are read from, beside its listed envs.
    machines: Vec<machine::ListedMachine>,
    config_store: Option<PathBuf>,
}

/// List a site: read its config store's services and list every machine's
/// envs, without reading any env.
pub fn list_site(site: &Site) -> SiteListing {
    let mut errors = Vec::new();
    let config_store = locate_config_store(site, &mut errors);
    let services = match &config_store {
        Some(store) => services::scan_services(store, &mut errors),
        None => Vec::new(),
    };
    let machines: Vec<_> = site
        .machines
        .par_iter()
        .map(|m| machine::list_machine(m, config_store.is_some().then_some(services.as_slice())))
        .collect();
    errors.sort();
    let snapshot = Snapshot {
        schema: SCHEMA,
        kind: KIND.into(),
        tool: ToolInfo::current(),
        site: SiteInfo {
            name: site.name.clone(),
            version: site.version.as_ref().map(ToString::to_string),
            config_store: config_store.as_deref().map(paths::display),
        },
        machines: machines.iter().map(|m| m.machine.clone()).collect(),
        services,
        references: Vec::new(),
        service_code: Vec::new(),
        live: None,
        scan_errors: errors,
    };
    SiteListing {
        snapshot,
        machines,
        config_store,
    }
}

impl SiteListing {
    /// The listed site, to choose envs on: every env has its name, path and
    /// origin but no packages, pip distributions or history yet.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Read the envs `keep` picks, in parallel, and nothing else: the
    /// snapshot holds every machine, with only the envs that were read,
    /// and the scan errors of listing the site and of reading those envs.
    pub fn read_envs(self, keep: impl Fn(&Machine, &Env) -> bool + Sync) -> Snapshot {
        let SiteListing {
            mut snapshot,
            machines,
            ..
        } = self;
        let read: Vec<_> = machines
            .into_par_iter()
            .map(|listed| listed.read(&keep))
            .collect();
        snapshot.machines.clear();
        for (machine, machine_errors) in read {
            snapshot.machines.push(machine);
            snapshot.scan_errors.extend(machine_errors);
        }
        snapshot.scan_errors.sort();
        snapshot
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
