//! Whether a process a dead apply started (its conda proup) still runs:
//! by process id and, where the OS tells it, the process's start time, so
//! a recycled id is not mistaken for the old process. Reads only.

/// What is known of a recorded process now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// It runs (same id and, when recorded, same start time).
    Running,
    /// It ended (or its id now belongs to another process).
    Gone,
    /// This OS gives no way to tell.
    Unknown,
}

/// The start time of process `pid`, as an opaque token (Linux: clock ticks
/// after boot from `/proc/<pid>/stat`); `None` where it cannot be read.
pub fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // A zombie has ended; it only waits for a parent to reap it.
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    // Field 22 is starttime; `rest` starts at field 3.
    fields.nth(18).map(str::to_string)
}

/// Whether the process recorded as `pid` started at `started` still runs.
pub fn liveness(pid: u32, started: Option<&str>) -> Liveness {
    if std::path::Path::new("/proc/self/stat").exists() {
        return match (start_time(pid), started) {
            (None, _) => Liveness::Gone,
            (Some(now), Some(then)) if now != then => Liveness::Gone,
            (Some(_), _) => Liveness::Running,
        };
    }
    signal_zero(pid)
}

#[cfg(unix)]
fn signal_zero(pid: u32) -> Liveness {
    let Ok(pid) = i32::try_from(pid) else {
        return Liveness::Unknown;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => Liveness::Running,
        Err(nix::errno::Errno::ESRCH) => Liveness::Gone,
        Err(_) => Liveness::Unknown,
    }
}

#[cfg(not(unix))]
fn signal_zero(_pid: u32) -> Liveness {
    Liveness::Unknown
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_is_seen_and_an_ended_or_recycled_one_is_not() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = start_time(pid);
        assert!(started.is_some());
        assert_eq!(liveness(pid, started.as_deref()), Liveness::Running);
        assert_eq!(
            liveness(pid, Some("1")),
            Liveness::Gone,
            "another start time"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(liveness(pid, started.as_deref()), Liveness::Gone);
    }
}
