//! Restarting GP services through the Administrator API, as a plan first:
//! which services, in which order, and which stay stopped because they were
//! stopped before. The plan is a value that is printed (dry run) or
//! executed one service at a time: stop, wait for STOPPED, start, wait for
//! STARTED. A failure is recorded and the rest still run.

use crate::admin::{wait_for, AdminError, ServiceRef, ServiceStatus, SiteAdmin};
use serde::Serialize;
use std::time::Duration;

/// What happens to one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Stop, then start.
    Restart,
    /// It was stopped before: left alone.
    LeaveStopped,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub service: ServiceRef,
    pub before: ServiceStatus,
    pub action: Action,
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

/// Read each service's state and decide what to do with it.
pub fn plan(admin: &mut dyn SiteAdmin, services: &[ServiceRef]) -> Result<Plan, AdminError> {
    let mut steps = Vec::new();
    for service in services {
        let before = admin.status(service)?;
        let action = if before.configured.eq_ignore_ascii_case("STOPPED") && !before.is_started() {
            Action::LeaveStopped
        } else {
            Action::Restart
        };
        steps.push(Step {
            service: service.clone(),
            before,
            action,
        });
    }
    Ok(Plan { steps })
}

impl Plan {
    /// The dry run: what `execute` would do.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.steps.iter().enumerate() {
            let what = match s.action {
                Action::Restart => "stop, then start",
                Action::LeaveStopped => "leave stopped (it is stopped now)",
            };
            out.push_str(&format!(
                "{:>3}. {}: {what} (now {}/{})\n",
                i + 1,
                s.service,
                s.before.configured,
                s.before.real
            ));
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
            };
            progress(&outcome);
            outcomes.push(outcome);
        }
        outcomes
    }
}

fn restart_one(admin: &mut dyn SiteAdmin, service: &ServiceRef, timeout: Duration) -> Outcome {
    let result = (|| -> Result<String, String> {
        admin
            .stop(service)
            .map_err(|e| format!("stop failed: {e}"))?;
        if !wait_for(admin, service, false, timeout).map_err(|e| e.to_string())? {
            return Err(format!("did not stop within {}s", timeout.as_secs()));
        }
        admin
            .start(service)
            .map_err(|e| format!("start failed: {e}"))?;
        if !wait_for(admin, service, true, timeout).map_err(|e| e.to_string())? {
            return Err(format!("did not start within {}s", timeout.as_secs()));
        }
        Ok("restarted".into())
    })();
    Outcome {
        service: service.key(),
        action: Action::Restart,
        ok: result.is_ok(),
        detail: result.unwrap_or_else(|e| e),
    }
}
