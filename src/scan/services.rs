//! Reading services from the config store:
//! `services/[<folder>/]<Name>.<Type>/<Name>.<Type>.json`.

use crate::model::{ScanError, Service};
use crate::paths;
use crate::read::{read_capped, FileProblem};
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every service in the config store, sorted by key.
pub fn scan_services(config_store: &Path, errors: &mut Vec<ScanError>) -> Vec<Service> {
    let root = config_store.join("services");
    let mut found: Vec<(Option<String>, PathBuf)> = Vec::new();
    let top = match sorted_dirs(&root) {
        Ok(dirs) => dirs,
        Err(e) => {
            errors.push(error(&root, format!("cannot list services: {e}")));
            return Vec::new();
        }
    };
    for (name, path) in top {
        if is_service_dir(&path, &name) {
            found.push((None, path));
            continue;
        }
        match sorted_dirs(&path) {
            Ok(inner) => found.extend(
                inner
                    .into_iter()
                    .filter(|(n, p)| is_service_dir(p, n))
                    .map(|(_, p)| (Some(name.clone()), p)),
            ),
            Err(e) => errors.push(error(&path, format!("cannot list folder: {e}"))),
        }
    }
    let results: Vec<Result<Service, ScanError>> = found
        .into_par_iter()
        .map(|(folder, dir)| read_service(folder, &dir))
        .collect();
    let mut services = Vec::new();
    for r in results {
        match r {
            Ok(s) => services.push(s),
            Err(e) => errors.push(e),
        }
    }
    services.sort_by(|a, b| a.key.cmp(&b.key));
    services
}

fn error(path: &Path, message: String) -> ScanError {
    ScanError {
        machine: None,
        env: None,
        env_path: None,
        path: paths::display(path),
        message,
    }
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            out.push((name.to_string(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// `<Name>.<Type>` holding `<Name>.<Type>.json`.
fn is_service_dir(path: &Path, name: &str) -> bool {
    // Any file type: a FIFO or device in place of the JSON is reported by
    // `read_service`, not skipped as if the service were not there.
    name.contains('.') && path.join(format!("{name}.json")).symlink_metadata().is_ok()
}

fn read_service(folder: Option<String>, dir: &Path) -> Result<Service, ScanError> {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = dir.join(format!("{dir_name}.json"));
    let fail = |m: String| error(&file, m);
    let bytes = read_capped(&file).map_err(|e: FileProblem| fail(e.message))?;
    let json: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("malformed JSON: {e}")))?;
    let Some(obj) = json.as_object() else {
        return Err(fail("service JSON is not an object".into()));
    };
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let (dir_service, dir_type) = dir_name
        .rsplit_once('.')
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .unwrap_or((dir_name.clone(), String::new()));
    let name = text("serviceName").unwrap_or(dir_service);
    let service_type = text("type").unwrap_or(dir_type);
    let conda_environment_path = obj
        .get("properties")
        .and_then(|p| p.get("condaEnvironmentPath"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let toolbox = obj
        .get("properties")
        .and_then(|p| p.get("toolbox"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let key = match &folder {
        Some(f) => format!("{f}/{name}.{service_type}"),
        None => format!("{name}.{service_type}"),
    };
    Ok(Service {
        key,
        folder,
        name,
        service_type,
        provider: text("provider"),
        configured_state: text("configuredState"),
        conda_environment_path,
        toolbox,
        file: paths::display(&file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_service(root: &Path, rel: &str, body: &str) {
        let dir = root.join("services").join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(dir.join(format!("{name}.json")), body).unwrap();
    }

    #[test]
    fn reads_root_and_folder_services_and_reports_bad_json() {
        let store = tempfile::tempdir().unwrap();
        write_service(
            store.path(),
            "Hydro/Flood.GPServer",
            r#"{"serviceName":"Flood","type":"GPServer","provider":"ArcObjects11","configuredState":"STARTED","properties":{"condaEnvironmentPath":"hydro"}}"#,
        );
        write_service(
            store.path(),
            "Basemap.MapServer",
            r#"{"serviceName":"Basemap","type":"MapServer","provider":"ArcObjects"}"#,
        );
        write_service(store.path(), "Hydro/Broken.GPServer", "{not json");
        let mut errors = Vec::new();
        let services = scan_services(store.path(), &mut errors);
        let keys: Vec<_> = services.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, vec!["Basemap.MapServer", "Hydro/Flood.GPServer"]);
        assert_eq!(services[1].conda_environment_path.as_deref(), Some("hydro"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].path.ends_with("Broken.GPServer.json"));
    }

    #[cfg(unix)]
    #[test]
    fn regression_fifo_in_place_of_a_service_json_is_reported_not_dropped() {
        let store = tempfile::tempdir().unwrap();
        let dir = store.path().join("services/Hydro/Ebb.GPServer");
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("Ebb.GPServer.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let mut errors = Vec::new();
        let services = scan_services(store.path(), &mut errors);
        assert!(services.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].path.ends_with("Ebb.GPServer.json"));
        assert!(errors[0].message.contains("FIFO"), "{}", errors[0].message);
    }
}
