//! `gpaudit rollback`: gets back the pre-upgrade env of a failed migration,
//! from the archive `conda proup` left (`<envs>/<name>.tar.bz2`) or, without
//! one, from the explicit spec the `snapshot` step saved (through `conda
//! create --file`). What is in the env's place is moved aside, never
//! deleted. A dry run unless executed; journaled like apply.

use super::journal::{Entry, Journal, StepStatus};
use super::{lock, selected, ApplyError, Files};
use crate::exec::{self, CommandLine, Finished};
use crate::migrate::{EnvPlan, MachinePlan, MigrationPlan, StepKind};
use crate::paths;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where proup leaves its archive of an env: `<envs>/<name>.tar.bz2`.
/// Esri documents it for `-n`; for an env elsewhere it is taken to be
/// beside the env (not confirmed). The one place this is decided.
pub fn archive_path(env_path: &str) -> Option<PathBuf> {
    let path = Path::new(env_path);
    let dir = path.file_name()?.to_string_lossy().into_owned();
    Some(path.parent()?.join(format!("{dir}.tar.bz2")))
}

/// When the env's proup was first begun in the journal: archives older
/// than that are not of this migration.
fn proup_since(env: &EnvPlan, journal: &Journal) -> Option<jiff::Timestamp> {
    let id = &env.step(StepKind::Proup)?.id;
    journal.entries().iter().find_map(|e| match e {
        Entry::Begin { step, at, .. } if step == id => at.parse().ok(),
        _ => None,
    })
}

fn modified(path: &Path) -> Option<jiff::Timestamp> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    jiff::Timestamp::try_from(time).ok()
}

/// The archive of the env as it was before this migration: the oldest of
/// proup's archive and those gpaudit kept aside that were written after
/// the env's first proup began. Without a proup in the journal, the
/// archive there now (a proup run by hand).
pub fn old_env_archive(env: &EnvPlan, journal: &Journal) -> Option<PathBuf> {
    let archive = archive_path(env.here())?;
    let name = archive.file_name()?.to_string_lossy().into_owned();
    let dir = archive.parent()?;
    let mut found: Vec<(jiff::Timestamp, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n == name || n.starts_with(&format!("{name}{KEPT}"))
        })
        .filter_map(|e| Some((modified(&e.path())?, e.path())))
        .collect();
    found.sort();
    match proup_since(env, journal) {
        Some(since) => {
            // The journal's times are to the second.
            let since = since - jiff::SignedDuration::from_secs(2);
            found.into_iter().find(|(t, _)| *t >= since).map(|(_, p)| p)
        }
        None => archive.is_file().then_some(archive),
    }
}

const KEPT: &str = ".gpaudit-kept-";

/// Why an env could not be restored (or its earlier archive kept).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// A file-system step on a path failed.
    #[error("cannot {action} {path}: {source}")]
    Fs {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{archive}: no conda env in it (no conda-meta at its root or in its one folder)")]
    NoEnvInArchive { archive: String },
    #[error("conda create failed ({status}): {tail}")]
    CondaCreate { status: String, tail: String },
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
}

fn fs_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError {
    let path = paths::display(path);
    move |source| RestoreError::Fs {
        action,
        path,
        source,
    }
}

/// Before proup runs: move an existing `<name>.tar.bz2` aside (proup would
/// write over it), to `<name>.tar.bz2.gpaudit-kept-<time>`.
pub fn keep_earlier_archive(env_path: &str) -> Result<Option<PathBuf>, RestoreError> {
    let Some(archive) = archive_path(env_path).filter(|a| a.exists()) else {
        return Ok(None);
    };
    let kept = PathBuf::from(format!("{}{KEPT}{}", paths::display(&archive), stamp()));
    std::fs::rename(&archive, &kept)
        .map_err(fs_error("move aside the earlier archive", &archive))?;
    Ok(Some(kept))
}

/// Where an env is restored from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum Source {
    Archive(String),
    Snapshot(String),
}

/// One env to roll back.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub machine: String,
    pub env: String,
    pub path: String,
    pub source: Option<Source>,
    /// Why it was picked.
    pub why: String,
    /// Why the archive found where proup leaves it cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_problem: Option<String>,
    /// Where the env is here (`path` is as the server sees it).
    #[serde(skip)]
    here: String,
    #[serde(skip)]
    conda: Option<String>,
    #[serde(skip)]
    python_root: String,
    /// Where what is in the env's place is moved.
    #[serde(skip)]
    backup: PathBuf,
}

/// How a rollback went.
#[derive(Clone, Debug, Serialize)]
pub struct Restored {
    pub machine: String,
    pub env: String,
    pub ok: bool,
    pub detail: String,
}

/// The envs to roll back: those named, or those whose proup or verify
/// failed (or was cut short) in the journal.
pub fn targets(
    plan: &MigrationPlan,
    files: &Files,
    journal: &Journal,
    machines: &[String],
    envs: &[String],
) -> Result<Vec<Target>, ApplyError> {
    let chosen = selected(plan, machines)?;
    for want in envs {
        if !chosen
            .iter()
            .flat_map(|m| m.envs.iter())
            .any(|e| e.env.eq_ignore_ascii_case(want))
        {
            return Err(ApplyError::Usage(format!(
                "the plan has no env `{want}` on the machines chosen"
            )));
        }
    }
    let mut out = Vec::new();
    for m in chosen {
        for e in &m.envs {
            let why = if envs.is_empty() {
                match failed_step(e, journal) {
                    Some(w) => w,
                    None => continue,
                }
            } else if envs.iter().any(|w| e.env.eq_ignore_ascii_case(w)) {
                "named on the command line".into()
            } else {
                continue;
            };
            out.push(target(m, e, files, journal, why));
        }
    }
    Ok(out)
}

fn failed_step(env: &EnvPlan, journal: &Journal) -> Option<String> {
    env.steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Proup | StepKind::Verify))
        .find_map(|s| {
            if journal.was_cut_short(&s.id) {
                Some(format!("`{}` was cut short", s.id))
            } else {
                match journal.last_end(&s.id) {
                    Some(Entry::End {
                        status: StepStatus::Failed,
                        detail,
                        ..
                    }) => Some(format!("`{}` failed: {detail}", s.id)),
                    _ => None,
                }
            }
        })
}

fn target(m: &MachinePlan, e: &EnvPlan, files: &Files, journal: &Journal, why: String) -> Target {
    // The dry run checks the archive it would use: a file named like
    // proup's archive is not one until it reads as a tar.bz2 holding an env.
    let mut archive_problem = None;
    let archive = old_env_archive(e, journal).filter(|a| match check_archive(a) {
        Ok(()) => true,
        Err(why) => {
            archive_problem = Some(format!("{}: {why}", paths::display(a)));
            false
        }
    });
    let backup = files.backup_dir(&e.id);
    let explicit = backup.join("explicit.txt");
    let source = match archive {
        Some(a) => Some(Source::Archive(paths::display(&a))),
        None if explicit.is_file() => Some(Source::Snapshot(paths::display(&explicit))),
        None => None,
    };
    Target {
        machine: m.machine.clone(),
        env: e.env.clone(),
        path: e.path.clone(),
        here: e.here().to_string(),
        source,
        why,
        archive_problem,
        conda: e
            .step(StepKind::Proup)
            .and_then(|s| m.argv_here(e, s))
            .and_then(|a| a.first().cloned()),
        python_root: m.python_root_here().to_string(),
        backup,
    }
}

impl Target {
    /// What executing would do, in a line.
    pub fn describe(&self) -> String {
        let from = match &self.source {
            Some(Source::Archive(a)) => format!(
                "restore from proup's archive {a}{}",
                modified(Path::new(a))
                    .map(|t| format!(" (written {})", t.round(jiff::Unit::Second).unwrap_or(t)))
                    .unwrap_or_default()
            ),
            Some(Source::Snapshot(s)) => format!("re-create with conda create --file {s}"),
            None => "nothing to restore from: no proup archive and no saved package list".into(),
        };
        let from = match &self.archive_problem {
            Some(problem) => format!("{from} (not proup's archive, {problem})"),
            None => from,
        };
        format!(
            "{}/{} ({}): {from}; what is at {} now is moved aside",
            self.machine, self.env, self.why, self.path
        )
    }
}

/// Roll the targets back, under the site lock, journaling each.
pub fn execute(
    plan: &MigrationPlan,
    files: &Files,
    targets: &[Target],
    timeout: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Restored>, ApplyError> {
    let about = lock::about_this_run(&format!("rollback {}", paths::display(&files.plan)));
    let (_lock, stale) = lock::SiteLock::acquire(&files.lock, &about)?;
    if let Some(stale) = stale {
        progress(&format!("warning: took over a stale lock ({stale})"));
    }
    let mut journal = Journal::read(&files.journal)?;
    if journal
        .plan_checksum()
        .is_some_and(|c| c != plan.checksum())
    {
        return Err(ApplyError::Usage(format!(
            "{} was written for another plan; it is left as it is",
            paths::display(&files.journal)
        )));
    }
    journal.append(Entry::run(plan, "rollback --execute"))?;
    let mut out = Vec::new();
    for t in targets {
        let (ok, detail, output) = restore(t, timeout);
        progress(&format!(
            "{} {}/{}: {detail}",
            if ok { "ok    " } else { "FAILED" },
            t.machine,
            t.env
        ));
        journal.append(Entry::Rollback {
            machine: t.machine.clone(),
            env: t.env.clone(),
            at: super::journal::now(),
            ok,
            detail: detail.clone(),
            output,
        })?;
        out.push(Restored {
            machine: t.machine.clone(),
            env: t.env.clone(),
            ok,
            detail,
        });
    }
    Ok(out)
}

fn stamp() -> String {
    jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string()
}

fn restore(t: &Target, timeout: Duration) -> (bool, String, Option<Finished>) {
    let Some(source) = &t.source else {
        return (
            false,
            "nothing to restore from: no proup archive and no saved package list".into(),
            None,
        );
    };
    let path = Path::new(&t.here);
    // Aside into the backup folder, out of the site (a copy left in `envs`
    // would be scanned as an env); beside the env when that is another
    // volume.
    let stamp = stamp();
    let mut aside = t.backup.join(format!("replaced-{stamp}"));
    let moved = path.exists();
    if moved {
        let _ = std::fs::create_dir_all(&t.backup);
        if std::fs::rename(path, &aside).is_err() {
            aside = PathBuf::from(format!("{}.gpaudit-replaced-{stamp}", t.here));
            if let Err(e) = std::fs::rename(path, &aside) {
                return (
                    false,
                    format!("cannot move {} aside: {e}; nothing was changed", t.path),
                    None,
                );
            }
        }
    }
    let put_back = |why: String| {
        if moved {
            let _ = std::fs::remove_dir_all(path);
            if let Err(e) = std::fs::rename(&aside, path) {
                return format!(
                    "{why}; moving {} back failed too: {e}",
                    paths::display(&aside)
                );
            }
        }
        format!("{why}; the env was left as it was")
    };
    let (result, output) = match source {
        Source::Archive(a) => (unpack(Path::new(a), path), None),
        Source::Snapshot(s) => {
            let Some(conda) = &t.conda else {
                return (false, put_back("the plan names no conda".into()), None);
            };
            let cmd = CommandLine {
                argv: vec![
                    conda.clone(),
                    "create".into(),
                    "-p".into(),
                    t.here.clone(),
                    "--file".into(),
                    s.clone(),
                    "--yes".into(),
                ],
                cwd: Some(Path::new(&t.python_root).join("Scripts")),
                timeout,
            };
            match exec::run(&cmd) {
                Ok(done) if done.success() => (Ok(()), Some(done)),
                Ok(done) => (
                    Err(RestoreError::CondaCreate {
                        status: done.status().to_string(),
                        tail: done.tail(1),
                    }),
                    Some(done),
                ),
                Err(e) => (Err(e.into()), None),
            }
        }
    };
    match result {
        Ok(()) => {
            let what = match source {
                Source::Archive(a) => format!("restored from {a}"),
                Source::Snapshot(s) => {
                    let pip: Vec<String> = std::fs::read_to_string(s)
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.strip_prefix("# pip: "))
                        .map(str::to_string)
                        .collect();
                    if pip.is_empty() {
                        format!("re-created from {s}")
                    } else {
                        format!(
                            "re-created from {s}; conda does not install pip packages: reinstall {}",
                            pip.join(", ")
                        )
                    }
                }
            };
            let kept = if moved {
                format!("; what was there is kept at {}", paths::display(&aside))
            } else {
                String::new()
            };
            (true, format!("{what}{kept}"), output)
        }
        Err(e) => (false, put_back(e.to_string()), output),
    }
}

/// Whether `archive` reads as a tar.bz2 with a conda env at its root or in
/// one folder (`conda-meta/` in its first two levels). Reads entry headers
/// until it finds one; a bad archive fails at its first bytes.
pub fn check_archive(archive: &Path) -> Result<(), String> {
    let f = std::fs::File::open(archive).map_err(|e| format!("cannot open it: {e}"))?;
    let mut tar = tar::Archive::new(bzip2::read::BzDecoder::new(f));
    let entries = tar
        .entries()
        .map_err(|e| format!("not a tar.bz2 archive: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("not a tar.bz2 archive: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("an entry has an unreadable path: {e}"))?;
        let parts: Vec<String> = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.iter().take(2).any(|p| p == "conda-meta") {
            return Ok(());
        }
    }
    Err("no conda env in it (no conda-meta at its root or in its one folder)".into())
}

/// Unpack proup's archive into `dest` through a staging folder beside it,
/// so `dest` appears whole or not at all. The archive may hold the env's
/// contents at its root or inside one folder (proup's layout is not
/// documented); `tar` refuses entries that would land outside the folder.
fn unpack(archive: &Path, dest: &Path) -> Result<(), RestoreError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "env".into());
    let staging = dest.with_file_name(format!(".{name}.gpaudit-restore"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(fs_error("clear", &staging))?;
    }
    let f = std::fs::File::open(archive).map_err(fs_error("open", archive))?;
    let result = tar::Archive::new(bzip2::read::BzDecoder::new(f))
        .unpack(&staging)
        .map_err(fs_error("unpack", archive));
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let root = if staging.join("conda-meta").is_dir() {
        staging.clone()
    } else {
        let inner: Vec<PathBuf> = std::fs::read_dir(&staging)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        match inner.as_slice() {
            [one] if one.join("conda-meta").is_dir() => one.clone(),
            _ => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(RestoreError::NoEnvInArchive {
                    archive: paths::display(archive),
                });
            }
        }
    };
    std::fs::rename(&root, dest).map_err(fs_error("move the restored env to", dest))?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_of(src: &Path, out: &Path, prefix: &str) {
        let f = std::fs::File::create(out).unwrap();
        let enc = bzip2::write::BzEncoder::new(f, bzip2::Compression::fast());
        let mut b = tar::Builder::new(enc);
        b.append_dir_all(prefix, src).unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn issue_13_rollback_dry_run_checks_the_archive_it_would_use() {
        let dir = tempfile::tempdir().unwrap();
        let not_archive = dir.path().join("legacy.tar.bz2");
        std::fs::write(&not_archive, "not an env: a proup archive\n").unwrap();
        assert!(check_archive(&not_archive)
            .unwrap_err()
            .contains("not a tar.bz2"));
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("conda-meta")).unwrap();
        std::fs::write(src.join("conda-meta/a-1-0.json"), "{}").unwrap();
        let good = dir.path().join("good.tar.bz2");
        archive_of(&src, &good, "hydro");
        assert_eq!(check_archive(&good), Ok(()));
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(empty.join("x")).unwrap();
        let no_env = dir.path().join("noenv.tar.bz2");
        archive_of(&empty, &no_env, ".");
        assert!(check_archive(&no_env).unwrap_err().contains("no conda env"));
    }

    #[test]
    fn archives_with_the_env_at_the_root_or_in_one_folder_unpack_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("conda-meta")).unwrap();
        std::fs::write(src.join("conda-meta/a-1-0.json"), "{}").unwrap();
        for (prefix, n) in [(".", 1), ("hydro", 2)] {
            let archive = dir.path().join(format!("a{n}.tar.bz2"));
            archive_of(&src, &archive, prefix);
            let dest = dir.path().join(format!("envs{n}/hydro"));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            unpack(&archive, &dest).unwrap();
            assert!(dest.join("conda-meta/a-1-0.json").is_file());
            assert_eq!(
                std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
                1
            );
        }
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let archive = dir.path().join("bad.tar.bz2");
        archive_of(&empty, &archive, ".");
        let err = unpack(&archive, &dir.path().join("x/hydro")).unwrap_err();
        assert!(err.to_string().contains("no conda env"), "{err}");
    }

    #[test]
    fn the_archive_sits_beside_the_env() {
        assert_eq!(
            archive_path("/srv/Python/envs/hydro").unwrap(),
            Path::new("/srv/Python/envs/hydro.tar.bz2")
        );
    }
}
