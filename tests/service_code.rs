//! GP service scripts against their envs, end to end: the demo's services
//! (a toolbox with scripts, a .pyt, a Python 2 script, an optional import, a
//! service's own module), `--target`, and scripts that are bad input.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;

fn brief(report: &serde_json::Value, code: &str) -> Vec<String> {
    common::brief(report, code, &["severity", "machine", "service", "package"])
}

#[test]
fn demo_scripts_are_checked_against_each_machine_s_env() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert_eq!(
        brief(&report, "service-import-unresolved"),
        [
            "error GIS1.EXAMPLE.COM Hydro/Flood.GPServer rasterstats",
            "error GIS1.EXAMPLE.COM Analytics/Cluster.GPServer arcpy",
            "error GIS2.EXAMPLE.COM Hydro/Flood.GPServer rasterstats",
            "error GIS2.EXAMPLE.COM Analytics/Cluster.GPServer arcpy",
            // issue 13 item 2: an editable install on GIS1 only.
            "error GIS2.EXAMPLE.COM Analytics/Cluster.GPServer clusterkit",
            "error GIS3.EXAMPLE.COM Hydro/Ebb.GPServer scipy",
            "warning GIS1.EXAMPLE.COM Hydro/Flood.GPServer xarray",
            "warning GIS2.EXAMPLE.COM Hydro/Flood.GPServer xarray",
        ]
    );
    // Where the missing module is installed elsewhere in the site, it says so.
    let arcpy = findings(&report, "service-import-unresolved")
        .into_iter()
        .find(|f| f["package"] == "arcpy")
        .unwrap();
    assert!(
        arcpy["expected"]
            .as_str()
            .unwrap()
            .contains("arcpy (in `arcgispro-py3` on GIS1.EXAMPLE.COM)"),
        "{arcpy}"
    );
    assert!(
        arcpy["source"].as_str().unwrap().ends_with("cluster.py:1"),
        "{arcpy}"
    );
    // The service's own module (flood_helpers), its own package (floodlib,
    // whose modules import each other relatively), numpy, rasterio, scipy
    // via importlib and the stdlib are all resolved.
    assert!(!report.to_string().contains("`flood_helpers`"));
    assert!(!report.to_string().contains("`floodlib`"));
    assert_eq!(
        brief(&report, "service-import-removed-stdlib"),
        [
            "info GIS1.EXAMPLE.COM Hydro/Ebb.GPServer imp",
            "info GIS2.EXAMPLE.COM Hydro/Ebb.GPServer imp",
            "info GIS3.EXAMPLE.COM Hydro/Ebb.GPServer imp",
        ]
    );
    let py2 = findings(&report, "service-code-python2");
    assert_eq!(py2.len(), 1);
    assert!(
        py2[0]["message"]
            .as_str()
            .unwrap()
            .contains("geocode.py does not parse as Python 3 (line 5"),
        "{}",
        py2[0]
    );
    assert_eq!(
        brief(&report, "service-code-missing"),
        [
            "info  Legacy/Reproject.GPServer ",
            "info  Tools/Special.GPServer ",
        ],
        "Esri's own Utilities/ services ship their code with the install"
    );
}

#[test]
fn target_release_turns_removed_stdlib_imports_into_errors() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap(), "--target", "12.0"]);
    let imp = brief(&report, "service-import-removed-stdlib");
    assert_eq!(imp.len(), 3);
    assert!(imp.iter().all(|f| f.starts_with("error")), "{imp:?}");
    let out = gpaudit()
        .args(["audit", demo_site().to_str().unwrap(), "--target", "9.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Point the tiny site's Tools/Buffer service at another toolbox path.
fn set_toolbox(site: &TinySite, toolbox: &str) {
    let service_json = site
        .dir
        .path()
        .join("store/services/Tools/Buffer.GPServer/Buffer.GPServer.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&service_json).unwrap()).unwrap();
    json["properties"]["toolbox"] = toolbox.into();
    std::fs::write(&service_json, json.to_string()).unwrap();
}

/// A tiny site with one GP service whose extracted folder holds `files`.
fn site_with_code(files: &[(&str, &[u8])]) -> TinySite {
    let site = TinySite::new();
    site.service("Tools", "Buffer", "GPServer", None);
    set_toolbox(
        &site,
        "${arcgisinput}\\Tools\\Buffer.GPServer\\extracted\\p30\\Buffer.atbx",
    );
    std::fs::create_dir_all(site.dir.path().join("store/serverdirs")).unwrap();
    std::fs::write(
        site.dir.path().join("store/serverdirs/arcgisinput.json"),
        r#"{"name": "arcgisinput", "physicalPath": "input", "directoryType": "INPUT"}"#,
    )
    .unwrap();
    let code = site
        .dir
        .path()
        .join("input/Tools/Buffer.GPServer/extracted/p30");
    std::fs::create_dir_all(&code).unwrap();
    for (name, body) in files {
        std::fs::write(code.join(name), body).unwrap();
    }
    site
}

#[test]
fn bad_scripts_are_reported_never_a_crash() {
    let deep = format!("x = {}1{}\n", "(".repeat(50_000), ")".repeat(50_000));
    let site = site_with_code(&[
        ("binary.py", b"MZ\x90\x00\x03\x00\x00\x00"),
        (
            "latin.py",
            b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\n",
        ),
        ("deep.py", deep.as_bytes()),
        (
            "ok.py",
            b"\xef\xbb\xbfimport arcpy\r\nimport missing_pkg\r\n",
        ),
    ]);
    let (report, code) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(code, 1);
    let missing: Vec<&str> = findings(&report, "service-code-missing")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        missing
            .iter()
            .any(|m| m.contains("binary.py") && m.contains("binary file")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|m| m.contains("deep.py") && m.contains("Python itself stops")),
        "{missing:?}"
    );
    assert!(
        !missing.iter().any(|m| m.contains("latin.py")),
        "{missing:?}"
    );
    assert_eq!(
        brief(&report, "service-import-unresolved"),
        ["error M1 Tools/Buffer.GPServer missing_pkg"]
    );
}

#[test]
fn code_outside_arcgisinput_is_never_read() {
    let site = site_with_code(&[("ok.py", b"import os\n")]);
    set_toolbox(&site, "${arcgisinput}\\..\\..\\etc\\x.tbx");
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    let missing = findings(&report, "service-code-missing");
    assert!(
        missing[0]["message"]
            .as_str()
            .unwrap()
            .contains("climbs out of arcgisinput"),
        "{}",
        missing[0]
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_script_is_not_opened() {
    let site = site_with_code(&[("ok.py", b"import os\n")]);
    let fifo = site
        .dir
        .path()
        .join("input/Tools/Buffer.GPServer/extracted/p30/pipe.py");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo here: nothing to test
    }
    // Would block forever if the FIFO were opened.
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    let missing = findings(&report, "service-code-missing");
    assert!(
        missing.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file")),
        "{missing:?}"
    );
}

#[test]
fn a_toolbox_at_the_top_of_arcgisinput_is_not_a_service_folder() {
    let site = site_with_code(&[("ok.py", b"import os\n")]);
    set_toolbox(&site, "${arcgisinput}\\x.tbx");
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    let missing = findings(&report, "service-code-missing");
    assert!(
        missing[0]["message"]
            .as_str()
            .unwrap()
            .contains("is not a service folder"),
        "{}",
        missing[0]
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_service_folder_are_not_followed() {
    let site = site_with_code(&[("ok.py", b"import os\n")]);
    let outside = site.dir.path().join("secret");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("evil.py"), b"import not_here\n").unwrap();
    std::os::unix::fs::symlink(
        &outside,
        site.dir
            .path()
            .join("input/Tools/Buffer.GPServer/extracted/p30/link"),
    )
    .unwrap();
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert!(
        findings(&report, "service-import-unresolved").is_empty(),
        "{report}"
    );
    let missing = findings(&report, "service-code-missing");
    assert!(
        missing.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link; not followed")),
        "{missing:?}"
    );
}
