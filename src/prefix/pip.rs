//! Finding Python distributions in an env's site-packages (`*.dist-info`,
//! `*.egg-info`) with their name, version, `INSTALLER` and `RECORD`. Which of
//! them conda owns is decided later, from the conda records' `files`.

use crate::read::{read_capped_text, FileProblem};
use std::path::{Path, PathBuf};

/// A distribution found in site-packages, before ownership is known.
#[derive(Debug)]
pub struct DistCandidate {
    /// Lower-cased entry name (`numpy-1.24.3.dist-info`).
    pub key: String,
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub installer: Option<String>,
    /// Files its RECORD lists, lower-cased and relative to the env prefix.
    pub record: Vec<String>,
}

/// The site-packages folders of an env: `Lib/site-packages` on Windows,
/// `lib/pythonX.Y/site-packages` elsewhere. Returned relative to the prefix.
pub fn site_packages_dirs(prefix: &Path) -> Vec<String> {
    let mut dirs = Vec::new();
    for lib in ["Lib", "lib"] {
        let sp = prefix.join(lib).join("site-packages");
        if sp.is_dir() {
            dirs.push(format!("{lib}/site-packages"));
        }
        if let Ok(entries) = std::fs::read_dir(prefix.join(lib)) {
            let mut pythons: Vec<String> = entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.starts_with("python"))
                .filter(|n| prefix.join(lib).join(n).join("site-packages").is_dir())
                .collect();
            pythons.sort();
            dirs.extend(
                pythons
                    .into_iter()
                    .map(|p| format!("{lib}/{p}/site-packages")),
            );
        }
    }
    // On a case-insensitive file system `Lib` and `lib` are the same folder.
    dirs.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    dirs
}

/// List the distributions in one site-packages folder.
pub fn scan_site_packages(
    prefix: &Path,
    rel: &str,
    failures: &mut Vec<(PathBuf, FileProblem)>,
) -> Vec<DistCandidate> {
    let dir = prefix.join(rel);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            failures.push((dir, FileProblem::io(&e)));
            return Vec::new();
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.ends_with(".dist-info") || l.ends_with(".egg-info")
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|entry| read_dist(prefix, rel, &entry, failures))
        .collect()
}

fn read_dist(
    prefix: &Path,
    rel: &str,
    entry: &str,
    failures: &mut Vec<(PathBuf, FileProblem)>,
) -> DistCandidate {
    let path = prefix.join(rel).join(entry);
    let is_dir = path.is_dir();
    let dist_info = entry.to_ascii_lowercase().ends_with(".dist-info");
    let metadata_file = if !is_dir {
        Some(path.clone())
    } else if dist_info {
        Some(path.join("METADATA"))
    } else {
        Some(path.join("PKG-INFO"))
    };
    let (mut name, mut version) = name_version_from_entry(entry);
    if let Some(file) = metadata_file.filter(|f| f.is_file()) {
        match read_capped_text(&file) {
            Ok(text) => {
                let (n, v) = metadata_headers(&text);
                name = n.unwrap_or(name);
                version = v.unwrap_or(version);
            }
            Err(e) => failures.push((file, e)),
        }
    }
    let installer = if is_dir {
        read_capped_text(&path.join("INSTALLER"))
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    } else {
        None
    };
    let mut record = Vec::new();
    if is_dir {
        let (list, base) = if dist_info {
            (path.join("RECORD"), rel.to_string())
        } else {
            (path.join("installed-files.txt"), format!("{rel}/{entry}"))
        };
        if list.is_file() {
            match read_capped_text(&list) {
                Ok(text) => {
                    for line in text.lines() {
                        let file = if dist_info {
                            record_path(line)
                        } else {
                            line.trim()
                        };
                        if let Some(p) = normalize(&base, file) {
                            record.push(p);
                        }
                    }
                }
                Err(e) => failures.push((list, e)),
            }
        }
    }
    DistCandidate {
        key: entry.to_ascii_lowercase(),
        path,
        name,
        version,
        installer,
        record,
    }
}

/// The path field of a RECORD line (`path,hash,size`; a path with a comma
/// is quoted, CSV-style).
fn record_path(line: &str) -> &str {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix('"') {
        return rest.split('"').next().unwrap_or("");
    }
    let mut parts = line.rsplitn(3, ',');
    let _size = parts.next();
    let _hash = parts.next();
    parts.next().unwrap_or(line)
}

/// Join a RECORD path onto its base and fold `..`, giving a lower-cased,
/// prefix-relative path; `None` for a path that leaves the prefix.
fn normalize(base: &str, file: &str) -> Option<String> {
    if file.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for seg in base.split('/').chain(file.split(['/', '\\'])) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s.to_ascii_lowercase()),
        }
    }
    Some(parts.join("/"))
}

/// `Name:` and `Version:` from a METADATA/PKG-INFO header block.
fn metadata_headers(text: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version.get_or_insert_with(|| v.trim().to_string());
        }
    }
    (name, version)
}

/// `foo_bar-1.2.dist-info` → (`foo_bar`, `1.2`).
fn name_version_from_entry(entry: &str) -> (String, String) {
    let stem = entry
        .rsplit_once('.')
        .map(|(stem, _)| stem)
        .unwrap_or(entry);
    match stem.split_once('-') {
        Some((name, rest)) => {
            let version = rest.split('-').next().unwrap_or(rest);
            (name.to_string(), version.to_string())
        }
        None => (stem.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_and_paths() {
        assert_eq!(
            record_path("numpy/__init__.py,sha256=abc,123"),
            "numpy/__init__.py"
        );
        assert_eq!(record_path("\"a,b.py\",sha256=x,1"), "a,b.py");
        assert_eq!(
            normalize("Lib/site-packages", "../../Scripts/f2py.exe"),
            Some("scripts/f2py.exe".into())
        );
        assert_eq!(normalize("Lib/site-packages", "../../../../etc/x"), None);
    }

    #[test]
    fn names_and_headers() {
        assert_eq!(
            name_version_from_entry("scikit_learn-1.2.0.dist-info"),
            ("scikit_learn".into(), "1.2.0".into())
        );
        assert_eq!(
            name_version_from_entry("foo-1.0-py3.9.egg-info"),
            ("foo".into(), "1.0".into())
        );
        let (n, v) = metadata_headers(
            "Metadata-Version: 2.1\nName: Requests\nVersion: 2.31.0\n\nName: body",
        );
        assert_eq!(
            (n.as_deref(), v.as_deref()),
            (Some("Requests"), Some("2.31.0"))
        );
    }
}
