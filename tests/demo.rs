//! The demo site: every code is reported, with the fields users rely on.

mod common;
use common::*;

const ALL_CODES: &[&str] = &[
    "env-missing",
    "env-not-arcgis",
    "env-release-mismatch",
    "pin-violation",
    "pin-file-missing",
    "dependency-missing",
    "dependency-unsatisfied",
    "constraint-violated",
    "package-duplicate",
    "package-orphaned",
    "package-files-missing",
    "pip-installed",
    "pip-clobbered",
    "pip-editable",
    "pth-path-outside-env",
    "site-inconsistent",
    "default-env-modified",
    "arcmap-service",
    "per-service-env-unsupported",
    "reference-drift",
    "reference-missing",
    "reference-extra",
    "service-import-unresolved",
    "service-import-removed-stdlib",
    "service-code-python2",
    "service-code-missing",
    "scan-error",
    "waiver-expired",
    "waiver-unmatched",
];

#[test]
fn demo_reports_every_code_and_exits_1() {
    let site = demo_site();
    let (report, code) = audit_json(&[site.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["schema"], 2);
    assert_eq!(report["tool"]["name"], "gpaudit");
    assert_eq!(report["site"]["version"], "11.1");
    assert_eq!(report["site"]["machines"].as_array().unwrap().len(), 3);
    for code in ALL_CODES {
        assert!(
            !findings(&report, code).is_empty(),
            "demo does not report {code}"
        );
    }
    for f in report["findings"].as_array().unwrap() {
        for key in ["code", "severity", "message", "services"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    let s = &report["summary"];
    let total =
        s["error"].as_u64().unwrap() + s["warning"].as_u64().unwrap() + s["info"].as_u64().unwrap();
    assert_eq!(total as usize, report["findings"].as_array().unwrap().len());
    assert_eq!(s["waived"], 1);
}

#[test]
fn demo_pin_violation_is_exact() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap()]);
    let f = findings(&report, "pin-violation");
    assert_eq!(f.len(), 1);
    let f = f[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["machine"], "GIS1.EXAMPLE.COM");
    assert_eq!(f["env"], "hydro");
    assert_eq!(f["package"], "numpy");
    assert_eq!(f["expected"], "numpy 1.20.*");
    assert_eq!(f["found"], "1.24.3 py39hf11a4ad_0");
    assert!(f["source"]
        .as_str()
        .unwrap()
        .ends_with(&native("envs/hydro/conda-meta/pinned:7")));
    assert!(f["env_path"]
        .as_str()
        .unwrap()
        .ends_with(&native("envs/hydro")));
    // hydro is GIS1's active env: services without condaEnvironmentPath run there too.
    let services: Vec<&str> = f["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        vec![
            "Hydro/Ebb.GPServer",
            "Hydro/Flood.GPServer",
            "Legacy/Geocode.GPServer",
            "Utilities/PrintingTools.GPServer"
        ]
    );
}

#[test]
fn demo_findings_by_code_are_the_documented_ones() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap()]);
    let one = |code: &str| -> Vec<(String, String, String)> {
        findings(&report, code)
            .iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
                (s("machine"), s("env"), s("package"))
            })
            .collect()
    };
    let t = |m: &str, e: &str, p: &str| (m.to_string(), e.to_string(), p.to_string());
    assert_eq!(
        one("dependency-unsatisfied"),
        vec![t("GIS1.EXAMPLE.COM", "hydro", "numpy")]
    );
    assert_eq!(
        one("dependency-missing"),
        vec![t("GIS1.EXAMPLE.COM", "hydro", "affine")]
    );
    assert_eq!(
        one("constraint-violated"),
        vec![t("GIS1.EXAMPLE.COM", "hydro", "pyarrow")]
    );
    assert_eq!(
        one("env-not-arcgis"),
        vec![
            t("GIS1.EXAMPLE.COM", "ml", "arcpy"),
            t("GIS2.EXAMPLE.COM", "ml", "arcpy")
        ]
    );
    assert_eq!(
        one("env-release-mismatch"),
        vec![
            t("GIS1.EXAMPLE.COM", "legacy", "arcpy"),
            t("GIS3.EXAMPLE.COM", "arcgispro-py3", "arcpy")
        ]
    );
    assert_eq!(
        one("env-missing"),
        vec![
            t("GIS2.EXAMPLE.COM", "Legacy", ""),
            t("GIS2.EXAMPLE.COM", "special", "")
        ]
    );
    assert_eq!(
        one("pin-file-missing"),
        vec![t("GIS1.EXAMPLE.COM", "legacy", "")]
    );
    assert_eq!(
        one("default-env-modified"),
        vec![t("GIS1.EXAMPLE.COM", "arcgispro-py3", "")]
    );
    assert_eq!(
        one("pip-installed"),
        vec![t("GIS1.EXAMPLE.COM", "hydro", "requests")]
    );
    assert_eq!(
        one("pip-clobbered"),
        vec![
            t("GIS1.EXAMPLE.COM", "hydro", "requests"),
            t("GIS1.EXAMPLE.COM", "hydro", "requests")
        ]
    );
    let arcmap = findings(&report, "arcmap-service");
    assert_eq!(arcmap[0]["severity"], "error", "error on an 11.x site");
    assert_eq!(arcmap[0]["service"], "Legacy/Geocode.GPServer");
    let per = findings(&report, "per-service-env-unsupported");
    assert!(per.iter().all(|f| f["machine"] == "GIS3.EXAMPLE.COM"));
    assert_eq!(per.len(), 4);
    let scan: Vec<_> = findings(&report, "scan-error")
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        scan.iter()
            .any(|m| m.contains("colorama-0.4.6-py39haa95532_0.json: malformed JSON")),
        "{scan:?}"
    );
    assert!(
        scan.iter()
            .any(|m| m.contains("tqdm-4.64.1-py39haa95532_0.json: record file name disagrees")),
        "{scan:?}"
    );
}

#[test]
fn table_and_markdown_render_the_same_findings() {
    let site = demo_site();
    let table = gpaudit()
        .args(["audit", site.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(table.status.code(), Some(1));
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("pin-violation"));
    assert!(
        text.trim_end()
            .ends_with("62 errors, 16 warnings, 15 info (1 waived)"),
        "{text}"
    );
    let md = gpaudit()
        .args(["audit", site.to_str().unwrap(), "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("# gpaudit report: demo\n"));
    assert!(md.contains("**62 errors, 16 warnings, 15 info (1 waived)**"));
    assert!(md.contains("## GP services at risk"));
    assert!(md.contains("| error | `Hydro/Flood.GPServer` | hydro |"));
    assert!(
        md.contains("- **error** numpy in env hydro: `dependency-unsatisfied`, `pin-violation`")
    );
    assert!(md.lines().count() <= 150, "{} lines", md.lines().count());
}

#[test]
fn fail_on_controls_the_exit_code() {
    let site = demo_site();
    let s = site.to_str().unwrap();
    gpaudit()
        .args(["audit", s, "--fail-on", "never"])
        .assert()
        .code(0);
    gpaudit()
        .args(["audit", s, "--fail-on", "warning"])
        .assert()
        .code(1);
}

#[test]
fn snapshots_scanned_then_audited_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("demo.json");
    gpaudit()
        .args([
            "scan",
            demo_site().to_str().unwrap(),
            "-o",
            snap.to_str().unwrap(),
        ])
        .assert()
        .success();
    let config = demo_site().parent().unwrap().join("gpaudit.toml");
    let (from_snapshot, code) =
        audit_json(&[snap.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
    let (from_site, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert_eq!(from_snapshot["findings"], from_site["findings"]);
}

#[test]
fn writing_inside_the_site_is_refused() {
    let site = demo_site();
    let inside = site
        .parent()
        .unwrap()
        .join("gis1/ArcGIS/Server/report.json");
    gpaudit()
        .args([
            "scan",
            site.to_str().unwrap(),
            "-o",
            inside.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "refusing to write inside the audited site",
        ));
    assert!(!inside.exists());
}

#[test]
fn graph_why_dependents_and_dot() {
    let site = demo_site();
    let s = site.to_str().unwrap();
    let why = gpaudit()
        .args([
            "graph",
            s,
            "--machine",
            "gis1.example.com",
            "--env",
            "hydro",
            "why",
            "numpy",
        ])
        .output()
        .unwrap();
    assert!(why.status.success());
    let text = String::from_utf8(why.stdout).unwrap();
    assert!(text.starts_with("numpy 1.24.3\n"), "{text}");
    assert!(
        text.contains("numba 0.56.4 (requires numpy >=1.18,<1.24.0a0)"),
        "{text}"
    );
    let deps = gpaudit()
        .args([
            "graph",
            s,
            "--machine",
            "GIS1.EXAMPLE.COM",
            "--env",
            "hydro",
            "dependents",
            "libgdal",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(deps.stdout).unwrap();
    assert!(
        text.contains("gdal 3.4.1") && text.contains("rasterio 1.2.10"),
        "{text}"
    );
    assert!(text.contains("Hydro/Flood.GPServer"), "{text}");
    let dot = gpaudit()
        .args([
            "graph",
            s,
            "--machine",
            "GIS1.EXAMPLE.COM",
            "--env",
            "hydro",
            "--dot",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(dot.stdout)
        .unwrap()
        .contains("\"rasterio\" -> \"libgdal\""));
    gpaudit()
        .args(["graph", s, "--machine", "GIS9", "--env", "hydro", "--dot"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no machine `GIS9`"));
}
