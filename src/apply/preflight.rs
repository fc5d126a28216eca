//! Apply's preflight: everything that can be checked before anything is
//! changed — the site rescans, every env and service of the plan is still
//! there and unchanged (fingerprints), conda answers, the Administrator API
//! answers with a working token, the proup archives have room, the journal
//! belongs to this plan and no other run holds the lock. All checks run and
//! all failures are reported together.

use super::journal::{Entry, Journal};
use super::{lock, Files, Options};
use crate::admin::SiteAdmin;
use crate::audit::{self, Loaded};
use crate::exec::{self, CommandLine};
use crate::migrate::{self, EnvPlan, MachinePlan, MigrationPlan, StepKind};
use crate::paths;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One preflight check.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Preflight {
    pub checks: Vec<Check>,
}

impl Preflight {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn render(&self) -> String {
        let mut out = String::from("Preflight:\n");
        for c in &self.checks {
            out.push_str(&format!(
                "  {} {}: {}\n",
                if c.ok { "ok    " } else { "FAILED" },
                c.what,
                c.detail
            ));
        }
        out
    }

    fn add(&mut self, what: impl Into<String>, result: Verdict) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(Failed(d)) => (false, d),
        };
        self.checks.push(Check {
            what: what.into(),
            ok,
            detail,
        });
    }

    fn fail(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.add(what, Err(Failed(reason.into())));
    }
}

/// What a passed check found, or why it did not pass. A failed check is a
/// verdict shown beside the others, not an error of gpaudit's.
type Verdict = Result<String, Failed>;

/// Why a preflight check did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failed(String);

impl From<String> for Failed {
    fn from(reason: String) -> Failed {
        Failed(reason)
    }
}

impl From<&str> for Failed {
    fn from(reason: &str) -> Failed {
        Failed(reason.to_string())
    }
}

/// Run every check. Returns the loaded site (for the steps) when it loaded.
pub(super) fn run(
    plan: &MigrationPlan,
    machines: &[&MachinePlan],
    files: &Files,
    journal: &Journal,
    options: &Options,
    admin: Option<&mut dyn SiteAdmin>,
) -> (Preflight, Option<Loaded>) {
    let mut pf = Preflight::default();
    check_journal(plan, journal, options, &mut pf);
    pf.add(
        "lock",
        match lock::held_by(&files.lock) {
            Some(holder) => Err(Failed(format!(
                "{}: another gpaudit run holds it ({holder})",
                paths::display(&files.lock)
            ))),
            None => Ok(format!("{} is free", paths::display(&files.lock))),
        },
    );
    let loaded = match audit::load(&[PathBuf::from(&plan.site_file)]) {
        Ok(l) => {
            pf.add("site", Ok(format!("{} rescanned", plan.site_file)));
            Some(l)
        }
        Err(e) => {
            pf.fail("site", e.to_string());
            None
        }
    };
    if let Some(loaded) = &loaded {
        if let Some(site) = &loaded.site {
            let store = loaded.snapshot.site.config_store.as_deref().map(Path::new);
            for (what, path) in [
                ("journal", &files.journal),
                ("lock", &files.lock),
                ("backup folder", &files.backup),
            ] {
                if let Err(e) = crate::output::check_outside_site(path, site, store) {
                    pf.fail(format!("{what} location"), e.to_string());
                }
            }
        }
        for m in machines {
            for env in &m.envs {
                check_env(&plan.site_file, loaded, m, env, journal, &mut pf);
            }
        }
    }
    check_conda(machines, journal, &mut pf);
    check_api(machines, journal, admin, &mut pf);
    pf.add(
        "backup folder",
        writable_parent(&files.backup)
            .map(|d| format!("{} (in {d})", paths::display(&files.backup))),
    );
    if !pf.ok() {
        if let Some(left) = left_stopped(plan, journal) {
            pf.fail("services left stopped", left);
        }
    }
    (pf, loaded)
}

/// The services an earlier run stopped and never started again, and how
/// to start them: a refused run will not, so the admin must know.
fn left_stopped(plan: &MigrationPlan, journal: &Journal) -> Option<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for m in &plan.machines {
        for env in &m.envs {
            let (Some(stop), Some(start)) = (env.step(StepKind::Stop), env.step(StepKind::Start))
            else {
                continue;
            };
            if journal.is_done(&start.id) {
                continue;
            }
            let Some(Entry::End { services, .. }) = journal.last_end(&stop.id) else {
                continue;
            };
            let stopped: Vec<&str> = services
                .iter()
                .filter(|s| {
                    s.before.eq_ignore_ascii_case("STARTED")
                        && !s.after.eq_ignore_ascii_case("STARTED")
                })
                .map(|s| s.service.as_str())
                .collect();
            if stopped.is_empty() {
                continue;
            }
            let touched = env
                .step(StepKind::Proup)
                .is_some_and(|p| journal.was_begun(&p.id) || journal.is_done(&p.id));
            lines.push(format!(
                "{} ({}/{}{})",
                stopped.join(", "),
                m.machine,
                env.env,
                if touched {
                    ": its env was upgraded or is half-upgraded; fix or roll it back first"
                } else {
                    ": its env was not touched"
                }
            ));
            keys.extend(stopped.iter().map(|s| s.to_string()));
        }
    }
    if keys.is_empty() {
        return None;
    }
    let args: Vec<String> = keys.iter().map(|k| format!("--service '{k}'")).collect();
    Some(format!(
        "an earlier run stopped these and this run will not start them: {}; start them with `gpaudit restart {} {} --execute` (or in ArcGIS Server Manager)",
        lines.join("; "),
        plan.site_file,
        args.join(" ")
    ))
}

fn check_journal(plan: &MigrationPlan, journal: &Journal, options: &Options, pf: &mut Preflight) {
    let path = paths::display(journal.path());
    if journal.is_empty() {
        pf.add("journal", Ok(format!("{path} will be started")));
        return;
    }
    if !options.resume {
        pf.fail(
            "journal", format!(
                "{path} holds an earlier apply of this plan: pass --resume to go on from it, or move it away to start over"
            ));
        return;
    }
    if journal.plan_checksum() != Some(plan.checksum().as_str()) {
        pf.fail(
            "journal", format!(
                "{path} was written for another plan (or this plan was edited): it is left as it is; apply the plan it belongs to, or move it away"
            ));
        return;
    }
    let steps: Vec<(String, String)> = plan
        .machines
        .iter()
        .flat_map(|m| m.envs.iter())
        .flat_map(|e| e.steps.iter().map(move |s| (s.id.clone(), s.checksum(e))))
        .collect();
    for entry in journal.entries() {
        if let Entry::Begin { step, checksum, .. } | Entry::End { step, checksum, .. } = entry {
            if !steps.iter().any(|(id, c)| id == step && c == checksum) {
                pf.fail(
                    "journal", format!(
                        "{path}: step `{step}` does not match the plan's step of that id; the journal is not this plan's"
                    ));
                return;
            }
        }
    }
    let done = steps.iter().filter(|(id, _)| journal.is_done(id)).count();
    pf.add(
        "journal",
        Ok(format!(
            "{path}: resuming, {done} of {} step(s) already done",
            steps.len()
        )),
    );
}

fn check_env(
    site_file: &str,
    loaded: &Loaded,
    machine: &MachinePlan,
    env: &EnvPlan,
    journal: &Journal,
    pf: &mut Preflight,
) {
    let what = format!("env {}/{}", machine.machine, env.env);
    let site_dir = Path::new(site_file).parent().unwrap_or(Path::new("."));
    let Ok(m) = loaded.snapshot.find_machine(&machine.machine) else {
        pf.fail(what, "the machine is no longer in the site file");
        return;
    };
    let proup = env.step(StepKind::Proup);
    let proup_done = proup.is_some_and(|s| journal.is_done(&s.id));
    let proup_begun = proup.is_some_and(|s| journal.was_begun(&s.id));
    if let Some(Err(why)) = &env.here {
        pf.fail(
            what,
            format!("{} cannot be found on this machine: {why}", env.path),
        );
        return;
    }
    let found = m.env_at(env.here());
    let result = match (found, proup_done, proup_begun) {
        (_, true, _) => Ok("upgraded in an earlier run".to_string()),
        (None, _, true) => Err(Failed(format!(
            "{} is gone after its proup failed in an earlier run: get it back with `gpaudit rollback`, or re-create it, then resume",
            env.path
        ))),
        (Some(_), _, true) => Ok("its proup did not finish in an earlier run; it runs again".into()),
        (None, _, _) => Err(Failed(format!("{} no longer exists{}", env.path, here_too(env)))),
        (Some(e), _, _) => {
            let now = migrate::fingerprint(e);
            if now == env.fingerprint {
                Ok(format!("unchanged since the plan ({} packages)", e.packages.len() + e.pip.len()))
            } else {
                Err(Failed(format!(
                    "changed since the plan was made (fingerprint {} then, {} now): make a new plan",
                    short(&env.fingerprint),
                    short(&now)
                )))
            }
        }
    };
    let needs_room = result.is_ok() && !proup_done;
    pf.add(what, result);
    let env_lock = lock::env_lock_path(Path::new(env.here()));
    if let Some(holder) = lock::held_by(&env_lock) {
        pf.fail(
            format!("lock of {}/{}", machine.machine, env.env),
            format!(
                "{}: another gpaudit run is migrating this env ({holder})",
                paths::display(&env_lock)
            ),
        );
    }
    if let Some(p) = proup.filter(|_| !proup_done) {
        if let Some((pid, host, started)) = journal.unfinished_child(&p.id) {
            pf.add(
                format!("proup of {}/{}", machine.machine, env.env),
                orphan_verdict(pid, host, started),
            );
        }
    }
    let pending = env
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Stop | StepKind::Start) && !journal.is_done(&s.id));
    if pending && !env.services.is_empty() {
        let changed: Vec<&str> = env
            .services
            .iter()
            .filter(|s| {
                migrate::service_fingerprint(&loaded.snapshot, m, &s.key, site_dir) != s.fingerprint
            })
            .map(|s| s.key.as_str())
            .collect();
        pf.add(
            format!("services of {}/{}", machine.machine, env.env),
            if changed.is_empty() {
                Ok(format!("{} unchanged since the plan", env.services.len()))
            } else {
                Err(Failed(format!(
                    "changed since the plan was made (provider, condaEnvironmentPath or the env it runs in): {}; make a new plan",
                    changed.join(", ")
                )))
            },
        );
    }
    if needs_room {
        pf.add(
            format!("disk for {}/{}", machine.machine, env.env),
            disk_room(Path::new(env.here())),
        );
    }
}

/// A run that died in a proup left it running (it is in its own process
/// group): a second proup beside it would fight over the env.
fn orphan_verdict(pid: u32, host: &str, started: Option<&str>) -> Verdict {
    use super::child::{liveness, Liveness};
    if !host.eq_ignore_ascii_case(&lock::host_name()) {
        return Ok(format!(
            "the earlier run's conda proup (pid {pid}) ran on {host}: it cannot be checked from here; make sure it has ended"
        ));
    }
    match liveness(pid, started) {
        Liveness::Running => Err(Failed(format!(
            "the conda proup (pid {pid} on {host}) started by a run that did not finish still runs: wait for it to end (or end it), then resume"
        ))),
        Liveness::Gone => Ok(format!(
            "the earlier run's conda proup (pid {pid}) has ended"
        )),
        Liveness::Unknown => Ok(format!(
            "cannot tell whether the earlier run's conda proup (pid {pid}) still runs: make sure it has ended"
        )),
    }
}

/// ` (at PATH here)` when the env is read elsewhere than the server's path.
fn here_too(env: &EnvPlan) -> String {
    if paths::path_key(env.here()) == paths::path_key(&env.path) {
        String::new()
    } else {
        format!(" (at {} here)", env.here())
    }
}

fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(12).collect()
}

/// proup writes the env to `<envs>/<name>.tar.bz2` before re-creating it:
/// room for the env's size, uncompressed (the worst case), is required.
fn disk_room(env: &Path) -> Verdict {
    let size = dir_size(env);
    let parent = env.parent().unwrap_or(env);
    let free = fs4::available_space(parent).map_err(|e| {
        format!(
            "cannot read the free space of {}: {e}",
            paths::display(parent)
        )
    })?;
    let mib = |b: u64| b.div_ceil(1024 * 1024);
    if free > size {
        Ok(format!(
            "the archive needs up to {} MiB, {} MiB free",
            mib(size),
            mib(free)
        ))
    } else {
        Err(Failed(format!(
            "the proup archive needs up to {} MiB and only {} MiB are free on {}",
            mib(size),
            mib(free),
            paths::display(parent)
        )))
    }
}

/// The bytes of the files below `dir` (symlinks not followed).
pub(super) fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

fn check_conda(machines: &[&MachinePlan], journal: &Journal, pf: &mut Preflight) {
    // (as the plan writes it, where it is here, the python root here)
    let mut condas: BTreeSet<(String, String, String)> = BTreeSet::new();
    for m in machines {
        for e in &m.envs {
            if let Some(step) = e.step(StepKind::Proup).filter(|s| !journal.is_done(&s.id)) {
                let written = step.argv.as_ref().and_then(|a| a.first().cloned());
                let here = m.argv_here(e, step).and_then(|a| a.first().cloned());
                if let (Some(written), Some(here)) = (written, here) {
                    condas.insert((written, here, m.python_root_here().to_string()));
                }
            }
        }
    }
    for (written, conda, root) in condas {
        let what = if paths::path_key(&written) == paths::path_key(&conda) {
            format!("conda {conda}")
        } else {
            format!("conda {written} (at {conda} here)")
        };
        let result = exec::run(&CommandLine {
            argv: vec![conda.clone(), "--version".into()],
            cwd: Some(Path::new(&root).join("Scripts")),
            timeout: Duration::from_secs(60),
        });
        pf.add(
            what,
            match result {
                Ok(done) if done.success() => Ok(format!("answers: {}", done.stdout.trim())),
                Ok(done) => Err(Failed(format!(
                    "`--version` failed ({}): {}",
                    done.status(),
                    done.tail(3)
                ))),
                Err(e) => Err(Failed(format!(
                    "{e} (pass --conda to `gpaudit plan` to use another)"
                ))),
            },
        );
    }
}

fn check_api(
    machines: &[&MachinePlan],
    journal: &Journal,
    admin: Option<&mut dyn SiteAdmin>,
    pf: &mut Preflight,
) {
    let mut wanted: Vec<&str> = Vec::new();
    for m in machines {
        for e in &m.envs {
            let pending = e.steps.iter().any(|s| {
                matches!(s.kind, StepKind::Stop | StepKind::Start) && !journal.is_done(&s.id)
            });
            if pending {
                wanted.extend(e.services.iter().map(|s| s.key.as_str()));
            }
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return;
    }
    let Some(api) = admin else {
        pf.fail(
            "Administrator API", "the plan stops and starts services: give the API with [admin] in the site file or --url");
        return;
    };
    let listed = match api.info().and_then(|_| api.services()) {
        Ok(l) => l,
        Err(e) => {
            pf.fail("Administrator API", e.to_string());
            return;
        }
    };
    pf.add(
        "Administrator API",
        Ok(format!("signed in; {} services listed", listed.len())),
    );
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !listed.iter().any(|s| s.key().eq_ignore_ascii_case(w)))
        .collect();
    pf.add(
        "services",
        if missing.is_empty() {
            Ok(format!("all {} of the plan's services exist", wanted.len()))
        } else {
            Err(Failed(format!(
                "no longer on the site: {}",
                missing.join(", ")
            )))
        },
    );
}

/// The nearest existing folder at or above `path`, if it can be written to.
fn writable_parent(path: &Path) -> Verdict {
    let mut dir = path;
    loop {
        if dir.is_dir() {
            return match std::fs::metadata(dir) {
                Ok(m) if !m.permissions().readonly() => Ok(paths::display(dir)),
                _ => Err(Failed(format!(
                    "{} cannot be written to",
                    paths::display(dir)
                ))),
            };
        }
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p,
            _ => return Ok(".".into()),
        }
    }
}
