//! Paths as ArcGIS writes them. Paths read from ArcGIS files (`C:\...`,
//! `\\server\share\...`, backslashes, any letter case) are Windows paths
//! whatever OS the audit runs on; this module turns them into paths readable
//! here (through a machine's `path_map`) and into keys for comparison.

use std::path::{Path, PathBuf};
use typed_path::{Utf8Component, Utf8WindowsComponent, Utf8WindowsPath};

/// Whether `s` is an absolute Windows path (`C:\x`, `C:/x`, `\\server\share`).
pub fn is_windows_absolute(s: &str) -> bool {
    Utf8WindowsPath::new(s).is_absolute()
}

/// Whether a `condaEnvironmentPath` (or `default_env`) value names an env
/// rather than giving its path: Esri accepts both.
pub fn is_bare_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\\']) && !s.contains(':')
}

/// The components of a path written Windows- or Unix-style, lower-cased, so
/// that `C:\Program Files\X` and `c:/program files/x/` compare equal.
fn components_key(s: &str) -> Vec<String> {
    Utf8WindowsPath::new(s)
        .components()
        .filter_map(|c| match c {
            Utf8WindowsComponent::Prefix(p) => Some(p.as_str().to_lowercase().replace('/', "\\")),
            Utf8WindowsComponent::RootDir => None,
            Utf8WindowsComponent::CurDir => None,
            other => Some(other.as_str().to_lowercase()),
        })
        .collect()
}

/// A comparison key for a path: Windows semantics (case-insensitive, either
/// separator), so an env referenced as `D:\Envs\Hydro` matches `d:/envs/hydro`.
pub fn path_key(path: &str) -> String {
    let absolute = path.starts_with(['/', '\\']);
    let key = components_key(path).join("/");
    if absolute {
        format!("/{key}")
    } else {
        key
    }
}

/// The last component of a path written either way: the env's name.
pub fn last_component(s: &str) -> &str {
    s.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(s)
}

/// A machine's `path_map`: paths as the machine sees them → where they are here.
#[derive(Clone, Debug, Default)]
pub struct PathMap {
    entries: Vec<(Vec<String>, PathBuf)>,
}

impl PathMap {
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, PathBuf)>) -> PathMap {
        let mut entries: Vec<(Vec<String>, PathBuf)> = entries
            .into_iter()
            .map(|(from, to)| (components_key(from), to))
            .collect();
        // Longest prefix first, so `D:\envs\special` wins over `D:\`.
        entries.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        PathMap { entries }
    }

    /// Map a machine path to a local one, if an entry covers it.
    pub fn map(&self, machine_path: &str) -> Option<PathBuf> {
        let parts = components_key(machine_path);
        let original: Vec<&str> = Utf8WindowsPath::new(machine_path)
            .components()
            .filter(|c| {
                !matches!(
                    c,
                    Utf8WindowsComponent::RootDir | Utf8WindowsComponent::CurDir
                )
            })
            .map(|c| c.as_str())
            .collect();
        for (prefix, local) in &self.entries {
            if prefix.is_empty() || parts.len() < prefix.len() {
                continue;
            }
            if parts[..prefix.len()] == prefix[..] {
                let mut out = local.clone();
                for rest in &original[prefix.len()..] {
                    out.push(rest);
                }
                return Some(out);
            }
        }
        None
    }
}

/// Where a path written in site.toml or read from ArcGIS files is, here.
///
/// In order: a `path_map` entry that covers it; a relative path, taken
/// relative to `base` (the site file's folder); a path absolute on this host,
/// used as is. A Windows path no entry covers cannot be read on another OS:
/// `None`.
pub fn resolve(path: &str, map: &PathMap, base: &Path) -> Option<PathBuf> {
    if let Some(mapped) = map.map(path) {
        return Some(mapped);
    }
    let host = Path::new(path);
    if host.is_absolute() {
        return Some(host.to_path_buf());
    }
    if is_windows_absolute(path) || path.starts_with(['\\', '/']) {
        return None;
    }
    Some(base.join(path.replace('\\', "/")))
}

/// Display a local path the same way on every OS.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_separators() {
        assert_eq!(
            path_key(r"C:\Program Files\ArcGIS\"),
            path_key("c:/program files/arcgis")
        );
        assert_ne!(path_key(r"C:\a\b"), path_key(r"C:\a\c"));
        assert_eq!(path_key("/srv/x/"), "/srv/x");
    }

    #[test]
    fn names_versus_paths() {
        assert!(is_bare_name("hydro"));
        assert!(!is_bare_name(r"D:\envs\hydro"));
        assert!(!is_bare_name("envs/hydro"));
        assert!(is_windows_absolute(r"D:\envs"));
        assert!(is_windows_absolute(r"\\fileserver\share\store"));
        assert!(!is_windows_absolute("gis1/envs"));
        assert_eq!(last_component(r"D:\envs\Hydro\"), "Hydro");
    }

    #[test]
    fn path_map_uses_longest_prefix_case_insensitively() {
        let map = PathMap::new([
            (r"D:\", PathBuf::from("/copy/d")),
            (r"D:\Envs", PathBuf::from("/copy/d-envs")),
        ]);
        assert_eq!(
            map.map(r"d:\envs\Special"),
            Some(PathBuf::from("/copy/d-envs/Special"))
        );
        assert_eq!(
            map.map(r"D:\other\x"),
            Some(PathBuf::from("/copy/d/other/x"))
        );
        assert_eq!(map.map(r"E:\x"), None);
        // A prefix must match whole components.
        assert_eq!(
            map.map(r"D:\Envs2\x"),
            Some(PathBuf::from("/copy/d/Envs2/x"))
        );
    }

    #[test]
    fn unc_paths_map() {
        let map = PathMap::new([(r"\\fileserver\gis", PathBuf::from("/copy/fs"))]);
        assert_eq!(
            map.map(r"\\FileServer\GIS\config-store"),
            Some(PathBuf::from("/copy/fs/config-store"))
        );
    }

    #[test]
    fn resolve_relative_mapped_and_unmappable() {
        let base = Path::new("/site");
        let map = PathMap::new([(r"D:\envs", PathBuf::from("/copy/envs"))]);
        assert_eq!(
            resolve(r"D:\envs\x", &map, base),
            Some(PathBuf::from("/copy/envs/x"))
        );
        assert_eq!(
            resolve(r"elsewhere\envs\x", &map, base),
            Some(PathBuf::from("/site/elsewhere/envs/x"))
        );
        if cfg!(unix) {
            assert_eq!(resolve(r"E:\x", &map, base), None);
            assert_eq!(resolve("/abs/x", &map, base), Some(PathBuf::from("/abs/x")));
        }
    }
}
