//! Loading a saved snapshot: straight into the model (no JSON tree held
//! beside it), with the same answers and the same errors as before.

#![allow(clippy::unwrap_used)]

mod common;

use common::{demo_site, gpaudit};
use gpaudit::model::Snapshot;

fn scan_demo(dir: &std::path::Path) -> std::path::PathBuf {
    let snap = dir.join("demo.json");
    gpaudit()
        .args(["scan", demo_site().to_str().unwrap(), "-o"])
        .arg(&snap)
        .assert()
        .success();
    snap
}

#[test]
fn a_snapshot_loads_to_what_was_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let snap = scan_demo(dir.path());
    let text = std::fs::read_to_string(&snap).unwrap();
    let loaded = Snapshot::from_json(&text, "demo.json").unwrap();
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&loaded).unwrap(), written);
}

#[test]
fn snapshot_errors_read_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scan_demo(dir.path())).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let err = |v: &serde_json::Value| {
        Snapshot::from_json(&v.to_string(), "s.json")
            .unwrap_err()
            .to_string()
    };

    let mut wrong_kind = value.clone();
    wrong_kind["kind"] = "gpaudit-plan".into();
    assert_eq!(
        err(&wrong_kind),
        "s.json: not a gpaudit snapshot: no \"kind\": \"gpaudit-snapshot\""
    );
    let mut old = value.clone();
    old["schema"] = 7.into();
    assert_eq!(
        err(&old),
        "s.json: snapshot schema 7 is not supported (this gpaudit reads schema 1)"
    );
    // A wrong kind wins over a broken body, as it did.
    let mut both = wrong_kind.clone();
    both["machines"] = "none".into();
    assert!(err(&both).contains("no \"kind\""), "{}", err(&both));
    // A body that does not fit the model names the field.
    value["machines"] = "none".into();
    assert!(
        err(&value).starts_with("s.json: not a gpaudit snapshot: invalid type: string \"none\""),
        "{}",
        err(&value)
    );
    // Not JSON at all.
    let broken = Snapshot::from_json("{\"kind\": ", "s.json").unwrap_err();
    assert!(broken.to_string().contains("EOF while parsing"), "{broken}");
    // A key given twice: the last one counts, as in any JSON reader that
    // builds a tree (the fast path refuses it and the old road decides).
    let twice = text.replacen('{', "{\"schema\": 9,", 1);
    assert!(Snapshot::from_json(&twice, "s.json").is_ok());
}
