//! The record cache (`$GPAUDIT_CACHE_DIR`, `--no-cache`): a repeat audit
//! reads unchanged records from it and gives the same report; a cache that
//! is truncated, garbage or written by two runs at once is never trusted
//! into a wrong answer; a record changed after caching is read again.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `gpaudit audit SITE --format json` with the cache in `cache` (or off),
/// run from `dir`: the report's bytes.
fn audit(dir: &Path, site: &str, cache: Option<&Path>) -> Vec<u8> {
    let mut cmd = gpaudit();
    cmd.current_dir(dir)
        .args(["audit", site, "--format", "json"])
        .env_remove("GPAUDIT_CACHE_DIR");
    match cache {
        Some(cache) => cmd.env("GPAUDIT_CACHE_DIR", cache),
        None => cmd.arg("--no-cache"),
    };
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn cache_files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The demo copied to a temp folder, its records and scripts dated a day back (a
/// record modified in the last moments is not cached).
fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = demo_site().parent().unwrap().to_path_buf();
    copy_tree(&from, &dir.path().join("demo"));
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            if target
                .extension()
                .is_some_and(|e| e == "json" || e == "py" || e == "pyt")
            {
                set_modified(&target, SystemTime::now() - Duration::from_secs(86_400));
            }
        }
    }
}

fn set_modified(path: &Path, time: SystemTime) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

const TK: &str = "demo/gis1/d-envs/special/conda-meta/tk-8.6.12-h2bbff1b_0.json";

/// Make tk depend on `vx` (not installed) instead of `vc`: same size.
fn retarget_tk_dependency(site: &Path) {
    let path = site.join(TK);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let body = std::fs::read_to_string(&path).unwrap();
    let changed = body.replace("\"vc >=14.1,<15.0a0\"", "\"vx >=14.1,<15.0a0\"");
    assert_ne!(body, changed);
    assert_eq!(body.len(), changed.len());
    std::fs::write(&path, changed).unwrap();
    set_modified(&path, modified);
}

fn mentions_vx(report: &[u8]) -> bool {
    String::from_utf8_lossy(report).contains("`vx >=14.1,<15.0a0`")
}

#[test]
fn demo_json_report_is_byte_identical_with_the_cache_cold_warm_and_off() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = tempfile::tempdir().unwrap();
    let site = "fixtures/sites/demo/site.toml";
    let cold = audit(root, site, Some(cache.path()));
    let names: Vec<String> = cache_files(cache.path())
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("records-")),
        "the record cache is written: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("scripts-")),
        "the script cache is written: {names:?}"
    );
    let warm = audit(root, site, Some(cache.path()));
    let off = audit(root, site, None);
    assert!(cold == warm, "the warm report differs from the cold one");
    assert!(cold == off, "the report with --no-cache differs");
}

#[test]
fn a_record_modified_after_caching_is_read_again() {
    let site = demo_copy();
    let cache = tempfile::tempdir().unwrap();
    let first = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(!mentions_vx(&first));

    // Same size, same time: the cache answers (what it is keyed on).
    retarget_tk_dependency(site.path());
    let cached = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(cached == first, "an unchanged key is read from the cache");

    // A new modification time: the record is parsed again.
    set_modified(
        &site.path().join(TK),
        SystemTime::now() - Duration::from_secs(3_600),
    );
    let changed = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(mentions_vx(&changed), "the changed record is read again");
    assert!(changed == audit(site.path(), "demo/site.toml", None));

    // A new size: read again too.
    let path = site.path().join(TK);
    let body = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, body.replace("\"vx >=14.1", "\"vc >=14.1 ")).unwrap();
    set_modified(&path, SystemTime::now() - Duration::from_secs(3_600));
    let restored = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(!mentions_vx(&restored));
    assert!(restored == audit(site.path(), "demo/site.toml", None));
}

#[test]
fn a_truncated_cache_file_is_ignored_and_rewritten() {
    let site = demo_copy();
    let cache = tempfile::tempdir().unwrap();
    let first = audit(site.path(), "demo/site.toml", Some(cache.path()));
    let files = cache_files(cache.path());
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .collect();
    for (file, size) in files.iter().zip(&sizes) {
        let bytes = std::fs::read(file).unwrap();
        std::fs::write(file, &bytes[..(*size as usize) / 2]).unwrap();
    }
    // Were a half file trusted, the change to tk would stay hidden.
    retarget_tk_dependency(site.path());
    let again = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(mentions_vx(&again));
    assert!(again != first);
    let rewritten: Vec<u64> = cache_files(cache.path())
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .collect();
    assert_eq!(rewritten.len(), sizes.len());
    assert!(rewritten.iter().zip(&sizes).all(|(now, was)| now >= was));
}

#[test]
fn a_garbage_cache_file_is_ignored() {
    let site = demo_copy();
    let cache = tempfile::tempdir().unwrap();
    let first = audit(site.path(), "demo/site.toml", Some(cache.path()));
    for (i, file) in cache_files(cache.path()).iter().enumerate() {
        let mut bytes = std::fs::read(file).unwrap();
        match i % 3 {
            // The frame kept, the payload flipped: the checksum refuses it.
            0 => {
                let last = bytes.len() - 1;
                bytes[last] ^= 0xff;
            }
            1 => bytes = b"not a cache file at all".to_vec(),
            _ => bytes.iter_mut().for_each(|b| *b = b.wrapping_mul(31)),
        }
        std::fs::write(file, bytes).unwrap();
    }
    retarget_tk_dependency(site.path());
    let again = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(mentions_vx(&again));
    assert!(again == audit(site.path(), "demo/site.toml", None));
    assert!(again != first);
}

#[test]
fn two_concurrent_runs_leave_a_cache_that_gives_the_same_report() {
    let site = demo_copy();
    let cache = tempfile::tempdir().unwrap();
    let expected = audit(site.path(), "demo/site.toml", None);
    let runs: Vec<std::thread::JoinHandle<Vec<u8>>> = (0..2)
        .map(|_| {
            let dir = site.path().to_path_buf();
            let cache = cache.path().to_path_buf();
            std::thread::spawn(move || audit(&dir, "demo/site.toml", Some(&cache)))
        })
        .collect();
    for run in runs {
        assert!(run.join().unwrap() == expected);
    }
    // No temp file left, and what is there is whole: a changed record is
    // seen, an unchanged one read from the cache.
    assert!(cache_files(cache.path())
        .iter()
        .all(|f| f.extension().is_some_and(|e| e == "bin")));
    assert!(audit(site.path(), "demo/site.toml", Some(cache.path())) == expected);
    retarget_tk_dependency(site.path());
    assert!(audit(site.path(), "demo/site.toml", Some(cache.path())) == expected);
}

const FLOOD_HELPERS: &str = "demo/arcgisserver/directories/arcgissystem/arcgisinput/Hydro/Flood.GPServer/extracted/p30/flood_helpers.py";

#[test]
fn a_script_modified_after_caching_is_read_again() {
    let site = demo_copy();
    let cache = tempfile::tempdir().unwrap();
    let first = audit(site.path(), "demo/site.toml", Some(cache.path()));
    let mentions = |report: &[u8]| String::from_utf8_lossy(report).contains("zzmod");
    assert!(!mentions(&first));

    // Same size, same time: the cache answers (what it is keyed on).
    let path = site.path().join(FLOOD_HELPERS);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let body = std::fs::read_to_string(&path).unwrap();
    let changed = body.replace("import numpy as np", "import zzmod as np");
    assert_eq!(body.len(), changed.len());
    std::fs::write(&path, changed).unwrap();
    set_modified(&path, modified);
    let cached = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(cached == first, "an unchanged key is read from the cache");

    // A new modification time: the script is parsed again.
    set_modified(&path, SystemTime::now() - Duration::from_secs(3_600));
    let again = audit(site.path(), "demo/site.toml", Some(cache.path()));
    assert!(mentions(&again), "the changed script is read again");
    assert!(again == audit(site.path(), "demo/site.toml", None));
}
