//! The ArcGIS Server Administrator REST API, behind one trait
//! ([`SiteAdmin`]) so that commands and checks never see HTTP and tests can
//! use a stand-in. The HTTP client lives in `client`; this module owns the
//! API's data shapes and the `[admin]` settings.

mod client;
mod config;
mod resources;
mod signin;

pub use client::{connect, HttpAdmin};
pub use config::{sign_in, AdminConfig, AdminOverrides, ConfigError};
pub use resources::wait_for;

use serde::Serialize;
use std::fmt;

/// A service as the API names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ServiceRef {
    pub folder: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl ServiceRef {
    /// `Folder/Name.Type`, the key gpaudit uses everywhere.
    pub fn key(&self) -> String {
        match &self.folder {
            Some(f) => format!("{f}/{}.{}", self.name, self.kind),
            None => format!("{}.{}", self.name, self.kind),
        }
    }

    /// Parse `Folder/Name.Type` or `Name.Type`.
    pub fn parse(key: &str) -> Option<ServiceRef> {
        let (folder, rest) = match key.split_once('/') {
            Some((f, r)) => (Some(f.to_string()), r),
            None => (None, key),
        };
        let (name, kind) = rest.rsplit_once('.')?;
        (!name.is_empty() && !kind.is_empty()).then(|| ServiceRef {
            folder,
            name: name.to_string(),
            kind: kind.to_string(),
        })
    }

    /// The path below `/admin/services`.
    fn path(&self) -> String {
        match &self.folder {
            Some(f) => format!("{f}/{}.{}", self.name, self.kind),
            None => format!("{}.{}", self.name, self.kind),
        }
    }

    pub fn is_gp(&self) -> bool {
        self.kind.eq_ignore_ascii_case("GPServer")
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// `configuredState` and `realTimeState` of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    pub configured: String,
    pub real: String,
}

impl ServiceStatus {
    pub fn is_started(&self) -> bool {
        self.real.eq_ignore_ascii_case("STARTED")
    }
}

/// The site as `/admin/info` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdminInfo {
    pub version: Option<String>,
    pub build: Option<String>,
}

/// Why a call failed. Never carries a password or token: the client
/// scrubs them from every message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdminError {
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{url}: ArcGIS answered with an error{}: {messages}", code_text(.code))]
    Api {
        url: String,
        /// Absent from many real answers; inferred for token errors.
        code: Option<i64>,
        messages: String,
    },
    #[error("{url}: the answer is not JSON ({snippet}); a web adaptor login page or a proxy may be in the way")]
    NotJson { url: String, snippet: String },
    #[error("{0}")]
    Config(String),
}

fn code_text(code: &Option<i64>) -> String {
    code.map(|c| format!(" {c}")).unwrap_or_default()
}

/// Whether one machine of the site runs a service's instances (from the
/// service's documented `statistics` resource, `perMachine[]`:
/// `isStatisticsAvailable` is false where the service is not deployed,
/// because its start failed there or the machine is down).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MachineInstances {
    pub machine: String,
    pub running: bool,
}

/// `started on GIS1, failed on GIS2`, and whether every machine runs it.
pub fn describe_machines(machines: &[MachineInstances]) -> (bool, String) {
    let list = |running: bool| -> Vec<&str> {
        machines
            .iter()
            .filter(|m| m.running == running)
            .map(|m| m.machine.as_str())
            .collect()
    };
    let (up, down) = (list(true), list(false));
    let mut parts = Vec::new();
    if !up.is_empty() {
        parts.push(format!("started on {}", up.join(", ")));
    }
    if !down.is_empty() {
        parts.push(format!("failed on {}", down.join(", ")));
    }
    (down.is_empty(), parts.join(", "))
}

/// For a table: where a started service runs, `GIS1 up, GIS2 DOWN` (short
/// machine names); `-` for a stopped one.
pub fn machines_summary(
    admin: &mut dyn SiteAdmin,
    service: &ServiceRef,
    status: &ServiceStatus,
) -> String {
    if !status.is_started() {
        return "-".into();
    }
    match admin.service_machines(service) {
        Ok(m) if m.is_empty() => "-".into(),
        Ok(m) => m
            .iter()
            .map(|x| {
                let short = x.machine.split('.').next().unwrap_or(&x.machine);
                format!("{short} {}", if x.running { "up" } else { "DOWN" })
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("error: {e}"),
    }
}

/// The site's machines and their real-time state, one line:
/// `GIS1.EXAMPLE.COM STARTED, GIS2.EXAMPLE.COM STOPPED`.
pub fn machines_line(admin: &mut dyn SiteAdmin) -> Result<String, AdminError> {
    let mut parts = Vec::new();
    for m in admin.machines()? {
        let state = match admin.machine_status(&m) {
            Ok(st) => st.real,
            Err(e) => format!("unknown ({e})"),
        };
        parts.push(format!("{m} {state}"));
    }
    Ok(parts.join(", "))
}

/// What gpaudit needs from a site's Administrator API.
pub trait SiteAdmin {
    fn info(&mut self) -> Result<AdminInfo, AdminError>;
    fn machines(&mut self) -> Result<Vec<String>, AdminError>;
    /// `/machines/<m>/status`.
    fn machine_status(&mut self, machine: &str) -> Result<ServiceStatus, AdminError>;
    /// Per machine, whether it runs the service's instances.
    fn service_machines(
        &mut self,
        service: &ServiceRef,
    ) -> Result<Vec<MachineInstances>, AdminError>;
    /// Every service of every folder.
    fn services(&mut self) -> Result<Vec<ServiceRef>, AdminError>;
    /// The service's JSON, as in the config store.
    fn service_json(&mut self, service: &ServiceRef) -> Result<serde_json::Value, AdminError>;
    fn status(&mut self, service: &ServiceRef) -> Result<ServiceStatus, AdminError>;
    fn stop(&mut self, service: &ServiceRef) -> Result<(), AdminError>;
    fn start(&mut self, service: &ServiceRef) -> Result<(), AdminError>;
    /// Another client of the same site, signed in the same way, for reads
    /// in parallel; `None` when this one cannot be shared.
    fn fork(&self) -> Option<Box<dyn SiteAdmin + Send>> {
        None
    }
}

/// Read everything the checks use from the API: the site's version and
/// machines, and every service's JSON and status (status for GP services).
/// A service that cannot be read (deleted between the list and the read,
/// or forbidden) is left out and named in the returned problems.
pub fn gather_live(
    admin: &mut dyn SiteAdmin,
    url: &str,
) -> Result<(crate::model::LiveSite, Vec<String>), AdminError> {
    let info = admin.info()?;
    let machines = admin.machines()?;
    let mut services = Vec::new();
    let mut problems = Vec::new();
    for s in admin.services()? {
        let json = match admin.service_json(&s) {
            Ok(json) => json,
            Err(e) => {
                problems.push(format!("{}: not read: {e}", s.key()));
                continue;
            }
        };
        let text = |k: &str| {
            json.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        let status = if s.is_gp() {
            match admin.status(&s) {
                Ok(st) => Some(st),
                Err(e) => {
                    problems.push(format!("{}: status not read: {e}", s.key()));
                    None
                }
            }
        } else {
            None
        };
        services.push(crate::model::LiveService {
            key: s.key(),
            provider: text("provider"),
            conda_environment_path: json
                .get("properties")
                .and_then(|p| p.get("condaEnvironmentPath"))
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            configured_state: status
                .as_ref()
                .map(|st| st.configured.clone())
                .or_else(|| text("configuredState")),
            real_state: status.map(|st| st.real),
        });
    }
    Ok((
        crate::model::LiveSite {
            url: crate::redact::text(url),
            version: info.version,
            machines,
            services,
        },
        problems,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_round_trip() {
        let s = ServiceRef::parse("Hydro/Flood.GPServer").unwrap();
        assert_eq!(s.folder.as_deref(), Some("Hydro"));
        assert_eq!(s.key(), "Hydro/Flood.GPServer");
        assert!(s.is_gp());
        assert_eq!(
            ServiceRef::parse("SampleWorldCities.MapServer")
                .unwrap()
                .folder,
            None
        );
        assert!(ServiceRef::parse("Hydro/Flood").is_none());
    }
}
