//! Paths a machine's ArcGIS files name, read from the right machine, and
//! shown the same way on every OS.
#![allow(clippy::unwrap_used)]

mod common;
use common::{audit_json, brief, TinySite};

/// A site whose service runs in an env given by its absolute path on this
/// host (which no path_map covers); the env has no arcpy, which
/// `env-not-arcgis` reports once the env is read.
fn site_with_env_at_absolute_path() -> (TinySite, String) {
    let site = TinySite::new();
    let special = site.dir.path().join("elsewhere").join("special");
    let meta = special.join("conda-meta");
    std::fs::create_dir_all(&meta).unwrap();
    let body = serde_json::json!({
        "name": "python", "version": "3.9.16", "build": "0", "build_number": 0,
        "depends": [], "channel": "https://repo.anaconda.com/pkgs/main", "subdir": "win-64",
    });
    std::fs::write(meta.join("python-3.9.16-0.json"), body.to_string()).unwrap();
    let written = special.to_str().unwrap().to_string();
    site.service("Tools", "Special", "GPServer", Some(&written));
    (site, written)
}

#[test]
fn an_unmapped_absolute_path_is_not_read_from_the_auditing_machine() {
    // Machine `M1` is not this host: the absolute path names M1's disk,
    // not ours, so it is unresolved, and the message says how to map it.
    let (site, written) = site_with_env_at_absolute_path();
    let file = site.site_file();
    let (report, _) = audit_json(&[file.to_str().unwrap()]);
    // Read, it would be an env without arcpy that a service runs in.
    assert!(
        brief(&report, "env-not-arcgis", &["env"]).is_empty(),
        "read from this host: {report}"
    );
    let missing = brief(&report, "env-missing", &["message"]);
    assert!(
        missing.iter().any(|m| m.contains("cannot be located")
            && m.contains(&written)
            && m.contains("path_map = {")
            && m.contains("`M1`")),
        "{missing:?}"
    );

    // Told that gpaudit runs on M1, the same path is read as it is.
    site.append_site_toml("local = true\n");
    let (report, _) = audit_json(&[file.to_str().unwrap()]);
    assert!(
        brief(&report, "env-missing", &["message"]).is_empty(),
        "{report}"
    );
    assert!(!report.to_string().contains("path_map"), "{report}");
    assert_eq!(brief(&report, "env-not-arcgis", &["env"]), ["special"]);
}

/// The bug: on Windows, paths in findings mixed separators
/// (`gis1/ArcGIS/Server\framework\...`) and script paths carried the
/// verbatim prefix (`\\?\Z:\...`).
#[test]
fn paths_in_findings_use_one_separator_and_no_verbatim_prefix() {
    let (report, _) = audit_json(&[common::demo_site().to_str().unwrap()]);
    let text = report.to_string();
    assert!(!text.contains(r"\\\\?\\"), "verbatim prefix in {text}");
    let foreign = if cfg!(windows) { '/' } else { '\\' };
    let mut checked = 0;
    for f in report["findings"].as_array().unwrap() {
        for key in ["env_path", "source"] {
            if let Some(path) = f[key].as_str() {
                // `source` may end in `:LINE`; a drive letter's colon is fine.
                assert!(!path.contains(foreign), "{key} `{path}` mixes separators");
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} paths in the demo's findings");
}
