//! What each kind of plan step does when applied: `snapshot` saves the env's
//! package list, `stop` and `start` go through the Administrator API,
//! `proup` runs conda through the `exec` chokepoint, `verify` rescans the
//! site and checks the upgraded env.

use super::journal::{ServiceState, StepStatus};
use super::{EnvRun, Files, Options};
use crate::admin::{ServiceRef, SiteAdmin};
use crate::audit::{self, Loaded};
use crate::checks::{self, env_release, Context};
use crate::exec::{self, CommandLine, Finished};
use crate::finding::Code;
use crate::migrate::{EnvPlan, MachinePlan, MigrationPlan, PlanStep, StepKind};
use crate::model::{Env, Snapshot};
use crate::release::{ArcgisVersion, ReleaseTable};
use crate::restart::{start_and_wait, stop_and_wait};
use crate::{output, paths};
use rattler_conda_types::{ExplicitEnvironmentEntry, ExplicitEnvironmentSpec, PrefixRecord};
use std::path::{Path, PathBuf};

/// How a step ended.
#[derive(Debug)]
pub(super) struct Done {
    pub status: StepStatus,
    pub detail: String,
    pub output: Option<Finished>,
    pub services: Vec<ServiceState>,
}

impl Done {
    fn ok(detail: impl Into<String>) -> Done {
        Done {
            status: StepStatus::Done,
            detail: detail.into(),
            output: None,
            services: Vec::new(),
        }
    }

    fn failed(detail: impl Into<String>) -> Done {
        Done {
            status: StepStatus::Failed,
            detail: detail.into(),
            output: None,
            services: Vec::new(),
        }
    }
}

pub(super) struct StepContext<'a> {
    pub plan: &'a MigrationPlan,
    pub files: &'a Files,
    pub loaded: &'a Loaded,
    pub machine: &'a MachinePlan,
    pub env: &'a EnvPlan,
    pub options: &'a Options,
    /// The step was begun in an earlier run that never recorded its end.
    pub cut_short: bool,
    /// The step was begun in an earlier run (and did not finish).
    pub rerun: bool,
}

pub(super) fn run(
    ctx: &StepContext,
    step: &PlanStep,
    admin: Option<&mut dyn SiteAdmin>,
    state: &mut EnvRun,
    progress: &mut dyn FnMut(&str),
    on_spawn: &mut dyn FnMut(u32),
) -> Done {
    match step.kind {
        StepKind::Snapshot => snapshot(ctx),
        StepKind::Stop => {
            let done = stop(ctx, admin);
            state.services = done.services.clone();
            done
        }
        StepKind::Proup => proup(ctx, step, progress, on_spawn),
        StepKind::Verify => verify(ctx),
        StepKind::Start => start(ctx, admin, state),
    }
}

fn find_env<'s>(snapshot: &'s Snapshot, machine: &str, path: &str) -> Option<&'s Env> {
    snapshot.find_machine(machine).ok()?.env_at(path)
}

/// Save the env's package list: an explicit spec (`conda create --file`
/// can re-create it) and a gpaudit snapshot of the env, in the backup folder.
fn snapshot(ctx: &StepContext) -> Done {
    let Some(env) = find_env(&ctx.loaded.snapshot, &ctx.machine.machine, ctx.env.here()) else {
        return Done::failed(format!("{} is not there to snapshot", ctx.env.path));
    };
    let dir = ctx.files.backup_dir(&ctx.env.id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Done::failed(format!("cannot create {}: {e}", paths::display(&dir)));
    }
    let explicit = explicit_spec(ctx, env);
    let mut single = ctx.loaded.snapshot.clone();
    single
        .machines
        .retain(|m| m.name.eq_ignore_ascii_case(&ctx.machine.machine));
    for m in &mut single.machines {
        m.envs
            .retain(|e| paths::path_key(&e.path) == paths::path_key(ctx.env.here()));
    }
    let json = match serde_json::to_string_pretty(&single) {
        Ok(j) => j + "\n",
        Err(e) => return Done::failed(format!("cannot serialize the snapshot: {e}")),
    };
    let explicit_path = dir.join("explicit.txt");
    let snapshot_path = dir.join("snapshot.json");
    for (path, bytes) in [
        (&explicit_path, explicit.as_bytes()),
        (&snapshot_path, json.as_bytes()),
    ] {
        if let Err(e) = output::write_atomic(path, bytes) {
            return Done::failed(e.to_string());
        }
    }
    Done::ok(format!(
        "{} packages saved to {} and {}",
        env.packages.len() + env.pip.len(),
        paths::display(&explicit_path),
        paths::display(&snapshot_path)
    ))
}

/// `conda list --explicit` of the env, built with rattler from its
/// `conda-meta` records (URLs with tokens masked); pip packages and records
/// without a URL are listed as comments.
fn explicit_spec(ctx: &StepContext, env: &Env) -> String {
    let meta = Path::new(&env.path).join("conda-meta");
    let mut entries: Vec<(String, ExplicitEnvironmentEntry)> = Vec::new();
    let mut unlisted: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&meta)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for file in files {
        match PrefixRecord::from_path(&file) {
            Ok(r) => {
                let mut url = crate::redact::url(&r.repodata_record.url);
                if let Some(md5) = r.repodata_record.package_record.md5 {
                    let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
                    url.set_fragment(Some(&hex));
                }
                entries.push((
                    r.repodata_record
                        .package_record
                        .name
                        .as_normalized()
                        .to_string(),
                    ExplicitEnvironmentEntry { url },
                ));
            }
            Err(_) => unlisted.push(
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let spec = ExplicitEnvironmentSpec {
        platform: None,
        packages: entries.into_iter().map(|(_, e)| e).collect(),
    };
    let mut out = format!(
        "# env `{}` on {} at {}, saved by gpaudit apply before conda proup ({})\n# re-create it with: conda create -p <path> --file explicit.txt\n",
        ctx.env.env,
        ctx.machine.machine,
        ctx.env.path,
        super::journal::now()
    );
    for u in &unlisted {
        out.push_str(&format!("# no URL in its record, not listed: {u}\n"));
    }
    for d in &env.pip {
        out.push_str(&format!("# pip: {}=={}\n", d.name, d.version));
    }
    out.push_str(&spec.to_spec_string());
    out
}

fn service_refs(env: &EnvPlan) -> Vec<ServiceRef> {
    env.services
        .iter()
        .filter_map(|s| ServiceRef::parse(&s.key))
        .collect()
}

fn state_name(started: bool) -> String {
    if started { "STARTED" } else { "STOPPED" }.to_string()
}

/// Stop the env's services, recording which were running. If one cannot be
/// stopped, those already stopped are started again and the env is left
/// as it was: proup never runs under a running service.
fn stop(ctx: &StepContext, admin: Option<&mut dyn SiteAdmin>) -> Done {
    let services = service_refs(ctx.env);
    if services.is_empty() {
        return Done::ok("no GP service runs in it");
    }
    let Some(api) = admin else {
        return Done::failed("the Administrator API is needed to stop its services");
    };
    let timeout = ctx.options.service_timeout;
    let mut states: Vec<ServiceState> = Vec::new();
    let mut problem = None;
    for s in &services {
        let live = match api.status(s) {
            Ok(st) => st.is_started(),
            Err(e) => {
                problem = Some(format!("{s}: its state cannot be read: {e}"));
                break;
            }
        };
        // Run again after a run that died in it: a service that run had
        // already stopped counts as running, so start brings it back.
        let planned_running = ctx
            .env
            .services
            .iter()
            .any(|p| p.running && p.key.eq_ignore_ascii_case(&s.key()));
        let before = live || (ctx.rerun && planned_running);
        let mut state = ServiceState {
            service: s.key(),
            before: state_name(before),
            after: state_name(before),
            problem: String::new(),
        };
        if live {
            match stop_and_wait(api, s, timeout) {
                Ok(()) => state.after = state_name(false),
                Err(e) => {
                    state.problem = e.to_string();
                    state.after = match api.status(s) {
                        Ok(st) => st.real,
                        Err(_) => "unknown".into(),
                    };
                    states.push(state);
                    problem = Some(format!("{s}: {e}"));
                    break;
                }
            }
        }
        states.push(state);
    }
    let Some(problem) = problem else {
        let stopped: Vec<&str> = states
            .iter()
            .filter(|s| s.before == "STARTED")
            .map(|s| s.service.as_str())
            .collect();
        let mut done = Done::ok(if stopped.is_empty() {
            "none of its services was running".to_string()
        } else {
            format!("stopped {}", stopped.join(", "))
        });
        done.services = states;
        return done;
    };
    // Put back what this step stopped.
    let mut restarted = Vec::new();
    for st in states
        .iter_mut()
        .filter(|s| s.before == "STARTED" && s.after == "STOPPED")
    {
        if let Some(s) = ServiceRef::parse(&st.service) {
            let back = start_and_wait(api, &s, timeout).is_ok();
            st.after = state_name(back);
            if back {
                restarted.push(st.service.clone());
            } else {
                st.problem = "could not be started again".into();
            }
        }
    }
    let mut done = Done::failed(if restarted.is_empty() {
        format!("{problem}; the env is not upgraded")
    } else {
        format!(
            "{problem}; started again: {}; the env is not upgraded",
            restarted.join(", ")
        )
    });
    done.services = states;
    done
}

/// Rescan the site and find the env again.
fn rescan(ctx: &StepContext) -> Result<Loaded, crate::audit::InputError> {
    audit::load(&[PathBuf::from(&ctx.plan.site_file)])
}

fn release_of(env: &Env) -> Option<ArcgisVersion> {
    env_release(env, &ReleaseTable::builtin())
}

fn proup(
    ctx: &StepContext,
    step: &PlanStep,
    progress: &mut dyn FnMut(&str),
    on_spawn: &mut dyn FnMut(u32),
) -> Done {
    let Some(argv) = ctx
        .machine
        .argv_here(ctx.env, step)
        .filter(|a| !a.is_empty())
    else {
        return Done::failed("the plan gives no command line for this step");
    };
    if ctx.cut_short {
        // The run that began it died: if proup finished anyway, it is done.
        if let Ok(l) = rescan(ctx) {
            if let Some(env) = find_env(&l.snapshot, &ctx.machine.machine, ctx.env.here()) {
                if release_of(env).is_some_and(|r| r.to_string() == ctx.env.to_release) {
                    return Done::ok(format!(
                        "already at {} (the earlier run ended after proup did); not run again",
                        ctx.env.to_release
                    ));
                }
            }
        }
    }
    if !Path::new(ctx.env.here()).join("conda-meta").is_dir() {
        return Done::failed(format!(
            "{} is not a conda env now; nothing was run",
            ctx.env.path
        ));
    }
    // proup writes its archive over any earlier one: keep that (it may be
    // the only copy of the env before this migration).
    let kept = match super::rollback::keep_earlier_archive(ctx.env.here()) {
        Ok(k) => k,
        Err(e) => return Done::failed(format!("{e}; nothing was run")),
    };
    if let Some(k) = &kept {
        progress(&format!(
            "kept the earlier archive as {}",
            paths::display(k)
        ));
    }
    progress(&format!(
        "running {} (up to {}s)",
        step.argv.as_deref().unwrap_or_default().join(" "),
        ctx.options.proup_timeout.as_secs()
    ));
    let cmd = CommandLine {
        argv,
        cwd: Some(Path::new(ctx.machine.python_root_here()).join("Scripts")),
        timeout: ctx.options.proup_timeout,
    };
    match exec::run_watched(&cmd, on_spawn) {
        Err(e) => Done::failed(e.to_string()),
        Ok(done) if done.success() => Done {
            status: StepStatus::Done,
            detail: format!("conda proup finished in {:.0}s", done.seconds),
            output: Some(done),
            services: Vec::new(),
        },
        Ok(done) => Done {
            status: StepStatus::Failed,
            detail: format!("conda proup failed ({}): {}", done.status(), done.tail(1)),
            output: Some(done),
            services: Vec::new(),
        },
    }
}

/// Rescan: arcpy at the new release, pins and dependencies satisfied,
/// every package the admin had added (conda and pip) still there.
fn verify(ctx: &StepContext) -> Done {
    let loaded = match rescan(ctx) {
        Ok(l) => l,
        Err(e) => return Done::failed(format!("the site could not be rescanned: {e}")),
    };
    let Some(env) = find_env(&loaded.snapshot, &ctx.machine.machine, ctx.env.here()) else {
        return Done::failed(format!("{} is gone", ctx.env.path));
    };
    let mut problems = Vec::new();
    match release_of(env) {
        Some(r) if r.to_string() == ctx.env.to_release => {}
        Some(r) => problems.push(format!("arcpy is at {r}, not {}", ctx.env.to_release)),
        None => problems.push("no arcpy of a known release".to_string()),
    }
    let releases = ReleaseTable::builtin();
    let context = Context::new(&loaded.snapshot, &releases);
    let key = paths::path_key(ctx.env.here());
    for f in checks::run(&context) {
        let mine = f
            .machine
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(&ctx.machine.machine))
            && f.env_path
                .as_deref()
                .is_some_and(|p| paths::path_key(p) == key);
        let broken = matches!(
            f.code,
            Code::PinViolation
                | Code::DependencyMissing
                | Code::DependencyUnsatisfied
                | Code::ConstraintViolated
                | Code::EnvNotArcgis
                | Code::ScanError
        );
        if mine && broken {
            problems.push(format!("{}: {}", f.code, f.message));
        }
    }
    for added in &ctx.env.added {
        let name = added.split_whitespace().next().unwrap_or(added);
        if env.package(name).is_none() {
            problems.push(format!("`{name}`, added before, is gone"));
        }
    }
    for pip in &ctx.env.pip {
        let name = crate::model::normalize_dist_name(pip.split_whitespace().next().unwrap_or(pip));
        if !env
            .pip
            .iter()
            .any(|d| crate::model::normalize_dist_name(&d.name) == name)
        {
            problems.push(format!("pip package `{name}`, installed before, is gone"));
        }
    }
    if problems.is_empty() {
        Done::ok(format!(
            "arcpy at {}; pins and dependencies satisfied; {} added and {} pip package(s) there",
            ctx.env.to_release,
            ctx.env.added.len(),
            ctx.env.pip.len()
        ))
    } else {
        Done::failed(problems.join("; "))
    }
}

/// Start the services the stop step found running (or, if its record is
/// missing, those the plan saw running).
fn start(ctx: &StepContext, admin: Option<&mut dyn SiteAdmin>, state: &EnvRun) -> Done {
    let keys: Vec<String> = if state.services.is_empty() {
        ctx.env
            .services
            .iter()
            .filter(|s| s.running)
            .map(|s| s.key.clone())
            .collect()
    } else {
        state
            .services
            .iter()
            .filter(|s| s.before == "STARTED")
            .map(|s| s.service.clone())
            .collect()
    };
    if keys.is_empty() {
        return Done::ok("nothing was running");
    }
    let Some(api) = admin else {
        return Done::failed("the Administrator API is needed to start its services");
    };
    let timeout = ctx.options.service_timeout;
    let mut states = Vec::new();
    let mut failed = Vec::new();
    let mut started = Vec::new();
    for key in &keys {
        let Some(s) = ServiceRef::parse(key) else {
            continue;
        };
        let (after, problem) = match start_and_wait(api, &s, timeout) {
            Ok(on) => {
                started.push(format!("{key} ({on})"));
                ("STARTED".to_string(), String::new())
            }
            Err(e) => {
                failed.push(format!("{key}: {e}"));
                // `started on GIS1, failed on GIS2`: the site says STARTED.
                let after = if matches!(e, crate::restart::WaitError::SomeMachines(_)) {
                    "STARTED"
                } else {
                    "unknown"
                };
                (after.to_string(), e.to_string())
            }
        };
        states.push(ServiceState {
            service: key.clone(),
            before: "STOPPED".into(),
            after,
            problem,
        });
    }
    let mut done = if failed.is_empty() {
        Done::ok(format!("started {}", started.join(", ")))
    } else {
        Done::failed(format!("not started: {}", failed.join("; ")))
    };
    done.services = states;
    done
}
