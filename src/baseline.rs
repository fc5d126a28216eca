//! `gpaudit baseline`: the `conda-meta/pinned` file (or an environment.yml)
//! that holds an env to a release's critical stack (python, numpy,
//! matplotlib, scipy, pandas, arcpy, at the versions of Esri's list for the
//! release, through `rules/releases.toml`), or to the
//! exact core and native packages of an existing env. Every spec is built
//! and checked with rattler's `MatchSpec`. Builds text; writes nothing.

use crate::reference::{Ecosystem, EnvListing};
use crate::release::{ArcgisVersion, Release, ReleaseTable};
use crate::roles::{Role, Roles};
use rattler_conda_types::{
    EnvironmentYaml, MatchSpec, MatchSpecOrSubSection, NamedChannelOrUrl, ParseStrictness,
};
use std::str::FromStr;

/// The packages a release baseline pins (the USGS "critical stack").
pub const CRITICAL_STACK: &[&str] = &["python", "numpy", "matplotlib", "scipy", "pandas", "arcpy"];

/// One pinned spec and the comment line written above it.
#[derive(Debug, Clone)]
pub struct Pin {
    pub spec: String,
    pub note: Option<String>,
}

/// A baseline as data: header lines, pins, and what was left out.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Becomes the env name in environment.yml.
    pub name: String,
    pub header: Vec<String>,
    pub pins: Vec<Pin>,
    /// Pins whose value is marked `unverified` in the release table.
    pub unverified: Vec<String>,
}

/// Build a spec through rattler (strict) so that only valid match specs are
/// ever written, in rattler's canonical spelling.
fn spec(text: &str) -> Result<String, String> {
    MatchSpec::from_str(text, ParseStrictness::Strict)
        .map(|s| s.to_string())
        .map_err(|e| format!("`{text}` is not a valid match spec: {e}"))
}

/// The release for a Server version: the row of its own stack (of Pro 2.6
/// and 2.7 on 10.8.1, 2.6; see `rules/releases.toml`).
pub fn release_for<'a>(
    table: &'a ReleaseTable,
    server: &ArcgisVersion,
) -> Result<&'a Release, String> {
    table.own(server).ok_or_else(|| {
        let mut known: Vec<String> = table
            .releases()
            .iter()
            .map(|r| r.server.to_string())
            .collect();
        known.dedup();
        format!(
            "ArcGIS Server {server} is not in the release table (known: {})",
            known.join(", ")
        )
    })
}

/// Pin a release's critical stack at the versions the release table gives
/// (Esri's, where Esri's list has them).
pub fn from_release(release: &Release) -> Result<Baseline, String> {
    let mut pins = Vec::new();
    let mut unverified = Vec::new();
    let mut missing = Vec::new();
    let (mut esri, mut ours) = (Vec::new(), Vec::new());
    for name in CRITICAL_STACK {
        // Before Pro 2.7 the release is the `arcgispro` package (no arcpy).
        let name = if *name == "arcpy" {
            release.release_package()
        } else {
            name
        };
        let Some(p) = release.package(name) else {
            missing.push(name);
            continue;
        };
        // arcpy's (arcgispro's) version is the Pro release; Pro patches
        // ship 3.3.x.
        let text = if matches!(name, "arcpy" | "arcgispro") {
            format!("{name} {}.*", p.version)
        } else {
            format!("{name} =={}", p.version)
        };
        if !p.is_verified() {
            unverified.push(name.to_string());
        }
        if p.esri { &mut esri } else { &mut ours }.push(name);
        pins.push(Pin {
            spec: spec(&text)?,
            note: Some(format!("{name} {}: {}", p.version, p.source)),
        });
    }
    if pins.is_empty() {
        return Err(format!(
            "the release table has none of {} for ArcGIS Server {}",
            CRITICAL_STACK.join(", "),
            release.server
        ));
    }
    let mut header = vec![
        format!(
            "The critical stack of ArcGIS Server {} (ArcGIS Pro {}), from gpaudit {}'s release table.",
            release.server,
            release.pro,
            env!("CARGO_PKG_VERSION")
        ),
        "conda reads one match spec per line; these stop `conda install` from moving the stack.".into(),
        format!(
            "Server {} <-> Pro {}: {} (gpaudit's release table; Esri's list has no pairing).",
            release.server, release.pro, release.source
        ),
    ];
    if let Some(stack) = &release.stack_source {
        header.push(format!(
            "Esri's versions ({stack}): {}. Esri's list has versions only, no build strings: these pins hold the version, any build of it matches.",
            if esri.is_empty() { "none".to_string() } else { esri.join(", ") }
        ));
    }
    if !ours.is_empty() {
        header.push(format!(
            "gpaudit's own values (not in Esri's list): {}.",
            ours.join(", ")
        ));
    }
    if !unverified.is_empty() {
        header.push(format!(
            "UNVERIFIED: {} — check with `conda list` in that release's arcgispro-py3, or use `gpaudit baseline --from ENV`.",
            unverified.join(", ")
        ));
    }
    if !missing.is_empty() {
        header.push(format!(
            "Not pinned (no version known): {}.",
            missing.join(", ")
        ));
    }
    Ok(Baseline {
        name: format!("arcgis-server-{}-baseline", release.server),
        header,
        pins,
        unverified,
    })
}

/// Pin the exact core and native conda packages of an env.
pub fn from_env(listing: &EnvListing, roles: &Roles) -> Result<Baseline, String> {
    let mut pins = Vec::new();
    let mut skipped_pip = Vec::new();
    let mut unpinnable = Vec::new();
    for p in &listing.packages {
        if roles.of(&p.name) == Role::Python {
            continue;
        }
        if p.ecosystem == Ecosystem::Pypi {
            skipped_pip.push(p.name.clone());
            continue;
        }
        let Some(version) = &p.version else {
            unpinnable.push(p.name.clone());
            continue;
        };
        let text = match &p.build {
            Some(build) => format!("{} =={version} {build}", p.name),
            None => format!("{} =={version}", p.name),
        };
        pins.push(Pin {
            spec: spec(&text)?,
            note: None,
        });
    }
    if pins.is_empty() {
        return Err(format!(
            "{} has no core or native conda package with a version to pin",
            listing.source
        ));
    }
    let mut header = vec![
        format!(
            "The core and native packages of {} ({}), pinned exactly by gpaudit {}.",
            listing.source,
            listing.format.describe(),
            env!("CARGO_PKG_VERSION")
        ),
        "conda reads one match spec per line; these stop `conda install` from moving them.".into(),
    ];
    if !skipped_pip.is_empty() {
        header.push(format!(
            "Installed by pip, which conda cannot pin: {}.",
            skipped_pip.join(", ")
        ));
    }
    if !unpinnable.is_empty() {
        header.push(format!(
            "Listed without a version, not pinned: {}.",
            unpinnable.join(", ")
        ));
    }
    let base = crate::paths::last_component(&listing.source).to_string();
    Ok(Baseline {
        name: format!(
            "{}-baseline",
            base.trim_end_matches(".json").trim_end_matches(".txt")
        ),
        header,
        pins,
        unverified: Vec::new(),
    })
}

/// When the env's arcpy is not the release's, say so: `--from` pins what
/// the env has, whatever `--release` says.
pub fn release_mismatch(listing: &EnvListing, release: &Release) -> Option<String> {
    let arcpy = listing.by_name().get("arcpy")?.version.clone()?;
    let version = rattler_conda_types::Version::from_str(&arcpy).ok()?;
    let pro = release.pro.semver();
    (version.as_major_minor() != Some((pro.major, pro.minor))).then(|| {
        format!(
            "{} has arcpy {arcpy}, not ArcGIS Pro {}'s (Server {}); the pins are the env's",
            listing.source, release.pro, release.server
        )
    })
}

impl Baseline {
    /// The `conda-meta/pinned` file.
    pub fn render_pinned(&self) -> String {
        let mut out = String::from("# conda-meta/pinned\n");
        for line in &self.header {
            out.push_str(&format!("# {line}\n"));
        }
        for pin in &self.pins {
            if let Some(note) = &pin.note {
                out.push_str(&format!("# {note}\n"));
            }
            out.push_str(&pin.spec);
            out.push('\n');
        }
        out
    }

    /// An environment.yml with the pins as its dependencies.
    pub fn render_environment_yml(&self) -> String {
        let yaml = EnvironmentYaml {
            name: Some(self.name.clone()),
            channels: vec![
                NamedChannelOrUrl::Name("esri".into()),
                NamedChannelOrUrl::Name("defaults".into()),
            ],
            dependencies: self
                .pins
                .iter()
                .filter_map(|p| MatchSpec::from_str(&p.spec, ParseStrictness::Strict).ok())
                .map(|s| MatchSpecOrSubSection::MatchSpec(Box::new(s)))
                .collect(),
            ..EnvironmentYaml::default()
        };
        let mut out = String::new();
        for line in &self.header {
            out.push_str(&format!("# {line}\n"));
        }
        for pin in &self.pins {
            if let Some(note) = &pin.note {
                out.push_str(&format!("# {note}\n"));
            }
        }
        out.push_str(&yaml.to_yaml_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;

    #[test]
    fn release_baseline_pins_esris_versions_of_the_critical_stack() {
        let table = ReleaseTable::builtin();
        let release = release_for(&table, &"11.3".parse().unwrap()).unwrap();
        let b = from_release(release).unwrap();
        let specs: Vec<&str> = b.pins.iter().map(|p| p.spec.as_str()).collect();
        // Esri's arcgis-dist.json, Pro 3.3 (matplotlib was 3.8.4 and scipy
        // 1.11.4 in our unverified table).
        assert_eq!(
            specs,
            [
                "python ==3.11.8",
                "numpy ==1.24.3",
                "matplotlib ==3.6.3",
                "scipy ==1.9.3",
                "pandas ==2.0.2",
                "arcpy 3.3.*"
            ]
        );
        assert!(b.unverified.is_empty());
        let text = b.render_pinned();
        assert!(text.starts_with(
            "# conda-meta/pinned\n# The critical stack of ArcGIS Server 11.3 (ArcGIS Pro 3.3)"
        ));
        assert!(
            text.contains("# Esri's versions (Esri, arcgis-dist.json (Pro 3.3), 262 packages): python, numpy, matplotlib, scipy, pandas, arcpy. Esri's list has versions only, no build strings"),
            "{text}"
        );
        assert!(
            text.contains("# numpy 1.24.3: Esri, arcgis-dist.json (Pro 3.3)\n"),
            "{text}"
        );
        assert!(!text.contains("UNVERIFIED"), "{text}");
        // Every non-comment line is a match spec conda (and rattler) reads,
        // and the pinned versions match what they should.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let s = MatchSpec::from_str(line, ParseStrictness::Strict).unwrap();
            if line.starts_with("numpy") {
                let ok: rattler_conda_types::Version = "1.24.3".parse().unwrap();
                let other: rattler_conda_types::Version = "1.24.4".parse().unwrap();
                assert!(s.version.as_ref().unwrap().matches(&ok));
                assert!(!s.version.as_ref().unwrap().matches(&other));
            }
        }
    }

    #[test]
    fn release_baseline_before_pro_2_7_pins_arcgispro() {
        let table = ReleaseTable::builtin();
        let release = release_for(&table, &"10.8".parse().unwrap()).unwrap();
        let specs: Vec<String> = from_release(release)
            .unwrap()
            .pins
            .into_iter()
            .map(|p| p.spec)
            .collect();
        assert_eq!(specs.last().map(String::as_str), Some("arcgispro 2.5.*"));
        assert!(specs.contains(&"python ==3.6.9".to_string()), "{specs:?}");
    }

    #[test]
    fn unknown_release_lists_known_ones() {
        let table = ReleaseTable::builtin();
        let err = release_for(&table, &"9.3".parse().unwrap()).unwrap_err();
        assert!(err.contains("9.3") && err.contains("11.3"), "{err}");
    }

    #[test]
    fn env_baseline_pins_core_and_native_exactly() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/reference/conda-list.json");
        let listing = reference::load(&path, reference::Selection::default(), None).unwrap();
        let b = from_env(&listing, &Roles::builtin()).unwrap();
        let specs: Vec<&str> = b.pins.iter().map(|p| p.spec.as_str()).collect();
        assert_eq!(
            specs,
            [
                "arcgis ==2.1.0 py39_3480",
                "arcpy ==3.1 py39_arcgispro_41759",
                "gdal ==3.4.1 py39_arcgispro_0",
                "numpy ==1.20.1 py39h34a8a5c_0",
                "python ==3.9.16 h6244533_2",
            ]
        );
        let yml = b.render_environment_yml();
        let parsed = EnvironmentYaml::from_yaml_str(&yml).unwrap();
        assert_eq!(parsed.match_specs().count(), 5);
        assert_eq!(parsed.name.as_deref(), Some("conda-list-baseline"));
    }
}
