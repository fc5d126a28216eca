//! Workflows as a new user tries them (issue 13, section 3): a name that
//! matches nothing is an error listing the names that exist.

mod common;
use common::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = gpaudit().args(args).output().expect("gpaudit runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn issue_13_services_env_or_machine_that_match_nothing_exit_2_naming_what_exists() {
    let site = demo_site();
    let site = site.to_str().unwrap();
    let (code, out, err) = run(&["services", site, "--env", "hydor"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("hydor") && err.contains("hydro") && err.contains("ml"),
        "{err}"
    );
    let (code, out, err) = run(&["services", site, "--machine", "GIS9"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("GIS1.EXAMPLE.COM"), "{err}");
    // Names that exist still work, in any case; an env a service names
    // that is missing on the machine is still a name that exists.
    let (code, out, _) = run(&["services", site, "--env", "HYDRO"]);
    assert_eq!(code, 0);
    assert!(out.contains("Flood"), "{out}");
    let (code, out, err) = run(&[
        "services",
        site,
        "--env",
        "Legacy",
        "--machine",
        "gis2.example.com",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn auditing_a_snapshot_uses_the_gpaudit_toml_beside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = dir.path().join("site.json");
    let site = demo_site();
    let (code, out, err) = run(&["scan", site.to_str().unwrap(), "-o", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let policy = site.with_file_name("gpaudit.toml");
    std::fs::copy(&policy, dir.path().join("gpaudit.toml")).expect("copy policy");
    let (_, out, err) = run(&["audit", snap.to_str().unwrap()]);
    assert!(out.trim_end().ends_with("(1 waived)"), "{out}{err}");
}
