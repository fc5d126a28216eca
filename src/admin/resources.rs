//! The Administrator API's resources as `HttpAdmin` reads and drives them
//! ([`SiteAdmin`]): info, machines and their status, folders and services,
//! a service's JSON, status and per-machine statistics, start and stop; and
//! `wait_for`, which polls a status. Signing in and the HTTP exchange are in
//! `client`.

use super::client::HttpAdmin;
use super::{AdminError, AdminInfo, MachineInstances, ServiceRef, ServiceStatus, SiteAdmin};
use serde_json::Value;
use std::time::{Duration, Instant};

impl HttpAdmin {
    /// `configuredState`/`realTimeState` of a status answer.
    fn state_of(&self, v: &Value, path: &str) -> Result<ServiceStatus, AdminError> {
        match (text(v, "configuredState"), text(v, "realTimeState")) {
            (Some(configured), Some(real)) => Ok(ServiceStatus {
                configured: self.scrub(&configured),
                real: self.scrub(&real),
            }),
            _ => Err(AdminError::Http {
                url: format!("{}/{path}", self.admin),
                message: "the status answer has no configuredState/realTimeState".into(),
            }),
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn service_entries(v: &Value, folder: Option<&str>) -> Vec<ServiceRef> {
    v.get("services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = text(s, "serviceName")?;
            let kind = text(s, "type")?;
            let folder = text(s, "folderName")
                .filter(|f| f != "/" && !f.is_empty())
                .or_else(|| folder.map(str::to_string));
            Some(ServiceRef { folder, name, kind })
        })
        .collect()
}

impl SiteAdmin for HttpAdmin {
    fn info(&mut self) -> Result<AdminInfo, AdminError> {
        let v = self.call("GET", "info")?;
        Ok(AdminInfo {
            version: v
                .get("currentversion")
                .or_else(|| v.get("currentVersion"))
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                }),
            build: text(&v, "currentbuild").or_else(|| text(&v, "fullVersion")),
        })
    }

    fn machines(&mut self) -> Result<Vec<String>, AdminError> {
        let v = self.call("GET", "machines")?;
        let mut out: Vec<String> = v
            .get("machines")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| text(m, "machineName"))
            .collect();
        out.sort();
        Ok(out)
    }

    fn machine_status(&mut self, machine: &str) -> Result<ServiceStatus, AdminError> {
        let path = format!("machines/{machine}/status");
        let v = self.call("GET", &path)?;
        self.state_of(&v, &path)
    }

    fn service_machines(
        &mut self,
        service: &ServiceRef,
    ) -> Result<Vec<MachineInstances>, AdminError> {
        let path = format!("services/{}/statistics", service.path());
        let v = self.call("GET", &path)?;
        let Some(list) = v.get("perMachine").and_then(Value::as_array) else {
            return Err(AdminError::Http {
                url: format!("{}/{path}", self.admin),
                message: "the statistics answer has no perMachine list".into(),
            });
        };
        let mut out: Vec<MachineInstances> = list
            .iter()
            .filter_map(|m| {
                Some(MachineInstances {
                    machine: self.scrub(&text(m, "machineName")?),
                    running: m
                        .get("isStatisticsAvailable")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect();
        out.sort_by(|a, b| a.machine.cmp(&b.machine));
        Ok(out)
    }

    fn services(&mut self) -> Result<Vec<ServiceRef>, AdminError> {
        let root = self.call("GET", "services")?;
        let mut out = service_entries(&root, None);
        let folders: Vec<String> = root
            .get("folders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        for folder in folders {
            let v = self.call("GET", &format!("services/{folder}"))?;
            out.extend(service_entries(&v, Some(&folder)));
        }
        // A name is printed and journaled: one that echoes the password or
        // a token is masked here, where it enters (its calls then fail,
        // reported, rather than the secret being shown).
        for s in &mut out {
            s.name = self.scrub_name(&s.name);
            s.kind = self.scrub_name(&s.kind);
            s.folder = s.folder.as_deref().map(|f| self.scrub_name(f));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn fork(&self) -> Option<Box<dyn SiteAdmin + Send>> {
        Some(Box::new(self.clone()))
    }

    fn service_json(&mut self, service: &ServiceRef) -> Result<Value, AdminError> {
        self.call("GET", &format!("services/{}", service.path()))
    }

    fn status(&mut self, service: &ServiceRef) -> Result<ServiceStatus, AdminError> {
        let path = format!("services/{}/status", service.path());
        let v = self.call("GET", &path)?;
        self.state_of(&v, &path)
    }

    fn stop(&mut self, service: &ServiceRef) -> Result<(), AdminError> {
        self.call("POST", &format!("services/{}/stop", service.path()))
            .map(|_| ())
    }

    fn start(&mut self, service: &ServiceRef) -> Result<(), AdminError> {
        self.call("POST", &format!("services/{}/start", service.path()))
            .map(|_| ())
    }
}

/// How long to wait, polling `status`, for a service to reach `state`.
pub fn wait_for(
    admin: &mut dyn SiteAdmin,
    service: &ServiceRef,
    started: bool,
    timeout: Duration,
) -> Result<bool, AdminError> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(24 * 3600));
    let want = if started { "STARTED" } else { "STOPPED" };
    loop {
        if admin.status(service)?.real.eq_ignore_ascii_case(want) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
