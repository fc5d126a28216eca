//! `gpaudit apply`: carries out a migration plan (`migrate`) step by step.
//! A dry run by default: every preflight check runs and is reported, and
//! nothing is changed. With `execute`, each step is journaled (`journal`)
//! before it starts and when it ends, under a site lock (`lock`); external
//! commands go through `exec` and the Administrator API through
//! [`SiteAdmin`]. An env whose proup or verify fails keeps its services
//! stopped, and the run goes on with the other envs.

mod child;
pub mod journal;
mod locate;
pub mod lock;
mod outcome;
mod preflight;
pub mod rollback;
mod steps;

pub use locate::localize;
pub use outcome::{EnvFailure, Outcome, ServiceEnd, StepOutcome};
pub use preflight::{Check, Preflight};

use crate::admin::SiteAdmin;
use crate::exec::Finished;
use crate::migrate::{EnvPlan, MachinePlan, MigrationPlan, StepKind};
use crate::paths;
use journal::{Entry, Journal, JournalError, ServiceState, StepStatus};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to apply.
#[derive(Clone, Debug)]
pub struct Options {
    pub execute: bool,
    pub resume: bool,
    pub stop_on_failure: bool,
    /// Only these machines (all when empty).
    pub machines: Vec<String>,
    pub proup_timeout: Duration,
    pub service_timeout: Duration,
    /// Set by the Ctrl-C handler: finish the current step, then stop.
    pub interrupted: Arc<AtomicBool>,
}

/// The files an apply keeps beside its plan.
#[derive(Clone, Debug)]
pub struct Files {
    pub plan: PathBuf,
    pub journal: PathBuf,
    pub lock: PathBuf,
    /// `snapshot` steps write each env's package list here.
    pub backup: PathBuf,
}

impl Files {
    pub fn beside(plan_path: &Path, plan: &MigrationPlan) -> Files {
        let stem = plan_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".into());
        Files {
            plan: plan_path.to_path_buf(),
            journal: plan_path.with_file_name(format!("{stem}.journal.jsonl")),
            lock: lock::lock_path(plan_path, &plan.site),
            backup: plan_path.with_file_name(format!("{stem}.backup")),
        }
    }

    /// Where the snapshot step saves an env (by its plan id, `MACHINE/ENV`).
    pub fn backup_dir(&self, env_id: &str) -> PathBuf {
        env_id
            .split('/')
            .fold(self.backup.clone(), |dir, part| dir.join(safe(part)))
    }
}

/// A name as a file name: anything but letters, digits and `-_.` becomes `_`.
pub(crate) fn safe(s: &str) -> String {
    if s.is_empty() || s.chars().all(|c| c == '.') {
        // `.` and `..` would name this folder or its parent.
        return "_".repeat(s.len().max(1));
    }
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Why apply could not run at all (exit 2). Step failures are not errors:
/// they are in the [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("{0}")]
    Usage(String),
}

/// The machines of the plan that this run covers.
pub fn selected<'p>(
    plan: &'p MigrationPlan,
    machines: &[String],
) -> Result<Vec<&'p MachinePlan>, ApplyError> {
    for want in machines {
        if !plan
            .machines
            .iter()
            .any(|m| m.machine.eq_ignore_ascii_case(want))
        {
            let names: Vec<&str> = plan.machines.iter().map(|m| m.machine.as_str()).collect();
            return Err(ApplyError::Usage(format!(
                "the plan has no machine `{want}` (it has: {})",
                names.join(", ")
            )));
        }
    }
    Ok(plan
        .machines
        .iter()
        .filter(|m| {
            machines.is_empty() || machines.iter().any(|w| m.machine.eq_ignore_ascii_case(w))
        })
        .collect())
}

/// What the run needs from outside: the API (absent when the site has none
/// configured) and a sink for progress lines.
pub struct Runner<'a> {
    pub plan: &'a MigrationPlan,
    pub files: Files,
    pub options: Options,
    pub admin: Option<&'a mut dyn SiteAdmin>,
    pub progress: &'a mut dyn FnMut(&str),
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("files", &self.files)
            .finish()
    }
}

/// Per-env progress in a run.
#[derive(Default)]
struct EnvRun {
    /// Why this env can go no further.
    failed: Option<(String, String)>,
    /// What the stop step saw and did.
    services: Vec<ServiceState>,
    /// Its proup began (in this run or an earlier one): the env may have
    /// changed, so its services are not started by a recovery.
    touched: bool,
}

impl Runner<'_> {
    /// Preflight, then (with `execute` and a clean preflight) every step.
    pub fn run(mut self) -> Result<Outcome, ApplyError> {
        let machines = selected(self.plan, &self.options.machines)?;
        let journal = Journal::read(&self.files.journal)?;
        let (preflight, loaded) = preflight::run(
            self.plan,
            &machines,
            &self.files,
            &journal,
            &self.options,
            api(&mut self.admin),
        );
        let mut outcome = Outcome {
            preflight,
            executed: false,
            steps: Vec::new(),
            failures: Vec::new(),
            services: Vec::new(),
            interrupted: false,
            notes: Vec::new(),
            plan: paths::display(&self.files.plan),
            aborted: None,
        };
        if !self.options.execute || !outcome.preflight.ok() {
            outcome.steps = machines
                .iter()
                .flat_map(|m| m.envs.iter())
                .flat_map(|e| e.steps.iter())
                .map(|s| StepOutcome {
                    step: s.id.clone(),
                    status: StepStatus::Skipped,
                    earlier: journal.is_done(&s.id),
                    detail: if journal.is_done(&s.id) {
                        "done in an earlier run".into()
                    } else {
                        s.detail.clone()
                    },
                })
                .collect();
            return Ok(outcome);
        }
        let Some(loaded) = loaded else {
            return Ok(outcome);
        };
        (self.progress)(&outcome.preflight.render());
        let about = lock::about_this_run(&format!("apply {}", paths::display(&self.files.plan)));
        let (_lock, stale) = lock::SiteLock::acquire(&self.files.lock, &about)?;
        // The site's own locks, beside each env, before the first stop: a
        // copy of the plan elsewhere has another plan lock, not these.
        let mut _env_locks = Vec::new();
        for env in machines.iter().flat_map(|m| m.envs.iter()) {
            if env.steps.iter().all(|s| journal.is_done(&s.id)) {
                continue;
            }
            let path = lock::env_lock_path(Path::new(env.here()));
            let (held, stale) = lock::SiteLock::acquire(&path, &about)?;
            if let Some(stale) = stale {
                outcome.notes.push(format!(
                    "{}: took over a stale lock left by a run that did not finish ({stale})",
                    paths::display(&path)
                ));
            }
            _env_locks.push(held);
        }
        if let Some(stale) = stale {
            let note = format!(
                "{}: took over a stale lock left by a run that did not finish ({stale})",
                paths::display(&self.files.lock)
            );
            (self.progress)(&format!("warning: {note}"));
            outcome.notes.push(note);
        }
        // Read again under the lock: another run may have written since.
        let mut journal = Journal::read(&self.files.journal)?;
        journal.append(Entry::run(
            self.plan,
            if self.options.resume {
                "apply --execute --resume"
            } else {
                "apply --execute"
            },
        ))?;
        outcome.executed = true;
        let mut stop_all = false;
        'machines: for machine in &machines {
            (self.progress)(&format!("== {} ==", machine.machine));
            for env in &machine.envs {
                let mut state = EnvRun {
                    touched: env
                        .step(StepKind::Proup)
                        .is_some_and(|p| journal.was_begun(&p.id) || journal.is_done(&p.id)),
                    ..EnvRun::default()
                };
                for step in &env.steps {
                    if self.options.interrupted.load(Ordering::SeqCst) {
                        outcome.interrupted = true;
                        break 'machines;
                    }
                    let result = match self.one_step(
                        &mut journal,
                        &loaded,
                        machine,
                        env,
                        step,
                        &mut state,
                    ) {
                        Ok(result) => result,
                        Err(e) => {
                            // Services may be stopped: never leave with
                            // just an error.
                            self.recover(&e, &state, &mut outcome);
                            break 'machines;
                        }
                    };
                    (self.progress)(&format!(
                        "{:<7} {}: {}",
                        match (result.status, result.earlier) {
                            (_, true) => "earlier",
                            (StepStatus::Done, _) => "ok",
                            (StepStatus::Failed, _) => "FAILED",
                            (StepStatus::Skipped, _) => "skipped",
                        },
                        step.id,
                        result.detail
                    ));
                    outcome.steps.push(result);
                }
                if let Some((step, detail)) = state.failed.take() {
                    let output = last_output(&journal, env);
                    let archive =
                        rollback::old_env_archive(env, &journal).map(|a| paths::display(&a));
                    outcome.failures.push(EnvFailure {
                        machine: machine.machine.clone(),
                        env: env.env.clone(),
                        step,
                        detail,
                        output: output.map(|o| o.tail(15)),
                        archive,
                    });
                    if self.options.stop_on_failure {
                        stop_all = true;
                        break 'machines;
                    }
                }
            }
        }
        if self.options.interrupted.load(Ordering::SeqCst) {
            outcome.interrupted = true;
        }
        let last = if outcome.aborted.is_some() {
            Ok(())
        } else if outcome.interrupted {
            journal.append(Entry::Interrupted { at: journal::now() })
        } else {
            let ok = outcome.failures.is_empty();
            journal.append(Entry::Finished {
                at: journal::now(),
                ok: ok && !stop_all,
            })
        };
        if let Err(e) = last {
            outcome.aborted = Some(e.to_string());
        }
        outcome.services = self.final_states(&machines, &journal);
        Ok(outcome)
    }

    /// The run cannot go on (the journal cannot be written). Start again
    /// what the current env's stop step stopped when its env was not
    /// touched; either way the caller reports every service's state.
    fn recover(&mut self, error: &ApplyError, state: &EnvRun, outcome: &mut Outcome) {
        let error = error.to_string();
        (self.progress)(&format!("error: {error}; stopping the run"));
        outcome.aborted = Some(error);
        let stopped: Vec<&ServiceState> = state
            .services
            .iter()
            .filter(|s| {
                s.before.eq_ignore_ascii_case("STARTED") && !s.after.eq_ignore_ascii_case("STARTED")
            })
            .collect();
        if stopped.is_empty() {
            return;
        }
        if state.touched {
            let names: Vec<&str> = stopped.iter().map(|s| s.service.as_str()).collect();
            outcome.notes.push(format!(
                "left stopped, as their env's upgrade began: {}",
                names.join(", ")
            ));
            return;
        }
        let timeout = self.options.service_timeout;
        for s in stopped {
            let Some(service) = crate::admin::ServiceRef::parse(&s.service) else {
                continue;
            };
            let note = match api(&mut self.admin) {
                Some(api) => match crate::restart::start_and_wait(api, &service, timeout) {
                    Ok(on) => format!(
                        "{}: started again, as its env was not touched ({on})",
                        s.service
                    ),
                    Err(e) => format!("{}: could not be started again: {e}", s.service),
                },
                None => format!("{}: left stopped (no Administrator API)", s.service),
            };
            (self.progress)(&note);
            outcome.notes.push(note);
        }
    }

    /// Run one step (or skip it) and journal it.
    fn one_step(
        &mut self,
        journal: &mut Journal,
        loaded: &crate::audit::Loaded,
        machine: &MachinePlan,
        env: &EnvPlan,
        step: &crate::migrate::PlanStep,
        state: &mut EnvRun,
    ) -> Result<StepOutcome, ApplyError> {
        let checksum = step.checksum(env);
        if journal.is_done(&step.id) {
            if let Some(Entry::End { services, .. }) = journal.last_end(&step.id) {
                if step.kind == StepKind::Stop {
                    state.services = services.clone();
                }
            }
            return Ok(StepOutcome {
                step: step.id.clone(),
                status: StepStatus::Done,
                earlier: true,
                detail: "done in an earlier run".into(),
            });
        }
        let skip = |detail: String| steps::Done {
            status: StepStatus::Skipped,
            detail,
            output: None,
            services: Vec::new(),
        };
        let done = if let Some((failed_step, _)) = &state.failed {
            let why = format!("`{failed_step}` failed");
            match step.kind {
                StepKind::Start => {
                    // Running before and not now (a failed stop started
                    // its services again).
                    let left: Vec<String> = state
                        .services
                        .iter()
                        .filter(|s| {
                            s.before.eq_ignore_ascii_case("STARTED")
                                && !s.after.eq_ignore_ascii_case("STARTED")
                        })
                        .map(|s| s.service.clone())
                        .collect();
                    if left.is_empty() {
                        skip(format!("{why}: not run"))
                    } else {
                        skip(format!(
                            "{why}: not started on the broken env, left stopped: {}",
                            left.join(", ")
                        ))
                    }
                }
                _ => skip(format!("{why}: not run")),
            }
        } else {
            let cut_short = journal.was_cut_short(&step.id);
            let rerun = journal.was_begun(&step.id);
            if cut_short {
                (self.progress)(&format!(
                    "note: `{}` was cut short in an earlier run; it runs again{}",
                    step.id,
                    if step.kind == StepKind::Proup {
                        " (if gpaudit was killed, make sure that conda proup has ended)"
                    } else {
                        ""
                    }
                ));
            }
            journal.append(Entry::Begin {
                step: step.id.clone(),
                checksum: checksum.clone(),
                at: journal::now(),
            })?;
            if step.kind == StepKind::Proup {
                state.touched = true;
            }
            let ctx = steps::StepContext {
                plan: self.plan,
                files: &self.files,
                loaded,
                machine,
                env,
                options: &self.options,
                cut_short,
                rerun,
            };
            // The proup's process id goes to the journal as it starts.
            let mut child_error = None;
            let mut on_spawn = |pid: u32| {
                let entry = Entry::Child {
                    step: step.id.clone(),
                    pid,
                    host: lock::host_name(),
                    started: child::start_time(pid),
                    at: journal::now(),
                };
                if let Err(e) = journal.append(entry) {
                    child_error = Some(e);
                }
            };
            let done = steps::run(
                &ctx,
                step,
                api(&mut self.admin),
                state,
                self.progress,
                &mut on_spawn,
            );
            if let Some(e) = child_error {
                return Err(e.into());
            }
            done
        };
        if done.status == StepStatus::Failed && state.failed.is_none() {
            state.failed = Some((step.id.clone(), done.detail.clone()));
        }
        journal.append(Entry::End {
            step: step.id.clone(),
            checksum,
            at: journal::now(),
            status: done.status,
            detail: done.detail.clone(),
            output: done.output,
            services: done.services,
        })?;
        Ok(StepOutcome {
            step: step.id.clone(),
            status: done.status,
            earlier: false,
            detail: done.detail,
        })
    }

    /// Every service the run covers, as the API sees it now.
    fn final_states(&mut self, machines: &[&MachinePlan], journal: &Journal) -> Vec<ServiceEnd> {
        let mut ends: Vec<ServiceEnd> = Vec::new();
        for m in machines {
            for e in &m.envs {
                let recorded = e
                    .steps
                    .iter()
                    .find(|s| s.kind == StepKind::Stop)
                    .and_then(|s| match journal.last_end(&s.id) {
                        Some(Entry::End { services, .. }) => Some(services.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                for planned in &e.services {
                    let label = format!("{}/{}", m.machine, e.env);
                    if let Some(end) = ends
                        .iter_mut()
                        .find(|x| x.service.eq_ignore_ascii_case(&planned.key))
                    {
                        end.envs.push(label);
                        continue;
                    }
                    let before = recorded
                        .iter()
                        .find(|r| r.service.eq_ignore_ascii_case(&planned.key))
                        .map(|r| r.before.clone())
                        .unwrap_or_else(|| {
                            if planned.running {
                                "STARTED"
                            } else {
                                "STOPPED"
                            }
                            .to_string()
                        });
                    ends.push(ServiceEnd {
                        service: planned.key.clone(),
                        envs: vec![label],
                        before,
                        now: String::new(),
                        note: String::new(),
                    });
                }
            }
        }
        for end in &mut ends {
            let now = match (
                api(&mut self.admin),
                crate::admin::ServiceRef::parse(&end.service),
            ) {
                (Some(api), Some(s)) => match api.status(&s) {
                    Ok(st) => st.real,
                    Err(e) => format!("unknown ({e})"),
                },
                _ => "unknown (no Administrator API)".into(),
            };
            if end.before.eq_ignore_ascii_case("STARTED") && !now.eq_ignore_ascii_case("STARTED") {
                end.note =
                    "was running and is not: start it once its env is fixed or rolled back".into();
            } else if !end.before.eq_ignore_ascii_case("STARTED")
                && now.eq_ignore_ascii_case("STARTED")
            {
                end.note = "was stopped and is running".into();
            }
            end.now = now;
        }
        ends
    }
}

/// The API for one call (shortening the trait object's lifetime).
fn api<'s>(admin: &'s mut Option<&mut dyn SiteAdmin>) -> Option<&'s mut dyn SiteAdmin> {
    match admin {
        Some(a) => Some(&mut **a),
        None => None,
    }
}

/// The output of the last command the env's steps ran (for a failure).
fn last_output(journal: &Journal, env: &EnvPlan) -> Option<Finished> {
    let ids: Vec<&str> = env.steps.iter().map(|s| s.id.as_str()).collect();
    journal.entries().iter().rev().find_map(|e| match e {
        Entry::End {
            step,
            output: Some(o),
            ..
        } if ids.contains(&step.as_str()) => Some(o.clone()),
        _ => None,
    })
}
