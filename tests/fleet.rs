//! The per-machine recipe of deploy/ansible/ (audit.yml): each machine
//! scanned alone from a site file naming only it, the snapshots audited
//! together, gives exactly the findings of the direct audit of the site.

mod common;
use common::*;
use std::error::Error;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| format!("{}: not UTF-8", path.display()).into())
}

/// The demo's machines as deploy/ansible/ci/audit-hosts.yml describes them:
/// (name, machine folder, default env, path_map as TOML).
const MACHINES: [(&str, &str, Option<&str>, &str); 3] = [
    (
        "GIS1.EXAMPLE.COM",
        "gis1",
        Some("hydro"),
        r#"{ 'D:\envs' = 'DEMO/gis1/d-envs', '\\FILESERVER\arcgisserver' = 'DEMO/arcgisserver', 'C:\arcgisserver\directories' = 'DEMO/arcgisserver/directories' }"#,
    ),
    (
        "GIS2.EXAMPLE.COM",
        "gis2",
        Some("hydro"),
        r#"{ 'D:\envs' = 'DEMO/gis2/d-envs' }"#,
    ),
    ("GIS3.EXAMPLE.COM", "gis3", None, "{}"),
];

/// What roles/gpaudit/templates/site.toml.j2 writes for one machine.
fn machine_site_file(demo: &Path, machine: usize, config_store: bool) -> Result<String> {
    let demo = utf8(demo)?;
    let (name, dir, default_env, path_map) = MACHINES[machine];
    let mut toml = "name = \"demo\"\nversion = \"11.1\"\n".to_string();
    if config_store {
        toml += &format!("config_store = '{demo}/arcgisserver/config-store'\n");
    }
    toml +=
        &format!("\n[[machine]]\nname = \"{name}\"\ninstall_dir = '{demo}/{dir}/ArcGIS/Server'\n");
    if let Some(env) = default_env {
        toml += &format!("default_env = \"{env}\"\n");
    }
    toml += &format!("path_map = {}\n", path_map.replace("DEMO", demo));
    toml += &format!(
        "\n[reference]\ndefault = '{demo}/pro/arcgispro-py3-clone'\n[reference.services]\n\
         \"Hydro/Flood.GPServer\" = '{demo}/pro/flood-conda-list.json'\n\
         \"Analytics/Cluster.GPServer\" = '{demo}/pro/cluster-environment.yml'\n\
         \"Tools/Special.GPServer\" = '{demo}/pro/special-explicit.txt'\n"
    );
    Ok(toml)
}

/// How the audit of the snapshots finds the demo's `gpaudit.toml`.
#[derive(Clone, Copy)]
enum Policy {
    /// `--config PATH`.
    Flag,
    /// A copy beside the snapshots, found without a flag.
    Beside,
}

/// The demo's folder, in the plain form: a verbatim `\\?\` path takes no
/// `/` separators, and the site file joins with `/`.
fn demo_dir() -> Result<std::path::PathBuf> {
    let demo = demo_site()
        .parent()
        .ok_or("the demo site file has no folder")?
        .canonicalize()?;
    Ok(std::path::PathBuf::from(
        demo.to_string_lossy().trim_start_matches(r"\\?\"),
    ))
}

/// `gpaudit scan` of demo machine `i` alone, from a site file naming only
/// it, into `dir`; the snapshot's path.
fn scan_alone(dir: &Path, demo: &Path, i: usize, config_store: bool) -> Result<String> {
    let name = MACHINES[i].0;
    let site = dir.join(format!("{name}.site.toml"));
    std::fs::write(&site, machine_site_file(demo, i, config_store)?)?;
    let snapshot = dir.join(format!("{name}.json"));
    gpaudit()
        .arg("scan")
        .arg(&site)
        .arg("-o")
        .arg(&snapshot)
        .assert()
        .success();
    Ok(utf8(&snapshot)?.to_string())
}

/// Scan each machine alone, then audit the snapshots together.
fn per_machine_audit(config_store: bool, policy: Policy) -> Result<serde_json::Value> {
    let demo = demo_dir()?;
    let dir = tempfile::tempdir()?;
    let mut snapshots = Vec::new();
    for i in 0..MACHINES.len() {
        snapshots.push(scan_alone(dir.path(), &demo, i, config_store)?);
    }
    let config = demo.join("gpaudit.toml");
    let mut args: Vec<&str> = snapshots.iter().map(String::as_str).collect();
    match policy {
        Policy::Flag => args.extend(["--config", utf8(&config)?]),
        Policy::Beside => {
            std::fs::copy(&config, dir.path().join("gpaudit.toml"))?;
        }
    }
    let (report, code) = audit_json(&args);
    assert_eq!(code, 1, "{report}");
    Ok(report)
}

// Findings carry file paths: under Wine the canonical `Z:\` form of the
// demo's folder and the build-time manifest path differ, so the equality is
// checked on Unix; the Windows build's findings are compared with the
// golden report by tests/windows_native.rs.
#[cfg_attr(
    windows,
    ignore = "paths differ between Z:\\ and the manifest dir under Wine"
)]
#[test]
fn per_machine_snapshots_give_exactly_the_direct_audit() {
    let merged = per_machine_audit(true, Policy::Flag).unwrap();
    let (direct, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert!(!direct["findings"].as_array().unwrap().is_empty());
    assert_eq!(merged["findings"], direct["findings"]);
}

/// issue 13: the README's recipe, a site file naming only the machine and
/// no config store, read it on GIS1 alone (only GIS1's path_map reaches
/// the share its config-store-connection.xml names) and lost the services
/// on GIS2 and GIS3: 64 findings instead of the direct audit's. The store
/// is read once, by the scan that reaches it; the merge binds its services
/// on the other machines through their own path_map. The demo's
/// `gpaudit.toml` beside the snapshots applies (its waiver stays waived).
#[cfg_attr(
    windows,
    ignore = "paths differ between Z:\\ and the manifest dir under Wine"
)]
#[test]
fn regression_per_machine_scans_lost_the_config_store_on_every_machine_but_the_first() {
    let merged = per_machine_audit(false, Policy::Beside).unwrap();
    let (direct, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert!(direct["summary"]["waived"].as_u64().unwrap() > 0);
    assert_eq!(merged["summary"], direct["summary"]);
    assert_eq!(merged["findings"], direct["findings"]);
}

/// No snapshot read the config store: the audit says the services are
/// unknown, in the report and on stderr, instead of reporting none.
#[test]
fn snapshots_without_any_config_store_say_the_services_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_dir().unwrap();
    // GIS2 and GIS3 alone: neither can reach the share.
    let snapshots: Vec<String> = [1, 2]
        .into_iter()
        .map(|i| scan_alone(dir.path(), &demo, i, false).unwrap())
        .collect();
    let out = gpaudit()
        .arg("audit")
        .args(&snapshots)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("none of the 2 snapshot(s) read the site's config store"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let said = report["findings"].as_array().unwrap().iter().any(|f| {
        f["code"] == "scan-error"
            && f["message"].as_str().is_some_and(|m| {
                m.contains("services, the env each runs in and their findings are unknown")
            })
    });
    assert!(said, "{report:#}");
}
