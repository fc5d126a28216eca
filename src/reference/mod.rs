//! Reading an environment's package list from any form an admin has: a conda
//! prefix, `conda list --json/--explicit/--export`, `conda env export` YAML,
//! `pip freeze`, `pip list --format=json` or a gpaudit snapshot. The form is
//! told from the content (or forced); conda formats go through
//! `rattler_conda_types`, pip ones through `pep508_rs`. Reading only: nothing
//! here compares listings (that is `compare`) or runs anything.

mod formats;

use crate::paths;
use crate::scan::{self, read_capped_text};
use crate::snapshot::{Env, EnvOrigin, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which package manager a package belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    Conda,
    Pypi,
}

/// One package of a listing. `version` is absent when the source names the
/// package without an exact version (a `pip freeze` URL line, a bare
/// `environment.yml` spec); `spec` then holds the requirement it gave, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvPackage {
    /// conda name, or PEP 503-normalized pip name.
    pub name: String,
    pub ecosystem: Ecosystem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// The channel's short name (`esri`, `pkgs/main`, `pypi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// A requirement rather than an exact version (`numpy >=1.24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
}

impl EnvPackage {
    /// `version build`, or what is known of it.
    pub fn describe(&self) -> String {
        match (&self.version, &self.build, &self.spec) {
            (Some(v), Some(b), _) => format!("{v} {b}"),
            (Some(v), None, _) => v.clone(),
            (None, _, Some(spec)) => spec.clone(),
            (None, _, None) => "(any version)".into(),
        }
    }
}

/// The forms an env's package list comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvFormat {
    /// A conda prefix (its `conda-meta/`).
    Prefix,
    CondaList,
    CondaListJson,
    CondaListExplicit,
    CondaListExport,
    EnvironmentYml,
    PipFreeze,
    PipListJson,
    Snapshot,
}

impl EnvFormat {
    pub const ALL: &'static [EnvFormat] = &[
        EnvFormat::Prefix,
        EnvFormat::CondaList,
        EnvFormat::CondaListJson,
        EnvFormat::CondaListExplicit,
        EnvFormat::CondaListExport,
        EnvFormat::EnvironmentYml,
        EnvFormat::PipFreeze,
        EnvFormat::PipListJson,
        EnvFormat::Snapshot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EnvFormat::Prefix => "prefix",
            EnvFormat::CondaList => "conda-list",
            EnvFormat::CondaListJson => "conda-list-json",
            EnvFormat::CondaListExplicit => "conda-list-explicit",
            EnvFormat::CondaListExport => "conda-list-export",
            EnvFormat::EnvironmentYml => "environment-yml",
            EnvFormat::PipFreeze => "pip-freeze",
            EnvFormat::PipListJson => "pip-list-json",
            EnvFormat::Snapshot => "snapshot",
        }
    }

    /// What an admin would call it.
    pub fn describe(self) -> &'static str {
        match self {
            EnvFormat::Prefix => "a conda prefix folder",
            EnvFormat::CondaList => "conda list",
            EnvFormat::CondaListJson => "conda list --json",
            EnvFormat::CondaListExplicit => "conda list --explicit",
            EnvFormat::CondaListExport => "conda list --export",
            EnvFormat::EnvironmentYml => "conda env export (environment.yml)",
            EnvFormat::PipFreeze => "pip freeze",
            EnvFormat::PipListJson => "pip list --format=json",
            EnvFormat::Snapshot => "a gpaudit snapshot",
        }
    }

    pub fn parse(s: &str) -> Option<EnvFormat> {
        EnvFormat::ALL.iter().copied().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for EnvFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An env's packages, as some source lists them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvListing {
    /// Where it came from, for messages (`pro/hydro.json`, `GIS1/hydro`).
    pub source: String,
    pub format: EnvFormat,
    /// Sorted by name, then ecosystem; a name appears once per ecosystem.
    pub packages: Vec<EnvPackage>,
    /// Problems that did not stop the read (an unreadable record in a
    /// prefix, an editable pip line without a name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl EnvListing {
    /// The packages of a scanned env: its conda records and pip dists.
    pub fn from_env(env: &Env, source: impl Into<String>) -> EnvListing {
        let mut packages: Vec<EnvPackage> = env
            .packages
            .iter()
            .map(|p| EnvPackage {
                name: p.name().to_string(),
                ecosystem: Ecosystem::Conda,
                version: Some(p.record.version.as_str().to_string()),
                build: Some(p.record.build.to_string()),
                channel: p.channel.as_deref().map(formats::channel_name),
                spec: None,
            })
            .collect();
        packages.extend(env.pip.iter().map(|d| EnvPackage {
            name: scan::normalize_dist_name(&d.name),
            ecosystem: Ecosystem::Pypi,
            version: Some(d.version.clone()),
            build: None,
            channel: Some("pypi".into()),
            spec: None,
        }));
        // A scanned env can hold a record twice (a hand-copied file); the
        // first one is kept, as the checks on the env itself report it.
        packages.sort_by(|a, b| (&a.name, a.ecosystem).cmp(&(&b.name, b.ecosystem)));
        packages.dedup_by(|a, b| a.name == b.name && a.ecosystem == b.ecosystem);
        EnvListing {
            source: source.into(),
            format: EnvFormat::Prefix,
            packages,
            warnings: Vec::new(),
        }
    }

    /// Packages by name, in PEP 503 form so that conda's `zope.interface`
    /// and pip's `zope-interface` meet. Where pip and conda both list a
    /// name, the pip one is what Python imports, so it is the one returned.
    pub fn by_name(&self) -> BTreeMap<String, &EnvPackage> {
        let mut map: BTreeMap<String, &EnvPackage> = BTreeMap::new();
        for p in &self.packages {
            let key = scan::normalize_dist_name(&p.name);
            match map.get(&key) {
                Some(existing) if existing_wins(existing, p) => {}
                _ => {
                    map.insert(key, p);
                }
            }
        }
        map
    }
}

impl EnvListing {
    /// Whether this listing names every package of `ecosystem` its env has,
    /// so that a package it lacks is really not there: pip listings know no
    /// conda packages, explicit ones no pip packages, and an environment.yml
    /// with requirements (`--from-history`) only what was asked for.
    pub fn covers(&self, ecosystem: Ecosystem) -> bool {
        match self.format {
            EnvFormat::PipFreeze | EnvFormat::PipListJson => ecosystem == Ecosystem::Pypi,
            EnvFormat::CondaListExplicit => ecosystem == Ecosystem::Conda,
            EnvFormat::EnvironmentYml => self.packages.iter().all(|p| p.version.is_some()),
            _ => true,
        }
    }
}

fn existing_wins(existing: &EnvPackage, new: &EnvPackage) -> bool {
    existing.ecosystem == Ecosystem::Pypi && new.ecosystem == Ecosystem::Conda
}

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

/// Pick one env from a snapshot: by `MACHINE/ENV`, by `ENV` when only one
/// machine has it, or the only env there is.
pub fn select_env<'a>(
    snapshot: &'a Snapshot,
    machine: Option<&str>,
    env: Option<&str>,
) -> Result<(&'a str, &'a Env), String> {
    let matches_env = |e: &Env| {
        env.is_none_or(|want| {
            e.name.eq_ignore_ascii_case(want) || paths::path_key(&e.path) == paths::path_key(want)
        })
    };
    let candidates: Vec<(&str, &Env)> = snapshot
        .machines
        .iter()
        .filter(|m| machine.is_none_or(|want| m.name.eq_ignore_ascii_case(want)))
        .flat_map(|m| {
            m.envs
                .iter()
                .filter(|e| matches_env(e))
                .map(move |e| (m.name.as_str(), e))
        })
        .collect();
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no env matches {} (envs: {})",
            describe_selection(machine, env),
            list_envs(snapshot)
        )),
        _ => Err(format!(
            "{} matches more than one env; pick one with MACHINE/ENV (envs: {})",
            describe_selection(machine, env),
            list_envs(snapshot)
        )),
    }
}

fn describe_selection(machine: Option<&str>, env: Option<&str>) -> String {
    match (machine, env) {
        (Some(m), Some(e)) => format!("`{m}/{e}`"),
        (Some(m), None) => format!("machine `{m}`"),
        (None, Some(e)) => format!("`{e}`"),
        (None, None) => "the snapshot".into(),
    }
}

fn list_envs(snapshot: &Snapshot) -> String {
    let names: Vec<String> = snapshot
        .machines
        .iter()
        .flat_map(|m| m.envs.iter().map(move |e| format!("{}/{}", m.name, e.name)))
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
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
        let (machine, env) =
            select_env(&snapshot, machine, env).map_err(|message| ReadError::new(path, message))?;
        let mut listing = EnvListing::from_env(env, format!("{source}#{machine}/{}", env.name));
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
    let (env, errors) = scan::scan_env("", &name, prefix, EnvOrigin::Extra);
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
    let mut by_key: BTreeMap<(String, Ecosystem), (EnvPackage, String)> = BTreeMap::new();
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
