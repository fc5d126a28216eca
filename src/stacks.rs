//! Esri's published package lists (`rules/arcgis-dist.json`, from the public
//! repository Esri/arcpy): the name → version of every package of the
//! default `arcgispro-py3` of each ArcGIS Pro release. Parses and validates
//! the file strictly (it is data we ship) and answers "what does Pro X.Y's
//! stack hold"; the Server pairing and the merge with our own values live in
//! `release`, which imports this module (never the other way round).
//! Versions only: the file has no build strings or channels.

use rattler_conda_types::{PackageName, Version};
use std::collections::BTreeMap;
use std::str::FromStr;

const BUILTIN: &str = include_str!("../rules/arcgis-dist.json");

/// Where Esri's values come from, as findings and baselines name it.
pub const ESRI_SOURCE: &str = "Esri, arcgis-dist.json";

/// One Pro release's `arcgispro-py3`, as Esri lists it.
#[derive(Clone, Debug)]
pub struct ProStack {
    /// The release key as Esri writes it (`3.3`).
    pub pro: String,
    /// The key's major and minor (`(3, 3)`).
    pub major_minor: (u64, u64),
    /// Normalized conda name → version, as written.
    pub packages: BTreeMap<String, String>,
}

impl ProStack {
    pub fn version_of(&self, name: &str) -> Option<&str> {
        self.packages.get(name).map(String::as_str)
    }

    /// The package that names the release: `arcpy` from Pro 2.7 on, else
    /// `arcgispro` (Esri's list has no `arcpy` before 2.7).
    pub fn release_package(&self) -> &'static str {
        if self.packages.contains_key("arcpy") {
            "arcpy"
        } else {
            "arcgispro"
        }
    }

    /// `Esri, arcgis-dist.json (Pro 3.3)`.
    pub fn source(&self) -> String {
        format!("{ESRI_SOURCE} (Pro {})", self.pro)
    }
}

/// Every Pro release in Esri's file.
#[derive(Clone, Debug)]
pub struct EsriStacks {
    stacks: Vec<ProStack>,
}

impl EsriStacks {
    /// The vendored copy. It is checked by a test, so a failure here is a
    /// build defect, not bad input.
    pub fn builtin() -> EsriStacks {
        match EsriStacks::parse(BUILTIN) {
            Ok(s) => s,
            Err(problems) => panic!(
                "built-in rules/arcgis-dist.json is invalid: {}",
                problems.join("; ")
            ),
        }
    }

    /// Parse Esri's file, reporting every problem (not just the first).
    pub fn parse(text: &str) -> Result<EsriStacks, Vec<String>> {
        let raw: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(text.trim_start_matches('\u{feff}'))
                .map_err(|e| vec![format!("not Esri's release → package → version map: {e}")])?;
        let mut problems = Vec::new();
        let mut stacks = Vec::new();
        for (key, packages) in raw {
            let Some(major_minor) = pro_key(&key) else {
                problems.push(format!(
                    "release `{key}` is not an ArcGIS Pro release (expected one such as 3.3)"
                ));
                continue;
            };
            let mut normalized = BTreeMap::new();
            for (name, version) in packages {
                let Ok(parsed) = PackageName::try_from(name.as_str()) else {
                    problems.push(format!("Pro {key}: `{name}` is not a conda package name"));
                    continue;
                };
                if Version::from_str(&version).is_err() {
                    problems.push(format!(
                        "Pro {key}: {name} version `{version}` is not a conda version"
                    ));
                    continue;
                }
                let norm = parsed.as_normalized().to_string();
                if normalized.insert(norm.clone(), version).is_some() {
                    problems.push(format!("Pro {key}: `{norm}` is listed twice"));
                }
            }
            let stack = ProStack {
                pro: key.clone(),
                major_minor,
                packages: normalized,
            };
            if !stack.packages.contains_key("arcgispro") {
                problems.push(format!("Pro {key}: no `arcgispro` package"));
            }
            if stack.major_minor >= (2, 7) && !stack.packages.contains_key("arcpy") {
                problems.push(format!("Pro {key}: no `arcpy` package (Pro 2.7 and later)"));
            }
            if !stack.packages.contains_key("python") {
                problems.push(format!("Pro {key}: no `python` package"));
            }
            stacks.push(stack);
        }
        if stacks.is_empty() && problems.is_empty() {
            problems.push("no release listed".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        stacks.sort_by_key(|s| s.major_minor);
        Ok(EsriStacks { stacks })
    }

    pub fn stacks(&self) -> &[ProStack] {
        &self.stacks
    }

    /// The stack of Pro `major.minor` (Esri lists minor releases only).
    pub fn for_pro(&self, major: u64, minor: u64) -> Option<&ProStack> {
        self.stacks.iter().find(|s| s.major_minor == (major, minor))
    }
}

/// `3.3` → `(3, 3)`: Esri keys its file by Pro major.minor (a product
/// version, not a conda one).
fn pro_key(key: &str) -> Option<(u64, u64)> {
    let (major, minor) = key.split_once('.')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(major)?, number(minor)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_file_parses_and_spans_pro_2_0_to_3_7() {
        let stacks = EsriStacks::builtin();
        let first = &stacks.stacks()[0];
        let last = stacks.stacks().last().unwrap();
        assert_eq!((first.pro.as_str(), last.pro.as_str()), ("2.0", "3.7"));
        assert_eq!(first.packages.len(), 33);
        assert_eq!(last.packages.len(), 317);
        let p33 = stacks.for_pro(3, 3).unwrap();
        for (name, version) in [
            ("python", "3.11.8"),
            ("numpy", "1.24.3"),
            ("pandas", "2.0.2"),
            ("matplotlib", "3.6.3"),
            ("scipy", "1.9.3"),
            ("gdal", "3.8.1"),
            ("arcgis", "2.3.0"),
            ("arcpy", "3.3"),
        ] {
            assert_eq!(p33.version_of(name), Some(version), "{name}");
        }
        assert_eq!(
            stacks.for_pro(2, 0).unwrap().version_of("python"),
            Some("3.5.3")
        );
        assert!(stacks.for_pro(4, 0).is_none());
        for bad in ["3", "3.x", "3.", ".3", "3.3.1"] {
            assert_eq!(pro_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn before_pro_2_7_the_release_is_named_by_arcgispro() {
        let stacks = EsriStacks::builtin();
        assert_eq!(stacks.for_pro(2, 6).unwrap().release_package(), "arcgispro");
        assert_eq!(stacks.for_pro(2, 7).unwrap().release_package(), "arcpy");
    }

    #[test]
    fn vendored_file_is_byte_identical_to_the_source_note() {
        // rules/arcgis-dist.SOURCE.md records the sha256 of the copy; a
        // re-sync must update both together.
        let note = include_str!("../rules/arcgis-dist.SOURCE.md");
        let digest = rattler_digest::compute_bytes_digest::<rattler_digest::Sha256>(BUILTIN);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert!(note.contains(&hex), "SOURCE.md lacks sha256 {hex}");
    }

    #[test]
    fn every_problem_of_a_bad_copy_is_reported() {
        let text = r#"{"3.x": {"python": "3.11"}, "3.3": {"Bad Name": "1", "numpy": "1..2"}, "2.8": {"arcgispro": "2.8", "python": "3.7"}}"#;
        let problems = EsriStacks::parse(text).unwrap_err();
        let all = problems.join("\n");
        for want in [
            "`3.x`",
            "Bad Name",
            "1..2",
            "Pro 3.3: no `arcgispro`",
            "Pro 2.8: no `arcpy`",
        ] {
            assert!(all.contains(want), "{want} not in {all}");
        }
        assert!(EsriStacks::parse("[1, 2]").is_err());
        assert!(EsriStacks::parse("{}").is_err());
    }
}
