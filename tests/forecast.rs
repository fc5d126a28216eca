//! The pre-upgrade forecast (`audit --target`) on the demo site: every
//! forecast code the demo can show, and the ArcMap service as an error.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;

fn brief(report: &serde_json::Value, code: &str) -> Vec<String> {
    findings(report, code)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            format!(
                "{} {} {} {}",
                s("severity"),
                s("machine"),
                s("env"),
                s("package")
            )
        })
        .collect()
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
    ] {
        assert!(pins.contains(&want.to_string()), "{want} not in {pins:#?}");
    }
    assert!(brief(&report, "upgrade-python-abi")
        .contains(&"warning GIS1.EXAMPLE.COM hydro numba".to_string()));
    assert_eq!(
        brief(&report, "upgrade-unowned-files"),
        ["warning GIS1.EXAMPLE.COM hydro "]
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
