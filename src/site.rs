//! The site file (`site.toml`): which machines make up the site, where their
//! ArcGIS Server installs and config store are here, and how machine paths map
//! to local ones. Parsed strictly; every problem names the file (and line).

use crate::paths::{self, PathMap};
use crate::release::ArcgisVersion;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Python root below an ArcGIS Server install dir.
pub const PYTHON_ROOT: &str = "framework/runtime/ArcGIS/bin/Python";
/// The file that points to the site's config store, below an install dir.
pub const CONFIG_STORE_CONNECTION: &str = "framework/etc/config-store-connection.xml";
pub use crate::model::DEFAULT_ENV;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteToml {
    name: Option<String>,
    version: Option<String>,
    config_store: Option<String>,
    #[serde(default)]
    machine: Vec<MachineToml>,
    #[serde(default)]
    reference: ReferenceToml,
    admin: Option<AdminToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminToml {
    url: String,
    username: String,
    password_env: Option<String>,
    ca_file: Option<String>,
    portal_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceToml {
    default: Option<String>,
    #[serde(default)]
    services: BTreeMap<String, String>,
}

/// `[reference]`: the env (usually a copy of the ArcGIS Pro env) each GP
/// service was published from. Paths are local, relative to the site file,
/// and may end in `#MACHINE/ENV` to pick an env from a snapshot.
#[derive(Clone, Debug, Default)]
pub struct References {
    /// For every GP service without an entry of its own.
    pub default: Option<String>,
    /// Service key (`Folder/Name.GPServer`) → reference.
    pub services: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineToml {
    name: String,
    install_dir: String,
    default_env: Option<String>,
    #[serde(default)]
    extra_envs: Vec<String>,
    #[serde(default)]
    path_map: BTreeMap<String, String>,
    /// gpaudit runs on this machine: absolute paths in its ArcGIS files are
    /// read as they are. Default: whether its name is this host's name.
    local: Option<bool>,
}

/// A problem with the site file itself: the site cannot be audited.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{path}: cannot read the site file: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// One machine of the site.
#[derive(Clone, Debug)]
pub struct MachineSpec {
    pub name: String,
    /// Where the install dir is here.
    pub install_dir: PathBuf,
    /// The env proswap activated, as written in site.toml (name or path).
    pub default_env: Option<String>,
    /// Envs outside the install dir, resolved to local paths.
    pub extra_envs: Vec<PathBuf>,
    pub path_map: PathMap,
    /// gpaudit runs on this machine (`local = true`, or its name is this
    /// host's): absolute paths its ArcGIS files name are read as they are.
    pub local: bool,
}

impl MachineSpec {
    /// Where a path read from this machine's ArcGIS files is, here (see
    /// [`paths::resolve_machine_path`]); `base` for relative paths.
    pub fn resolve_path(&self, path: &str, base: &Path) -> Result<PathBuf, paths::Unmapped> {
        paths::resolve_machine_path(path, &self.path_map, base, &self.name, self.local)
    }

    pub fn python_root(&self) -> PathBuf {
        self.install_dir.join(PYTHON_ROOT)
    }

    pub fn envs_dir(&self) -> PathBuf {
        self.python_root().join("envs")
    }
}

/// A parsed, validated site file.
#[derive(Clone, Debug)]
pub struct Site {
    pub file: PathBuf,
    /// The folder of the site file; relative paths are relative to it.
    pub dir: PathBuf,
    pub name: String,
    pub version: Option<ArcgisVersion>,
    /// The config store as given in site.toml (local path), if given.
    pub config_store: Option<PathBuf>,
    pub machines: Vec<MachineSpec>,
    pub references: References,
    /// `[admin]`: the site's Administrator API, when given.
    pub admin: Option<crate::admin::AdminConfig>,
}

impl Site {
    /// A reference as written in the site file, made relative to where
    /// gpaudit runs (the site file's folder joined in front of it).
    pub fn reference_path(&self, written: &str) -> String {
        let local = written.replace('\\', "/");
        paths::display(&self.dir.join(local))
    }

    pub fn load(file: &Path) -> Result<Site, SiteError> {
        let text = crate::read::read_text_io(file).map_err(|cause| SiteError::Read {
            path: paths::display(file),
            cause,
        })?;
        Site::parse(&text, file)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Site, SiteError> {
        Site::parse_on_host(text, file, paths::this_host_name().as_deref())
    }

    /// [`Site::parse`] as if gpaudit ran on the host named `host`.
    pub fn parse_on_host(text: &str, file: &Path, host: Option<&str>) -> Result<Site, SiteError> {
        let invalid = |message: String| SiteError::Invalid {
            path: paths::display(file),
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: SiteToml = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();

        let mut problems = Vec::new();
        let version = match raw.version.as_deref().map(str::parse::<ArcgisVersion>) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                problems.push(format!("version: {e}"));
                None
            }
            None => None,
        };
        // With [admin], a site can be audited through its API alone.
        if raw.machine.is_empty() && raw.admin.is_none() {
            problems.push(
                "no [[machine]] entry: a site needs at least one machine (or an [admin] section)"
                    .into(),
            );
        }
        let mut machines = Vec::new();
        let mut seen = BTreeMap::new();
        for m in raw.machine {
            if seen.insert(m.name.to_lowercase(), ()).is_some() {
                problems.push(format!("machine `{}` is listed twice", m.name));
            }
            let path_map = PathMap::new(
                m.path_map
                    .iter()
                    .map(|(from, to)| (from.as_str(), dir.join(to.replace('\\', "/")))),
            );
            let Some(install_dir) = paths::resolve(&m.install_dir, &path_map, &dir) else {
                problems.push(format!(
                    "machine `{}`: install_dir `{}` is a Windows path no path_map entry covers",
                    m.name, m.install_dir
                ));
                continue;
            };
            if !install_dir.is_dir() {
                problems.push(format!(
                    "machine `{}`: install_dir `{}` is not a directory",
                    m.name,
                    paths::display(&install_dir)
                ));
            }
            let mut extra_envs = Vec::new();
            for e in &m.extra_envs {
                match paths::resolve(e, &path_map, &dir) {
                    Some(p) => extra_envs.push(p),
                    None => problems.push(format!(
                        "machine `{}`: extra_envs entry `{e}` is a Windows path no path_map entry covers",
                        m.name
                    )),
                }
            }
            let local = m
                .local
                .unwrap_or_else(|| host.is_some_and(|h| paths::is_this_host(&m.name, h)));
            machines.push(MachineSpec {
                name: m.name,
                install_dir,
                default_env: m.default_env,
                extra_envs,
                path_map,
                local,
            });
        }
        if !problems.is_empty() {
            return Err(invalid(problems.join("; ")));
        }
        let admin = raw.admin.map(|a| crate::admin::AdminConfig {
            url: a.url,
            username: a.username,
            password_env: a
                .password_env
                .unwrap_or_else(|| crate::admin::AdminConfig::DEFAULT_PASSWORD_ENV.to_string()),
            ca_file: a.ca_file.map(|c| dir.join(c.replace('\\', "/"))),
            insecure: false,
            portal_url: a.portal_url.filter(|p| !p.trim().is_empty()),
        });
        let name = raw.name.unwrap_or_else(|| {
            std::fs::canonicalize(&dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "site".into())
        });
        Ok(Site {
            file: file.to_path_buf(),
            name,
            version,
            config_store: raw.config_store.map(|c| dir.join(c.replace('\\', "/"))),
            dir,
            machines,
            references: References {
                default: raw.reference.default,
                services: raw.reference.services,
            },
            admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Site, SiteError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gis1")).unwrap();
        let file = dir.path().join("site.toml");
        Site::parse(text, &file)
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("name = 'x'\n[[machine]]\nname='A'\ninstall_dir='gis1'\ninstal_dir='x'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("site.toml"), "{err}");
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("instal_dir"), "{err}");
    }

    #[test]
    fn every_problem_is_reported() {
        let err = parse(
            "version='eleven'\n[[machine]]\nname='A'\ninstall_dir='nope'\n[[machine]]\nname='a'\ninstall_dir='gis1'\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("eleven"), "{err}");
        assert!(err.contains("nope"), "{err}");
        assert!(err.contains("listed twice"), "{err}");
    }

    #[test]
    fn version_normalizes_and_name_defaults_to_folder() {
        let site = parse("version = '11.3'\n[[machine]]\nname='A'\ninstall_dir='gis1'\n").unwrap();
        assert_eq!(
            site.version.unwrap().semver(),
            &semver::Version::new(11, 3, 0)
        );
        assert!(!site.name.is_empty());
    }

    #[test]
    fn references_are_read_strictly() {
        let site = parse(
            "[[machine]]\nname='A'\ninstall_dir='gis1'\n[reference]\ndefault='pro/clone'\n[reference.services]\n'Hydro/Flood.GPServer'='pro/flood.json'\n",
        )
        .unwrap();
        assert_eq!(site.references.default.as_deref(), Some("pro/clone"));
        assert_eq!(
            site.references.services["Hydro/Flood.GPServer"],
            "pro/flood.json"
        );
        let expected = paths::display(Path::new("/pro/clone"));
        assert!(site.reference_path("pro\\clone").ends_with(&expected));
        let err = parse("[[machine]]\nname='A'\ninstall_dir='gis1'\n[reference]\ndefualt='x'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("defualt"), "{err}");
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let site =
            parse("\u{feff}name = 'prod'\r\n[[machine]]\r\nname='A'\r\ninstall_dir='gis1'\r\n")
                .unwrap();
        assert_eq!(site.name, "prod");
    }

    #[test]
    fn a_machine_is_local_by_its_name_or_by_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        for m in ["gis1", "gis2", "gis3"] {
            std::fs::create_dir_all(dir.path().join(m)).unwrap();
        }
        let file = dir.path().join("site.toml");
        let text = "[[machine]]\nname='GIS1.EXAMPLE.COM'\ninstall_dir='gis1'\n\
                    [[machine]]\nname='GIS2.EXAMPLE.COM'\ninstall_dir='gis2'\n\
                    [[machine]]\nname='GIS3.EXAMPLE.COM'\ninstall_dir='gis3'\nlocal=true\n";
        let local = |host: Option<&str>| -> Vec<bool> {
            let site = Site::parse_on_host(text, &file, host).unwrap();
            site.machines.iter().map(|m| m.local).collect()
        };
        assert_eq!(local(Some("gis1")), [true, false, true]);
        assert_eq!(local(Some("GIS2.example.com")), [false, true, true]);
        assert_eq!(local(None), [false, false, true]);
    }
}
