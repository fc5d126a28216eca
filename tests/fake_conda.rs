//! The `fake_conda` example (the stand-in `conda.exe` of the test sites) and
//! the 11.1→11.3 `UpgradeSite` it runs in: proup archives, rebuilds and
//! reinstalls like Esri documents it, its failure modes, `create --file`,
//! and `gpaudit audit` agreeing with what it left behind.
#![allow(clippy::unwrap_used)]

mod common;

use common::native;
use common::upgrade_site::UpgradeSite;
use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output};

/// Run GIS1's or GIS2's conda with the site's channel and log, plus `env`.
fn conda(site: &UpgradeSite, machine: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(site.conda_exe(machine));
    cmd.args(args)
        .env_remove("FAKE_CONDA_FAIL")
        .env_remove("FAKE_CONDA_ROOT")
        .env_remove("FAKE_CONDA_PIDFILE")
        .envs(site.conda_env())
        .envs(env.iter().copied());
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// File names in a folder, sorted (empty when it does not exist).
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every file below `dir` with its content, to see that nothing changed.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn archive_entries(archive: &Path) -> BTreeSet<String> {
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(bzip2::read::BzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().replace('\\', "/");
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            path.trim_end_matches('/').to_string()
        })
        .collect()
}

/// (machine, env) of every finding with `code`.
fn where_found(report: &serde_json::Value, code: &str) -> BTreeSet<(String, String)> {
    common::findings(report, code)
        .iter()
        .map(|f| {
            (
                f["machine"].as_str().unwrap_or("").to_string(),
                f["env"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The codes of all findings.
fn codes(report: &serde_json::Value) -> BTreeSet<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

fn pair(machine: &str, env: &str) -> (String, String) {
    (machine.to_string(), env.to_string())
}

fn record_names(site: &UpgradeSite, machine: &str, env: &str) -> BTreeSet<String> {
    names(&site.env_dir(machine, env).join("conda-meta"))
}

#[test]
fn proup_by_name_archives_rebuilds_and_reinstalls_and_audit_agrees() {
    let site = UpgradeSite::new();
    let hydro = site.env_dir("gis1", "hydro");
    let out = conda(&site, "gis1", &["proup", "-n", "hydro", "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let archive = site.python_root("gis1").join("envs/hydro.tar.bz2");
    assert!(
        stdout.contains(&format!(
            "Archiving environment to {}",
            native(&archive.display().to_string())
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Upgraded environment"), "{stdout}");

    let entries = archive_entries(&archive);
    for e in [
        "conda-meta/arcpy-3.1-py39_arcgispro_41759.json",
        "conda-meta/numba-0.56.4-py39_0.json",
        "conda-meta/pinned",
        "conda-meta/history",
        "Lib/site-packages/floodkit/__init__.py",
        "Lib/site-packages/floodkit-1.2.0.dist-info/RECORD",
    ] {
        assert!(entries.contains(e), "{e} not in {entries:?}");
    }

    let records = record_names(&site, "gis1", "hydro");
    assert!(records.contains("arcpy-3.3-py311_arcgispro_52583.json"));
    assert!(records.contains("python-3.11.8-h966fe2a_0.json"));
    assert!(records.contains("numba-0.59.1-py311_0.json"));
    assert!(!records.contains("arcpy-3.1-py39_arcgispro_41759.json"));
    assert!(!records.contains("numba-0.56.4-py39_0.json"));
    assert_eq!(
        std::fs::read_to_string(hydro.join("conda-meta/pinned")).unwrap(),
        common::upgrade_site::PINNED_11_3
    );
    let history = std::fs::read_to_string(hydro.join("conda-meta/history")).unwrap();
    assert!(
        history.contains("# cmd: conda proup -n hydro --yes"),
        "{history}"
    );
    assert!(history.contains("+esri/win-64::arcpy-3.3-py311_arcgispro_52583"));
    assert!(history.contains("+defaults/win-64::numba-0.59.1-py311_0"));
    let dist = hydro.join("Lib/site-packages/floodkit-1.2.0.dist-info");
    assert_eq!(
        std::fs::read_to_string(dist.join("INSTALLER")).unwrap(),
        "pip\n"
    );
    assert!(std::fs::read_to_string(dist.join("RECORD"))
        .unwrap()
        .contains("floodkit/__init__.py,,"));
    assert!(hydro
        .join("Lib/site-packages/floodkit/__init__.py")
        .is_file());
    // GIS2 is not touched by GIS1's conda.
    assert!(record_names(&site, "gis2", "hydro").contains("arcpy-3.1-py39_arcgispro_41759.json"));
    assert_eq!(
        site.conda_calls(),
        vec![vec!["proup", "-n", "hydro", "--yes"]]
    );

    let (report, _) = common::audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(
        where_found(&report, "env-release-mismatch"),
        BTreeSet::from([
            pair("GIS1", "survey"),
            pair("GIS2", "hydro"),
            pair("GIS2", "survey")
        ])
    );
    for code in [
        "dependency-missing",
        "dependency-unsatisfied",
        "pin-violation",
        "pin-file-missing",
        "scan-error",
        "env-missing",
        "unowned-files",
    ] {
        assert!(
            common::findings(&report, code).is_empty(),
            "{code}: {:#?}",
            common::findings(&report, code)
        );
    }
    // floodkit is still pip's, on both machines. hydro differs between the
    // machines, but across releases that is only env-release-mismatch.
    assert_eq!(
        where_found(&report, "pip-installed"),
        BTreeSet::from([pair("GIS1", "hydro"), pair("GIS2", "hydro")])
    );
    assert_eq!(
        codes(&report),
        BTreeSet::from(["env-release-mismatch", "pip-installed"])
    );
}

#[test]
fn every_clone_upgraded_leaves_only_pip_findings() {
    let site = UpgradeSite::new();
    for machine in common::upgrade_site::MACHINES {
        for env in ["hydro", "survey"] {
            let out = conda(&site, machine, &["proup", "-n", env], &[]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
    }
    assert_eq!(site.conda_calls().len(), 4);
    let (report, code) = common::audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(
        codes(&report),
        BTreeSet::from(["pip-installed"]),
        "{report:#}"
    );
    assert_eq!(code, 0, "pip-installed is a warning");
}

#[test]
fn fresh_site_audit_sees_only_the_old_clones() {
    let site = UpgradeSite::new();
    let (report, code) = common::audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        where_found(&report, "env-release-mismatch"),
        BTreeSet::from([
            pair("GIS1", "hydro"),
            pair("GIS1", "survey"),
            pair("GIS2", "hydro"),
            pair("GIS2", "survey")
        ])
    );
    assert_eq!(
        codes(&report),
        BTreeSet::from(["env-release-mismatch", "pip-installed"]),
        "{report:#}"
    );
}

#[test]
fn proup_by_path_and_not_an_env() {
    let site = UpgradeSite::new();
    let survey = site.env_dir("gis2", "survey");
    let out = conda(
        &site,
        "gis2",
        &["proup", "-p", survey.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(site
        .python_root("gis2")
        .join("envs/survey.tar.bz2")
        .is_file());
    let mut expected: BTreeSet<String> = names(&site.channel().join("default"));
    expected.insert("history".into());
    assert_eq!(record_names(&site, "gis2", "survey"), expected);

    let nowhere = site.dir.path().join("nowhere");
    let out = conda(
        &site,
        "gis2",
        &["proup", "-p", nowhere.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "EnvironmentLocationNotFound: Not a conda environment: {}",
            nowhere.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!nowhere.exists());
}

#[test]
fn conflict_touches_nothing() {
    let site = UpgradeSite::new();
    let hydro = site.env_dir("gis1", "hydro");
    let before = tree(&hydro);
    let out = conda(
        &site,
        "gis1",
        &["proup", "-n", "hydro"],
        &[("FAKE_CONDA_FAIL", "crash:survey,conflict:hydro")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("UnsatisfiableError: The following specifications were found to be incompatible with each other"),
        "{err}"
    );
    assert!(err.contains("numba"), "{err}");
    assert_eq!(tree(&hydro), before);
    assert!(!site.python_root("gis1").join("envs/hydro.tar.bz2").exists());
}

#[test]
fn crash_leaves_an_archive_and_a_half_written_env() {
    let site = UpgradeSite::new();
    let out = conda(
        &site,
        "gis1",
        &["proup", "-n", "hydro"],
        &[("FAKE_CONDA_FAIL", "crash:hydro")],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("Fatal Python error"),
        "{}",
        stderr(&out)
    );
    let archive = site.python_root("gis1").join("envs/hydro.tar.bz2");
    assert!(archive_entries(&archive).contains("conda-meta/arcpy-3.1-py39_arcgispro_41759.json"));
    let records = record_names(&site, "gis1", "hydro");
    let defaults = common::upgrade_site::DEFAULT_11_3.len();
    assert_eq!(records.len(), defaults / 2, "{records:?}");
    assert!(!site.env_dir("gis1", "hydro").join("Lib").exists());
}

#[test]
fn missing_package_leaves_only_the_default_records() {
    let site = UpgradeSite::new();
    let bare = site.dir.path().join("bare-channel");
    std::fs::create_dir_all(bare.join("default")).unwrap();
    for f in names(&site.channel().join("default")) {
        std::fs::copy(
            site.channel().join("default").join(&f),
            bare.join("default").join(&f),
        )
        .unwrap();
    }
    let out = conda(
        &site,
        "gis1",
        &["proup", "-n", "hydro"],
        &[("FAKE_CONDA_CHANNEL", bare.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("PackagesNotFoundError: The following packages are not available from current channels: - numba"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        record_names(&site, "gis1", "hydro"),
        names(&bare.join("default"))
    );
}

#[test]
fn hang_writes_its_pid_and_waits_untouched() {
    let site = UpgradeSite::new();
    let hydro = site.env_dir("gis2", "hydro");
    let before = tree(&hydro);
    let pidfile = site.dir.path().join("conda.pid");
    let mut child = Command::new(site.conda_exe("gis2"))
        .args(["proup", "-n", "hydro"])
        .envs(site.conda_env())
        .env("FAKE_CONDA_FAIL", "hang:hydro")
        .env("FAKE_CONDA_PIDFILE", &pidfile)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !pidfile.exists() && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(pid, child.id().to_string());
    assert!(still_running);
    assert_eq!(tree(&hydro), before);
}

#[test]
fn slow_then_normal() {
    let site = UpgradeSite::new();
    let start = std::time::Instant::now();
    let out = conda(
        &site,
        "gis2",
        &["proup", "-n", "survey"],
        &[("FAKE_CONDA_FAIL", "slow:survey:300")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    assert!(record_names(&site, "gis2", "survey").contains("arcpy-3.3-py311_arcgispro_52583.json"));
}

#[test]
fn version_info_create_and_unsupported() {
    let site = UpgradeSite::new();
    let out = conda(&site, "gis1", &["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "conda 24.1.2");

    let out = conda(&site, "gis1", &["info", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = site.python_root("gis1").canonicalize().unwrap();
    let said = Path::new(info["root_prefix"].as_str().unwrap())
        .canonicalize()
        .unwrap();
    assert_eq!(said, root);
    assert_eq!(
        info["envs_dirs"][0].as_str().unwrap(),
        Path::new(info["root_prefix"].as_str().unwrap())
            .join("envs")
            .to_str()
            .unwrap()
    );
    assert_eq!(info["conda_version"], "24.1.2");
    assert_eq!(info["platform"], "win-64");
    let other = site.dir.path().join("elsewhere");
    let out = conda(
        &site,
        "gis1",
        &["info", "--json"],
        &[("FAKE_CONDA_ROOT", other.to_str().unwrap())],
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["root_prefix"].as_str(), other.to_str());

    let spec = site.dir.path().join("explicit.txt");
    std::fs::write(
        &spec,
        "# This file may be used to create an environment using:\n@EXPLICIT\n\
         https://conda.anaconda.org/esri/win-64/arcpy-3.1-py39_arcgispro_41759.conda#0123abcd\n\
         https://repo.anaconda.com/pkgs/main/win-64/python-3.9.16-h6244533_2.tar.bz2\n",
    )
    .unwrap();
    let fresh = site.dir.path().join("restored/hydro");
    let args = [
        "create",
        "-p",
        fresh.to_str().unwrap(),
        "--file",
        spec.to_str().unwrap(),
        "--yes",
    ];
    let out = conda(&site, "gis1", &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let arcpy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fresh.join("conda-meta/arcpy-3.1-py39_arcgispro_41759.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(arcpy["channel"], "https://conda.anaconda.org/esri");
    assert_eq!(arcpy["subdir"], "win-64");
    assert_eq!(arcpy["fn"], "arcpy-3.1-py39_arcgispro_41759.conda");
    assert!(fresh
        .join("conda-meta/python-3.9.16-h6244533_2.json")
        .is_file());
    let out = conda(&site, "gis1", &args, &[]);
    assert_eq!(out.status.code(), Some(1), "a non-empty prefix is refused");
    let out = conda(
        &site,
        "gis1",
        &["create", "-n", "copy", "--file", spec.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(site.env_dir("gis1", "copy").join("conda-meta").is_dir());

    for args in [
        &["install", "-n", "hydro", "numba"][..],
        &["proup", "-n", "hydro", "--offline"],
        &["proup"],
        &["create", "-n", "x"],
    ] {
        let out = conda(&site, "gis1", args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("fake conda: unsupported command"));
    }
    let calls = site.conda_calls();
    assert_eq!(calls.len(), 10, "{calls:?}");
    assert_eq!(calls[0], vec!["--version"]);
    assert_eq!(calls[9], vec!["create", "-n", "x"]);
}

#[test]
fn forecast_for_the_fresh_site() {
    let site = UpgradeSite::new();
    let file = site.site_file();
    let (report, _) = common::audit_json(&[file.to_str().unwrap(), "--target", "11.3"]);
    let clones = BTreeSet::from([
        pair("GIS1", "hydro"),
        pair("GIS1", "survey"),
        pair("GIS2", "hydro"),
        pair("GIS2", "survey"),
    ]);
    assert_eq!(where_found(&report, "upgrade-needs-proup"), clones);
    // The 11.1 pinned file (python 3.9.*, numpy 1.20.*, arcpy 3.1.*).
    assert_eq!(where_found(&report, "upgrade-pin-conflict"), clones);
    let hydro = BTreeSet::from([pair("GIS1", "hydro"), pair("GIS2", "hydro")]);
    assert_eq!(where_found(&report, "upgrade-python-abi"), hydro); // numba py39
    assert_eq!(where_found(&report, "upgrade-pip-packages"), hydro); // floodkit
    assert_eq!(
        codes(&report),
        BTreeSet::from([
            "env-release-mismatch",
            "pip-installed",
            "upgrade-needs-proup",
            "upgrade-pin-conflict",
            "upgrade-pip-packages",
            "upgrade-python-abi",
        ])
    );
}
