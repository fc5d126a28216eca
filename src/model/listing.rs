//! An env's package list in the form every listing source shares (a scanned
//! prefix, `conda list`, `pip freeze`, ...): what `reference` reads and
//! `compare` compares.

use super::names::normalize_dist_name;
use super::snapshot::Env;
use rattler_conda_types::{Channel, ChannelConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

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
        EnvListing::from_index(&super::EnvIndex::new(env), source)
    }

    /// The listing of an env through its index: one conda record per name,
    /// the one that counts by the duplicate rule.
    pub fn from_index(index: &super::EnvIndex, source: impl Into<String>) -> EnvListing {
        let env = index.env;
        let mut packages: Vec<EnvPackage> = index
            .packages()
            .map(|p| EnvPackage {
                name: p.name().to_string(),
                ecosystem: Ecosystem::Conda,
                version: Some(p.record.version.as_str().to_string()),
                build: Some(p.record.build.to_string()),
                channel: p.channel.as_deref().map(channel_name),
                spec: None,
            })
            .collect();
        packages.extend(env.pip.iter().map(|d| EnvPackage {
            name: normalize_dist_name(&d.name),
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
            let key = normalize_dist_name(&p.name);
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

/// The short name of a channel given as a name or URL (`esri` for
/// `https://conda.anaconda.org/esri`, `pkgs/main` for
/// `https://repo.anaconda.com/pkgs/main`).
pub fn channel_name(raw: &str) -> String {
    let raw = raw.trim().trim_end_matches('/');
    if raw.eq_ignore_ascii_case("pypi") {
        return "pypi".into();
    }
    if let Ok(url) = url::Url::parse(raw) {
        // Tokens and credentials are not part of a channel's name.
        let stripped = crate::redact::strip(&url);
        let channel = Channel::from_url(stripped.clone());
        return match stripped.host_str() {
            Some(_) => channel.name().trim_end_matches('/').to_string(),
            None => stripped.as_str().trim_end_matches('/').to_string(),
        };
    }
    let config = ChannelConfig::default_with_root_dir(PathBuf::from("/"));
    match Channel::from_str(raw, &config) {
        Ok(channel) => channel.name().trim_end_matches('/').to_string(),
        Err(_) => raw.to_string(),
    }
}
