//! Finding and reading each GP service's published Python code: the
//! service's `properties.toolbox` starts with `${arcgisinput}` (or another
//! server directory named in the config store's `serverdirs/*.json`), which
//! leads to its extracted folder; every `.py` and `.pyt` file there is read
//! and its imports parsed. Symlinks are not followed and nothing outside the
//! server directory is read. A service whose code cannot be found gets a
//! `missing` reason, never silence.

use super::imports::{read_imports, read_toolbox_imports, Script as Parsed};
use super::script_cache::{self, ScriptCache};
use crate::model::{Script, Service, ServiceCode};
use crate::paths::{self, PathMap};
use crate::read::{read_capped_meta_with, FileProblem};
use crate::site::Site;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scripts larger than this are not parsed (a published script is a few
/// hundred KB at most).
const MAX_SCRIPT_BYTES: u64 = 8 * 1024 * 1024;
/// How deep, and how many files, a service folder is read.
const MAX_DEPTH: usize = 24;
const MAX_FILES: usize = 5_000;
/// Entries not read (links, overflow) reported one by one, at most.
const MAX_NOTES: usize = 20;

/// `${name}` → the server directory's local path (or why there is none).
type ServerDirs = BTreeMap<String, Result<PathBuf, Unreadable>>;

/// A server directory whose `physicalPath` cannot be read here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server directory {name}: {why}")]
struct Unreadable {
    name: String,
    why: String,
}

/// Read the server directories (`serverdirs/*.json`: `name`, `physicalPath`)
/// and map them to local paths through the first machine's `path_map`.
fn server_dirs(site: &Site, store: &Path) -> ServerDirs {
    let mut out = ServerDirs::new();
    let Ok(entries) = std::fs::read_dir(store.join("serverdirs")) else {
        return out;
    };
    let first = site.machines.first();
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let Ok(bytes) = crate::read::read_capped(file) else {
            continue;
        };
        let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let (Some(name), Some(physical)) = (
            json.get("name").and_then(Value::as_str),
            json.get("physicalPath").and_then(Value::as_str),
        ) else {
            continue;
        };
        let local = match first {
            Some(machine) => machine
                .resolve_path(physical, &site.dir)
                .map_err(|unmapped| Unreadable {
                    name: name.to_string(),
                    why: unmapped.to_string(),
                }),
            // A site read through [admin] and a config_store alone: the
            // store's paths are taken as local ones.
            None => {
                paths::resolve(physical, &PathMap::default(), &site.dir).ok_or_else(|| Unreadable {
                    name: name.to_string(),
                    why: format!("`{physical}` is a Windows path that cannot be read here"),
                })
            }
        };
        out.insert(name.to_ascii_lowercase(), local);
    }
    out
}

/// The code of every GP service, in parallel.
pub fn gather_service_code(
    site: &Site,
    store: Option<&Path>,
    services: &[Service],
) -> Vec<ServiceCode> {
    let dirs = store.map(|s| server_dirs(site, s)).unwrap_or_default();
    let cache = store.and_then(ScriptCache::open);
    let gather = || -> Vec<ServiceCode> {
        services
            .par_iter()
            .filter(|s| s.is_gp())
            .map(|s| service_code(s, &dirs, cache.as_ref()))
            .collect()
    };
    // Parsed on threads with big stacks (see imports::parse_pool).
    let mut out = match super::imports::parse_pool() {
        Some(pool) => pool.install(gather),
        None => gather(),
    };
    out.sort_by(|a, b| a.service.cmp(&b.service));
    if let Some(cache) = cache {
        cache.save();
    }
    out
}

fn missing(service: &Service, why: String) -> ServiceCode {
    ServiceCode {
        service: service.key.clone(),
        folder: None,
        missing: Some(why),
        local_modules: Vec::new(),
        scripts: Vec::new(),
    }
}

fn service_code(service: &Service, dirs: &ServerDirs, cache: Option<&ScriptCache>) -> ServiceCode {
    let Some(toolbox) = &service.toolbox else {
        return missing(service, "the service JSON has no properties.toolbox".into());
    };
    let Some((name, rest)) = toolbox.strip_prefix("${").and_then(|t| t.split_once('}')) else {
        return missing(
            service,
            format!("toolbox `{toolbox}` is not under a server directory (${{arcgisinput}})"),
        );
    };
    let root = match dirs.get(&name.to_ascii_lowercase()) {
        None => {
            return missing(
                service,
                format!("the config store names no server directory `{name}` (serverdirs/*.json)"),
            )
        }
        Some(Err(why)) => return missing(service, why.to_string()),
        Some(Ok(root)) => root.clone(),
    };
    // Components of the rest, refusing `..` so the path cannot leave the
    // server directory.
    let parts: Vec<&str> = rest
        .split(['\\', '/'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return missing(
            service,
            format!("toolbox `{toolbox}` climbs out of {name} with `..`"),
        );
    }
    // A drive letter or an NTFS stream (`C:`, `x:stream`) would replace or
    // leave the path on Windows.
    if parts.iter().any(|p| p.contains(':')) {
        return missing(
            service,
            format!("toolbox `{toolbox}` is not a path inside {name}"),
        );
    }
    let toolbox_path = parts.iter().fold(root.clone(), |p, c| p.join(c));
    // The extracted folder holds the toolbox (p20/, p30/, v101/...) and the
    // scripts beside or above it.
    let folder = toolbox_path
        .ancestors()
        .take_while(|a| a.starts_with(&root) && *a != root)
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("extracted"))
        })
        .or_else(|| toolbox_path.parent())
        .unwrap_or(&root)
        .to_path_buf();
    if !folder.is_dir() {
        return missing(
            service,
            format!("its code folder {} does not exist", paths::display(&folder)),
        );
    }
    let (canon_root, canon_folder) = match (root.canonicalize(), folder.canonicalize()) {
        (Ok(r), Ok(f)) => (r, f),
        _ => {
            return missing(
                service,
                format!("{} cannot be resolved", paths::display(&folder)),
            )
        }
    };
    // Strictly inside: a toolbox at the top of the server directory would
    // otherwise charge every service's code to this one.
    if !canon_folder.starts_with(&canon_root) || canon_folder == canon_root {
        return missing(
            service,
            format!(
                "{} is not a service folder inside {name}",
                paths::display(&folder)
            ),
        );
    }
    let mut files = Vec::new();
    let mut local = Vec::new();
    let mut notes = Vec::new();
    walk(&canon_folder, 0, &mut files, &mut local, &mut notes);
    if notes.len() > MAX_NOTES {
        let more = notes.len() - MAX_NOTES;
        notes.truncate(MAX_NOTES);
        notes.push((
            paths::display(&folder),
            format!("and {more} more entries not read"),
        ));
    }
    let mut scripts: Vec<Script> = files.iter().map(|f| cached_script(f, cache)).collect();
    scripts.extend(notes.into_iter().map(|(path, why)| Script {
        path,
        imports: Vec::new(),
        not_python3: None,
        unreadable: Some(why),
    }));
    scripts.sort_by(|a, b| a.path.cmp(&b.path));
    local.sort();
    local.dedup();
    if scripts.is_empty() {
        return ServiceCode {
            missing: Some(format!(
                "no .py or .pyt file in {}",
                paths::display(&folder)
            )),
            folder: Some(paths::display(&folder)),
            ..missing(service, String::new())
        };
    }
    ServiceCode {
        service: service.key.clone(),
        folder: Some(paths::display(&folder)),
        missing: None,
        local_modules: local,
        scripts,
    }
}

/// Collect `.py`/`.pyt` files and the module names the folder provides,
/// without following symlinks.
fn walk(
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    local: &mut Vec<String>,
    notes: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        notes.push((
            paths::display(dir),
            format!("deeper than {MAX_DEPTH} folders; not read"),
        ));
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        notes.push((paths::display(dir), "cannot be listed".into()));
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if kind.is_symlink() {
            notes.push((
                paths::display(&path),
                "a symbolic link; not followed".into(),
            ));
        } else if kind.is_dir() {
            local.push(name);
            walk(&path, depth + 1, files, local, notes);
        } else if !kind.is_file() {
            // FIFOs, sockets and devices: opening one could block forever.
            if name.ends_with(".py") || name.ends_with(".pyt") {
                notes.push((paths::display(&path), "not a regular file; not read".into()));
            }
        } else if let Some(stem) = name
            .strip_suffix(".py")
            .or_else(|| name.strip_suffix(".pyt"))
        {
            local.push(stem.to_string());
            if files.len() >= MAX_FILES {
                notes.push((
                    paths::display(&path),
                    format!("past {MAX_FILES} scripts; not read"),
                ));
            } else {
                files.push(path);
            }
        }
    }
}

/// The script at `path`: from the cache when it is unchanged, else read
/// (and kept for the cache).
fn cached_script(path: &Path, cache: Option<&ScriptCache>) -> Script {
    let Some(cache) = cache else {
        return read_script(path).0;
    };
    if let Some(script) = cache.get(path) {
        return script;
    }
    let (script, meta) = read_script(path);
    if let Some(entry) = meta.and_then(|m| script_cache::Entry::of(&script, &m)) {
        cache.put(entry);
    }
    script
}

/// The script at `path`, and the metadata of the file as it was opened
/// when what the script says comes from its content (not a read error).
fn read_script(path: &Path) -> (Script, Option<std::fs::Metadata>) {
    let mut script = Script {
        path: paths::display(path),
        imports: Vec::new(),
        not_python3: None,
        unreadable: None,
    };
    let (bytes, meta) = match read_capped_meta_with(path, MAX_SCRIPT_BYTES) {
        Ok(b) => b,
        Err(FileProblem { message, .. }) => {
            script.unreadable = Some(message);
            return (script, None);
        }
    };
    let text = match decode(&bytes) {
        Ok(text) => text,
        Err(why) => {
            script.unreadable = Some(why.message);
            return (script, Some(meta));
        }
    };
    let is_toolbox = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pyt"));
    let parsed = if is_toolbox {
        read_toolbox_imports(&text)
    } else {
        read_imports(&text)
    };
    match parsed {
        Parsed::Imports(i) => script.imports = i,
        Parsed::NotPython3 { line, message } => script.not_python3 = Some((line, message)),
        Parsed::Refused(why) => script.unreadable = Some(why),
    }
    (script, Some(meta))
}

/// Source text: UTF-8 (with or without a BOM), UTF-16 with a BOM, or, when
/// a PEP 263 coding line names a Latin-1 family encoding (as old ArcMap
/// scripts often do), those bytes as Latin-1. `Err` for binary content or an
/// encoding gpaudit does not decode (decoding Shift-JIS as UTF-8 would turn
/// valid code into syntax errors).
fn decode(bytes: &[u8]) -> Result<String, FileProblem> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Ok(crate::read::decode_text(bytes));
    }
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(FileProblem::new("a binary file, not Python source"));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let declared = bytes
        .split(|b| *b == b'\n')
        .take(2)
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .find_map(|l| {
            let at = l.find("coding")?;
            let rest = l[at + 6..].trim_start_matches([':', '=', ' ']);
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            (!name.is_empty()).then_some(name)
        });
    let latin = [
        "latin-1",
        "latin1",
        "iso-8859-1",
        "iso8859-1",
        "cp1252",
        "windows-1252",
    ];
    match declared {
        Some(enc) if latin.contains(&enc.as_str()) => {
            Ok(bytes.iter().map(|b| char::from(*b)).collect())
        }
        Some(enc) => Err(FileProblem::new(format!(
            "declares the encoding {enc}, which gpaudit does not decode"
        ))),
        // Undeclared bad bytes are replaced, not fatal.
        None => Ok(String::from_utf8_lossy(bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_handles_boms_encodings_and_binaries() {
        assert_eq!(
            decode(b"\xef\xbb\xbfimport os\n").as_deref(),
            Ok("import os\n")
        );
        let latin = b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\n";
        assert!(decode(latin).unwrap().contains("caf\u{e9}"));
        assert!(decode(b"MZ\x90\x00\x03").is_err());
        // Undeclared bad bytes are replaced, not fatal.
        assert!(decode(b"import os # \xff\n").unwrap().contains('\u{fffd}'));
        let sjis = b"# coding: shift_jis\n# \x83\x5c\nimport os\n";
        assert!(decode(sjis).unwrap_err().message.contains("shift_jis"));
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("import arcpy\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16).as_deref(), Ok("import arcpy\n"));
    }
}
