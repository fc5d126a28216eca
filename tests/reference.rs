//! Reference envs, `gpaudit diff` and `gpaudit baseline` end to end: the demo
//! site's references in four forms, role-based severities, and bad input.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::path::Path;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn brief(report: &serde_json::Value, code: &str) -> Vec<String> {
    common::brief(report, code, &["severity", "machine", "env", "package"])
}

#[test]
fn demo_reference_findings_by_role() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap()]);
    let drift = brief(&report, "reference-drift");
    // core → error; native: minor → error, build only → warning; python minor → info.
    for expected in [
        "error GIS1.EXAMPLE.COM hydro numpy",
        "error GIS1.EXAMPLE.COM hydro numpy-base",
        "warning GIS1.EXAMPLE.COM special libgdal",
        "info GIS1.EXAMPLE.COM hydro rasterio",
        "info GIS1.EXAMPLE.COM ml scikit-learn",
        "error GIS1.EXAMPLE.COM legacy arcpy",
    ] {
        assert!(
            drift.contains(&expected.to_string()),
            "{expected} not in {drift:#?}"
        );
    }
    // legacy is an 11.0 env compared with a Pro 3.1 reference: core only.
    assert!(drift
        .iter()
        .filter(|d| d.contains(" legacy "))
        .all(|d| d.starts_with("error")));
    let missing = brief(&report, "reference-missing");
    for expected in [
        "error GIS1.EXAMPLE.COM ml arcpy",
        "warning GIS1.EXAMPLE.COM hydro rasterstats",
        "warning GIS1.EXAMPLE.COM ml xgboost",
    ] {
        assert!(
            missing.contains(&expected.to_string()),
            "{expected} not in {missing:#?}"
        );
    }
    assert_eq!(
        brief(&report, "reference-extra"),
        [
            "info GIS1.EXAMPLE.COM hydro pyarrow",
            "info GIS1.EXAMPLE.COM hydro requests-toolbelt",
            "info GIS1.EXAMPLE.COM ml clusterkit"
        ]
    );

    // One finding for numpy on GIS1's hydro although two references (the
    // default clone and Flood's conda list) say 1.20.1; it lists every service.
    let numpy: Vec<_> = findings(&report, "reference-drift")
        .into_iter()
        .filter(|f| f["package"] == "numpy" && f["machine"] == "GIS1.EXAMPLE.COM")
        .collect();
    assert_eq!(numpy.len(), 1);
    let f = numpy[0];
    assert_eq!(f["expected"], "1.20.1 py39h34a8a5c_0");
    assert_eq!(f["found"], "1.24.3 py39hf11a4ad_0");
    assert_eq!(f["services"].as_array().unwrap().len(), 4);
    let source = f["source"].as_str().unwrap();
    assert!(
        source.contains(&native("pro/arcgispro-py3-clone"))
            && source.contains(&native("pro/flood-conda-list.json")),
        "{source}"
    );
}

#[test]
fn reference_on_the_command_line_replaces_the_default() {
    // Against Flood's own env listing as the default, Ebb and PrintingTools
    // now miss rasterstats too; the per-service references still apply.
    let (report, _) = audit_json(&[
        demo_site().to_str().unwrap(),
        "--reference",
        &fixture("sites/demo/pro/flood-conda-list.json"),
    ]);
    let f: Vec<_> = findings(&report, "reference-missing")
        .into_iter()
        .filter(|f| f["package"] == "rasterstats" && f["machine"] == "GIS1.EXAMPLE.COM")
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["services"].as_array().unwrap().len(), 4);
    // No finding cites the site file's default any more.
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["source"]
            .as_str()
            .unwrap_or("")
            .contains("arcgispro-py3-clone")));
}

#[test]
fn unreadable_reference_on_the_command_line_exits_2_naming_file_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("pro-env.txt");
    std::fs::write(&bad, "this is not a package listing\n").unwrap();
    let out = gpaudit()
        .args([
            "audit",
            demo_site().to_str().unwrap(),
            "--reference",
            bad.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pro-env.txt"), "{err}");
    assert!(
        err.contains("conda list --explicit") && err.contains("pip freeze"),
        "{err}"
    );
    // Forcing a format that does not fit says which.
    let out = gpaudit()
        .args([
            "audit",
            demo_site().to_str().unwrap(),
            "--reference",
            bad.to_str().unwrap(),
            "--reference-format",
            "environment-yml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid conda env export"));
}

#[test]
fn unreadable_reference_in_site_toml_is_a_scan_error_and_the_audit_goes_on() {
    let site = TinySite::new();
    site.service("Tools", "Buffer", "GPServer", None);
    site.append_site_toml(
        "[reference]\ndefault = 'pro/missing-env.json'\n[reference.services]\n'Tools/Nope.GPServer' = 'pro/x.json'\n",
    );
    let (report, code) = audit_json(&[site.site_file().to_str().unwrap()]);
    assert_eq!(code, 1);
    let errors = findings(&report, "scan-error");
    let messages: Vec<&str> = errors
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("default reference env cannot be read")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`Tools/Nope.GPServer`, which is not a service")),
        "{messages:?}"
    );
    assert!(errors.iter().any(|f| f["source"]
        .as_str()
        .unwrap_or("")
        .ends_with("missing-env.json")
        || f["message"]
            .as_str()
            .unwrap_or("")
            .contains("missing-env.json")));
}

#[test]
fn diff_two_machines_of_the_demo_site() {
    let site = demo_site();
    let out = gpaudit()
        .args([
            "diff",
            &format!("{}#GIS2.EXAMPLE.COM/hydro", site.display()),
            &format!("{}#GIS1.EXAMPLE.COM/hydro", site.display()),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff["kind"], "gpaudit-diff");
    let changes: Vec<String> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["severity"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["role"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "warning affine removed python",
            "error numpy upgraded core",
            "error numpy-base upgraded native",
            "info pyarrow added python",
            "info requests upgraded python",
            "info requests-toolbelt added python",
        ]
    );
    // --fail-on never: exit 0 although they differ.
    gpaudit()
        .args([
            "diff",
            &fixture("reference/conda-list.json"),
            &fixture("reference/pip-list.json"),
            "--fail-on",
            "never",
        ])
        .assert()
        .code(0);
}

#[test]
fn diff_with_machine_and_env_flags_and_markdown() {
    let out = gpaudit()
        .args([
            "diff",
            &fixture("sites/demo/pro/special-explicit.txt"),
            demo_site().to_str().unwrap(),
            "--machine",
            "gis1.example.com",
            "--env",
            "special",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| warning | libgdal | native | rebuilt |"),
        "{md}"
    );
    assert!(
        md.contains("1 difference(s): 0 error, 1 warning, 0 info"),
        "{md}"
    );
}

#[test]
fn diff_identical_envs_exits_0() {
    let out = gpaudit()
        .args([
            "diff",
            &fixture("reference/arcgispro-py3-clone"),
            &fixture("reference/conda-list.json"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Same packages, versions and builds; only channels could differ, and they agree.
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("same packages"), "{text}");
}

#[test]
fn baseline_for_a_release_and_from_an_env() {
    let out = gpaudit()
        .args(["baseline", "--release", "11.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ArcGIS Server 11.3 (ArcGIS Pro 3.3)"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "python ==3.11.8"), "{text}");
    assert!(text.lines().any(|l| l == "arcpy 3.3.*"), "{text}");
    // Esri's arcgis-dist.json gives Pro 3.3's versions (our table had
    // matplotlib 3.8.4 and scipy 1.11.4, unverified): nothing is unverified.
    assert!(text.lines().any(|l| l == "matplotlib ==3.6.3"), "{text}");
    assert!(text.lines().any(|l| l == "scipy ==1.9.3"), "{text}");
    assert!(text.contains("no build strings"), "{text}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("unverified"));

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("pinned");
    gpaudit()
        .args([
            "baseline",
            "--from",
            &format!("{}#GIS1.EXAMPLE.COM/hydro", demo_site().display()),
            "-o",
            target.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    let pinned = std::fs::read_to_string(&target).unwrap();
    assert!(
        pinned.lines().any(|l| l == "numpy ==1.24.3 py39hf11a4ad_0"),
        "{pinned}"
    );
    assert!(
        pinned
            .lines()
            .any(|l| l == "arcpy ==3.1 py39_arcgispro_41759"),
        "{pinned}"
    );
    assert!(
        !pinned.lines().any(|l| l.starts_with("requests")),
        "python-role packages are not pinned"
    );

    let yml = gpaudit()
        .args([
            "baseline",
            "--release",
            "11.1",
            "--format",
            "environment-yml",
        ])
        .output()
        .unwrap();
    let yml = String::from_utf8_lossy(&yml.stdout);
    assert!(
        yml.contains("name: arcgis-server-11.1-baseline") && yml.contains("- arcpy 3.1.*"),
        "{yml}"
    );
}

#[test]
fn baseline_refuses_unknown_releases_and_writes_inside_the_env() {
    let out = gpaudit()
        .args(["baseline", "--release", "9.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the release table"));

    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("clone");
    std::fs::create_dir_all(env.join("conda-meta")).unwrap();
    for f in std::fs::read_dir(fixture("reference/arcgispro-py3-clone/conda-meta")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), env.join("conda-meta").join(f.file_name())).unwrap();
    }
    let out = gpaudit()
        .args([
            "baseline",
            "--from",
            env.to_str().unwrap(),
            "-o",
            env.join("conda-meta/pinned").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write inside"));
    assert!(!env.join("conda-meta/pinned").exists());
}
