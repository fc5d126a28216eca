//! Restarting GP services through the Administrator API, as a plan first:
//! which services, in which order, and which stay stopped because they were
//! stopped before. The plan is a value that is printed (dry run) or
//! executed one service at a time: stop, wait for STOPPED, start, wait for
//! STARTED. A failure is recorded and the rest still run.

use crate::admin::{describe_machines, wait_for, AdminError, ServiceRef, ServiceStatus, SiteAdmin};
use crate::model::Snapshot;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What happens to one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Stop, then start.
    Restart,
    /// It was stopped before: left alone.
    LeaveStopped,
    /// Its state could not be read: nothing is done to it.
    Unreadable,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub service: ServiceRef,
    pub before: Option<ServiceStatus>,
    pub action: Action,
    /// Why its state could not be read.
    pub problem: Option<String>,
}

/// The restart of a set of services, in order.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// How a step went.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub service: String,
    pub action: Action,
    pub ok: bool,
    pub detail: String,
}

/// Services named on the command line that cannot be restarted.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("`{0}` is not a service (Folder/Name.GPServer)")]
    NotAService(String),
    #[error("`{0}` is not a GP service; restart only restarts GP services")]
    NotGp(String),
    #[error("no GP service runs in env `{env}` on any machine of the site (envs GP services run in: {})", list(known))]
    NoServiceInEnv { env: String, known: Vec<String> },
    #[error(
        "no service `{name}` in the site's config store (GP services: {})",
        list(known)
    )]
    UnknownService { name: String, known: Vec<String> },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The GP services a restart covers: the ones named, else those bound to
/// `env` on any machine.
pub fn targets(
    snapshot: &Snapshot,
    env: Option<&str>,
    named: &[String],
) -> Result<Vec<ServiceRef>, TargetError> {
    if !named.is_empty() {
        let mut out: Vec<ServiceRef> = Vec::new();
        for k in named {
            let s = ServiceRef::parse(k).ok_or_else(|| TargetError::NotAService(k.clone()))?;
            if !s.is_gp() {
                return Err(TargetError::NotGp(k.clone()));
            }
            // Checked against the config store when it was read (a snapshot
            // without services cannot say).
            let known = || -> Vec<String> {
                snapshot
                    .services
                    .iter()
                    .filter(|s| s.is_gp())
                    .map(|s| s.key.clone())
                    .collect()
            };
            if !snapshot.services.is_empty()
                && !snapshot
                    .services
                    .iter()
                    .any(|x| x.key.eq_ignore_ascii_case(&s.key()))
            {
                return Err(TargetError::UnknownService {
                    name: k.clone(),
                    known: known(),
                });
            }
            if !out.iter().any(|o| o.key().eq_ignore_ascii_case(&s.key())) {
                out.push(s);
            }
        }
        return Ok(out);
    }
    let env = env.unwrap_or_default();
    let mut keys: Vec<String> = snapshot
        .machines
        .iter()
        .flat_map(|m| m.bindings.iter())
        .filter(|b| b.env_name.eq_ignore_ascii_case(env))
        .map(|b| b.service.clone())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        let mut known: Vec<String> = snapshot
            .machines
            .iter()
            .flat_map(|m| m.bindings.iter().map(|b| b.env_name.clone()))
            .collect();
        known.sort_by_key(|k| k.to_ascii_lowercase());
        known.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        return Err(TargetError::NoServiceInEnv {
            env: env.to_string(),
            known,
        });
    }
    Ok(keys.iter().filter_map(|k| ServiceRef::parse(k)).collect())
}

/// Read each service's state and decide what to do with it. A service
/// whose state cannot be read is planned as such; the others still run.
pub fn plan(admin: &mut dyn SiteAdmin, services: &[ServiceRef]) -> Plan {
    let mut steps = Vec::new();
    for service in services {
        let step = match admin.status(service) {
            Ok(before) => {
                let action = if before.configured.eq_ignore_ascii_case("STOPPED") {
                    Action::LeaveStopped
                } else {
                    Action::Restart
                };
                Step {
                    service: service.clone(),
                    before: Some(before),
                    action,
                    problem: None,
                }
            }
            Err(e) => Step {
                service: service.clone(),
                before: None,
                action: Action::Unreadable,
                problem: Some(e.to_string()),
            },
        };
        steps.push(step);
    }
    Plan { steps }
}

impl Plan {
    /// The dry run: what `execute` would do.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.steps.iter().enumerate() {
            let now = s
                .before
                .as_ref()
                .map(|b| format!(" (now {}/{})", b.configured, b.real))
                .unwrap_or_default();
            let what = match s.action {
                Action::Restart => "stop, then start".to_string(),
                Action::LeaveStopped => "leave stopped (configured STOPPED)".to_string(),
                Action::Unreadable => format!(
                    "nothing: its state cannot be read ({})",
                    s.problem.as_deref().unwrap_or("")
                ),
            };
            out.push_str(&format!("{:>3}. {}: {what}{now}\n", i + 1, s.service));
        }
        out
    }

    /// Restart the services one at a time, waiting up to `timeout` for each
    /// state change. Every step runs, whatever happened to the one before.
    pub fn execute(
        &self,
        admin: &mut dyn SiteAdmin,
        timeout: Duration,
        mut progress: impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for step in &self.steps {
            let outcome = match step.action {
                Action::LeaveStopped => Outcome {
                    service: step.service.key(),
                    action: step.action,
                    ok: true,
                    detail: "left stopped".into(),
                },
                Action::Restart => restart_one(admin, &step.service, timeout),
                Action::Unreadable => Outcome {
                    service: step.service.key(),
                    action: step.action,
                    ok: false,
                    detail: format!(
                        "not restarted: {}",
                        step.problem
                            .as_deref()
                            .unwrap_or("its state cannot be read")
                    ),
                },
            };
            progress(&outcome);
            outcomes.push(outcome);
        }
        outcomes
    }
}

fn restart_one(admin: &mut dyn SiteAdmin, service: &ServiceRef, timeout: Duration) -> Outcome {
    let result = match stop_and_wait(admin, service, timeout) {
        Ok(()) => start_and_wait(admin, service, timeout)
            .map(|on| format!("restarted: {on}"))
            .map_err(|e| e.to_string()),
        // The stop may have half happened: never leave the service down
        // because of it.
        Err(stop_problem) => match admin.status(service) {
            Ok(s) if s.is_started() => Err(format!("{stop_problem}; it is still running")),
            _ => match start_and_wait(admin, service, timeout) {
                Ok(on) => Err(format!("{stop_problem}; started it again ({on})")),
                Err(e) => Err(format!("{stop_problem}; starting it again failed too: {e}")),
            },
        },
    };
    Outcome {
        service: service.key(),
        action: Action::Restart,
        ok: result.is_ok(),
        detail: result.unwrap_or_else(|e| e),
    }
}

/// Why a service did not reach the state it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("stop failed: {0}")]
    Stop(AdminError),
    #[error("start failed: {0}")]
    Start(AdminError),
    #[error("did not stop within {0}s")]
    NotStopped(u64),
    #[error("did not start within {0}s")]
    NotStarted(u64),
    /// Its state could not be read while waiting.
    #[error(transparent)]
    Status(AdminError),
    /// The site says STARTED, but not every machine runs it:
    /// `started on GIS1, failed on GIS2`.
    #[error("{0}")]
    SomeMachines(String),
}

/// Stop a service and wait until it is STOPPED.
pub(crate) fn stop_and_wait(
    admin: &mut dyn SiteAdmin,
    service: &ServiceRef,
    timeout: Duration,
) -> Result<(), WaitError> {
    admin.stop(service).map_err(WaitError::Stop)?;
    match wait_for(admin, service, false, timeout) {
        Ok(true) => Ok(()),
        Ok(false) => Err(WaitError::NotStopped(timeout.as_secs())),
        Err(e) => Err(WaitError::Status(e)),
    }
}

/// Start a service and wait until it is STARTED on every machine: the
/// site-level status says STARTED even when one machine's instances failed,
/// so the service's per-machine statistics are read too (until `timeout`,
/// as instances take a while to deploy). Says where it runs (`started on
/// GIS1, GIS2`), or fails with `started on GIS1, failed on GIS2`.
pub(crate) fn start_and_wait(
    admin: &mut dyn SiteAdmin,
    service: &ServiceRef,
    timeout: Duration,
) -> Result<String, WaitError> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(24 * 3600));
    admin.start(service).map_err(WaitError::Start)?;
    match wait_for(admin, service, true, timeout) {
        Ok(true) => {}
        Ok(false) => return Err(WaitError::NotStarted(timeout.as_secs())),
        Err(e) => return Err(WaitError::Status(e)),
    }
    loop {
        let machines = match admin.service_machines(service) {
            Ok(m) if !m.is_empty() => m,
            Ok(_) => return Ok("started (no per-machine statistics)".into()),
            Err(e) => return Ok(format!("started (per-machine state not read: {e})")),
        };
        let (all, text) = describe_machines(&machines);
        if all {
            return Ok(text);
        }
        if Instant::now() >= deadline {
            return Err(WaitError::SomeMachines(with_stopped_machines(
                admin, &machines, text,
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Name the machines that are themselves STOPPED (`/machines/<m>/status`):
/// no service starts there until the machine does.
fn with_stopped_machines(
    admin: &mut dyn SiteAdmin,
    machines: &[crate::admin::MachineInstances],
    text: String,
) -> String {
    let stopped: Vec<String> = machines
        .iter()
        .filter(|m| !m.running)
        .filter(|m| {
            admin
                .machine_status(&m.machine)
                .is_ok_and(|st| !st.is_started())
        })
        .map(|m| m.machine.clone())
        .collect();
    if stopped.is_empty() {
        text
    } else {
        format!("{text} (machine STOPPED: {})", stopped.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn issue_13_restart_service_is_checked_against_the_config_store() {
        let mut m = machine("GIS1", vec![env("hydro", &[])]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.services.push(service(
            "Hydro/Flood.GPServer",
            "ArcObjects11",
            Some("hydro"),
        ));
        let err = targets(&s, None, &["Hydro/Flod.GPServer".into()]).unwrap_err();
        assert!(
            matches!(&err, TargetError::UnknownService { known, .. } if known == &["Hydro/Flood.GPServer"]),
            "{err}"
        );
        assert!(targets(&s, None, &["hydro/flood.gpserver".into()]).is_ok());
        let err = targets(&s, Some("hydor"), &[]).unwrap_err();
        assert!(err.to_string().contains("hydro"), "{err}");
    }
}
