//! Writing gpaudit's own files (snapshots, reports): atomically (a temporary
//! file in the same folder, then a rename), and never inside the site being
//! audited.

use crate::paths;
use crate::site::Site;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{path}: refusing to write inside the audited site ({inside}); choose a path outside it"
    )]
    InsideSite { path: String, inside: String },
    #[error("{path}: cannot write: {cause}")]
    Write { path: String, cause: std::io::Error },
}

fn absolute(path: &Path) -> PathBuf {
    // The file may not exist yet: canonicalize the nearest existing ancestor.
    let mut existing = path;
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    for part in rest.into_iter().rev() {
        out.push(part);
    }
    out
}

/// Refuse an output path inside a machine's install dir, extra env or the
/// config store of `site`.
pub fn check_outside_site(
    path: &Path,
    site: &Site,
    config_store: Option<&Path>,
) -> Result<(), OutputError> {
    let mut roots: Vec<&Path> = Vec::new();
    for m in &site.machines {
        roots.push(&m.install_dir);
        roots.extend(m.extra_envs.iter().map(PathBuf::as_path));
    }
    roots.extend(config_store);
    check_outside(path, &roots)
}

/// Refuse an output path inside any of `roots` (a site's folders, or an
/// env being read).
pub fn check_outside(path: &Path, roots: &[&Path]) -> Result<(), OutputError> {
    let target = absolute(path);
    for root in roots {
        let root_abs = absolute(root);
        if target.starts_with(&root_abs) {
            return Err(OutputError::InsideSite {
                path: paths::display(path),
                inside: paths::display(root),
            });
        }
    }
    Ok(())
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let err = |cause| OutputError::Write {
        path: paths::display(path),
        cause,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".gpaudit-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
