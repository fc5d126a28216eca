//! The post-upgrade migration end to end: a two-machine site "upgraded"
//! from 11.1 to 11.3 (`common/upgrade_site.rs`), the stand-in conda
//! (`examples/fake_conda.rs`) in each machine's `Scripts`, and the stand-in
//! ArcGIS Server. `plan`, then `apply` dry and executed; a proup failure and
//! rollback; a crash and `--resume`; an env changed after the plan; Ctrl-C.
//! Over 600 lines: each test drives the same site through a whole run, and
//! splitting them would scatter the shared fixtures' setup.

#![allow(clippy::unwrap_used)]

mod common;
use common::admin_server::{services_from, Server, PASSWORD, USER};
use common::upgrade_site::UpgradeSite;
use common::*;
use std::path::PathBuf;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

struct Fixture {
    site: UpgradeSite,
    server: Server,
    out: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let site = UpgradeSite::new();
        let server = Server::start(services_from(&site.store()), false);
        let fx = Fixture {
            site,
            server,
            out: tempfile::tempdir().unwrap(),
        };
        let r = fx.gpaudit(
            &[
                "plan",
                fx.site_arg(),
                "--format",
                "json",
                "-o",
                fx.plan_arg(),
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.all());
        fx
    }

    fn site_arg(&self) -> &str {
        Box::leak(
            self.site
                .site_file()
                .to_string_lossy()
                .into_owned()
                .into_boxed_str(),
        )
    }

    fn plan(&self) -> PathBuf {
        self.out.path().join("plan.json")
    }

    fn plan_arg(&self) -> &str {
        Box::leak(self.plan().to_string_lossy().into_owned().into_boxed_str())
    }

    fn journal(&self) -> PathBuf {
        self.out.path().join("plan.journal.jsonl")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gpaudit"));
        cmd.args(args);
        // rollback works on disk only: it takes no API.
        if args.first() != Some(&"rollback") {
            cmd.args(["--url", &self.server.url, "--username", USER]);
        }
        cmd.env("GPAUDIT_PASSWORD", PASSWORD)
            .env_remove("FAKE_CONDA_FAIL");
        for (k, v) in self.site.conda_env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn gpaudit(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self.command(args, env).output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.all().contains(PASSWORD), "password in output");
        run
    }

    fn apply(&self, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args = vec!["apply", self.plan_arg()];
        args.extend_from_slice(extra);
        self.gpaudit(&args, env)
    }

    fn actions(&self) -> Vec<String> {
        self.server.state.lock().unwrap().actions.clone()
    }

    fn real_state(&self, key: &str) -> String {
        self.server.state.lock().unwrap().services[key].real.clone()
    }

    fn proups(&self) -> Vec<String> {
        self.site
            .conda_calls()
            .into_iter()
            .filter(|c| c.first().is_some_and(|a| a == "proup"))
            .map(|c| c.join(" "))
            .collect()
    }

    fn journal_entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.journal())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Each step id with its last recorded end status.
    fn step_status(&self, step: &str) -> Option<String> {
        self.journal_entries()
            .iter()
            .rev()
            .find(|e| e["event"] == "end" && e["step"] == step)
            .map(|e| e["status"].as_str().unwrap().to_string())
    }

    fn arcpy(&self, machine_dir: &str, env: &str) -> Option<String> {
        let meta = self.site.env_dir(machine_dir, env).join("conda-meta");
        std::fs::read_dir(meta).ok()?.flatten().find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("arcpy-")
                .filter(|r| !r.starts_with("base"))
                .and_then(|r| r.split('-').next())
                .map(str::to_string)
        })
    }
}

fn count(list: &[String], item: &str) -> usize {
    list.iter().filter(|a| a.as_str() == item).count()
}

const ALL_STEPS: [&str; 5] = ["1-snapshot", "2-stop", "3-proup", "4-verify", "5-start"];

#[test]
fn plan_then_apply_upgrades_every_clone_and_restarts_what_ran() {
    let fx = Fixture::new();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.plan()).unwrap()).unwrap();
    let envs: Vec<String> = plan["machines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m["envs"].as_array().unwrap().iter().map(move |e| {
                format!(
                    "{}/{}",
                    m["machine"].as_str().unwrap(),
                    e["env"].as_str().unwrap()
                )
            })
        })
        .collect();
    assert_eq!(
        envs,
        ["GIS1/hydro", "GIS1/survey", "GIS2/hydro", "GIS2/survey"]
    );

    // The dry run checks everything and changes nothing.
    let dry = fx.apply(&[], &[]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    for want in [
        "Preflight",
        "conda",
        "Administrator API",
        "unchanged since the plan",
        "dry run",
    ] {
        assert!(dry.stdout.contains(want), "{want} not in\n{}", dry.stdout);
    }
    assert!(!dry.stdout.contains("FAILED"), "{}", dry.stdout);
    assert!(fx.proups().is_empty());
    assert!(fx.actions().is_empty());
    assert!(!fx.journal().exists());

    let run = fx.apply(&["--execute"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    // Each clone upgraded once, with the command Esri documents.
    assert_eq!(
        fx.proups(),
        [
            "proup -n hydro",
            "proup -n survey",
            "proup -n hydro",
            "proup -n survey"
        ]
    );
    for m in ["gis1", "gis2"] {
        for e in ["hydro", "survey"] {
            assert_eq!(fx.arcpy(m, e).as_deref(), Some("3.3"), "{m}/{e}");
        }
    }
    // Machines one at a time; Ebb was stopped and stays stopped.
    assert_eq!(
        fx.actions(),
        [
            "stop Hydro/Flood.GPServer",
            "start Hydro/Flood.GPServer",
            "stop Survey/Tally.GPServer",
            "start Survey/Tally.GPServer",
            "stop Hydro/Flood.GPServer",
            "start Hydro/Flood.GPServer",
            "stop Survey/Tally.GPServer",
            "start Survey/Tally.GPServer",
        ]
    );
    assert_eq!(fx.real_state("Hydro/Ebb.GPServer"), "STOPPED");
    // The journal is complete: every step done, with its checksum.
    for m in ["GIS1", "GIS2"] {
        for e in ["hydro", "survey"] {
            for s in ALL_STEPS {
                let id = format!("{m}/{e}/{s}");
                assert_eq!(fx.step_status(&id).as_deref(), Some("done"), "{id}");
            }
        }
    }
    assert!(fx
        .journal_entries()
        .iter()
        .filter(|e| e["event"] == "end")
        .all(|e| e["checksum"].as_str().unwrap().len() == 64));
    assert_eq!(fx.journal_entries().last().unwrap()["event"], "finished");
    // No secret reached conda or the journal.
    let log = std::fs::read_to_string(fx.site.conda_log()).unwrap();
    assert!(!log.contains("\"saw_password\":true"), "{log}");
    let journal = std::fs::read_to_string(fx.journal()).unwrap();
    assert!(!journal.contains(PASSWORD));
    for token in fx.server.state.lock().unwrap().tokens.keys() {
        assert!(!journal.contains(token.as_str()));
    }
    // The backups are there, and verify passed on the added packages.
    let backup = fx.out.path().join("plan.backup/GIS1/hydro");
    let explicit = std::fs::read_to_string(backup.join("explicit.txt")).unwrap();
    assert!(
        explicit.contains("@EXPLICIT") && explicit.contains("numba-0.56.4"),
        "{explicit}"
    );
    assert!(backup.join("snapshot.json").is_file());
    assert!(
        run.stdout.contains("1 added and 1 pip package(s) there"),
        "{}",
        run.stdout
    );
    // Nothing was left behind but the journal and backups.
    let lock = fx.out.path().join("upgraded.gpaudit-apply.lock");
    assert_eq!(
        std::fs::read_to_string(lock).unwrap(),
        "",
        "the lock is free"
    );

    // Again without --resume: refused, the journal is kept.
    let again = fx.apply(&["--execute"], &[]);
    assert_eq!(again.code, 1);
    assert!(again.stdout.contains("pass --resume"), "{}", again.all());
    // With --resume: nothing left to do, nothing run twice.
    let resumed = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert_eq!(fx.proups().len(), 4);
    assert_eq!(fx.actions().len(), 8);

    // The audit agrees: no clone is behind any more.
    let (report, _) = audit_json(&[fx.site_arg()]);
    assert!(
        findings(&report, "env-release-mismatch").is_empty(),
        "{report}"
    );
}

#[test]
fn a_failed_proup_keeps_its_services_stopped_and_rollback_restores_the_env() {
    let fx = Fixture::new();
    let run = fx.apply(&["--execute"], &[("FAKE_CONDA_FAIL", "crash:survey")]);
    assert_eq!(run.code, 1, "{}", run.all());
    // The other env is done on both machines.
    for m in ["GIS1", "GIS2"] {
        assert_eq!(
            fx.step_status(&format!("{m}/hydro/5-start")).as_deref(),
            Some("done")
        );
        assert_eq!(
            fx.step_status(&format!("{m}/survey/3-proup")).as_deref(),
            Some("failed")
        );
        assert_eq!(
            fx.step_status(&format!("{m}/survey/4-verify")).as_deref(),
            Some("skipped")
        );
        assert_eq!(
            fx.step_status(&format!("{m}/survey/5-start")).as_deref(),
            Some("skipped")
        );
    }
    // Tally is not started on the broken env, and the report says so.
    assert!(!fx
        .actions()
        .contains(&"start Survey/Tally.GPServer".to_string()));
    assert_eq!(fx.real_state("Survey/Tally.GPServer"), "STOPPED");
    for want in [
        "Failed envs",
        "GIS1/survey",
        "simulated crash",
        "survey.tar.bz2",
        "gpaudit rollback",
        "was running and is not",
    ] {
        assert!(run.stdout.contains(want), "{want} not in\n{}", run.stdout);
    }
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STARTED");

    // Rollback: a dry run first, then the old env back from proup's archive.
    let dry = fx.gpaudit(&["rollback", fx.plan_arg()], &[]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout.contains("GIS1/survey") && dry.stdout.contains("dry run"),
        "{}",
        dry.stdout
    );
    assert_ne!(
        fx.arcpy("gis1", "survey").as_deref(),
        Some("3.1"),
        "still the half-made env"
    );
    let rolled = fx.gpaudit(&["rollback", fx.plan_arg(), "--execute"], &[]);
    assert_eq!(rolled.code, 0, "{}", rolled.all());
    for (m, machine) in [("gis1", "GIS1"), ("gis2", "GIS2")] {
        assert_eq!(fx.arcpy(m, "survey").as_deref(), Some("3.1"), "{m}");
        // The half-made env is kept aside in the backup folder, out of the
        // site, not deleted.
        let backup = fx.out.path().join(format!("plan.backup/{machine}/survey"));
        assert!(std::fs::read_dir(backup)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("replaced-")));
    }
    // hydro was fine: rollback left it alone.
    assert_eq!(fx.arcpy("gis1", "hydro").as_deref(), Some("3.3"));
}

#[test]
fn a_proup_run_again_keeps_the_first_archive_for_rollback() {
    let fx = Fixture::new();
    let failed = fx.apply(
        &["--execute", "--machine", "GIS1"],
        &[("FAKE_CONDA_FAIL", "crash:survey")],
    );
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.stdout.contains("exit 3"), "{}", failed.all());
    // Resumed: survey's proup runs again on the half-made env, and its
    // archive of that env must not replace the one of the 11.1 env.
    let resumed = fx.apply(&["--execute", "--resume", "--machine", "GIS1"], &[]);
    assert!(
        resumed.stdout.contains("kept the earlier archive"),
        "{}",
        resumed.all()
    );
    let rolled = fx.gpaudit(
        &[
            "rollback",
            fx.plan_arg(),
            "--machine",
            "GIS1",
            "--env",
            "survey",
            "--execute",
        ],
        &[],
    );
    assert_eq!(rolled.code, 0, "{}", rolled.all());
    assert!(
        rolled.stdout.contains(".gpaudit-kept-"),
        "{}",
        rolled.stdout
    );
    assert_eq!(fx.arcpy("gis1", "survey").as_deref(), Some("3.1"));
}

#[test]
fn a_hung_proup_is_killed_at_its_timeout_and_the_run_goes_on() {
    let fx = Fixture::new();
    let run = fx.apply(
        &["--execute", "--machine", "GIS1", "--proup-timeout", "1"],
        &[("FAKE_CONDA_FAIL", "hang:hydro")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("killed after 1s (timeout)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        fx.step_status("GIS1/hydro/3-proup").as_deref(),
        Some("failed")
    );
    assert_eq!(
        fx.step_status("GIS1/survey/5-start").as_deref(),
        Some("done")
    );
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STOPPED");
}

#[test]
fn a_conflict_touches_nothing_and_stop_on_failure_stops_the_run() {
    let fx = Fixture::new();
    let run = fx.apply(
        &["--execute", "--stop-on-failure"],
        &[("FAKE_CONDA_FAIL", "conflict:hydro")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("UnsatisfiableError"), "{}", run.stdout);
    // Only GIS1's hydro was tried; the rest of the site is untouched.
    assert_eq!(fx.proups(), ["proup -n hydro"]);
    assert_eq!(fx.arcpy("gis1", "hydro").as_deref(), Some("3.1"));
    assert_eq!(fx.step_status("GIS1/survey/1-snapshot"), None);
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STOPPED");
    assert!(
        run.stdout.contains("no proup archive was found"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_env_changed_after_the_plan_is_refused() {
    let fx = Fixture::new();
    // Someone installs a package into GIS2's hydro after the plan was made.
    let meta = fx.site.env_dir("gis2", "hydro").join("conda-meta");
    std::fs::write(
        meta.join("tqdm-4.66.1-py39_0.json"),
        r#"{"name":"tqdm","version":"4.66.1","build":"py39_0","build_number":0,"depends":[],"subdir":"win-64"}"#,
    )
    .unwrap();
    for args in [&[][..], &["--execute"][..]] {
        let run = fx.apply(args, &[]);
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stdout.contains("changed since the plan was made"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("GIS2/hydro"), "{}", run.stdout);
    }
    assert!(fx.proups().is_empty());
    assert!(fx.actions().is_empty());
    assert!(!fx.journal().exists());
    // Only GIS1's part can still go ahead.
    let gis1 = fx.apply(&["--machine", "GIS1"], &[]);
    assert_eq!(gis1.code, 0, "{}", gis1.all());

    // A service moved to another env after the plan is refused too.
    let json = fx
        .site
        .store()
        .join("services/Survey/Tally.GPServer/Tally.GPServer.json");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::write(&json, text.replace("\"survey\"", "\"hydro\"")).unwrap();
    let moved = fx.apply(&["--machine", "GIS1"], &[]);
    assert_eq!(moved.code, 1, "{}", moved.all());
    assert!(
        moved
            .stdout
            .contains("FAILED services of GIS1/survey: changed since the plan"),
        "{}",
        moved.stdout
    );
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed().as_secs() < 60,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Kill process `pid` outright (SIGKILL; TerminateProcess on Windows).
fn kill_hard(pid: u32) {
    if cfg!(windows) {
        // On Windows gpaudit's Job Object has already killed its conda when
        // gpaudit died: taskkill then finds nothing, which is fine.
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/PID", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    } else {
        let ok = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -9 {pid}");
    }
}

/// Send Ctrl-C to a gpaudit started by `interruptible`: SIGINT on Unix, a
/// Ctrl-Break to its console process group on Windows (Ctrl-C cannot be
/// sent to a single process group there).
#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT {}", child.id());
}

#[cfg(windows)]
#[allow(unsafe_code)] // test-only: the one Win32 call with no std wrapper
fn interrupt(child: &std::process::Child) {
    use windows_sys::Win32::System::Console::{GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT};
    // SAFETY: a plain call with two integers; the group id is the pid of
    // a child started with CREATE_NEW_PROCESS_GROUP.
    let ok = unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) };
    assert!(
        ok != 0,
        "GenerateConsoleCtrlEvent: {}",
        std::io::Error::last_os_error()
    );
}

/// Start gpaudit so that `interrupt` can reach it alone.
#[cfg_attr(windows, allow(unsafe_code))]
fn interruptible(cmd: &mut std::process::Command) -> &mut std::process::Command {
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        use windows_sys::Win32::System::Console::{AllocConsole, SetConsoleCtrlHandler};
        // The test process shares the new console: it keeps running
        // whatever event reaches it.
        unsafe extern "system" fn ignore(_event: u32) -> windows_sys::core::BOOL {
            1
        }
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        // Console events travel within a console: the test runner may
        // have none (output to pipes), so make one for gpaudit to inherit.
        // SAFETY: calls without pointers; AllocConsole fails harmlessly
        // when there is a console already; `ignore` is a plain function.
        unsafe {
            let _ = AllocConsole();
            let _ = SetConsoleCtrlHandler(Some(ignore), 1);
        }
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    cmd
}

#[test]
fn a_crash_mid_apply_resumes_without_running_a_finished_step_twice() {
    let fx = Fixture::new();
    let pidfile = fx.out.path().join("conda.pid");
    let pidfile_arg = pidfile.to_string_lossy().into_owned();
    let mut child = fx
        .command(
            &["apply", fx.plan_arg(), "--execute"],
            &[
                ("FAKE_CONDA_FAIL", "hang:survey"),
                ("FAKE_CONDA_PIDFILE", &pidfile_arg),
            ],
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the hung proup", || pidfile.is_file());
    // gpaudit dies mid-step (power cut, killed), and so does its conda.
    child.kill().unwrap();
    child.wait().unwrap();
    let conda_pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill_hard(conda_pid);
    assert_eq!(
        fx.step_status("GIS1/hydro/5-start").as_deref(),
        Some("done")
    );
    assert_eq!(fx.step_status("GIS1/survey/3-proup"), None);
    let lock = fx.out.path().join("upgraded.gpaudit-apply.lock");
    assert!(lock.exists(), "the dead run's lock is left behind");

    let resumed = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(resumed.stdout.contains("stale lock"), "{}", resumed.stdout);
    assert!(
        resumed.stdout.contains("cut short in an earlier run"),
        "{}",
        resumed.stdout
    );
    // GIS1's hydro was not upgraded again; GIS1's survey proup (killed) ran
    // again; GIS2 ran once.
    assert_eq!(
        fx.proups(),
        [
            "proup -n hydro",
            "proup -n survey",
            "proup -n survey",
            "proup -n hydro",
            "proup -n survey"
        ]
    );
    let actions = fx.actions();
    assert_eq!(count(&actions, "stop Hydro/Flood.GPServer"), 2);
    assert_eq!(count(&actions, "start Hydro/Flood.GPServer"), 2);
    // Tally was stopped by the dead run; the resumed one starts it.
    assert_eq!(count(&actions, "stop Survey/Tally.GPServer"), 2);
    assert_eq!(count(&actions, "start Survey/Tally.GPServer"), 2);
    assert_eq!(fx.real_state("Survey/Tally.GPServer"), "STARTED");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine 8.0 cannot deliver console events (GenerateConsoleCtrlEvent fails, error 12); on Windows run with --ignored"
)]
fn ctrl_c_finishes_the_current_step_then_stops() {
    let fx = Fixture::new();
    let mut cmd = fx.command(
        &["apply", fx.plan_arg(), "--execute"],
        &[("FAKE_CONDA_FAIL", "slow:hydro:1500")],
    );
    let child = interruptible(&mut cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal = fx.journal();
    wait_for("GIS1's proup to begin", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"GIS1/hydro/3-proup\""))
    });
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--resume"), "{stdout}");
    // The proup under way was not cut: it finished and was journaled.
    assert_eq!(
        fx.step_status("GIS1/hydro/3-proup").as_deref(),
        Some("done")
    );
    assert_eq!(fx.step_status("GIS1/hydro/4-verify"), None);
    assert_eq!(fx.journal_entries().last().unwrap()["event"], "interrupted");
    assert_eq!(fx.proups(), ["proup -n hydro"]);
    // The report does not hide the stopped service.
    assert!(stdout.contains("was running and is not"), "{stdout}");
    let resumed = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert_eq!(fx.proups().len(), 4);
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STARTED");
}

#[test]
fn a_lock_held_by_a_running_apply_is_respected() {
    let fx = Fixture::new();
    let lock = fx.out.path().join("upgraded.gpaudit-apply.lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.try_lock().unwrap();
    std::fs::write(&lock, "pid 4242\nhost gis-admin\n").unwrap();
    let run = fx.apply(&["--execute"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("pid 4242"), "{}", run.stdout);
    assert!(fx.proups().is_empty());
    drop(file);
}

#[test]
fn a_bad_plan_or_journal_is_a_clear_error_and_nothing_runs() {
    let fx = Fixture::new();
    let bad = fx.out.path().join("notes.json");
    std::fs::write(&bad, "{\"kind\": \"gpaudit-report\"}").unwrap();
    let run = fx.gpaudit(&["apply", bad.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("notes.json: not a migration plan"),
        "{}",
        run.stderr
    );
    std::fs::write(
        fx.journal(),
        "garbage\n{\"event\":\"interrupted\",\"at\":\"x\"}\n",
    )
    .unwrap();
    let run = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("plan.journal.jsonl: line 1"),
        "{}",
        run.stderr
    );
    assert!(fx.proups().is_empty());
    assert!(fx.actions().is_empty());
}

#[test]
fn a_start_that_fails_on_one_machine_is_reported_per_machine() {
    let fx = Fixture::new();
    fx.server.state.lock().unwrap().faults.machine_fails = vec!["GIS2.EXAMPLE.COM".into()];
    let run = fx.apply(&["--execute", "--stop-on-failure", "--timeout", "1"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    // The site says STARTED; the step says where it is not.
    assert!(
        run.stdout.contains(
            "Hydro/Flood.GPServer: started on GIS1.EXAMPLE.COM, GIS3.EXAMPLE.COM, failed on GIS2.EXAMPLE.COM"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STARTED");
}

/// Start an apply whose proup of GIS1's survey hangs, kill gpaudit in it
/// (its conda goes on, in its own process group): the conda's pid.
#[cfg(unix)]
fn kill_apply_in_survey_proup(fx: &Fixture) -> u32 {
    let pidfile = fx.out.path().join("conda.pid");
    let pidfile_arg = pidfile.to_string_lossy().into_owned();
    let mut child = fx
        .command(
            &["apply", fx.plan_arg(), "--execute"],
            &[
                ("FAKE_CONDA_FAIL", "hang:survey"),
                ("FAKE_CONDA_PIDFILE", &pidfile_arg),
            ],
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the hung proup", || pidfile.is_file());
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn regression_refused_resume_lists_the_services_the_dead_run_left_stopped() {
    let fx = Fixture::new();
    let conda_pid = kill_apply_in_survey_proup(&fx);
    kill_hard(conda_pid);
    assert_eq!(fx.real_state("Survey/Tally.GPServer"), "STOPPED");
    // Someone changes an env before the resume: it is refused.
    let meta = fx.site.env_dir("gis2", "hydro").join("conda-meta");
    std::fs::write(
        meta.join("tqdm-4.66.1-py39_0.json"),
        r#"{"name":"tqdm","version":"4.66.1","build":"py39_0","build_number":0,"depends":[],"subdir":"win-64"}"#,
    )
    .unwrap();
    let refused = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stdout.contains("changed since the plan was made"),
        "{}",
        refused.stdout
    );
    // The admin is told what the dead run left stopped, and how to start it.
    assert!(
        refused
            .stdout
            .contains("FAILED services left stopped: an earlier run stopped these"),
        "{}",
        refused.stdout
    );
    assert!(
        refused
            .stdout
            .contains("Survey/Tally.GPServer (GIS1/survey"),
        "{}",
        refused.stdout
    );
    assert!(
        refused
            .stdout
            .contains("--service 'Survey/Tally.GPServer' --execute"),
        "{}",
        refused.stdout
    );
    assert_eq!(fx.real_state("Survey/Tally.GPServer"), "STOPPED");
}

/// `cmd` run under `prlimit --fsize=BYTES` with SIGXFSZ ignored: no file
/// it writes can grow past `bytes` (EFBIG, as a full disk gives ENOSPC).
#[cfg(target_os = "linux")]
fn with_file_size_limit(cmd: &std::process::Command, bytes: usize) -> std::process::Command {
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "trap '' XFSZ; exec prlimit --fsize={bytes} \"$0\" \"$@\""
        ))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh
}

#[cfg(target_os = "linux")]
#[test]
fn regression_journal_write_failure_after_a_stop_restarts_and_reports_services() {
    let fx = Fixture::new();
    // A first run whose stop of GIS1's hydro fails: its snapshot is done
    // (so the resume writes no backup file), its stop is still to do.
    fx.server
        .state
        .lock()
        .unwrap()
        .faults
        .stop_fails
        .push("Hydro/Flood.GPServer".into());
    let first = fx.apply(&["--execute", "--stop-on-failure"], &[]);
    assert_eq!(first.code, 1, "{}", first.all());
    fx.server.state.lock().unwrap().faults.stop_fails.clear();
    let before = fx.actions().len();
    let journal = std::fs::read_to_string(fx.journal()).unwrap();
    let line = |prefix: &str| {
        journal
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in\n{journal}"))
            .len()
            + 1
    };
    // The resume appends its run line (longer by " --resume"), the stop's
    // begin line, then the stop's end line: let the disk fill inside that.
    let room = journal.len()
        + line(r#"{"event":"run""#)
        + " --resume".len()
        + line(r#"{"event":"begin","step":"GIS1/hydro/2-stop""#)
        + 40;
    let cmd = fx.command(&["apply", fx.plan_arg(), "--execute", "--resume"], &[]);
    let out = with_file_size_limit(&cmd, room).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write the journal"), "{stderr}");
    // The services were stopped, the stop's end could not be journaled:
    // the env was not touched, so they are started again, and the report
    // shows them with the next step.
    let actions = fx.actions()[before..].to_vec();
    assert!(
        actions.contains(&"stop Hydro/Flood.GPServer".to_string()),
        "{actions:?}"
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("start Hydro/Flood.GPServer"),
        "{actions:?}\n{stdout}"
    );
    assert_eq!(fx.real_state("Hydro/Flood.GPServer"), "STARTED");
    assert!(fx.proups().is_empty(), "{:?}", fx.proups());
    assert!(stdout.contains("Services:"), "{stdout}");
    assert!(stdout.contains("started again"), "{stdout}");
    assert!(stdout.contains("--execute --resume"), "{stdout}");
}

#[cfg(target_os = "linux")]
#[test]
fn regression_resume_while_the_dead_runs_proup_still_runs_is_refused() {
    let fx = Fixture::new();
    let conda_pid = kill_apply_in_survey_proup(&fx);
    let journaled = fx
        .journal_entries()
        .into_iter()
        .find(|e| e["event"] == "child" && e["step"] == "GIS1/survey/3-proup")
        .expect("the proup's pid is journaled");
    assert_eq!(journaled["pid"].as_u64(), Some(u64::from(conda_pid)));
    assert!(journaled["host"].as_str().is_some_and(|h| !h.is_empty()));

    let refused = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stdout.contains(&format!(
            "FAILED proup of GIS1/survey: the conda proup (pid {conda_pid}"
        )),
        "{}",
        refused.stdout
    );
    assert_eq!(fx.proups(), ["proup -n hydro", "proup -n survey"]);

    kill_hard(conda_pid);
    wait_for("the orphan to end", || {
        !std::path::Path::new(&format!("/proc/{conda_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{conda_pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    let resumed = fx.apply(&["--execute", "--resume"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(resumed.stdout.contains("has ended"), "{}", resumed.stdout);
}

#[cfg(unix)]
#[test]
fn regression_a_copy_of_the_plan_elsewhere_cannot_migrate_the_same_envs_at_once() {
    let fx = Fixture::new();
    let pidfile = fx.out.path().join("conda.pid");
    let pidfile_arg = pidfile.to_string_lossy().into_owned();
    let mut first = fx
        .command(
            &["apply", fx.plan_arg(), "--execute"],
            &[
                ("FAKE_CONDA_FAIL", "hang:hydro"),
                ("FAKE_CONDA_PIDFILE", &pidfile_arg),
            ],
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first run's proup", || pidfile.is_file());
    // The same plan, copied to another folder: its own journal and plan
    // lock, but the same envs.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("plan.json");
    std::fs::copy(fx.plan(), &copy).unwrap();
    let copy_arg = copy.to_string_lossy().into_owned();
    for extra in [&[][..], &["--execute"][..]] {
        let mut args = vec!["apply", copy_arg.as_str()];
        args.extend_from_slice(extra);
        let second = fx.gpaudit(&args, &[]);
        assert_eq!(second.code, 1, "{}", second.all());
        assert!(
            second
                .stdout
                .contains("another gpaudit run is migrating this env"),
            "{}",
            second.all()
        );
    }
    assert_eq!(fx.proups(), ["proup -n hydro"]);
    first.kill().unwrap();
    first.wait().unwrap();
    let conda_pid = std::fs::read_to_string(&pidfile).unwrap();
    kill_hard(conda_pid.trim().parse().unwrap());
}
