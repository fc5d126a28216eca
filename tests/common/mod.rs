//! Helpers for the integration tests: run the real binary, build small sites
//! in temporary folders.
#![allow(dead_code, clippy::unwrap_used)]

pub mod admin_server;
pub mod upgrade_site;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The binary, its record cache in the target folder rather than the
/// user's cache folder.
pub fn gpaudit() -> Command {
    let mut cmd = Command::cargo_bin("gpaudit").expect("binary builds");
    cmd.env(
        "GPAUDIT_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("record-cache"),
    );
    cmd
}

/// A relative path written with `/` as gpaudit shows it on this OS
/// (`\` on Windows).
pub fn native(path: &str) -> String {
    if cfg!(windows) {
        path.replace('/', "\\")
    } else {
        path.to_string()
    }
}

pub fn demo_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sites/demo/site.toml")
}

/// Run `gpaudit audit ... --format json` and parse the report.
pub fn audit_json(args: &[&str]) -> (serde_json::Value, i32) {
    let out = gpaudit()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, code)
}

pub fn findings<'a>(report: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

/// Each finding with `code`, as its `fields` joined by spaces (missing
/// fields are empty), for compact assertions.
pub fn brief(report: &serde_json::Value, code: &str, fields: &[&str]) -> Vec<String> {
    findings(report, code)
        .iter()
        .map(|f| {
            fields
                .iter()
                .map(|k| f[*k].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// A minimal one-machine site in a temp dir: one arcgispro-py3 env with the
/// given records (file name → JSON body).
pub struct TinySite {
    pub dir: tempfile::TempDir,
}

pub const ENVS: &str = "m1/framework/runtime/ArcGIS/bin/Python/envs";

impl TinySite {
    pub fn new() -> TinySite {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(ENVS)).unwrap();
        std::fs::create_dir_all(dir.path().join("store/services")).unwrap();
        std::fs::write(
            dir.path().join("site.toml"),
            "name = 'tiny'\nversion = '11.1'\nconfig_store = 'store'\n[[machine]]\nname = 'M1'\ninstall_dir = 'm1'\n",
        )
        .unwrap();
        let site = TinySite { dir };
        site.record(
            "arcgispro-py3",
            "arcpy",
            "3.1",
            "py39_arcgispro_41759",
            &["python 3.9.*"],
        );
        site.record("arcgispro-py3", "python", "3.9.16", "h6244533_2", &[]);
        site
    }

    pub fn site_file(&self) -> PathBuf {
        self.dir.path().join("site.toml")
    }

    pub fn env_dir(&self, env: &str) -> PathBuf {
        self.dir.path().join(ENVS).join(env)
    }

    pub fn record(&self, env: &str, name: &str, version: &str, build: &str, depends: &[&str]) {
        let body = serde_json::json!({
            "name": name, "version": version, "build": build, "build_number": 0,
            "depends": depends, "channel": "https://repo.anaconda.com/pkgs/main",
            "subdir": "win-64", "files": [format!("Lib/site-packages/{name}/__init__.py")],
        });
        self.raw_record(
            env,
            &format!("{name}-{version}-{build}.json"),
            &body.to_string(),
        );
    }

    /// A service in the config store (`conda_env` sets condaEnvironmentPath).
    pub fn service(&self, folder: &str, name: &str, kind: &str, conda_env: Option<&str>) {
        let dir = self
            .dir
            .path()
            .join("store/services")
            .join(folder)
            .join(format!("{name}.{kind}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut properties =
            serde_json::json!({"toolbox": "tools.tbx", "executionType": "Asynchronous"});
        if let Some(env) = conda_env {
            properties["condaEnvironmentPath"] = env.into();
        }
        let body = serde_json::json!({
            "serviceName": name, "type": kind, "provider": "ArcObjects11",
            "configuredState": "STARTED", "properties": properties,
        });
        std::fs::write(dir.join(format!("{name}.{kind}.json")), body.to_string()).unwrap();
    }

    /// Add TOML at the end of site.toml.
    pub fn append_site_toml(&self, text: &str) {
        let path = self.site_file();
        let mut toml = std::fs::read_to_string(&path).unwrap();
        toml.push_str(text);
        std::fs::write(path, toml).unwrap();
    }

    pub fn raw_record(&self, env: &str, file: &str, body: &str) {
        let meta = self.env_dir(env).join("conda-meta");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join(file), body).unwrap();
    }
}
