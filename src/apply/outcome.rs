//! What an apply run did, as data (steps, failed envs, services at the
//! end) and as the text the admin reads: what failed, how to get the old
//! env back, which services are where, and what to run next.

use super::journal::StepStatus;
use super::Preflight;
use serde::Serialize;

/// How one step went in this run.
#[derive(Clone, Debug, Serialize)]
pub struct StepOutcome {
    pub step: String,
    pub status: StepStatus,
    /// Finished in an earlier run, so not run again.
    pub earlier: bool,
    pub detail: String,
}

/// An env that could not be migrated, and what the admin needs to act.
#[derive(Clone, Debug, Serialize)]
pub struct EnvFailure {
    pub machine: String,
    pub env: String,
    pub step: String,
    pub detail: String,
    /// The last lines conda printed.
    pub output: Option<String>,
    /// The archive proup left, if there is one.
    pub archive: Option<String>,
}

/// A service at the end of the run.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceEnd {
    pub service: String,
    pub envs: Vec<String>,
    pub before: String,
    pub now: String,
    pub note: String,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub preflight: Preflight,
    pub executed: bool,
    pub steps: Vec<StepOutcome>,
    pub failures: Vec<EnvFailure>,
    pub services: Vec<ServiceEnd>,
    pub interrupted: bool,
    /// Warnings (a stale lock taken over, a step run again).
    pub notes: Vec<String>,
    /// Why the run stopped short after it began changing the site (the
    /// journal could not be written): the report still shows the services
    /// and the next step, and the exit code is 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// The plan file, for the commands the report suggests.
    pub plan: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.preflight.ok()
            && self.failures.is_empty()
            && !self.interrupted
            && self.steps.iter().all(|s| s.status == StepStatus::Done)
            && self.services.iter().all(|s| s.note.is_empty())
            && self.aborted.is_none()
    }
}

impl Outcome {
    /// The run as text: the preflight (for a run that did not act: one that
    /// did printed it before its first step), then failures and services.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.executed {
            out.push_str(&self.preflight.render());
            if self.preflight.ok() {
                out.push_str("\nWould run, in this order:\n");
            } else {
                out.push_str("\nThe plan's steps (none run):\n");
            }
            for s in &self.steps {
                out.push_str(&format!(
                    "  {}{}: {}\n",
                    s.step,
                    if s.earlier { " (skipped)" } else { "" },
                    s.detail
                ));
            }
            return out;
        }
        if !self.failures.is_empty() {
            out.push_str("\nFailed envs:\n");
            for f in &self.failures {
                out.push_str(&format!(
                    "  {}/{}: `{}` failed: {}\n",
                    f.machine, f.env, f.step, f.detail
                ));
                if let Some(o) = &f.output {
                    for line in o.lines() {
                        out.push_str(&format!("      | {line}\n"));
                    }
                }
                match &f.archive {
                    Some(a) => out.push_str(&format!(
                        "    proup's archive of the old env: {a}\n    to get the old env back: gpaudit rollback {} --machine {} --env {} --execute\n",
                        self.plan, f.machine, f.env
                    )),
                    None => out.push_str("    no proup archive was found; the backup folder holds its package list\n"),
                }
            }
        }
        if !self.services.is_empty() {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::ASCII_FULL_CONDENSED)
                .set_header(vec!["Service", "Env", "Before", "Now", "Note"]);
            for s in &self.services {
                let cells = [&s.service, &s.envs.join(", "), &s.before, &s.now, &s.note];
                table.add_row(
                    cells
                        .iter()
                        .map(|c| crate::redact::terminal_safe_line(c))
                        .collect::<Vec<_>>(),
                );
            }
            out.push_str(&format!("\nServices:\n{table}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        if let Some(error) = &self.aborted {
            out.push_str(&format!(
                "\nThe run stopped early: {error}\nNext: fix that (free disk space, permissions), then run `gpaudit apply {} --execute --resume`; the services above that are not running stay so until then\n",
                self.plan
            ));
        }
        let done = self
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Done)
            .count();
        out.push_str(&format!(
            "\n{} of {} step(s) done, {} env(s) failed{}\n",
            done,
            self.steps.len(),
            self.failures.len(),
            if self.interrupted {
                format!(
                    "; interrupted: run `gpaudit apply {} --execute --resume` to go on",
                    self.plan
                )
            } else {
                String::new()
            }
        ));
        out
    }
}
