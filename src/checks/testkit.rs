//! Small builders of snapshots for the checks' unit tests.

use super::Context;
use crate::finding::Finding;
use crate::model::*;
use crate::release::ReleaseTable;
use rattler_conda_types::{PackageName, PackageRecord, VersionWithSource};
use std::str::FromStr;

pub fn pkg(name: &str, version: &str, build: &str, depends: &[&str]) -> Package {
    let mut record = PackageRecord::new(
        PackageName::from_str(name).unwrap(),
        VersionWithSource::from_str(version).unwrap(),
        build.parse().unwrap(),
    );
    record.depends = depends.iter().map(|d| d.to_string()).collect();
    Package {
        record,
        channel: Some("https://conda.anaconda.org/esri".into()),
        file: format!("conda-meta/{name}-{version}-{build}.json"),
        modules: vec![name.replace('-', "_")],
        dists: vec![],
        files_missing: false,
    }
}

pub fn env_with(name: &str, packages: Vec<Package>) -> Env {
    Env {
        name: name.into(),
        path: format!("/envs/{name}"),
        origin: EnvOrigin::Install,
        packages,
        pip: Vec::new(),
        pinned: None,
        history: Vec::new(),
        unowned: Vec::new(),
        capped: Vec::new(),
        pth: None,
    }
}

pub fn env(name: &str, pkgs: &[(&str, &str, &str)]) -> Env {
    env_with(
        name,
        pkgs.iter().map(|(n, v, b)| pkg(n, v, b, &[])).collect(),
    )
}

pub fn arcgis_env(name: &str, arcpy: &str) -> Env {
    env(
        name,
        &[
            ("arcpy", arcpy, "py39_arcgispro_1"),
            ("python", "3.9.16", "h6244533_2"),
        ],
    )
}

pub fn machine(name: &str, envs: Vec<Env>) -> Machine {
    Machine {
        name: name.into(),
        install_dir: "/install".into(),
        python_root: "/install/framework/runtime/ArcGIS/bin/Python".into(),
        active_env: "/envs/arcgispro-py3".into(),
        active_env_source: "test".into(),
        envs,
        bindings: Vec::new(),
        path_map: Vec::new(),
        local: false,
        candidates: Vec::new(),
    }
}

pub fn bind(machine: &mut Machine, service: &str, env_path: &str, env_name: &str) {
    machine.bindings.push(ServiceBinding {
        service: service.into(),
        env_name: env_name.into(),
        env_path: env_path.into(),
        via: BindingVia::ServiceProperty,
        unresolved: None,
        refused: None,
    });
}

pub fn service(key: &str, provider: &str, conda_env: Option<&str>) -> Service {
    let (folder, rest) = match key.split_once('/') {
        Some((f, r)) => (Some(f.to_string()), r),
        None => (None, key),
    };
    let (name, ty) = rest.rsplit_once('.').unwrap();
    Service {
        key: key.into(),
        folder,
        name: name.into(),
        service_type: ty.into(),
        provider: Some(provider.into()),
        configured_state: Some("STARTED".into()),
        conda_environment_path: conda_env.map(str::to_string),
        toolbox: None,
        file: format!("config-store/services/{key}.json"),
    }
}

pub fn snapshot(machines: Vec<Machine>, version: Option<&str>) -> Snapshot {
    Snapshot {
        schema: SCHEMA,
        kind: KIND.into(),
        tool: ToolInfo::current(),
        site: SiteInfo {
            name: "test".into(),
            version: version.map(str::to_string),
            config_store: None,
        },
        machines,
        services: Vec::new(),
        references: Vec::new(),
        service_code: Vec::new(),
        live: None,
        scan_errors: Vec::new(),
    }
}

pub fn run_one(snapshot: &Snapshot, check: fn(&Context) -> Vec<Finding>) -> Vec<Finding> {
    let releases = ReleaseTable::builtin();
    let ctx = Context::new(snapshot, &releases);
    let mut findings = check(&ctx);
    crate::finding::sort_findings(&mut findings);
    findings
}
