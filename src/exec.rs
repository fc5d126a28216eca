//! The one place gpaudit runs an external command (conda): an argument
//! list, never a shell string; a timeout after which the command is killed;
//! its output captured (tail-capped, secrets masked) for the journal. The
//! child runs in its own process group, so a Ctrl-C at the console reaches
//! gpaudit only and a half-done `conda proup` is never interrupted from
//! under it. A timeout kills the child's whole tree (its process group on
//! Unix, its Job Object on Windows), and the tree is checked to be gone
//! before the command is reported killed.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How much of each stream is kept: the last bytes, where errors are.
const KEEP: usize = 256 * 1024;

/// Environment variables no child may see (the one holding the
/// administrator's password, whatever its name).
static HIDDEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Keep the environment variable `name` from every command run from now on.
pub fn hide_from_children(name: &str) {
    if let Ok(mut hidden) = HIDDEN.lock() {
        if !hidden.iter().any(|h| h == name) {
            hidden.push(name.to_string());
        }
    }
}

/// A command to run.
#[derive(Clone, Debug)]
pub struct CommandLine {
    pub argv: Vec<String>,
    /// The working directory (conda is run from its own `Scripts` folder).
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
}

/// A command that ran to its end (whatever its exit code) or was killed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Finished {
    pub argv: Vec<String>,
    /// The exit code; `None` when killed by a signal or by the timeout.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub seconds: f64,
    pub stdout: String,
    pub stderr: String,
    /// After a timeout: how many processes of its tree were still running
    /// when gpaudit gave up killing them (0: the whole tree is gone).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub survivors: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// A one-line account: `exit 1`, `killed after 3600s`.
    pub fn status(&self) -> String {
        match (self.timed_out, self.code) {
            (true, _) if self.survivors > 0 => format!(
                "timed out after {:.0}s, but {} of the processes it started could not be killed and may still be running",
                self.seconds, self.survivors
            ),
            (true, _) => format!("killed after {:.0}s (timeout)", self.seconds),
            (false, Some(c)) => format!("exit {c}"),
            (false, None) => "killed by a signal".to_string(),
        }
    }

    /// The last `lines` lines of stderr (else stdout), for reports.
    pub fn tail(&self, lines: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no command given")]
    Empty,
    #[error("cannot run {program}: {cause}")]
    Spawn {
        program: String,
        cause: std::io::Error,
    },
    #[error("waiting for {program} failed: {cause}")]
    Wait {
        program: String,
        cause: std::io::Error,
    },
    #[error("cannot put {program} in a job that can stop it and what it starts: {cause}")]
    Job {
        program: String,
        cause: std::io::Error,
    },
}

/// Run a command to its end or its timeout, capturing both streams.
pub fn run(cmd: &CommandLine) -> Result<Finished, ExecError> {
    run_watched(cmd, &mut |_| {})
}

/// [`run`], telling `on_spawn` the child's process id as soon as it runs
/// (apply journals it, so a resume can tell whether it still runs).
pub fn run_watched(
    cmd: &CommandLine,
    on_spawn: &mut dyn FnMut(u32),
) -> Result<Finished, ExecError> {
    let (program, args) = cmd.argv.split_first().ok_or(ExecError::Empty)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cmd.cwd.as_ref().filter(|d| d.is_dir()) {
        command.current_dir(dir);
    }
    command.env_remove(crate::redact::DEFAULT_PASSWORD_ENV);
    if let Ok(hidden) = HIDDEN.lock() {
        for name in hidden.iter() {
            command.env_remove(name);
        }
    }
    own_process_group(&mut command);
    let tree = Tree::new().map_err(|cause| ExecError::Job {
        program: crate::redact::text(program),
        cause,
    })?;
    let started = Instant::now();
    let mut child = command.spawn().map_err(|cause| ExecError::Spawn {
        program: crate::redact::text(program),
        cause,
    })?;
    if let Err(cause) = tree.adopt_soon(&mut child) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ExecError::Job {
            program: crate::redact::text(program),
            cause,
        });
    }
    on_spawn(child.id());
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let mut timed_out = false;
    let mut survivors = 0;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= cmd.timeout => {
                timed_out = true;
                survivors = tree.kill(&mut child);
                break child.wait().map_err(|cause| ExecError::Wait {
                    program: program.clone(),
                    cause,
                })?;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(cause) => {
                return Err(ExecError::Wait {
                    program: program.clone(),
                    cause,
                })
            }
        }
    };
    // A grandchild that survived may hold the pipes open: wait a little
    // for the output, never for ever.
    let collect = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        let bytes = rx
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_default();
        crate::redact::text(&String::from_utf8_lossy(&bytes))
    };
    Ok(Finished {
        argv: cmd.argv.iter().map(|a| crate::redact::text(a)).collect(),
        code: status.code(),
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
        stdout: collect(out),
        stderr: collect(err),
        survivors,
    })
}

/// Read a stream to its end on a thread, keeping its last `KEEP` bytes (a
/// pipe that is not read would block the child).
fn drain(mut stream: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * KEEP {
                        kept.drain(..kept.len() - KEEP);
                    }
                }
            }
        }
        if kept.len() > KEEP {
            kept.drain(..kept.len() - KEEP);
        }
        let _ = tx.send(kept);
    });
    rx
}

/// How long a killed tree may take to disappear before the kill is
/// reported as failed.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// A command's process tree (conda.exe is a launcher for python.exe, a
/// `.bat` runs in cmd.exe): its process group on Unix, a Job Object that
/// kills everything in it when closed on Windows.
struct Tree {
    #[cfg(windows)]
    job: crate::job_object::Job,
}

impl Tree {
    fn new() -> std::io::Result<Tree> {
        Ok(Tree {
            #[cfg(windows)]
            job: crate::job_object::Job::new()?,
        })
    }

    /// Take in the just-started child (and so all it starts).
    #[cfg_attr(not(windows), allow(clippy::unnecessary_wraps))]
    fn adopt(&self, child: &std::process::Child) -> std::io::Result<()> {
        #[cfg(windows)]
        self.job.assign(child)?;
        #[cfg(not(windows))]
        let _ = child;
        Ok(())
    }

    /// `adopt`, tried again for a moment: a process that is still starting
    /// (under Wine) or has already exited (a quick `conda --version`) is
    /// refused with "access denied". One that has exited leaves nothing to
    /// contain.
    fn adopt_soon(&self, child: &mut std::process::Child) -> std::io::Result<()> {
        let mut tries = 0;
        loop {
            let Err(refused) = self.adopt(child) else {
                return Ok(());
            };
            if matches!(child.try_wait(), Ok(Some(_))) {
                return Ok(());
            }
            tries += 1;
            if tries >= 100 {
                return Err(refused);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the whole tree and wait until it is gone (at most
    /// `KILL_GRACE`): the number of its processes still running.
    fn kill(&self, child: &mut std::process::Child) -> u32 {
        #[cfg(unix)]
        let survivors = {
            use nix::sys::signal::{killpg, Signal};
            use nix::unistd::Pid;
            // The child leads its own process group (`own_process_group`).
            let group = i32::try_from(child.id()).ok().map(Pid::from_raw);
            let _ = child.kill();
            match group {
                Some(group) => {
                    let _ = killpg(group, Signal::SIGKILL);
                    // The child itself is reaped here; the group is gone
                    // when no process is left to signal. A member that
                    // outlived its parent is a zombie until its new parent
                    // reaps it: gone for our purposes, but still
                    // signalable, so zombies are not counted.
                    let _ = child.try_wait();
                    let deadline = Instant::now() + KILL_GRACE;
                    loop {
                        let left = group_members_alive(group);
                        if left == 0 || Instant::now() >= deadline {
                            break left;
                        }
                        let _ = killpg(group, Signal::SIGKILL);
                        std::thread::sleep(Duration::from_millis(25));
                    }
                }
                None => 0,
            }
        };
        #[cfg(windows)]
        let survivors = {
            let _ = self.job.terminate();
            let _ = child.kill();
            let deadline = Instant::now() + KILL_GRACE;
            loop {
                // An error asking is not "gone": count it as one left.
                let left = self.job.active_processes().unwrap_or(1);
                if left == 0 || Instant::now() >= deadline {
                    break left;
                }
                let _ = self.job.terminate();
                std::thread::sleep(Duration::from_millis(25));
            }
        };
        #[cfg(not(any(unix, windows)))]
        let survivors = {
            let _ = child.kill();
            0
        };
        survivors
    }
}

/// How many live (not zombie) processes are in process group `group`.
/// Where /proc cannot tell (not Linux), a signal 0 to the group answers
/// whether any process is left at all.
#[cfg(unix)]
fn group_members_alive(group: nix::unistd::Pid) -> u32 {
    use nix::sys::signal::killpg;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return u32::from(killpg(group, None).is_ok());
    };
    let mut alive = 0;
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == group.as_raw().to_string() && fields[0] != "Z" {
            alive += 1;
        }
    }
    alive
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(windows)]
fn own_process_group(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn own_process_group(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(argv: &[&str], secs: u64) -> CommandLine {
        CommandLine {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            timeout: Duration::from_secs(secs),
        }
    }

    /// A command line that runs `script` in the OS's shell.
    fn shell(script: &str, secs: u64) -> CommandLine {
        if cfg!(windows) {
            line(&["cmd", "/d", "/c", script], secs)
        } else {
            line(&["sh", "-c", script], secs)
        }
    }

    #[test]
    fn output_and_exit_codes_are_captured() {
        let script = if cfg!(windows) {
            "echo out& echo err 1>&2& exit 3"
        } else {
            "echo out; echo err >&2; exit 3"
        };
        let done = run(&shell(script, 10)).unwrap();
        assert_eq!(done.code, Some(3));
        assert!(!done.success());
        assert_eq!(done.stdout.trim_end(), "out");
        assert_eq!(done.tail(5).trim_end(), "err");
        assert_eq!(done.status(), "exit 3");
    }

    #[cfg(unix)]
    #[test]
    fn arguments_are_not_interpreted_by_a_shell() {
        let done = run(&line(&["echo", "a; rm -rf /tmp/x", "$HOME"], 10)).unwrap();
        assert_eq!(done.stdout, "a; rm -rf /tmp/x $HOME\n");
    }

    #[cfg(windows)]
    #[test]
    fn arguments_are_not_interpreted_by_a_shell() {
        // A `.bat` runs in cmd.exe: an argument holding `&` must reach it
        // as one quoted argument, not as a second command.
        let dir = tempfile::tempdir().unwrap();
        let bat = dir.path().join("echo1.bat");
        std::fs::write(&bat, "@echo [%1]\r\n").unwrap();
        let done = run(&line(&[bat.to_str().unwrap(), "a&echo injected"], 30)).unwrap();
        assert!(done.stdout.contains("a&echo injected"), "{}", done.stdout);
        assert!(
            !done.stdout.lines().any(|l| l.trim() == "injected"),
            "{}",
            done.stdout
        );
    }

    #[test]
    fn a_hung_command_is_killed_at_its_timeout_with_its_children() {
        // The shell starts a grandchild that holds the pipes open. (No
        // `>nul`: Wine's cmd refuses a second open of NUL while the first
        // is held, "Sharing violation", and the shell then ended at once.)
        let script = if cfg!(windows) {
            "start /b ping -n 30 127.0.0.1& ping -n 30 127.0.0.1"
        } else {
            "sleep 30 & sleep 30; wait"
        };
        let done = run(&shell(script, 1)).unwrap();
        assert!(done.timed_out);
        assert_eq!(done.survivors, 0, "{}", done.status());
        assert!(done.seconds < 15.0, "{}", done.seconds);
        assert!(done.status().contains("timeout"));
    }

    /// The bug: on Windows a `.bat` runs in cmd.exe, which starts the real
    /// program; only cmd.exe was killed (and `taskkill`'s result thrown
    /// away), so the program went on holding the env while the journal
    /// said "killed". Here the grandchild would write a file two seconds
    /// after the timeout if it survived.
    #[test]
    fn a_timed_out_script_is_killed_with_every_process_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let mut cmd = if cfg!(windows) {
            let bat = dir.path().join("proup.bat");
            std::fs::write(
                &bat,
                // `ping -n N` is the batch idiom for sleeping N-1 seconds;
                // its output goes to the captured pipe, not to NUL (which
                // Wine's cmd will not open twice at once).
                "@echo off\r\n\
                 start /b cmd /d /c \"ping -n 4 127.0.0.1 & echo x> survived\"\r\n\
                 ping -n 30 127.0.0.1\r\n",
            )
            .unwrap();
            line(&[bat.to_str().unwrap()], 1)
        } else {
            line(&["sh", "-c", "(sleep 3; echo x > survived) & sleep 30"], 1)
        };
        cmd.cwd = Some(dir.path().to_path_buf());
        let done = run(&cmd).unwrap();
        assert!(done.timed_out);
        assert_eq!(done.survivors, 0, "{}", done.status());
        assert!(
            done.status().starts_with("killed after"),
            "{}",
            done.status()
        );
        std::thread::sleep(Duration::from_secs(6));
        assert!(!marker.exists(), "a process of the tree outlived the kill");
    }

    #[test]
    fn a_tree_that_cannot_be_killed_is_not_reported_killed() {
        let mut done = run(&shell("exit 0", 5)).unwrap();
        done.timed_out = true;
        done.survivors = 2;
        assert!(!done.success());
        assert!(
            done.status().contains("could not be killed"),
            "{}",
            done.status()
        );
        assert!(!done.status().starts_with("killed"), "{}", done.status());
    }

    #[test]
    fn a_missing_program_is_an_error_and_tokens_are_masked() {
        let missing = if cfg!(windows) {
            r"C:\no\such\conda.exe"
        } else {
            "/no/such/conda"
        };
        assert!(matches!(
            run(&line(&[missing], 1)),
            Err(ExecError::Spawn { .. })
        ));
        let done = run(&shell(
            "echo https://conda.example.com/t/tk-secret123/esri",
            5,
        ))
        .unwrap();
        assert!(!done.stdout.contains("tk-secret123"), "{}", done.stdout);
    }
}
