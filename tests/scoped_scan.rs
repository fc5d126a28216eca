//! `graph` and `diff` on a site file read only the envs they are asked
//! about: their answers must be the ones a scan of the whole site gives, and
//! a broken sibling env must not matter (it is never read).

#![allow(clippy::unwrap_used)]

mod common;

use common::{demo_site, gpaudit, TinySite};
use gpaudit::graph::{self, Query};
use gpaudit::model::{EnvListing, Snapshot};
use gpaudit::scan;
use gpaudit::site::Site;
use std::path::Path;

fn load_site(file: &Path) -> Site {
    Site::parse(&std::fs::read_to_string(file).unwrap(), file).unwrap()
}

/// Every (machine, env path) pair of a snapshot.
fn env_keys(snapshot: &Snapshot) -> Vec<(String, String)> {
    snapshot
        .machines
        .iter()
        .flat_map(|m| m.envs.iter().map(|e| (m.name.clone(), e.path.clone())))
        .collect()
}

/// The scan of only `(machine, path)`.
fn scoped(site: &Site, machine: &str, path: &str) -> Snapshot {
    scan::list_site(site).read_envs(|m, e| m.name == machine && e.path == path)
}

#[test]
fn a_scoped_scan_holds_what_the_full_scan_holds_about_that_env() {
    let site = load_site(&demo_site());
    let full = scan::scan_site(&site);
    let keys = env_keys(&full);
    assert!(keys.len() >= 8, "{keys:?}");
    for (machine, path) in &keys {
        let part = scoped(&site, machine, path);
        // Every machine is there, with the same bindings, and only that env.
        assert_eq!(part.machines.len(), full.machines.len());
        for (p, f) in part.machines.iter().zip(&full.machines) {
            let envs: Vec<_> = f
                .envs
                .iter()
                .filter(|e| f.name == *machine && e.path == *path)
                .collect();
            let mut f_json = serde_json::to_value(f).unwrap();
            f_json["envs"] = serde_json::to_value(&envs).unwrap();
            assert_eq!(serde_json::to_value(p).unwrap(), f_json, "{machine} {path}");
        }
        assert_eq!(
            serde_json::to_value(&part.services).unwrap(),
            serde_json::to_value(&full.services).unwrap()
        );
        assert_eq!(part.site.config_store, full.site.config_store);
        // The env's own scan errors are the full scan's.
        let own = |s: &Snapshot| -> Vec<_> {
            s.scan_errors
                .iter()
                .filter(|e| e.env_path.as_deref() == Some(path.as_str()))
                .cloned()
                .collect()
        };
        assert_eq!(own(&part), own(&full), "{machine} {path}");
    }
}

#[test]
fn graph_answers_from_a_scoped_scan_equal_the_full_scan_answers() {
    let site = load_site(&demo_site());
    let full = scan::scan_site(&site);
    let mut asked = 0;
    for (machine, path) in env_keys(&full) {
        let part = scoped(&site, &machine, &path);
        let (fm, fe) = full.find_env(&machine, &path).unwrap();
        let (pm, pe) = part.find_env(&machine, &path).unwrap();
        let mut queries = vec![Query::Summary, Query::Dot];
        for p in fe.packages.iter().map(|p| p.name().to_string()) {
            queries.push(Query::Why(p.clone()));
            queries.push(Query::Dependents(p));
        }
        for q in &queries {
            assert_eq!(
                graph::answer(pm, pe, q).ok(),
                graph::answer(fm, fe, q).ok(),
                "{machine} {path} {q:?}"
            );
            asked += 1;
        }
    }
    assert!(asked > 100, "{asked}");
}

#[test]
fn graph_of_a_site_file_prints_what_graph_of_its_snapshot_prints() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("demo.json");
    gpaudit()
        .args(["scan", demo_site().to_str().unwrap(), "-o"])
        .arg(&snap)
        .assert()
        .success();
    let site = demo_site();
    let cases: [&[&str]; 6] = [
        &["--machine", "GIS1.EXAMPLE.COM", "--env", "hydro"],
        &["--machine", "gis2.example.com", "--env", "HYDRO", "--dot"],
        &[
            "--machine",
            "GIS1.EXAMPLE.COM",
            "--env",
            "hydro",
            "dependents",
            "numpy",
        ],
        &[
            "--machine",
            "GIS3.EXAMPLE.COM",
            "--env",
            "arcgispro-py3",
            "why",
            "numpy",
        ],
        // Errors too: an unknown env lists the envs there are, an unknown
        // machine the machines.
        &["--machine", "GIS1.EXAMPLE.COM", "--env", "nope"],
        &["--machine", "GIS9", "--env", "hydro"],
    ];
    for args in cases {
        let run = |input: &Path| {
            let out = gpaudit()
                .arg("graph")
                .arg(input)
                .args(args)
                .output()
                .unwrap();
            let stderr =
                String::from_utf8_lossy(&out.stderr).replace(&*input.to_string_lossy(), "INPUT");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr,
            )
        };
        let (from_site, from_snapshot) = (run(&site), run(&snap));
        assert_eq!(from_site, from_snapshot, "{args:?}");
    }
}

#[test]
fn diff_of_site_envs_equals_the_listing_of_the_full_scan() {
    let site_file = demo_site();
    let site = load_site(&site_file);
    let full = scan::scan_site(&site);
    for m in &full.machines {
        for e in &m.envs {
            let arg = format!("{}#{}/{}", site_file.display(), m.name, e.path);
            let side = gpaudit::diff::load_side(&arg, None, None, None).unwrap();
            let mut want = EnvListing::from_env(e, format!("{}/{}", m.name, e.name));
            want.warnings = full
                .scan_errors
                .iter()
                .filter(|x| x.env_path.as_deref() == Some(e.path.as_str()))
                .map(|x| format!("{}: {}", x.path, x.message))
                .collect();
            assert_eq!(
                serde_json::to_value(&side).unwrap(),
                serde_json::to_value(&want).unwrap(),
                "{arg}"
            );
        }
    }
    // A selection that matches nothing fails as before, naming the envs.
    let err = gpaudit::diff::load_side(
        &format!("{}#GIS1.EXAMPLE.COM/nope", site_file.display()),
        None,
        None,
        None,
    )
    .unwrap_err();
    assert!(err.message.contains("GIS1.EXAMPLE.COM/hydro"), "{err}");
}

/// A site with a readable env `good` and a sibling `broken` whose record is
/// not JSON: a scoped scan of `good` never reads `broken`.
fn site_with_a_broken_sibling() -> TinySite {
    let site = TinySite::new();
    site.record("good", "python", "3.9.16", "h6244533_2", &[]);
    site.record("good", "numpy", "1.24.3", "py39_0", &["python >=3.9"]);
    site.raw_record("broken", "bad-1.0-0.json", "{ this is not json");
    site
}

#[test]
fn a_scoped_scan_does_not_read_a_broken_sibling_env() {
    let tiny = site_with_a_broken_sibling();
    let site = load_site(&tiny.site_file());
    let full = scan::scan_site(&site);
    let broken_errors = |s: &Snapshot| {
        s.scan_errors
            .iter()
            .filter(|e| e.env.as_deref() == Some("broken") || e.path.contains("bad-1.0-0.json"))
            .count()
    };
    assert_eq!(broken_errors(&full), 2, "{:?}", full.scan_errors);
    let good = full.find_env("M1", "good").unwrap().1.path.clone();
    let part = scoped(&site, "M1", &good);
    assert_eq!(broken_errors(&part), 0, "{:?}", part.scan_errors);
    assert!(part.scan_errors.is_empty(), "{:?}", part.scan_errors);

    // Through the binary: graph and diff answer about `good` as usual.
    let file = tiny.site_file();
    let out = gpaudit()
        .arg("graph")
        .arg(&file)
        .args(["--machine", "M1", "--env", "good", "dependents", "python"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 package(s) in env `good` on M1 depend on python:\n  numpy 1.24.3\n0 GP service(s) run in this env on M1:\n"
    );
    let out = gpaudit()
        .arg("diff")
        .arg(format!("{}#M1/good", file.display()))
        .arg(format!("{}#M1/arcgispro-py3", file.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("bad-1.0-0.json"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
