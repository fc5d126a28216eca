//! The locks that keep two applies (or an apply and a rollback) off the
//! same site: a file beside the plan (guarding its journal) and one beside
//! each env being migrated, in its `envs` folder (not inside the env:
//! proup deletes it, and Windows cannot delete a folder holding an open
//! file), so a copy of the plan in another folder meets the same locks.
//! Each is held with an OS file lock for as long as the run lasts. The OS drops the lock when the process dies, so a lock
//! file left by a crashed run is recognised as stale and taken over, with a
//! warning naming the run that left it.

use crate::paths;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held lock; released (its file emptied, not removed) when dropped.
#[derive(Debug)]
pub struct SiteLock {
    file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: another gpaudit run holds this site's lock ({holder}); wait for it to end")]
    Held { path: String, holder: String },
    #[error("{path}: cannot take the lock: {cause}")]
    Io { path: String, cause: std::io::Error },
}

/// What a lock file says about the run that wrote it.
pub fn describe_holder(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        "no details recorded".into()
    } else {
        text.lines().collect::<Vec<_>>().join(", ")
    }
}

/// The lock file for `site` beside the plan: one per site and folder.
pub fn lock_path(plan: &Path, site: &str) -> PathBuf {
    plan.with_file_name(format!("{}.gpaudit-apply.lock", super::safe(site)))
}

/// The lock beside the env at `env_path` (in the folder that holds it).
pub fn env_lock_path(env_path: &Path) -> PathBuf {
    let name = env_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "env".into());
    env_path.with_file_name(format!("{}.gpaudit-apply.lock", super::safe(&name)))
}

/// Whether the lock is held right now by another process (for dry runs,
/// which never take it). `Some(holder)` when it is.
pub fn held_by(path: &Path) -> Option<String> {
    let file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(_) => Some(describe_holder(
            &std::fs::read_to_string(path).unwrap_or_default(),
        )),
    }
}

impl SiteLock {
    /// Take the lock. `Ok((lock, Some(previous)))` when a stale lock file
    /// from a run that died was taken over.
    pub fn acquire(path: &Path, about: &str) -> Result<(SiteLock, Option<String>), LockError> {
        let io = |cause| LockError::Io {
            path: paths::display(path),
            cause,
        };
        // The env locks live in the site's envs folder: a symlink or a
        // FIFO planted there must not make gpaudit write elsewhere or wait.
        if let Ok(meta) = path.symlink_metadata() {
            if !meta.file_type().is_file() {
                return Err(io(std::io::Error::other(
                    "not a regular file (a symlink, folder or special file); remove it",
                )));
            }
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let mut file = options.open(path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    path: paths::display(path),
                    holder: describe_holder(&text),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut previous = String::new();
        file.read_to_string(&mut previous).map_err(io)?;
        let stale = (!previous.trim().is_empty()).then(|| describe_holder(&previous));
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(about.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok((SiteLock { file }, stale))
    }
}

impl Drop for SiteLock {
    fn drop(&mut self) {
        // Emptied, not removed: a run that opened the file just before a
        // removal would lock a file nobody else sees, and two runs would
        // both hold "the" lock. An empty file is a free lock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// `pid …, host …, started …` for the lock file.
pub fn about_this_run(command: &str) -> String {
    format!(
        "pid {}\nhost {}\nstarted {}\ncommand {command}\n",
        std::process::id(),
        host_name(),
        super::journal::now()
    )
}

/// This machine's name, from the environment (no extra dependency).
pub fn host_name() -> String {
    ["COMPUTERNAME", "HOSTNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|h| !h.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "this machine".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir.path().join("plan.json"), "My Site");
        assert!(path.ends_with("My_Site.gpaudit-apply.lock"));
        let (held, stale) = SiteLock::acquire(&path, "pid 1\n").unwrap();
        assert!(stale.is_none());
        assert_eq!(held_by(&path).as_deref(), Some("pid 1"));
        let err = SiteLock::acquire(&path, "pid 2\n").unwrap_err().to_string();
        assert!(err.contains("pid 1"), "{err}");
        drop(held);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        let (again, stale) = SiteLock::acquire(&path, "pid 2\n").unwrap();
        assert!(stale.is_none(), "an emptied lock is not stale");
        drop(again);
        #[cfg(unix)]
        {
            let link = dir.path().join("link.lock");
            std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
            assert!(SiteLock::acquire(&link, "pid 9\n").is_err());
            assert!(!dir.path().join("elsewhere").exists());
        }
        // A run that died left its file behind, unlocked.
        std::fs::write(&path, "pid 99\nhost gis1\n").unwrap();
        assert!(held_by(&path).is_none());
        let (_lock, stale) = SiteLock::acquire(&path, "pid 3\n").unwrap();
        assert_eq!(stale.as_deref(), Some("pid 99, host gis1"));
    }
}
