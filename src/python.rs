//! Python's standard library per minor version (`rules/python.toml`): which
//! modules a script can import with no package, which ones a later Python
//! removed, and the modules ArcGIS itself provides. Built-in data, parsed
//! strictly; no check logic lives here.

use serde::Deserialize;
use std::collections::BTreeSet;

const BUILTIN: &str = include_str!("../rules/python.toml");

/// A Python `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyVersion(pub u64, pub u64);

impl PyVersion {
    pub fn parse(s: &str) -> Option<PyVersion> {
        let mut parts = s.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(PyVersion(major, minor))
    }
}

impl std::fmt::Display for PyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl<'de> Deserialize<'de> for PyVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PyVersion::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a Python major.minor")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PythonFile {
    stdlib: Base,
    change: Vec<Change>,
    provides: Vec<Provides>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Base {
    base: PyVersion,
    #[allow(dead_code)]
    source: String,
    modules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    version: PyVersion,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[allow(dead_code)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Provides {
    package: String,
    modules: Vec<String>,
    /// The `.pth` file of the package that adds them: where gpaudit read
    /// the env's `.pth` files, that file decides instead of this list.
    #[serde(default)]
    pth: Option<String>,
    #[allow(dead_code)]
    source: String,
}

/// The standard-library table.
#[derive(Debug)]
pub struct Stdlib {
    file: PythonFile,
}

impl Stdlib {
    pub fn builtin() -> Stdlib {
        match toml::from_str(BUILTIN) {
            Ok(file) => Stdlib { file },
            Err(e) => panic!("built-in rules/python.toml is invalid: {e}"),
        }
    }

    /// The top-level standard-library modules of Python `v`.
    pub fn modules(&self, v: PyVersion) -> BTreeSet<String> {
        let base = self.file.stdlib.base;
        let mut set: BTreeSet<String> = self.file.stdlib.modules.iter().cloned().collect();
        for c in &self.file.change {
            if c.version > base && v >= c.version {
                set.extend(c.added.iter().cloned());
                for r in &c.removed {
                    set.remove(r);
                }
            } else if c.version <= base && v < c.version {
                for a in &c.added {
                    set.remove(a);
                }
                set.extend(c.removed.iter().cloned());
            }
        }
        set
    }

    /// The first Python after `v` that no longer has `module`, if any.
    pub fn removed_after(&self, module: &str, v: PyVersion) -> Option<PyVersion> {
        self.file
            .change
            .iter()
            .filter(|c| c.version > v && c.removed.iter().any(|r| r == module))
            .map(|c| c.version)
            .min()
    }

    /// The built-in table, parsed once.
    pub fn shared() -> &'static Stdlib {
        static SHARED: std::sync::OnceLock<Stdlib> = std::sync::OnceLock::new();
        SHARED.get_or_init(Stdlib::builtin)
    }

    /// Modules `package` provides beyond the top-level entries of its
    /// files (through a `.pth` file or an import hook). With `pth_read`
    /// (the env's `.pth` files were read), the entries a `.pth` file
    /// provides are left out: the file itself says.
    pub fn provided_by(&self, package: &str, pth_read: bool) -> Vec<&str> {
        self.file
            .provides
            .iter()
            .filter(|p| p.package.eq_ignore_ascii_case(package))
            .filter(|p| !(pth_read && p.pth.is_some()))
            .flat_map(|p| p.modules.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_derived_from_the_base() {
        let s = Stdlib::builtin();
        let v = |a, b| s.modules(PyVersion(a, b));
        assert!(v(3, 11).contains("tomllib") && !v(3, 10).contains("tomllib"));
        assert!(v(3, 9).contains("zoneinfo") && !v(3, 8).contains("zoneinfo"));
        assert!(v(3, 11).contains("imp") && !v(3, 12).contains("imp"));
        assert!(v(3, 12).contains("telnetlib") && !v(3, 13).contains("telnetlib"));
        assert!(v(3, 9).contains("parser") && !v(3, 10).contains("parser"));
        assert!(v(3, 6).contains("os") && !v(3, 6).contains("dataclasses"));
        assert_eq!(
            s.removed_after("imp", PyVersion(3, 9)),
            Some(PyVersion(3, 12))
        );
        assert_eq!(s.removed_after("os", PyVersion(3, 9)), None);
        assert!(s.provided_by("pywin32", false).contains(&"win32api"));
        assert!(s.provided_by("pywin32", true).is_empty());
        assert!(s.provided_by("arcpy", true).contains(&"arcgisscripting"));
        assert!(v(3, 8).contains("dummy_threading") && !v(3, 9).contains("dummy_threading"));
        assert!(v(3, 6).contains("secrets") && !v(3, 5).contains("secrets"));
        assert!(PyVersion::parse("3.11.8") == Some(PyVersion(3, 11)));
    }
}
