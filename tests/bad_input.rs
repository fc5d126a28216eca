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

/// The audit's JSON report of a tiny site, and its exit code; fails the
/// test if the audit takes longer than `secs` (a hang).
#[allow(clippy::unwrap_used)]
fn audit_within(site: &TinySite, secs: u64) -> (serde_json::Value, i32) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gpaudit"))
        .args([
            "audit",
            site.site_file().to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let Ok(out) = rx.recv_timeout(std::time::Duration::from_secs(secs)) else {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        panic!("audit did not finish within {secs}s");
    };
    let out = out.unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (report, out.status.code().unwrap_or(-1))
}

#[cfg(unix)]
#[test]
fn regression_fifos_in_place_of_site_files_do_not_hang_the_audit() {
    let site = TinySite::new();
    site.record("hydro", "arcpy", "3.1", "py39_arcgispro_41759", &[]);
    let meta = site.env_dir("hydro").join("conda-meta");
    let mkfifo = |p: &std::path::Path| {
        assert!(std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    mkfifo(&meta.join("numpy-1.0-0.json"));
    mkfifo(&meta.join("pinned"));
    mkfifo(&meta.join("history"));
    let (report, code) = audit_within(&site, 60);
    assert_eq!(code, 1);
    let errors = brief(&report, "scan-error", &["message"]);
    for file in ["numpy-1.0-0.json", "pinned", "history"] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(file) && e.contains("FIFO")),
            "{file} not reported: {errors:?}"
        );
    }
}

#[test]
fn regression_a_record_with_huge_depends_gives_a_bounded_report_saying_so() {
    let site = TinySite::new();
    site.record("hydro", "arcpy", "3.1", "py39_arcgispro_41759", &[]);
    let many: Vec<String> = (0..25_000).map(|i| format!("gone-{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    site.record("hydro", "evil", "1.0", "0", &refs);
    site.service("Hydro", "Flood", "GPServer", Some("hydro"));
    let (report, code) = audit_within(&site, 120);
    assert_eq!(code, 1);
    let missing = findings(&report, "dependency-missing").len();
    assert!(missing <= 200, "{missing} dependency-missing findings");
    let input = brief(&report, "input-capped", &["message"]);
    assert_eq!(input.len(), 1, "{input:?}");
    assert!(
        input[0].contains("holds 25000 entries; only 10000 were read"),
        "{input:?}"
    );
    let cut = brief(&report, "findings-capped", &["message"]);
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert!(
        cut[0].contains("9800 more `dependency-missing` findings"),
        "{cut:?}"
    );
}

#[cfg(unix)]
#[test]
fn regression_symlinks_out_of_an_env_are_not_followed() {
    let site = TinySite::new();
    site.record("hydro", "arcpy", "3.1", "py39_arcgispro_41759", &[]);
    let outside = site.dir.path().join("secret.json");
    std::fs::write(
        &outside,
        r#"{"name":"secret","version":"1","build":"0","build_number":0,"depends":[],"subdir":"win-64"}"#,
    )
    .unwrap();
    let meta = site.env_dir("hydro").join("conda-meta");
    std::os::unix::fs::symlink(&outside, meta.join("secret-1-0.json")).unwrap();
    std::os::unix::fs::symlink(&outside, meta.join("pinned")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", meta.join("history")).unwrap();
    // A symlink inside the env is fine.
    std::fs::write(meta.join("real-history"), "==> 2024-01-01 00:00:00 <==\n").unwrap();
    let (report, _) = audit_within(&site, 60);
    let errors = brief(&report, "scan-error", &["message"]);
    for file in ["secret-1-0.json", "pinned", "history"] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(file) && e.contains("outside the env; not read")),
            "{file}: {errors:?}"
        );
    }
    let text = report.to_string();
    assert!(!text.contains("\"secret\""), "the outside record was read");
}

/// The records of a conda-meta folder that is itself a symlink out of the
/// env are refused one by one (the folder is checked once, each record by
/// the type its listing gave it).
#[cfg(unix)]
#[test]
fn a_conda_meta_folder_linked_out_of_the_env_is_not_read() {
    let site = TinySite::new();
    site.record("hydro", "arcpy", "3.1", "py39_arcgispro_41759", &[]);
    let outside = site.dir.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("secret-1-0.json"),
        r#"{"name":"secret","version":"1","build":"0","build_number":0,"depends":[],"subdir":"win-64"}"#,
    )
    .unwrap();
    let meta = site.env_dir("hydro").join("conda-meta");
    std::fs::remove_dir_all(&meta).unwrap();
    std::os::unix::fs::symlink(&outside, &meta).unwrap();
    let (report, _) = audit_within(&site, 60);
    let errors = brief(&report, "scan-error", &["message"]);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("secret-1-0.json") && e.contains("outside the env; not read")),
        "{errors:?}"
    );
    assert!(
        !report.to_string().contains("\"secret\""),
        "the outside record was read"
    );
}

#[test]
fn regression_condaenvironmentpath_out_of_the_site_is_reported_not_read() {
    let site = TinySite::new();
    // gpaudit runs on M1 here, so its absolute paths are this host's (the
    // local-path rule); on another machine they would be unresolved instead.
    let file = site.dir.path().join("site.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("name = 'M1'\n", "name = 'M1'\nlocal = true\n"),
    )
    .unwrap();
    site.record("hydro", "arcpy", "3.1", "py39_arcgispro_41759", &[]);
    // A conda env outside the install, by full path: audited as usual.
    let outside_env = site.dir.path().join("d-envs/special");
    std::fs::create_dir_all(outside_env.join("conda-meta")).unwrap();
    std::fs::write(
        outside_env.join("conda-meta/arcpy-3.1-py39_arcgispro_41759.json"),
        r#"{"name":"arcpy","version":"3.1","build":"py39_arcgispro_41759","build_number":0,"depends":[],"subdir":"win-64"}"#,
    )
    .unwrap();
    let etc = site.dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    site.service("Evil", "Up", "GPServer", Some("..\\..\\..\\etc"));
    site.service("Evil", "Dots", "GPServer", Some(".."));
    site.service("Evil", "Abs", "GPServer", Some(etc.to_str().unwrap()));
    site.service(
        "Good",
        "Special",
        "GPServer",
        Some(outside_env.to_str().unwrap()),
    );
    let (report, code) = audit_within(&site, 60);
    assert_eq!(code, 1);
    let refused = brief(&report, "env-path-refused", &["message"]);
    assert_eq!(refused.len(), 3, "{refused:?}");
    for service in [
        "Evil/Up.GPServer",
        "Evil/Dots.GPServer",
        "Evil/Abs.GPServer",
    ] {
        assert!(
            refused.iter().any(|r| r.contains(service)),
            "{service}: {refused:?}"
        );
    }
    let scanned: Vec<String> = report["snapshot"]["machines"][0]["envs"]
        .as_array()
        .map(|envs| {
            envs.iter()
                .map(|e| e["path"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let text = report.to_string();
    assert!(
        !scanned
            .iter()
            .any(|p| p.ends_with("etc") || p.ends_with("Python")),
        "{scanned:?}"
    );
    assert!(
        !brief(&report, "env-missing", &["message"])
            .iter()
            .any(|m| m.contains("Special")),
        "{text}"
    );
}

/// Every input a fuzz target crashed on (tests/fuzz_regressions/<target>/)
/// runs through its target again: none may panic.
#[test]
fn regression_fuzz_crashes_stay_fixed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut ran = 0;
    for target in std::fs::read_dir(&root).unwrap().flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        assert!(
            gpaudit::fuzzing::TARGETS.contains(&name.as_str()),
            "tests/fuzz_regressions/{name}: no such fuzz target"
        );
        for input in std::fs::read_dir(target.path()).unwrap().flatten() {
            let bytes = std::fs::read(input.path()).unwrap();
            let result = std::panic::catch_unwind(|| gpaudit::fuzzing::run(&name, &bytes));
            assert!(
                matches!(result, Ok(true)),
                "{name}/{} panics again",
                input.file_name().to_string_lossy()
            );
            ran += 1;
        }
    }
    assert!(ran >= 4, "only {ran} regression inputs found");
}
