//! ArcGIS product versions and the release table (`rules/releases.toml`):
//! which Pro release (and so which arcpy) pairs with which Server release, and
//! since when a capability exists. Product versions are the one place semver
//! fits; conda package versions never go through here.

use rattler_conda_types::Version as CondaVersion;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

const BUILTIN: &str = include_str!("../rules/releases.toml");

/// An ArcGIS product version such as `11.1` or `10.8.1`. Kept as written
/// (`11.1`) for display and compared as semver (`11.1.0`).
#[derive(Clone, Debug)]
pub struct ArcgisVersion {
    text: String,
    semver: semver::Version,
}

impl ArcgisVersion {
    pub fn semver(&self) -> &semver::Version {
        &self.semver
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for ArcgisVersion {
    fn eq(&self, other: &Self) -> bool {
        self.semver == other.semver
    }
}

impl Eq for ArcgisVersion {}

impl std::hash::Hash for ArcgisVersion {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.semver.hash(state);
    }
}

impl PartialOrd for ArcgisVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ArcgisVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.semver.cmp(&other.semver)
    }
}

impl fmt::Display for ArcgisVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a product version was rejected.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an ArcGIS version (expected a release such as 11.1 or 10.8.1)")]
pub struct BadArcgisVersion(String);

impl FromStr for ArcgisVersion {
    type Err = BadArcgisVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let parts: Vec<&str> = text.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(BadArcgisVersion(s.to_string()));
        }
        let mut padded = parts.clone();
        padded.resize(3, "0");
        let semver = semver::Version::parse(&padded.join("."))
            .map_err(|_| BadArcgisVersion(s.to_string()))?;
        Ok(ArcgisVersion {
            text: text.to_string(),
            semver,
        })
    }
}

impl<'de> Deserialize<'de> for ArcgisVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ArcgisVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A value from the release table with where it comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcedPackage {
    pub version: String,
    #[serde(default)]
    pub build: Option<String>,
    pub source: String,
}

/// One ArcGIS Server release and the Pro release it pairs with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub server: ArcgisVersion,
    pub pro: ArcgisVersion,
    pub source: String,
    /// Key packages of the release's arcgispro-py3, by conda name.
    #[serde(default)]
    pub packages: BTreeMap<String, SourcedPackage>,
}

impl SourcedPackage {
    /// Whether the value was seen in a source (not marked `unverified`).
    pub fn is_verified(&self) -> bool {
        !self.source.trim_start().starts_with("unverified")
    }
}

impl Release {
    pub fn package(&self, name: &str) -> Option<&SourcedPackage> {
        self.packages.get(name)
    }
}

/// A capability of ArcGIS Server and the release that introduced it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    pub since: ArcgisVersion,
    pub source: String,
}

/// Capabilities the checks ask about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    PerServiceEnv,
    ArcmapRuntimeRemoved,
    Proup,
}

impl Feature {
    fn key(self) -> &'static str {
        match self {
            Feature::PerServiceEnv => "per-service-env",
            Feature::ArcmapRuntimeRemoved => "arcmap-runtime-removed",
            Feature::Proup => "proup",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleasesFile {
    capabilities: BTreeMap<String, Capability>,
    release: Vec<Release>,
}

/// The release table.
#[derive(Clone, Debug)]
pub struct ReleaseTable {
    releases: Vec<Release>,
    capabilities: BTreeMap<String, Capability>,
}

impl ReleaseTable {
    pub fn builtin() -> ReleaseTable {
        match ReleaseTable::parse(BUILTIN) {
            Ok(table) => table,
            Err(e) => panic!("built-in rules/releases.toml is invalid: {e}"),
        }
    }

    pub fn parse(text: &str) -> Result<ReleaseTable, String> {
        let file: ReleasesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for feature in [
            Feature::PerServiceEnv,
            Feature::ArcmapRuntimeRemoved,
            Feature::Proup,
        ] {
            if !file.capabilities.contains_key(feature.key()) {
                return Err(format!("capability `{}` is missing", feature.key()));
            }
        }
        let mut problems = Vec::new();
        for r in &file.release {
            for (name, p) in &r.packages {
                if rattler_conda_types::PackageName::try_from(name.as_str()).is_err() {
                    problems.push(format!(
                        "release {}: `{name}` is not a package name",
                        r.server
                    ));
                }
                if CondaVersion::from_str(&p.version).is_err() {
                    problems.push(format!(
                        "release {}: {name} version `{}` is not a conda version",
                        r.server, p.version
                    ));
                }
                if p.source.trim().is_empty() {
                    problems.push(format!("release {}: {name} has no source", r.server));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let mut releases = file.release;
        releases.sort_by(|a, b| a.server.cmp(&b.server).then(a.pro.cmp(&b.pro)));
        Ok(ReleaseTable {
            releases,
            capabilities: file.capabilities,
        })
    }

    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The release whose Pro version has this major.minor.
    pub fn by_pro(&self, major: u64, minor: u64) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.pro.semver.major == major && r.pro.semver.minor == minor)
    }

    /// The Server release that ships an arcpy of this (conda) version.
    pub fn server_for_arcpy(&self, arcpy: &CondaVersion) -> Option<&Release> {
        let (major, minor) = arcpy.as_major_minor()?;
        self.by_pro(major, minor)
    }

    /// Releases for a Server version, compared on major.minor.patch.
    pub fn by_server<'a>(
        &'a self,
        server: &'a ArcgisVersion,
    ) -> impl Iterator<Item = &'a Release> + 'a {
        self.releases.iter().filter(move |r| r.server == *server)
    }

    pub fn capability(&self, feature: Feature) -> &Capability {
        &self.capabilities[feature.key()]
    }

    /// Whether `server` has the feature.
    pub fn supports(&self, server: &ArcgisVersion, feature: Feature) -> bool {
        *server >= self.capability(feature).since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ArcgisVersion {
        s.parse().unwrap()
    }

    #[test]
    fn arcgis_versions_normalize_and_compare() {
        assert_eq!(v("11.3").semver(), &semver::Version::new(11, 3, 0));
        assert_eq!(v("11.3").to_string(), "11.3");
        assert!(v("10.8.1") < v("10.9"));
        assert!(v("10.10") > v("10.9"));
        assert_eq!(v("11"), v("11.0"));
        for bad in ["", "11.x", "1.2.3.4", "v11", "11..1", "-1"] {
            assert!(bad.parse::<ArcgisVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn builtin_table_maps_arcpy_to_server() {
        let table = ReleaseTable::builtin();
        let arcpy: CondaVersion = "3.1".parse().unwrap();
        assert_eq!(table.server_for_arcpy(&arcpy).unwrap().server, v("11.1"));
        let arcpy: CondaVersion = "2.7.1".parse().unwrap();
        assert_eq!(table.server_for_arcpy(&arcpy).unwrap().server, v("10.8.1"));
        assert!(table.supports(&v("10.8.1"), Feature::PerServiceEnv));
        assert!(!table.supports(&v("10.8"), Feature::PerServiceEnv));
        assert!(table.supports(&v("11.0"), Feature::ArcmapRuntimeRemoved));
    }

    #[test]
    fn every_release_value_has_a_source() {
        let table = ReleaseTable::builtin();
        for r in table.releases() {
            assert!(!r.source.trim().is_empty(), "{}", r.server);
            for p in r.packages.values() {
                assert!(!p.source.trim().is_empty(), "{}", r.server);
            }
        }
    }

    #[test]
    fn releases_from_10_7_1_list_the_key_packages() {
        let table = ReleaseTable::builtin();
        let key = [
            "python",
            "arcpy",
            "numpy",
            "pandas",
            "matplotlib",
            "scipy",
            "arcgis",
        ];
        for r in table.releases().iter().filter(|r| r.server >= v("10.7.1")) {
            for name in key {
                assert!(r.package(name).is_some(), "{} lacks {name}", r.server);
            }
            // arcpy's version is the Pro release.
            let arcpy: CondaVersion = r.package("arcpy").unwrap().version.parse().unwrap();
            let pro = r.pro.semver();
            assert_eq!(
                arcpy.as_major_minor(),
                Some((pro.major, pro.minor)),
                "{}",
                r.server
            );
        }
        assert!(table.releases().iter().any(|r| r.server == v("12.0")));
    }

    #[test]
    fn bad_package_values_are_all_reported() {
        let text = "[capabilities]\nper-service-env={since='10.8.1',source='s'}\narcmap-runtime-removed={since='11.0',source='s'}\nproup={since='11.0',source='s'}\n[[release]]\nserver='11.1'\npro='3.1'\nsource='s'\n[release.packages]\nnumpy={version='1..2',source='s'}\n'Bad Name'={version='1',source=' '}\n";
        let err = ReleaseTable::parse(text).unwrap_err();
        assert!(
            err.contains("1..2") && err.contains("Bad Name") && err.contains("no source"),
            "{err}"
        );
    }
}
