//! ArcGIS product versions and the release table (`rules/releases.toml`):
//! which Pro release (and so which arcpy) pairs with which Server release, and
//! since when a capability exists; each row's package stack is Esri's list for
//! its Pro release (`stacks`), which wins over our own values. Product
//! versions are the one place semver fits; conda package versions never go
//! through here.

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
    /// The version is Esri's (`rules/arcgis-dist.json`), not ours.
    #[serde(skip)]
    pub esri: bool,
}

/// One ArcGIS Server release and the Pro release it pairs with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub server: ArcgisVersion,
    pub pro: ArcgisVersion,
    pub source: String,
    /// A Pro release that publishes to this Server release but whose stack
    /// is not the Server's own (10.8.1 ships Pro 2.6's; 2.7 publishes to it).
    #[serde(default)]
    pub accepted_publisher: bool,
    /// The packages of the release's arcgispro-py3, by conda name: Esri's
    /// whole list for the Pro release, plus what only we know (builds).
    #[serde(default)]
    pub packages: BTreeMap<String, SourcedPackage>,
    /// Where the stack comes from, e.g. `Esri, arcgis-dist.json (Pro 3.3)`;
    /// `None` when Esri's file does not list the Pro release.
    #[serde(skip)]
    pub stack_source: Option<String>,
}

impl SourcedPackage {
    /// Whether the value was seen in a source (Esri's list, or ours not
    /// marked `unverified`).
    pub fn is_verified(&self) -> bool {
        self.esri || !self.source.trim_start().starts_with("unverified")
    }

    /// `Esri` or `gpaudit`: whose value this is.
    pub fn origin(&self) -> &'static str {
        if self.esri {
            "Esri"
        } else {
            "gpaudit"
        }
    }
}

impl Release {
    pub fn package(&self, name: &str) -> Option<&SourcedPackage> {
        self.packages.get(name)
    }

    /// The package that names the release in an env: `arcpy`, or
    /// `arcgispro` before Pro 2.7 (which had no arcpy package).
    pub fn release_package(&self) -> &'static str {
        if self.packages.contains_key("arcpy") {
            "arcpy"
        } else {
            "arcgispro"
        }
    }

    /// Take the stack of this row's Pro release from Esri's list: every
    /// package Esri gives, at Esri's version. Ours stays only where Esri has
    /// nothing, and a build of ours stays only beside the same version.
    fn take_esri_stack(&mut self, stack: &crate::stacks::ProStack) {
        let source = stack.source();
        for (name, version) in &stack.packages {
            let ours = self.packages.remove(name);
            let same_version = |p: &SourcedPackage| match (
                CondaVersion::from_str(&p.version),
                CondaVersion::from_str(version),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            let value = match ours {
                Some(p) if p.build.is_some() && same_version(&p) => SourcedPackage {
                    version: version.clone(),
                    build: p.build,
                    source: format!("{source}; build: {}", p.source),
                    esri: true,
                },
                _ => SourcedPackage {
                    version: version.clone(),
                    build: None,
                    source: source.clone(),
                    esri: true,
                },
            };
            self.packages.insert(name.clone(), value);
        }
        self.stack_source = Some(format!("{source}, {} packages", stack.packages.len()));
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
    /// `rules/releases.toml` with every row's stack from Esri's list.
    pub fn builtin() -> ReleaseTable {
        match ReleaseTable::parse(BUILTIN) {
            Ok(table) => table.with_esri_stacks(&crate::stacks::EsriStacks::builtin()),
            Err(e) => panic!("built-in rules/releases.toml is invalid: {e}"),
        }
    }

    /// Every row takes the stack of its Pro release from Esri's list.
    pub fn with_esri_stacks(mut self, stacks: &crate::stacks::EsriStacks) -> ReleaseTable {
        for r in &mut self.releases {
            let pro = r.pro.semver();
            if let Some(stack) = stacks.for_pro(pro.major, pro.minor) {
                r.take_esri_stack(stack);
            }
        }
        self
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
        let mut servers: BTreeMap<&ArcgisVersion, usize> = BTreeMap::new();
        for r in file.release.iter().filter(|r| !r.accepted_publisher) {
            *servers.entry(&r.server).or_default() += 1;
        }
        for r in &file.release {
            match servers.get(&r.server).copied().unwrap_or(0) {
                1 => {}
                0 => problems.push(format!(
                    "release {}: every row is an accepted publisher; one must be the Server's own stack",
                    r.server
                )),
                _ => problems.push(format!(
                    "release {}: more than one row is the Server's own stack (mark the others `accepted_publisher = true`)",
                    r.server
                )),
            }
        }
        problems.dedup();
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

    /// The row whose stack is the Server release's own (10.8.1: Pro 2.6,
    /// not 2.7, which is an accepted publisher).
    pub fn own(&self, server: &ArcgisVersion) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.server == *server && !r.accepted_publisher)
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
    fn every_release_takes_its_whole_stack_from_esri() {
        let table = ReleaseTable::builtin();
        let key = ["python", "numpy", "pandas", "matplotlib", "scipy"];
        for r in table.releases() {
            assert!(r.stack_source.is_some(), "{} has no Esri stack", r.server);
            for name in key {
                let p = r
                    .package(name)
                    .unwrap_or_else(|| panic!("{} lacks {name}", r.server));
                assert!(
                    p.esri && p.is_verified(),
                    "{} {name}: {}",
                    r.server,
                    p.source
                );
            }
            // The release's own package's version is the Pro release.
            let named: CondaVersion = r
                .package(r.release_package())
                .unwrap()
                .version
                .parse()
                .unwrap();
            let pro = r.pro.semver();
            assert_eq!(
                named.as_major_minor(),
                Some((pro.major, pro.minor)),
                "{}",
                r.server
            );
            // No value Esri gives is still marked unverified.
            for (name, p) in &r.packages {
                assert!(p.is_verified(), "{} {name} is unverified", r.server);
            }
        }
        assert!(table.releases().iter().any(|r| r.server == v("12.0")));
    }

    #[test]
    fn esri_wins_over_values_we_called_verified() {
        let table = ReleaseTable::builtin();
        let pro20 = table.own(&v("10.5.1")).unwrap();
        assert_eq!(pro20.package("python").unwrap().version, "3.5.3");
        let s114 = table.own(&v("11.4")).unwrap();
        assert_eq!(s114.package("numpy").unwrap().version, "1.24.3");
        assert_eq!(s114.packages.len(), 280);
        // Our build stays beside Esri's (equal) version, and says whose it is.
        let arcpy = s114.package("arcpy").unwrap();
        assert_eq!(arcpy.build.as_deref(), Some("py311_arcgispro_55347"));
        assert!(arcpy
            .source
            .starts_with("Esri, arcgis-dist.json (Pro 3.4); build: NWFWMD"));
        // Before Pro 2.7 there is no arcpy package: the release is arcgispro.
        let s108 = table.own(&v("10.8")).unwrap();
        assert!(s108.package("arcpy").is_none());
        assert_eq!(s108.release_package(), "arcgispro");
    }

    #[test]
    fn no_value_in_releases_toml_is_shadowed_by_esri() {
        // releases.toml keeps only what Esri's file lacks: a value there that
        // Esri also gives would be dead (Esri wins), unless it is a build
        // kept beside Esri's same version.
        let raw = ReleaseTable::parse(BUILTIN).unwrap();
        let stacks = crate::stacks::EsriStacks::builtin();
        for r in raw.releases() {
            let stack = stacks
                .for_pro(r.pro.semver().major, r.pro.semver().minor)
                .unwrap();
            for (name, p) in &r.packages {
                if let Some(esri) = stack.version_of(name) {
                    assert!(
                        p.build.is_some() && p.version == esri,
                        "{} {name} {}: Esri gives {esri}; drop it from releases.toml",
                        r.server,
                        p.version
                    );
                }
            }
        }
    }

    #[test]
    fn server_10_8_1_has_pro_2_6_as_its_own_stack_and_2_7_as_publisher() {
        let table = ReleaseTable::builtin();
        let own = table.own(&v("10.8.1")).unwrap();
        assert_eq!(own.pro, v("2.6"));
        assert_eq!(own.package("python").unwrap().version, "3.6.10");
        let pros: Vec<String> = table
            .by_server(&v("10.8.1"))
            .map(|r| r.pro.to_string())
            .collect();
        assert_eq!(pros, ["2.6", "2.7"]);
        let two_own = "[capabilities]\nper-service-env={since='10.8.1',source='s'}\narcmap-runtime-removed={since='11.0',source='s'}\nproup={since='11.0',source='s'}\n[[release]]\nserver='10.8.1'\npro='2.6'\nsource='s'\n[[release]]\nserver='10.8.1'\npro='2.7'\nsource='s'\n";
        let err = ReleaseTable::parse(two_own).unwrap_err();
        assert!(err.contains("more than one row"), "{err}");
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
