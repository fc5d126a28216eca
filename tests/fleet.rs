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

/// Scan each machine alone, then audit the snapshots together.
fn per_machine_audit(config_store: bool) -> Result<serde_json::Value> {
    let demo = demo_site()
        .parent()
        .ok_or("the demo site file has no folder")?
        .canonicalize()?;
    // A verbatim `\\?\` path takes no `/` separators, and the site file
    // joins with `/`: use the plain form.
    let demo = std::path::PathBuf::from(demo.to_string_lossy().trim_start_matches(r"\\?\"));
    let dir = tempfile::tempdir()?;
    let mut snapshots = Vec::new();
    for (i, (name, ..)) in MACHINES.iter().enumerate() {
        let site = dir.path().join(format!("{name}.site.toml"));
        std::fs::write(&site, machine_site_file(&demo, i, config_store)?)?;
        let snapshot = dir.path().join(format!("{name}.json"));
        gpaudit()
            .arg("scan")
            .arg(&site)
            .arg("-o")
            .arg(&snapshot)
            .assert()
            .success();
        snapshots.push(utf8(&snapshot)?.to_string());
    }
    let config = demo.join("gpaudit.toml");
    let mut args: Vec<&str> = snapshots.iter().map(String::as_str).collect();
    args.extend(["--config", utf8(&config)?]);
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
    let merged = per_machine_audit(true).unwrap();
    let (direct, _) = audit_json(&[demo_site().to_str().unwrap()]);
    assert!(!direct["findings"].as_array().unwrap().is_empty());
    assert_eq!(merged["findings"], direct["findings"]);
}

/// Why the generated site file names the config store for every machine:
/// without it, only GIS1 (whose config-store-connection.xml points at the
/// share its path_map maps) finds the services, and the findings that need
/// the services on GIS2 and GIS3 are lost.
#[test]
fn per_machine_site_files_without_config_store_lose_services_of_other_machines() {
    let merged = per_machine_audit(false).unwrap();
    let (direct, _) = audit_json(&[demo_site().to_str().unwrap()]);
    let count = |r: &serde_json::Value| r["findings"].as_array().unwrap().len();
    assert!(
        count(&merged) < count(&direct),
        "{} vs {}",
        count(&merged),
        count(&direct)
    );
}
