//! Entry points for the cargo-fuzz targets in `fuzz/`: one function per
//! parser that takes outside input, each fed raw bytes. They reach private
//! parsers from here so the parsers themselves stay private. File-based
//! parsers get their input written to a scratch folder (one per thread,
//! reused between runs); inputs made of several files are split on a line
//! that is exactly [`SEPARATOR`]. Not part of gpaudit's API.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// The line that separates the files of a multi-file input.
pub const SEPARATOR: &str = "%%gpaudit-fuzz-file%%";

/// Every target, by the name its `fuzz/fuzz_targets/<name>.rs` has.
pub const TARGETS: &[&str] = &[
    "conda_meta_record",
    "env_folder",
    "pip_dist",
    "reference",
    "site_toml",
    "service_json",
    "config_store_xml",
    "python_imports",
    "snapshot_json",
    "apply_journal",
    "migration_plan",
    "gpaudit_toml",
    "pep508_requirement",
    "pth_files",
    "record_cache",
    "script_cache",
];

thread_local! {
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// This thread's scratch folder, emptied of what the last run wrote.
fn scratch() -> PathBuf {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let dir = s.get_or_insert_with(|| tempfile::tempdir().expect("a scratch folder"));
        let path = dir.path().to_path_buf();
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let p = entry.path();
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
        path
    })
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch folders");
    }
    std::fs::write(path, bytes).expect("scratch file");
}

/// `data` split into `n` files on [`SEPARATOR`] lines (missing ones empty).
pub fn split(data: &[u8], n: usize) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(data);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == SEPARATOR {
            parts.push(std::mem::take(&mut current).into_bytes());
        } else {
            current.push_str(line);
        }
    }
    parts.push(current.into_bytes());
    parts.resize(n.max(parts.len()), Vec::new());
    parts.truncate(n);
    parts
}

/// One `conda-meta/*.json` record.
pub fn conda_meta_record(data: &[u8]) {
    let dir = scratch();
    let file = dir.join("pkg-1.0-0.json");
    write(&file, data);
    let probe = crate::prefix::records::OwnershipProbe::new(
        ["pkg-1.0.dist-info".to_string()].into(),
        ["lib/site-packages/pkg/__init__.py".to_string()].into(),
    );
    let _ = crate::prefix::records::read_record(&file, &probe);
}

/// A whole env folder: record, `pinned`, `history`, then a pip dist's
/// `METADATA` and `RECORD`, separated by [`SEPARATOR`] lines.
pub fn env_folder(data: &[u8]) {
    let prefix = scratch().join("env");
    let parts = split(data, 5);
    let meta = prefix.join("conda-meta");
    write(&meta.join("pkg-1.0-0.json"), &parts[0]);
    write(&meta.join("pinned"), &parts[1]);
    write(&meta.join("history"), &parts[2]);
    let dist = prefix.join("Lib/site-packages/pkg-1.0.dist-info");
    write(&dist.join("METADATA"), &parts[3]);
    write(&dist.join("RECORD"), &parts[4]);
    let _ = crate::prefix::scan_env("fuzz", "env", &prefix, crate::model::EnvOrigin::Install);
}

/// One pip distribution: `METADATA`, `RECORD`, `INSTALLER`.
pub fn pip_dist(data: &[u8]) {
    let prefix = scratch().join("env");
    let parts = split(data, 3);
    let dist = prefix.join("Lib/site-packages/pkg-1.0.dist-info");
    write(&dist.join("METADATA"), &parts[0]);
    write(&dist.join("RECORD"), &parts[1]);
    write(&dist.join("INSTALLER"), &parts[2]);
    let mut failures = Vec::new();
    let _ = crate::prefix::pip::scan_site_packages(&prefix, "Lib/site-packages", &mut failures);
}

/// A reference listing in any format: detected, then parsed.
pub fn reference(data: &[u8]) {
    let file = scratch().join("listing.txt");
    write(&file, data);
    let _ = crate::reference::load(&file, crate::reference::Selection::default(), None);
}

/// A `site.toml`.
pub fn site_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::site::Site::parse(&text, Path::new("site.toml"));
}

/// A service's JSON in a config store.
pub fn service_json(data: &[u8]) {
    let store = scratch().join("config-store");
    write(
        &store.join("services/Fuzz/Tool.GPServer/Tool.GPServer.json"),
        data,
    );
    let mut errors = Vec::new();
    let _ = crate::scan::services::scan_services(&store, &mut errors);
}

/// A `config-store-connection.xml`.
pub fn config_store_xml(data: &[u8]) {
    let file = scratch().join("config-store-connection.xml");
    write(&file, data);
    let _ = crate::scan::config_store::read_connection_string(&file);
}

/// A Python script's imports.
pub fn python_imports(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::scan::imports::read_imports(&text);
}

/// A snapshot: parsed, audited, then merged with itself.
pub fn snapshot_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(snapshot) = crate::Snapshot::from_json(&text, "fuzz.json") else {
        return;
    };
    let policy = crate::policy::Policy::default();
    let _ = crate::audit::audit(&snapshot, &policy, jiff::civil::date(2026, 1, 1));
    let _ = crate::Snapshot::merge(vec![
        ("a.json".into(), snapshot.clone()),
        ("b.json".into(), snapshot),
    ]);
}

/// An apply journal.
pub fn apply_journal(data: &[u8]) {
    let file = scratch().join("plan.journal.jsonl");
    write(&file, data);
    if let Ok(journal) = crate::apply::journal::Journal::read(&file) {
        let _ = journal.plan_checksum();
    }
}

/// A migration plan.
pub fn migration_plan(data: &[u8]) {
    let file = scratch().join("plan.json");
    write(&file, data);
    if let Ok(plan) = crate::migrate::MigrationPlan::load(&file) {
        let _ = plan.checksum();
        let files = crate::apply::Files::beside(&file, &plan);
        for m in &plan.machines {
            for e in &m.envs {
                let _ = files.backup_dir(&format!("{}/{}", m.machine, e.env));
            }
        }
    }
}

/// A `gpaudit.toml` policy.
pub fn gpaudit_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::policy::Policy::parse(&text, "gpaudit.toml");
}

/// One pip requirement line, as a reference listing holds it.
pub fn pep508_requirement(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::reference::formats::pip_requirement(text.trim());
}

/// The `.pth` files of a Windows-layout env: `a.pth`, a PEP 660
/// `__editable__.k-1.pth` with its finder module, `k.egg-link` and
/// `easy-install.pth`; read by the pure parser and resolver, then by the
/// env scan (which lists the folders they add inside the env).
pub fn pth_files(data: &[u8]) {
    let prefix = scratch().join("env");
    let parts = split(data, 5);
    let sp = prefix.join("Lib/site-packages");
    write(&sp.join("a.pth"), &parts[0]);
    write(&sp.join("__editable__.k-1.pth"), &parts[1]);
    write(&sp.join("__editable___k_1_finder.py"), &parts[2]);
    write(&sp.join("k.egg-link"), &parts[3]);
    write(&sp.join("easy-install.pth"), &parts[4]);
    write(&sp.join("tools/m.py"), b"");
    let env = r"C:\envs\hydro";
    for part in [&parts[0], &parts[1], &parts[4]] {
        let text = String::from_utf8_lossy(part);
        for (_, line) in crate::prefix::pth::parse_pth(&text) {
            if let crate::prefix::pth::RawLine::Path(p) = line {
                let _ = crate::prefix::pth::resolve(env, "Lib/site-packages", p, true);
                let _ = crate::prefix::pth::resolve(
                    "/opt/env",
                    "lib/python3.9/site-packages",
                    p,
                    false,
                );
            }
        }
    }
    let _ = crate::prefix::pth::finder_mapping(&String::from_utf8_lossy(&parts[2]));
    let _ = crate::prefix::scan_env("fuzz", "env", &prefix, crate::model::EnvOrigin::Install);
}

/// A record cache file (the cache folder is outside input too).
pub fn record_cache(data: &[u8]) {
    let _ = crate::prefix::cache::decode_for_fuzzing(data);
}

/// A script cache file (the cache folder is outside input too).
pub fn script_cache(data: &[u8]) {
    let _ = crate::scan::script_cache::decode_for_fuzzing(data);
}

/// Run the target called `name` on `data` (for the regression tests).
pub fn run(name: &str, data: &[u8]) -> bool {
    let f: fn(&[u8]) = match name {
        "conda_meta_record" => conda_meta_record,
        "env_folder" => env_folder,
        "pip_dist" => pip_dist,
        "reference" => reference,
        "site_toml" => site_toml,
        "service_json" => service_json,
        "config_store_xml" => config_store_xml,
        "python_imports" => python_imports,
        "snapshot_json" => snapshot_json,
        "apply_journal" => apply_journal,
        "migration_plan" => migration_plan,
        "gpaudit_toml" => gpaudit_toml,
        "pep508_requirement" => pep508_requirement,
        "pth_files" => pth_files,
        "record_cache" => record_cache,
        "script_cache" => script_cache,
        _ => return false,
    };
    f(data);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_on_separator_lines_only() {
        let data = format!("a\n{SEPARATOR}\nb {SEPARATOR}\n{SEPARATOR}\r\nc");
        let parts = split(data.as_bytes(), 4);
        assert_eq!(
            parts,
            vec![
                b"a\n".to_vec(),
                format!("b {SEPARATOR}\n").into_bytes(),
                b"c".to_vec(),
                Vec::new()
            ]
        );
    }

    #[test]
    fn the_pth_target_runs_on_its_seeds() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/pth_files");
        let mut n = 0;
        for entry in std::fs::read_dir(seeds).unwrap().flatten() {
            pth_files(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
        assert!(n >= 3);
    }

    #[test]
    fn every_target_runs_on_empty_and_seed_like_input() {
        for name in TARGETS {
            assert!(run(name, b""), "{name}");
            assert!(run(name, b"{}\n"), "{name}");
        }
    }
}
