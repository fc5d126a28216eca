//! The `services` listing: the site's GP services with the env each runs in
//! and their states (site-wide and per machine). Gathered first (config store, bindings and, when signed
//! in, the Administrator API), then rendered; rendering never calls the API.

use crate::admin::{AdminError, ServiceRef, SiteAdmin};
use crate::model::{LookupError, Snapshot};

/// One GP service's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRow {
    pub folder: String,
    pub name: String,
    pub provider: String,
    /// The envs it runs in (on the machines asked about).
    pub envs: Vec<String>,
    pub configured: String,
    pub real: String,
    /// Where it runs: `GIS1 up, GIS2 DOWN` (from its statistics).
    pub machines: String,
}

/// The listing, sorted by service key (case-insensitive).
#[derive(Clone, Debug, Default)]
pub struct ServiceList {
    pub rows: Vec<ServiceRow>,
    /// The site's machines and their status, when signed in.
    pub machines: Option<String>,
}

/// Which services to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'a> {
    /// Only the services that run in this env.
    pub env: Option<&'a str>,
    /// Show the envs on this machine only.
    pub machine: Option<&'a str>,
}

/// Refuse a filter that matches nothing, naming what exists: a machine of
/// the site, and an env that exists on (or that a GP service names on) the
/// machines asked about. A typo must not read as "no services".
pub fn check_filter(snapshot: &Snapshot, filter: &Filter<'_>) -> Result<(), LookupError> {
    if let Some(machine) = filter.machine {
        snapshot.find_machine(machine)?;
    }
    let Some(want) = filter.env else {
        return Ok(());
    };
    let mut known: Vec<String> = Vec::new();
    for m in &snapshot.machines {
        if filter
            .machine
            .is_some_and(|name| !m.name.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if m.envs.iter().any(|e| e.matches(want))
            || m.bindings
                .iter()
                .any(|b| b.env_name.eq_ignore_ascii_case(want))
        {
            return Ok(());
        }
        known.extend(m.envs.iter().map(|e| e.name.clone()));
        known.extend(m.bindings.iter().map(|b| b.env_name.clone()));
    }
    known.sort_by_key(|k| k.to_ascii_lowercase());
    known.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    Err(LookupError::NoMatch {
        selection: format!("`{want}`"),
        known,
    })
}
/// How many services' states are read at once.
pub const PARALLEL_READS: usize = 8;

/// Gather the listing: disk (config store and bindings) with live states
/// when an API client is given.
pub fn gather(
    snapshot: &Snapshot,
    filter: Filter<'_>,
    live: Option<&mut dyn SiteAdmin>,
) -> Result<ServiceList, AdminError> {
    gather_with_progress(snapshot, filter, live, &Progress::none())
}

/// What `gather` reports as it goes (the CLI draws a bar from it).
pub struct Progress<'a> {
    /// The number of services whose live state will be read.
    pub total: &'a (dyn Fn(usize) + Sync),
    /// One more was read.
    pub tick: &'a (dyn Fn() + Sync),
}

impl Progress<'_> {
    pub fn none() -> Progress<'static> {
        Progress {
            total: &|_| {},
            tick: &|| {},
        }
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// `(configured, real, machines)` of one service from the API.
type LiveState = (String, String, String);

fn live_state(api: &mut dyn SiteAdmin, key: &str) -> Option<LiveState> {
    let s = ServiceRef::parse(key)?;
    Some(match api.status(&s) {
        Ok(st) => {
            let machines = crate::admin::machines_summary(api, &s, &st);
            (st.configured, st.real, machines)
        }
        Err(e) => (String::from("?"), format!("error: {e}"), "?".into()),
    })
}

/// The live state of every key, [`PARALLEL_READS`] at a time when the
/// client can be forked (one by one otherwise), in the keys' order.
fn live_states(
    api: &mut dyn SiteAdmin,
    keys: &[String],
    progress: &Progress<'_>,
) -> Vec<Option<LiveState>> {
    (progress.total)(keys.len());
    let workers: Vec<Box<dyn SiteAdmin + Send>> = if keys.len() > 1 {
        (0..PARALLEL_READS.min(keys.len()))
            .map_while(|_| api.fork())
            .collect()
    } else {
        Vec::new()
    };
    if workers.is_empty() {
        return keys
            .iter()
            .map(|k| {
                let state = live_state(api, k);
                (progress.tick)();
                state
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; keys.len()]);
    std::thread::scope(|scope| {
        for mut worker in workers {
            let (next, results) = (&next, &results);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(key) = keys.get(i) else { break };
                let state = live_state(worker.as_mut(), key);
                if let Ok(mut r) = results.lock() {
                    r[i] = state;
                }
                (progress.tick)();
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

/// [`gather`], reporting progress.
pub fn gather_with_progress(
    snapshot: &Snapshot,
    filter: Filter<'_>,
    mut live: Option<&mut dyn SiteAdmin>,
    progress: &Progress<'_>,
) -> Result<ServiceList, AdminError> {
    let mut keys: Vec<String> = snapshot
        .services
        .iter()
        .filter(|s| s.is_gp())
        .map(|s| s.key.clone())
        .collect();
    if let Some(api) = live.as_deref_mut() {
        keys.extend(
            api.services()?
                .into_iter()
                .filter(ServiceRef::is_gp)
                .map(|s| s.key()),
        );
    }
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    keys.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let envs_of = |key: &str| {
        let mut envs: Vec<String> = snapshot
            .machines
            .iter()
            .filter(|m| {
                filter
                    .machine
                    .is_none_or(|want| m.name.eq_ignore_ascii_case(want))
            })
            .flat_map(|m| {
                m.bindings
                    .iter()
                    .filter(|b| b.service.eq_ignore_ascii_case(key))
            })
            .map(|b| b.env_name.clone())
            .collect();
        envs.sort();
        envs.dedup();
        envs
    };
    // The env filter first: only the services listed are read live.
    let listed: Vec<(String, Vec<String>)> = keys
        .into_iter()
        .map(|k| {
            let envs = envs_of(&k);
            (k, envs)
        })
        .filter(|(_, envs)| {
            filter
                .env
                .is_none_or(|want| envs.iter().any(|e| e.eq_ignore_ascii_case(want)))
        })
        .collect();
    let listed_keys: Vec<String> = listed.iter().map(|(k, _)| k.clone()).collect();
    let states = match live.as_deref_mut() {
        Some(api) => live_states(api, &listed_keys, progress),
        None => vec![None; listed_keys.len()],
    };
    let mut rows = Vec::new();
    for ((key, envs), state) in listed.into_iter().zip(states) {
        let disk = snapshot.service(&key);
        let (configured, real, machines) = match state {
            Some(state) => state,
            None => (
                disk.and_then(|d| d.configured_state.clone())
                    .unwrap_or_default(),
                "(no API)".to_string(),
                "(no API)".to_string(),
            ),
        };
        let service = ServiceRef::parse(&key);
        rows.push(ServiceRow {
            folder: service
                .as_ref()
                .and_then(|s| s.folder.clone())
                .unwrap_or_else(|| "(root)".into()),
            name: service
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_else(|| key.clone()),
            provider: disk.and_then(|d| d.provider.clone()).unwrap_or_default(),
            envs,
            configured,
            real,
            machines,
        });
    }
    let machines = live.map(|api| match crate::admin::machines_line(api) {
        Ok(line) => line,
        Err(e) => format!("not read: {e}"),
    });
    Ok(ServiceList { rows, machines })
}

impl ServiceList {
    /// The terminal table, with a count line.
    pub fn render_table(&self) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::ASCII_FULL_CONDENSED)
            .set_header(vec![
                "Folder",
                "Service",
                "Provider",
                "Env",
                "Configured",
                "Real",
                "Machines",
            ]);
        for row in &self.rows {
            let cells = [
                row.folder.clone(),
                row.name.clone(),
                row.provider.clone(),
                if row.envs.is_empty() {
                    "-".into()
                } else {
                    row.envs.join(", ")
                },
                row.configured.clone(),
                row.real.clone(),
                row.machines.clone(),
            ];
            // Names and states come from the API and the config store.
            table.add_row(
                cells
                    .iter()
                    .map(|c| crate::redact::terminal_safe_line(c))
                    .collect::<Vec<_>>(),
            );
        }
        let machines = self
            .machines
            .as_ref()
            .map(|m| format!("machines: {m}\n"))
            .unwrap_or_default();
        format!("{table}\n{} GP service(s)\n{machines}", self.rows.len())
    }
}
