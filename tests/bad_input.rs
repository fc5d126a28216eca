//! Bad input: clear errors naming the file, never a panic, and the rest of
//! the site is still audited.

mod common;
use common::*;

#[test]
fn unknown_key_in_site_file_exits_2_naming_file_line_and_key() {
    let site = TinySite::new();
    std::fs::write(
        site.site_file(),
        "name='x'\n[[machine]]\nname='M1'\ninstall_dir='m1'\ndefault_evn='x'\n",
    )
    .unwrap();
    gpaudit()
        .args(["audit", site.site_file().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("site.toml"))
        .stderr(predicates::str::contains("line 5"))
        .stderr(predicates::str::contains("default_evn"));
}

#[test]
fn missing_install_dir_and_missing_site_file_exit_2() {
    let site = TinySite::new();
    std::fs::write(
        site.site_file(),
        "[[machine]]\nname='M1'\ninstall_dir='nowhere'\n",
    )
    .unwrap();
    gpaudit()
        .args(["audit", site.site_file().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("install_dir"))
        .stderr(predicates::str::contains("nowhere"));
    gpaudit()
        .args(["audit", "does/not/exist.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(native("does/not/exist.toml")));
}

#[test]
fn broken_records_become_scan_errors_and_the_rest_is_audited() {
    let site = TinySite::new();
    site.record(
        "hydro",
        "arcpy",
        "3.1",
        "py39_arcgispro_41759",
        &["python 3.9.*"],
    );
    site.record("hydro", "python", "3.9.16", "h6244533_2", &[]);
    site.record("hydro", "pandas", "1.4.4", "py39_0", &["numpy >=1.18"]);
    site.raw_record("hydro", "bad-1.0-0.json", "{\"name\": ");
    site.raw_record("hydro", "empty-1.0-0.json", "");
    site.raw_record(
        "hydro",
        "wrong-1.0-0.json",
        "{\"name\":\"right\",\"version\":\"2\",\"build\":\"0\",\"build_number\":0}",
    );
    site.raw_record("hydro", "array-1.0-0.json", "[1,2,3]");
    // An env with an empty conda-meta, and a folder that is no env at all.
    std::fs::create_dir_all(site.env_dir("empty").join("conda-meta")).unwrap();
    std::fs::create_dir_all(site.env_dir("not-an-env")).unwrap();
    let (report, code) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(code, 1);
    let scan: Vec<String> = findings(&report, "scan-error")
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    for needle in [
        "bad-1.0-0.json: malformed JSON",
        "empty-1.0-0.json: malformed JSON",
        "wrong-1.0-0.json: record file name disagrees",
        "array-1.0-0.json: malformed JSON",
        "empty environment",
        "no conda-meta folder",
    ] {
        assert!(
            scan.iter().any(|m| m.contains(needle)),
            "{needle} not in {scan:#?}"
        );
    }
    // The good records were still checked.
    let missing = findings(&report, "dependency-missing");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["package"], "numpy");
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_non_utf8_names_are_reported_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let site = TinySite::new();
    site.record("hydro", "python", "3.9.16", "h6244533_2", &[]);
    let meta = site.env_dir("hydro").join("conda-meta");
    std::os::unix::fs::symlink(meta.join("loop-1-0.json"), meta.join("loop-1-0.json")).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9-1-0.json");
    std::fs::write(meta.join(odd), "{}").unwrap();
    let envs = site.dir.path().join(ENVS);
    std::os::unix::fs::symlink(envs.join("circle"), envs.join("circle")).unwrap();
    let (report, code) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(code, 1);
    let scan: Vec<String> = findings(&report, "scan-error")
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        scan.iter()
            .any(|m| m.contains("loop-1-0.json: cannot read")),
        "{scan:#?}"
    );
    assert!(
        scan.iter().any(|m| m.contains("not valid UTF-8")),
        "{scan:#?}"
    );
}

#[test]
fn a_huge_record_is_refused_without_reading_it() {
    let site = TinySite::new();
    let meta = site.env_dir("arcgispro-py3").join("conda-meta");
    let f = std::fs::File::create(meta.join("huge-1-0.json")).unwrap();
    // Sparse: takes no disk space, but is larger than any record gpaudit reads.
    f.set_len(gpaudit::read::MAX_FILE_BYTES + 1).unwrap();
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    let scan = findings(&report, "scan-error");
    assert!(
        scan.iter()
            .any(|f| f["message"].as_str().unwrap().contains("too large")),
        "{scan:#?}"
    );
}

#[test]
fn malformed_service_json_and_config_store_xml_are_scan_errors() {
    let site = TinySite::new();
    let svc = site.dir.path().join("store/services/Hydro/Flood.GPServer");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(svc.join("Flood.GPServer.json"), "{\"serviceName\": ").unwrap();
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert!(findings(&report, "scan-error").iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .contains("Flood.GPServer.json: malformed JSON")));

    // Without config_store, the XML is read; a broken one is reported.
    std::fs::write(
        site.site_file(),
        "version='11.1'\n[[machine]]\nname='M1'\ninstall_dir='m1'\n",
    )
    .unwrap();
    let etc = site.dir.path().join("m1/framework/etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("config-store-connection.xml"),
        "<properties><entry key='type'>x</entry>",
    )
    .unwrap();
    let (report, _) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert!(findings(&report, "scan-error").iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .contains("config-store-connection.xml")));
}

#[test]
fn bad_snapshot_and_bad_config_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.json");
    std::fs::write(&snap, "{\"kind\": \"something-else\"}").unwrap();
    gpaudit()
        .args(["audit", snap.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a gpaudit snapshot"));
    let site = TinySite::new();
    let config = dir.path().join("gpaudit.toml");
    std::fs::write(&config, "[severity]\nno-such-code = 'info'\n").unwrap();
    gpaudit()
        .args([
            "audit",
            site.site_file().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no-such-code"));
}

#[test]
fn a_clean_site_exits_0() {
    let site = TinySite::new();
    let (report, code) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(code, 0);
}
