//! The one place gpaudit runs an external command (conda): an argument
//! list, never a shell string; a timeout after which the command is killed;
//! its output captured (tail-capped, secrets masked) for the journal. The
//! child runs in its own process group, so a Ctrl-C at the console reaches
//! gpaudit only and a half-done `conda proup` is never interrupted from
//! under it.

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
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// A one-line account: `exit 1`, `killed after 3600s`.
    pub fn status(&self) -> String {
        match (self.timed_out, self.code) {
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
    let started = Instant::now();
    let mut child = command.spawn().map_err(|cause| ExecError::Spawn {
        program: crate::redact::text(program),
        cause,
    })?;
    on_spawn(child.id());
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= cmd.timeout => {
                timed_out = true;
                kill_tree(&mut child);
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

/// Kill a command that ran out of time, with the processes it started
/// (conda.exe is a launcher for python.exe): its process group on Unix,
/// its process tree (`taskkill /T`) on Windows.
fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    #[cfg(windows)]
    {
        let _ = Command::new("taskkill")
            .args(["/PID", &child.id().to_string(), "/T", "/F"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    // Whatever happened above, the child itself goes.
    let _ = child.kill();
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn line(argv: &[&str], secs: u64) -> CommandLine {
        CommandLine {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            timeout: Duration::from_secs(secs),
        }
    }

    #[test]
    fn output_and_exit_codes_are_captured() {
        let done = run(&line(&["sh", "-c", "echo out; echo err >&2; exit 3"], 10)).unwrap();
        assert_eq!(done.code, Some(3));
        assert!(!done.success());
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.tail(5), "err");
        assert_eq!(done.status(), "exit 3");
    }

    #[test]
    fn arguments_are_not_interpreted_by_a_shell() {
        let done = run(&line(&["echo", "a; rm -rf /tmp/x", "$HOME"], 10)).unwrap();
        assert_eq!(done.stdout, "a; rm -rf /tmp/x $HOME\n");
    }

    #[test]
    fn a_hung_command_is_killed_at_its_timeout_with_its_children() {
        // The shell starts a grandchild that holds the pipes open.
        let done = run(&line(&["sh", "-c", "sleep 30 & sleep 30; wait"], 1)).unwrap();
        assert!(done.timed_out);
        assert!(done.seconds < 10.0);
        assert!(done.status().contains("timeout"));
    }

    #[test]
    fn a_missing_program_is_an_error_and_tokens_are_masked() {
        assert!(matches!(
            run(&line(&["/no/such/conda"], 1)),
            Err(ExecError::Spawn { .. })
        ));
        let done = run(&line(
            &["echo", "https://conda.example.com/t/tk-secret123/esri"],
            5,
        ))
        .unwrap();
        assert!(!done.stdout.contains("tk-secret123"), "{}", done.stdout);
    }
}
