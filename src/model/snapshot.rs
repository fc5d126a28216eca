//! The snapshot: everything the checks need, gathered from a site, as one
//! versioned JSON document, and the lookups every command shares
//! ([`Snapshot::find_machine`], [`Snapshot::find_env`]). Data only: no I/O
//! and no checks live here.

use super::listing::EnvListing;
use super::HistoryEntry;
use crate::paths;
use rattler_conda_types::PackageRecord;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bumped whenever a field changes meaning or is removed.
pub const SCHEMA: u32 = 1;
/// The `kind` of a snapshot document, to recognise one among other JSON.
pub const KIND: &str = "gpaudit-snapshot";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> ToolInfo {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub schema: u32,
    pub kind: String,
    pub tool: ToolInfo,
    pub site: SiteInfo,
    pub machines: Vec<Machine>,
    /// Services from the site's config store (shared by all machines).
    pub services: Vec<Service>,
    /// Reference envs (what each GP service was published from).
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Each GP service's published Python code and its imports.
    #[serde(default)]
    pub service_code: Vec<ServiceCode>,
    /// What the Administrator API said, when it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSite>,
    /// Files that could not be read or parsed.
    pub scan_errors: Vec<ScanError>,
}

/// A reference env and the GP services it applies to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// As written in the site file or on the command line.
    pub name: String,
    /// Applies to every GP service without a reference of its own.
    pub default: bool,
    /// Service keys with this as their own reference.
    pub services: Vec<String>,
    pub listing: EnvListing,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInfo {
    pub name: String,
    /// The ArcGIS Server version declared in site.toml, if any. When absent,
    /// the audit derives it from arcgispro-py3's arcpy.
    pub version: Option<String>,
    pub config_store: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub name: String,
    pub install_dir: String,
    pub python_root: String,
    /// Path of the env proswap activated (GP services without
    /// `condaEnvironmentPath` run in it), and how that was decided.
    pub active_env: String,
    pub active_env_source: String,
    pub envs: Vec<Env>,
    /// Which env each GP service runs in on this machine.
    pub bindings: Vec<ServiceBinding>,
    /// The site file's `path_map` for this machine: its paths as the
    /// machine sees them → where they were read. Lets a merge bind the
    /// services of a config store another snapshot read, and a plan write
    /// paths as the server sees them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_map: Vec<MappedPath>,
    /// gpaudit ran on this machine: its absolute paths were read as they are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
    /// Conda envs found in the `path_map` folders by a scan that could not
    /// read the config store, so could not tell which envs its services
    /// name: a merge with the snapshot that read it keeps those a service
    /// names (as `referenced` envs) and drops the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Env>,
}

/// One `path_map` entry of a machine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MappedPath {
    /// The path as the machine sees it (`D:\envs`).
    pub server: String,
    /// Where it was read (`gis1/d-envs`, joined to the site file's folder).
    pub here: String,
}

impl Machine {
    /// The env at `path`, compared with Windows semantics.
    pub fn env_at(&self, path: &str) -> Option<&Env> {
        let key = paths::path_key(path);
        self.envs.iter().find(|e| paths::path_key(&e.path) == key)
    }

    /// The shipped default env, `arcgispro-py3`, in the install's envs folder.
    pub fn arcgispro_py3(&self) -> Option<&Env> {
        self.envs.iter().find(|e| e.is_arcgispro_py3())
    }

    /// The machine's `path_map`, to map its paths to where they were read.
    pub fn path_map(&self) -> paths::PathMap {
        paths::PathMap::new(
            self.path_map
                .iter()
                .map(|m| (m.server.as_str(), std::path::PathBuf::from(&m.here))),
        )
    }

    /// A path where it was read (as the snapshot holds it) as the server
    /// sees it: through the `path_map`, backwards; on the machine gpaudit
    /// ran on, an absolute path is the server's own. `None` when nothing
    /// says (a copy of the machine read from a folder no entry names).
    pub fn server_path(&self, here: &str) -> Option<String> {
        if let Some(server) = self.path_map().unmap(here) {
            return Some(server);
        }
        (self.local && Path::new(here).is_absolute()).then(|| here.to_string())
    }

    /// GP services that run in the env at `path` on this machine.
    pub fn services_in(&self, path: &str) -> Vec<String> {
        let key = paths::path_key(path);
        self.bindings
            .iter()
            .filter(|b| paths::path_key(&b.env_path) == key)
            .map(|b| b.service.clone())
            .collect()
    }
}

/// Where an env was found.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EnvOrigin {
    /// In the install's `envs` folder.
    Install,
    /// Listed in `extra_envs`.
    Extra,
    /// Named by site.toml's `default_env` or a service's `condaEnvironmentPath`.
    Referenced,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    pub name: String,
    pub path: String,
    pub origin: EnvOrigin,
    pub packages: Vec<Package>,
    pub pip: Vec<PipDist>,
    pub pinned: Option<Pinned>,
    pub history: Vec<HistoryEntry>,
    /// Importable entries of site-packages (module folders and files) that
    /// no conda package and no pip distribution provides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unowned: Vec<String>,
    /// Fields read only in part because they held more entries than any
    /// real env has (a hostile or corrupt file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capped: Vec<CappedInput>,
    /// The `.pth` files of site-packages; `None` in a snapshot written
    /// before gpaudit read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pth: Option<Vec<super::PthFile>>,
}

/// Entries of one field of one file that the scan did not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CappedInput {
    pub path: String,
    pub field: String,
    /// How many entries were read, and how many the field held.
    pub kept: usize,
    pub total: usize,
}

/// The most entries gpaudit reads from one field of one file (a record's
/// `depends`, a `pinned` file's lines, `history`'s entries): real ones
/// hold tens or hundreds.
pub const MAX_FIELD_ENTRIES: usize = 10_000;

impl Env {
    pub fn is_arcgispro_py3(&self) -> bool {
        self.origin == EnvOrigin::Install && self.name.eq_ignore_ascii_case(super::DEFAULT_ENV)
    }

    /// The record of `name` that counts, by the duplicate rule of
    /// [`super::EnvIndex`] (checks look packages up through the index).
    pub fn package(&self, name: &str) -> Option<&Package> {
        super::index::counting(&self.packages, name)
    }

    /// The env's package and module index.
    pub fn index(&self) -> super::EnvIndex<'_> {
        super::EnvIndex::new(self)
    }

    pub fn conda_meta(&self) -> String {
        paths::display(&Path::new(&self.path).join("conda-meta"))
    }
}

/// One conda package, from its `conda-meta/*.json` record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub record: PackageRecord,
    pub channel: Option<String>,
    /// The record file it was read from.
    pub file: String,
    /// Top-level Python modules it installs (case kept), from its `files`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// Distribution names of the `.dist-info`/`.egg-info` it installs,
    /// where pip knows it (`tables` for conda's `pytables`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dists: Vec<String>,
    /// Its files are gone from site-packages while its record stays (its
    /// dist-info and every top-level module missing: `pip uninstall`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub files_missing: bool,
}

impl Package {
    pub fn name(&self) -> &str {
        self.record.name.as_normalized()
    }

    /// `version build`, as conda list shows it.
    pub fn version_build(&self) -> String {
        format!("{} {}", self.record.version.as_str(), self.record.build)
    }
}

/// A Python distribution installed by something other than conda (its
/// `.dist-info`/`.egg-info` is owned by no conda record).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipDist {
    pub name: String,
    pub version: String,
    /// The `INSTALLER` file's content (`pip`, `uv`, ...), if present.
    pub installer: Option<String>,
    /// The `.dist-info` or `.egg-info` path.
    pub path: String,
    /// Files its `RECORD` lists that a conda record also owns.
    pub overwrote: Vec<OverwrittenFile>,
    /// Top-level Python modules it installs (case kept), from `RECORD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct OverwrittenFile {
    /// Path relative to the env prefix, as conda records it.
    pub path: String,
    /// The conda package that owns it.
    pub package: String,
}

/// `conda-meta/pinned`: one match spec per line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    pub file: String,
    /// Specs that parsed, with their line numbers (1-based).
    pub specs: Vec<PinnedSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedSpec {
    pub line: usize,
    pub spec: String,
}

/// A service from the config store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `Folder/Name.Type`, or `Name.Type` in the root folder.
    pub key: String,
    pub folder: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub service_type: String,
    pub provider: Option<String>,
    pub configured_state: Option<String>,
    pub conda_environment_path: Option<String>,
    /// `properties.toolbox`: where the published toolbox (and the service's
    /// code beside it) is, as `${arcgisinput}\Folder\Name.GPServer\...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolbox: Option<String>,
    /// The service JSON it was read from.
    pub file: String,
}

impl Service {
    pub fn is_gp(&self) -> bool {
        self.service_type.eq_ignore_ascii_case("GPServer")
    }
}

/// How a GP service's env was decided on a machine.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BindingVia {
    /// `properties.condaEnvironmentPath`.
    ServiceProperty,
    /// The machine's active (proswap) env.
    ActiveEnv,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceBinding {
    pub service: String,
    pub env_name: String,
    /// The env's path here (or, when it could not be mapped, as written).
    pub env_path: String,
    pub via: BindingVia,
    /// Why the env could not be located, when it was not found.
    pub unresolved: Option<String>,
    /// Why the value was not followed at all: not a plain env name nor the
    /// full path of a conda env gpaudit can reach (`..\\..\\etc`, `/etc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The site as its Administrator API describes it.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LiveSite {
    /// The API's base URL (no credentials).
    pub url: String,
    pub version: Option<String>,
    pub machines: Vec<String>,
    pub services: Vec<LiveService>,
}

/// One service as the API reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveService {
    pub key: String,
    pub provider: Option<String>,
    pub conda_environment_path: Option<String>,
    pub configured_state: Option<String>,
    pub real_state: Option<String>,
}

/// A GP service's published Python code (its extracted folder under
/// `arcgisinput`) and what each script imports.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCode {
    pub service: String,
    /// The folder the code was read from, when it was found.
    pub folder: Option<String>,
    /// Why the code could not be found or read.
    pub missing: Option<String>,
    /// Modules the service's own files provide (`helpers` for helpers.py),
    /// lower-cased: importing them needs no package.
    pub local_modules: Vec<String>,
    pub scripts: Vec<Script>,
}

/// One `.py` or `.pyt` file of a service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub path: String,
    pub imports: Vec<ScriptImport>,
    /// Set when the file does not parse as Python 3: line and message.
    pub not_python3: Option<(usize, String)>,
    /// Set when the file could not be read or parsed at all (binary, too
    /// large, nested past Python's limits).
    pub unreadable: Option<String>,
}

/// One import statement (or `importlib.import_module("...")` call).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScriptImport {
    /// Dotted, as written (`os.path`).
    pub module: String,
    pub line: usize,
    /// Inside a function or a `try` that handles ImportError.
    pub optional: bool,
    /// From `importlib.import_module("...")` or `__import__("...")`.
    pub dynamic: bool,
}

/// A file that could not be read or parsed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct ScanError {
    pub machine: Option<String>,
    pub env: Option<String>,
    pub env_path: Option<String>,
    pub path: String,
    pub message: String,
}

/// Why snapshots could not be loaded or merged.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: not a gpaudit snapshot: {message}")]
    Parse { path: String, message: String },
    #[error(
        "{path}: snapshot schema {found} is not supported (this gpaudit reads schema {SCHEMA})"
    )]
    Schema { path: String, found: u32 },
    #[error("{path}: {message}")]
    Merge { path: String, message: String },
}

impl Snapshot {
    pub fn from_json(text: &str, path: &str) -> Result<Snapshot, SnapshotError> {
        // Straight into the structs: going through a `serde_json::Value`
        // first held the whole tree beside the text and the structs (a
        // 1.3 GB site's snapshot peaked at 148 MB against 57 MB for scanning
        // it). A snapshot that does not parse that way takes the old road,
        // so every error reads as before.
        if let Ok(snapshot) = serde_json::from_str::<Snapshot>(text) {
            if snapshot.kind == KIND && snapshot.schema == SCHEMA {
                return Ok(snapshot);
            }
        }
        Self::from_json_value(text, path)
    }

    /// [`Snapshot::from_json`] through a `serde_json::Value`, which tells a
    /// wrong kind or schema from any other problem.
    fn from_json_value(text: &str, path: &str) -> Result<Snapshot, SnapshotError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SnapshotError::Parse {
                path: path.into(),
                message: e.to_string(),
            })?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return Err(SnapshotError::Parse {
                path: path.into(),
                message: format!("no \"kind\": \"{KIND}\""),
            });
        }
        let schema = value.get("schema").and_then(|s| s.as_u64()).unwrap_or(0);
        if schema != u64::from(SCHEMA) {
            return Err(SnapshotError::Schema {
                path: path.into(),
                found: u32::try_from(schema).unwrap_or(u32::MAX),
            });
        }
        serde_json::from_value(value).map_err(|e| SnapshotError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// GP services by key.
    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.key == key)
    }

    /// Whether the services came from the config store on disk (rather
    /// than from the API standing in for it).
    pub fn services_from_disk(&self) -> bool {
        let api = self
            .live
            .as_ref()
            .map(|l| l.url.trim_end_matches('/').to_string());
        self.services
            .iter()
            .any(|s| api.as_ref().is_none_or(|u| !s.file.starts_with(u.as_str())))
    }

    /// The reference env of a GP service: its own, else the default.
    pub fn reference_for(&self, service: &str) -> Option<&Reference> {
        self.reference_index_for(service)
            .map(|i| &self.references[i])
    }

    /// Where in `references` the reference of a GP service is.
    pub fn reference_index_for(&self, service: &str) -> Option<usize> {
        self.references
            .iter()
            .position(|r| r.services.iter().any(|s| s.eq_ignore_ascii_case(service)))
            .or_else(|| self.references.iter().position(|r| r.default))
    }

    /// A machine by name (case-insensitive, as Windows host names are).
    pub fn find_machine(&self, name: &str) -> Result<&Machine, LookupError> {
        self.machines
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| LookupError::Machine {
                name: name.to_string(),
                known: self.machines.iter().map(|m| m.name.clone()).collect(),
            })
    }

    /// An env of a machine, by name or path (paths compared with Windows
    /// semantics).
    pub fn find_env(&self, machine: &str, env: &str) -> Result<(&Machine, &Env), LookupError> {
        let m = self.find_machine(machine)?;
        m.find_env(env).map(|e| (m, e))
    }
}

impl Snapshot {
    /// Pick one env where the machine, the env or both may be left out: by
    /// `MACHINE/ENV`, by `ENV` when only one machine has it, or the only env
    /// there is.
    pub fn select_env(
        &self,
        machine: Option<&str>,
        env: Option<&str>,
    ) -> Result<(&Machine, &Env), LookupError> {
        let candidates: Vec<(&Machine, &Env)> = self
            .machines
            .iter()
            .filter(|m| machine.is_none_or(|want| m.name.eq_ignore_ascii_case(want)))
            .flat_map(|m| {
                m.envs
                    .iter()
                    .filter(|e| env.is_none_or(|want| e.matches(want)))
                    .map(move |e| (m, e))
            })
            .collect();
        let selection = match (machine, env) {
            (Some(m), Some(e)) => format!("`{m}/{e}`"),
            (Some(m), None) => format!("machine `{m}`"),
            (None, Some(e)) => format!("`{e}`"),
            (None, None) => "the snapshot".into(),
        };
        let known = || -> Vec<String> {
            self.machines
                .iter()
                .flat_map(|m| m.envs.iter().map(move |e| format!("{}/{}", m.name, e.name)))
                .collect()
        };
        match candidates.as_slice() {
            [one] => Ok(*one),
            [] => Err(LookupError::NoMatch {
                selection,
                known: known(),
            }),
            _ => Err(LookupError::Ambiguous {
                selection,
                known: known(),
            }),
        }
    }
}

impl Env {
    /// Whether `name_or_path` names this env (its name, or its path with
    /// Windows semantics).
    pub fn matches(&self, name_or_path: &str) -> bool {
        self.name.eq_ignore_ascii_case(name_or_path)
            || paths::path_key(&self.path) == paths::path_key(name_or_path)
    }
}

impl Machine {
    /// An env by name or path.
    pub fn find_env(&self, env: &str) -> Result<&Env, LookupError> {
        self.envs
            .iter()
            .find(|e| {
                e.name.eq_ignore_ascii_case(env) || paths::path_key(&e.path) == paths::path_key(env)
            })
            .ok_or_else(|| LookupError::Env {
                name: env.to_string(),
                machine: self.name.clone(),
                known: self.envs.iter().map(|e| e.name.clone()).collect(),
            })
    }
}

/// A machine or env named on the command line that the snapshot lacks; the
/// message lists the names that exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no machine `{name}` in the site (machines: {})", known.join(", "))]
    Machine { name: String, known: Vec<String> },
    #[error("no env `{name}` on {machine} (envs: {})", known.join(", "))]
    Env {
        name: String,
        machine: String,
        known: Vec<String>,
    },
    #[error("no env matches {selection} (envs: {})", list_or_none(known))]
    NoMatch {
        selection: String,
        known: Vec<String>,
    },
    #[error(
        "{selection} matches more than one env; pick one with MACHINE/ENV (envs: {})",
        list_or_none(known)
    )]
    Ambiguous {
        selection: String,
        known: Vec<String>,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
