//! Reading an environment's package list from any form an admin has: a conda
//! prefix, `conda list --json/--explicit/--export`, `conda env export` YAML,
//! `pip freeze`, `pip list --format=json` or a gpaudit snapshot. The form is
//! told from the content (or forced); conda formats go through
//! `rattler_conda_types`, pip ones through `pep508_rs`. Reading only: nothing
//! here compares listings (that is `compare`) or runs anything.

pub(crate) mod formats;

pub use crate::model::{Ecosystem, EnvFormat, EnvListing, EnvPackage};
use crate::model::{EnvOrigin, Snapshot};
use crate::paths;
use crate::read::read_capped_text;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a listing could not be read. Names the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

impl ReadError {
    /// Any URL in the message is masked: listings carry channel tokens.
    fn new(path: &Path, message: impl Into<String>) -> ReadError {
        ReadError {
            path: paths::display(path),
            message: crate::redact::text(&message.into()),
        }
    }
}

/// Split `file#MACHINE/ENV` (or `file#ENV`) into the file and the selector
/// that picks an env from a snapshot or site. A path that exists as given
/// is never split, so a `#` in a real file name still works.
pub fn split_selector(arg: &str) -> (PathBuf, Option<String>) {
    if Path::new(arg).exists() {
        return (PathBuf::from(arg), None);
    }
    match arg.rsplit_once('#') {
        Some((file, sel)) if !file.is_empty() && !sel.is_empty() => {
            (PathBuf::from(file), Some(sel.to_string()))
        }
        _ => (PathBuf::from(arg), None),
    }
}

/// Parse a `MACHINE/ENV` or `ENV` selector.
pub fn parse_selector(sel: &str) -> (Option<&str>, Option<&str>) {
    match sel.split_once('/') {
        Some((m, e)) => (Some(m), Some(e)),
        None => (None, Some(sel)),
    }
}

/// Which env of a snapshot or site to read, and whether naming one for a
/// plain listing is an error (a `#MACHINE/ENV` written on it) or ignored
/// (`--machine`/`--env` given for two inputs of which one is plain).
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    pub machine: Option<&'a str>,
    pub env: Option<&'a str>,
    pub strict: bool,
}

impl<'a> Selection<'a> {
    /// From a `MACHINE/ENV` or `ENV` written after `#`.
    pub fn inline(sel: Option<&'a str>) -> Selection<'a> {
        let (machine, env) = sel.map_or((None, None), parse_selector);
        Selection {
            machine,
            env,
            strict: true,
        }
    }

    fn is_some(&self) -> bool {
        self.machine.is_some() || self.env.is_some()
    }
}

/// Read the listing at `path` (a file, or a prefix folder). `select` picks
/// the env from a snapshot; `forced` skips detection.
pub fn load(
    path: &Path,
    select: Selection,
    forced: Option<EnvFormat>,
) -> Result<EnvListing, ReadError> {
    let Selection { machine, env, .. } = select;
    let not_selectable = |format: EnvFormat| {
        ReadError::new(
            path,
            format!(
                "is {}, not a snapshot or site: `#{}` picks nothing in it",
                format.describe(),
                [machine, env]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        )
    };
    if path.is_dir() || forced == Some(EnvFormat::Prefix) {
        if forced.is_some_and(|f| f != EnvFormat::Prefix) {
            return Err(ReadError::new(
                path,
                format!("is a folder, not {}", forced.map_or("", |f| f.describe())),
            ));
        }
        if select.strict && select.is_some() {
            return Err(not_selectable(EnvFormat::Prefix));
        }
        return load_prefix(path);
    }
    let text = read_capped_text(path).map_err(|e| ReadError::new(path, e.message))?;
    if text.trim().is_empty() {
        return Err(ReadError::new(path, "is empty: it lists no packages"));
    }
    let format = match forced {
        Some(f) => f,
        None => match formats::detect(&text) {
            Some(f) => f,
            None if text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) =>
            {
                return Err(ReadError::new(
                    path,
                    "holds only comments: it lists no packages",
                ));
            }
            None => {
                let tried: Vec<&str> = EnvFormat::ALL.iter().map(|f| f.describe()).collect();
                return Err(ReadError::new(
                    path,
                    format!(
                        "not a recognised environment listing (tried: {})",
                        tried.join(", ")
                    ),
                ));
            }
        },
    };
    let source = paths::display(path);
    if format == EnvFormat::Snapshot {
        let snapshot = Snapshot::from_json(&text, &source).map_err(|e| ReadError {
            path: source.clone(),
            message: strip_path(&e.to_string(), &source),
        })?;
        let (machine, env) = snapshot
            .select_env(machine, env)
            .map_err(|e| ReadError::new(path, e.to_string()))?;
        let mut listing =
            EnvListing::from_env(env, format!("{source}#{}/{}", machine.name, env.name));
        listing.format = EnvFormat::Snapshot;
        return Ok(listing);
    }
    if select.strict && select.is_some() {
        return Err(not_selectable(format));
    }
    let parsed = formats::parse(format, &text).map_err(|message| {
        ReadError::new(path, format!("not valid {}: {message}", format.describe()))
    })?;
    finish(path, format, parsed)
}

fn strip_path(message: &str, path: &str) -> String {
    message
        .strip_prefix(path)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}

/// A prefix folder, or its `conda-meta` folder.
fn load_prefix(path: &Path) -> Result<EnvListing, ReadError> {
    let prefix = if path
        .file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("conda-meta"))
    {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    if !path.is_dir() {
        return Err(ReadError::new(
            path,
            "is not a folder: a conda prefix is one",
        ));
    }
    if !prefix.join("conda-meta").is_dir() {
        return Err(ReadError::new(
            path,
            "is a folder without conda-meta/: not a conda prefix",
        ));
    }
    let name = paths::last_component(&paths::display(prefix)).to_string();
    let (env, errors) = crate::prefix::scan_env("", &name, prefix, EnvOrigin::Extra);
    let mut listing = EnvListing::from_env(&env, paths::display(path));
    listing.warnings = errors
        .into_iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    if listing.packages.is_empty() {
        return Err(ReadError::new(
            path,
            "the prefix's conda-meta/ holds no readable package record",
        ));
    }
    Ok(listing)
}

/// Check a parsed listing: not empty, each name once per ecosystem
/// (identical repeats are dropped, conflicting ones refused).
fn finish(
    path: &Path,
    format: EnvFormat,
    parsed: formats::Parsed,
) -> Result<EnvListing, ReadError> {
    let mut by_key: BTreeMap<(String, Ecosystem), (EnvPackage, formats::Place)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (package, at) in parsed.packages {
        let key = (package.name.clone(), package.ecosystem);
        match by_key.get(&key) {
            Some((existing, first_at)) => {
                let same_version = match (&existing.version, &package.version) {
                    (Some(a), Some(b)) => {
                        crate::compare::compare_versions(a, b, package.ecosystem == Ecosystem::Pypi)
                            == std::cmp::Ordering::Equal
                    }
                    (a, b) => a == b,
                };
                if !same_version || existing.build != package.build || existing.spec != package.spec
                {
                    problems.push(format!(
                        "names `{}` twice: {} ({first_at}) and {} ({at})",
                        package.name,
                        existing.describe(),
                        package.describe()
                    ));
                }
            }
            None => {
                by_key.insert(key, (package, at));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ReadError::new(path, problems.join("; ")));
    }
    if by_key.is_empty() {
        return Err(ReadError::new(
            path,
            format!("{} lists no packages", format.describe()),
        ));
    }
    Ok(EnvListing {
        source: paths::display(path),
        format,
        packages: by_key.into_values().map(|(p, _)| p).collect(),
        warnings: parsed.warnings,
    })
}

#[cfg(test)]
mod tests;
