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

/// The components of a path as written, in the order and number of
/// [`components_key`]'s (which lower-cases them).
fn written_components(s: &str) -> Vec<&str> {
    Utf8WindowsPath::new(s)
        .components()
        .filter(|c| {
            !matches!(
                c,
                Utf8WindowsComponent::RootDir | Utf8WindowsComponent::CurDir
            )
        })
        .map(|c| c.as_str())
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
    /// (the machine's prefix as a key, where it is here, the machine's
    /// prefix as written).
    entries: Vec<(Vec<String>, PathBuf, String)>,
}

impl PathMap {
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, PathBuf)>) -> PathMap {
        let mut entries: Vec<(Vec<String>, PathBuf, String)> = entries
            .into_iter()
            .map(|(from, to)| (components_key(from), to, from.to_string()))
            .collect();
        // Longest prefix first, so `D:\envs\special` wins over `D:\`.
        entries.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        PathMap { entries }
    }

    /// The entries as written: (the machine's path, where it is here).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.entries
            .iter()
            .map(|(_, to, from)| (from.as_str(), to.as_path()))
    }

    /// The inverse of [`PathMap::map`]: a path here (as displayed) as the
    /// machine sees it, when an entry's local folder holds it. The longest
    /// local folder wins; the rest is joined with the machine path's own
    /// separator (`\` after `D:\envs`).
    pub fn unmap(&self, here: &str) -> Option<String> {
        let parts = components_key(here);
        let original = written_components(here);
        let absolute = here.starts_with(['/', '\\']);
        let mut best: Option<(usize, &str)> = None;
        for (_, to, from) in &self.entries {
            let to_text = display(to);
            let prefix = components_key(&to_text);
            let same_root = absolute == to_text.starts_with(['/', '\\']);
            if prefix.is_empty() || parts.len() < prefix.len() || !same_root {
                continue;
            }
            if parts[..prefix.len()] == prefix[..] && best.is_none_or(|(n, _)| prefix.len() > n) {
                best = Some((prefix.len(), from.as_str()));
            }
        }
        let (n, from) = best?;
        let rest = original[n..].join("/");
        Some(if rest.is_empty() {
            from.to_string()
        } else {
            join_displayed(from, &rest)
        })
    }

    /// Map a machine path to a local one, if an entry covers it.
    pub fn map(&self, machine_path: &str) -> Option<PathBuf> {
        let parts = components_key(machine_path);
        let original = written_components(machine_path);
        for (prefix, local, _) in &self.entries {
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

/// Where a path written in the site file (`install_dir`, `extra_envs`) is,
/// here.
///
/// In order: a `path_map` entry that covers it; a relative path, taken
/// relative to `base` (the site file's folder); a path absolute on this host,
/// used as is (the site file is written for where gpaudit runs: a copy, a
/// mount or a `\\machine\share`). A Windows path no entry covers cannot be
/// read on another OS: `None`.
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

/// A path read from a machine's own ArcGIS files (`condaEnvironmentPath`,
/// the config store connection, a server directory) that no `path_map`
/// entry covers, on a machine that is not the one gpaudit runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    pub path: String,
    pub machine: String,
}

impl std::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let folder = parent_of(&self.path);
        write!(
            f,
            "`{}` is a path on machine `{}` that no path_map entry covers; add `path_map = {{ '{folder}' = \"<where that folder is here>\" }}` to the machine in the site file (or `local = true` if gpaudit runs on it)",
            self.path, self.machine
        )
    }
}

/// The folder holding `path`, written as the machine wrote it (`D:\envs` for
/// `D:\envs\special`); a root stays itself.
fn parent_of(path: &str) -> &str {
    let trimmed = path.trim_end_matches(['/', '\\']);
    match trimmed.rfind(['/', '\\']) {
        Some(i)
            if i > 0 && !trimmed[..i].ends_with(['/', '\\']) && !trimmed[..i].ends_with(':') =>
        {
            &trimmed[..i]
        }
        Some(i) => &trimmed[..=i],
        None => trimmed,
    }
}

/// Where a path read from machine `machine`'s ArcGIS files is, here.
///
/// A `path_map` entry that covers it wins; a relative path is taken
/// relative to `base`. An absolute path is read as it is only when `local`
/// (gpaudit runs on that machine): `D:\envs\special` on another machine is
/// not this host's `D:` drive, whatever drives this host has.
pub fn resolve_machine_path(
    path: &str,
    map: &PathMap,
    base: &Path,
    machine: &str,
    local: bool,
) -> Result<PathBuf, Unmapped> {
    if let Some(mapped) = map.map(path) {
        return Ok(mapped);
    }
    let absolute =
        Path::new(path).is_absolute() || is_windows_absolute(path) || path.starts_with(['\\', '/']);
    if !absolute {
        return Ok(base.join(path.replace('\\', "/")));
    }
    if local && Path::new(path).is_absolute() {
        return Ok(PathBuf::from(path));
    }
    Err(Unmapped {
        path: path.to_string(),
        machine: machine.to_string(),
    })
}

/// Whether a machine of the site file is the host gpaudit runs on: its name
/// equals the host's name ignoring case, or, when either is written
/// without a domain, the first labels are equal (`GIS1.EXAMPLE.COM` and
/// a host named `gis1`).
pub fn is_this_host(machine: &str, host: &str) -> bool {
    let (machine, host) = (machine.trim(), host.trim());
    if machine.is_empty() || host.is_empty() {
        return false;
    }
    if machine.eq_ignore_ascii_case(host) {
        return true;
    }
    let short = |s: &str| s.split('.').next().unwrap_or(s).to_string();
    (!machine.contains('.') || !host.contains('.'))
        && short(machine).eq_ignore_ascii_case(&short(host))
}

/// The name of the host gpaudit runs on, if it can be told.
pub fn this_host_name() -> Option<String> {
    #[cfg(unix)]
    {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
    }
    #[cfg(windows)]
    {
        // The NetBIOS name Windows sets for every process.
        std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty())
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

/// Display a local path as its OS writes it: on Windows with `\` throughout
/// (a site file's `gis1/ArcGIS/Server` joined with `framework` would
/// otherwise show both separators) and without the `\\?\` prefix that
/// canonical paths carry.
pub fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    if cfg!(windows) {
        windows_display(&text)
    } else {
        text.into_owned()
    }
}

/// `rel` appended to a path as a snapshot holds it (already displayed),
/// with the separator that path uses: `\` after a Windows path, `/`
/// otherwise. For checks, which see strings, not the file system.
pub fn join_displayed(base: &str, rel: &str) -> String {
    let sep = if base.contains('\\') && !base.contains('/') {
        '\\'
    } else {
        '/'
    };
    let rel = rel
        .trim_start_matches(['/', '\\'])
        .replace(['/', '\\'], &sep.to_string());
    format!("{}{sep}{rel}", base.trim_end_matches(['/', '\\']))
}

/// A Windows path as Explorer and `cmd` show it.
fn windows_display(text: &str) -> String {
    let plain = match text.strip_prefix(r"\\?\UNC\") {
        Some(share) => format!(r"\\{share}"),
        None => text.strip_prefix(r"\\?\").unwrap_or(text).to_string(),
    };
    plain.replace('/', "\\")
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
    fn unmap_gives_back_the_machine_path_with_its_own_separator() {
        let map = PathMap::new([
            ("D:\\", PathBuf::from("site/gis1/d")),
            ("D:\\envs", PathBuf::from("site/gis1/d-envs")),
            (
                "C:\\Program Files\\ArcGIS\\Server",
                PathBuf::from("/copies/gis1"),
            ),
        ]);
        assert_eq!(
            map.unmap("site/gis1/d-envs/special").as_deref(),
            Some("D:\\envs\\special")
        );
        assert_eq!(map.unmap("site/gis1/d/x").as_deref(), Some("D:\\x"));
        assert_eq!(
            map.unmap("/copies/gis1/framework/runtime").as_deref(),
            Some("C:\\Program Files\\ArcGIS\\Server\\framework\\runtime")
        );
        // A relative local folder does not cover an absolute path, nor the
        // reverse, and a sibling with a longer name is not inside.
        assert_eq!(map.unmap("/site/gis1/d-envs/special"), None);
        assert_eq!(map.unmap("site/gis1/d-envs2/special"), None);
        // What it unmaps maps back to where it was read.
        let back = map.map("D:\\envs\\special").unwrap();
        assert_eq!(
            display(&back),
            display(Path::new("site/gis1/d-envs/special"))
        );
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

    #[test]
    fn machine_paths_are_read_as_they_are_only_on_that_machine() {
        let base = Path::new("site");
        let map = PathMap::new([(r"D:\envs", PathBuf::from("copy/envs"))]);
        let here = std::env::temp_dir();
        let here_str = here.to_str().unwrap_or_default();
        // Mapped and relative paths resolve on any machine.
        assert_eq!(
            resolve_machine_path(r"D:\envs\x", &map, base, "GIS3", false),
            Ok(PathBuf::from("copy/envs/x"))
        );
        assert_eq!(
            resolve_machine_path(r"envs\x", &map, base, "GIS3", false),
            Ok(base.join("envs/x"))
        );
        // A path absolute on this host is this host's only for the local machine.
        assert_eq!(
            resolve_machine_path(here_str, &map, base, "GIS3", true),
            Ok(here.clone())
        );
        let unmapped = resolve_machine_path(here_str, &map, base, "GIS3", false).unwrap_err();
        assert_eq!(unmapped.machine, "GIS3");
        let err = resolve_machine_path(r"E:\envs\special", &map, base, "GIS3", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains(r"`E:\envs\special`"), "{err}");
        assert!(err.contains(r"path_map = { 'E:\envs' = "), "{err}");
        assert!(err.contains("`GIS3`"), "{err}");
    }

    #[test]
    fn the_path_map_suggested_is_the_folder_holding_the_path() {
        assert_eq!(parent_of(r"D:\envs\special\"), r"D:\envs");
        assert_eq!(parent_of(r"D:\special"), r"D:\");
        assert_eq!(
            parent_of(r"\\FILESERVER\arcgisserver\config-store"),
            r"\\FILESERVER\arcgisserver"
        );
        assert_eq!(parent_of("/arcgis/server/envs"), "/arcgis/server");
        assert_eq!(parent_of("/envs"), "/");
    }

    #[test]
    fn a_machine_is_this_host_by_its_name() {
        assert!(is_this_host("GIS1.EXAMPLE.COM", "gis1.example.com"));
        assert!(is_this_host("GIS1.EXAMPLE.COM", "gis1"));
        assert!(is_this_host("gis1", "GIS1.corp.example.com"));
        assert!(!is_this_host("GIS1.EXAMPLE.COM", "gis1.other.org"));
        assert!(!is_this_host("GIS10", "gis1"));
        assert!(!is_this_host("", ""));
    }

    #[test]
    fn windows_paths_show_one_separator_and_no_verbatim_prefix() {
        assert_eq!(
            windows_display(r"site/gis1/ArcGIS/Server\framework\etc"),
            r"site\gis1\ArcGIS\Server\framework\etc"
        );
        assert_eq!(
            windows_display(r"\\?\Z:\site\arcgisinput\x.py"),
            r"Z:\site\arcgisinput\x.py"
        );
        assert_eq!(
            windows_display(r"\\?\UNC\fileserver\share\x"),
            r"\\fileserver\share\x"
        );
        if cfg!(windows) {
            assert_eq!(display(Path::new("a/b\\c")), r"a\b\c");
        } else {
            assert_eq!(display(Path::new("a/b")), "a/b");
        }
    }

    #[test]
    fn joined_strings_keep_the_separator_of_their_base() {
        assert_eq!(
            join_displayed(r"C:\site\envs\hydro", "Lib/site-packages/x"),
            r"C:\site\envs\hydro\Lib\site-packages\x"
        );
        assert_eq!(
            join_displayed("/site/envs/hydro/", r"lib\python3.9"),
            "/site/envs/hydro/lib/python3.9"
        );
    }
}
