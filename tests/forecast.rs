//! The pre-upgrade forecast (`audit --target`) on the demo site: every
//! forecast code the demo can show, and the ArcMap service as an error.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;

fn brief(report: &serde_json::Value, code: &str) -> Vec<String> {
    common::brief(report, code, &["severity", "machine", "env", "package"])
}

#[test]
fn forecast_to_11_3() {
    let (report, code) = audit_json(&[demo_site().to_str().unwrap(), "--target", "11.3"]);
    assert_eq!(code, 1);
    assert_eq!(
        brief(&report, "upgrade-needs-proup"),
        [
            "info GIS1.EXAMPLE.COM hydro ",
            "info GIS1.EXAMPLE.COM legacy ",
            "info GIS1.EXAMPLE.COM special ",
            "info GIS2.EXAMPLE.COM hydro ",
        ]
    );
    let pins = brief(&report, "upgrade-pin-conflict");
    for want in [
        "error GIS1.EXAMPLE.COM hydro numpy",
        "error GIS1.EXAMPLE.COM hydro python",
        "error GIS1.EXAMPLE.COM hydro numba",
        // Esri's whole Pro 3.3 stack: arcgispro and arcpy-base are in it
        // too, and the pins `arcgispro 3.1.*`, `arcpy-base 3.1.*` fail it.
        "error GIS1.EXAMPLE.COM hydro arcgispro",
        "error GIS1.EXAMPLE.COM hydro arcpy-base",
    ] {
        assert!(pins.contains(&want.to_string()), "{want} not in {pins:#?}");
    }
    // Values come from Esri's list now: nothing is "unverified".
    assert!(findings(&report, "upgrade-pin-conflict")
        .iter()
        .all(|f| !f["message"].as_str().unwrap().contains("unverified")));
    assert!(brief(&report, "upgrade-python-abi")
        .contains(&"warning GIS1.EXAMPLE.COM hydro numba".to_string()));
    // click and pyarrow are in Pro 3.3's stack: the stack's versions replace
    // the clone's py39 builds, so they are no ABI warning; but GIS1's admin
    // asked for `pyarrow=0.17`, which the stack's pyarrow 15.0.0 contradicts.
    let abi = brief(&report, "upgrade-python-abi");
    assert!(
        !abi.iter()
            .any(|f| f.ends_with(" click") || f.ends_with(" pyarrow")),
        "{abi:#?}"
    );
    let pyarrow = findings(&report, "upgrade-pin-conflict")
        .into_iter()
        .find(|f| f["package"] == "pyarrow")
        .unwrap();
    assert_eq!(pyarrow["machine"], "GIS1.EXAMPLE.COM");
    assert_eq!(pyarrow["expected"], "pyarrow 15.0.0");
    assert_eq!(pyarrow["found"], "pyarrow 0.17.* (conda-meta/history)");
    // numba is blocked by the stack's numpy, and says so.
    let numba = findings(&report, "upgrade-pin-conflict")
        .into_iter()
        .find(|f| f["package"] == "numba")
        .unwrap();
    assert!(
        numba["message"]
            .as_str()
            .unwrap()
            .contains("numpy blocks it"),
        "{numba}"
    );
    // issue 13 item 2: special's hand-made gp-share.pth is dropped too.
    assert_eq!(
        brief(&report, "upgrade-unowned-files"),
        [
            "warning GIS1.EXAMPLE.COM hydro ",
            "warning GIS1.EXAMPLE.COM special "
        ]
    );
    let special = findings(&report, "upgrade-unowned-files")
        .into_iter()
        .find(|f| f["env"] == "special")
        .unwrap();
    assert!(
        special["message"]
            .as_str()
            .unwrap()
            .contains("gp-share.pth (made by hand: \\\\FILESERVER\\gp\\lib; special_tools)"),
        "{special}"
    );
    assert_eq!(
        brief(&report, "upgrade-pip-packages"),
        ["warning GIS1.EXAMPLE.COM hydro "]
    );
    // `special` lives outside the install: proup takes its path there.
    let special = findings(&report, "upgrade-needs-proup")
        .into_iter()
        .find(|f| f["env"] == "special")
        .unwrap();
    assert!(
        special["message"]
            .as_str()
            .unwrap()
            .contains("conda proup -p"),
        "{special}"
    );
    // The services an upgrade of hydro hits are listed.
    let hydro = findings(&report, "upgrade-needs-proup")[0];
    assert_eq!(hydro["services"].as_array().unwrap().len(), 4);
    // Without --channel, the report says that no solve was run and how to run one.
    let message = hydro["message"].as_str().unwrap();
    assert!(
        message.contains("262 packages) plus its 6 added package(s)")
            && message.contains("no solve was run: pass `--channel`"),
        "{message}"
    );
}

#[test]
fn without_a_target_there_is_no_forecast_and_a_pre_11_target_has_no_proup() {
    let (report, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["code"].as_str().unwrap().starts_with("upgrade-")));
    // GIS3's 10.8 env is not a clone; the demo's clones are past 10.9, so a
    // 10.9 target forecasts nothing for them.
    let (report, _) = audit_json(&[demo_site().to_str().unwrap(), "--target", "10.9"]);
    assert!(findings(&report, "upgrade-needs-proup").is_empty());
}

#[test]
fn plan_after_the_upgrade_is_a_saved_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    gpaudit()
        .args([
            "plan",
            demo_site().to_str().unwrap(),
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(plan["kind"], "gpaudit-migration-plan");
    // GIS1 runs 11.1; its 11.0 clone `legacy` is the one to migrate.
    let machines = plan["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0]["machine"], "GIS1.EXAMPLE.COM");
    let env = &machines[0]["envs"][0];
    assert_eq!(env["env"], "legacy");
    assert_eq!(env["from_release"], "11.0");
    let steps: Vec<&str> = env["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["snapshot", "stop", "proup", "verify", "start"]);
    let argv: Vec<&str> = env["steps"][2]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&argv[1..], ["proup", "-n", "legacy"]);
    assert_eq!(env["fingerprint"].as_str().unwrap().len(), 64);

    // Never written inside the site.
    let inside = demo_site()
        .parent()
        .unwrap()
        .join("gis1/ArcGIS/Server/plan.json");
    gpaudit()
        .args([
            "plan",
            demo_site().to_str().unwrap(),
            "-o",
            inside.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    assert!(!inside.exists());
}

fn demo_channels() -> [String; 2] {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/channels");
    [
        root.join("esri").to_string_lossy().into_owned(),
        root.join("main").to_string_lossy().into_owned(),
    ]
}

#[test]
fn forecast_to_11_3_with_the_demo_channels_solves_each_clone() {
    let [esri, main] = demo_channels();
    let site = demo_site();
    let (report, code) = audit_json(&[
        site.to_str().unwrap(),
        "--target",
        "11.3",
        "--channel",
        &esri,
        &main,
    ]);
    assert_eq!(code, 1);
    // GIS1's hydro asked for pyarrow=0.17; every pyarrow 0.17 build needs
    // Python 3.9 or 3.8, and 11.3 ships Python 3.11.8.
    assert_eq!(
        brief(&report, "upgrade-unsolvable"),
        ["error GIS1.EXAMPLE.COM hydro pyarrow"]
    );
    let unsolvable = findings(&report, "upgrade-unsolvable")[0];
    assert_eq!(
        unsolvable["found"],
        "`pyarrow 0.17.*`, blocked by the target's python 3.11.8"
    );
    let message = unsolvable["message"].as_str().unwrap();
    assert!(
        message.contains("`arcgispro 3.3.*` plus `numba`, `pyarrow 0.17.*`, `rasterio`")
            && message.contains("Solver: pyarrow 0.17.* cannot be installed")
            && message.contains("pip packages (requests, requests-toolbelt) cannot be solved"),
        "{message}"
    );
    assert_eq!(unsolvable["services"].as_array().unwrap().len(), 4);
    // GIS2's hydro (numba, rasterio) solves; what proup moves is listed.
    assert_eq!(
        brief(&report, "upgrade-will-change"),
        ["info GIS2.EXAMPLE.COM hydro "]
    );
    assert_eq!(
        findings(&report, "upgrade-will-change")[0]["found"],
        "click 8.0.4 -> 8.1.7, llvmlite 0.39.1 -> 0.42.0, numba 0.56.4 -> 0.59.1, rasterio 1.2.10 -> 1.3.9"
    );
    // The §2 checks still run beside the solve.
    assert!(!findings(&report, "upgrade-pin-conflict").is_empty());
    let proup = findings(&report, "upgrade-needs-proup")[0]["message"]
        .as_str()
        .unwrap();
    assert!(
        proup.contains("the solve over the given channels"),
        "{proup}"
    );
}

#[test]
fn channels_that_cannot_be_read_or_have_no_target_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("repodata.json");
    std::fs::write(&bad, "{\"packages\": 3}").unwrap();
    let site = demo_site();
    let out = gpaudit()
        .args([
            "audit",
            site.to_str().unwrap(),
            "--target",
            "11.3",
            "--channel",
        ])
        .arg(&bad)
        .arg(dir.path().join("nowhere"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let out = gpaudit_audit(out);
    assert_eq!(out.0, 2);
    assert!(
        out.1.contains("repodata.json: not a conda repodata.json")
            && out.1.contains("nowhere: no such file or folder"),
        "{}",
        out.1
    );
    // --channel needs --target.
    let [esri, _] = demo_channels();
    let out = gpaudit()
        .args(["audit", site.to_str().unwrap(), "--channel", &esri])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target"));
}

fn gpaudit_audit(out: std::process::Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
