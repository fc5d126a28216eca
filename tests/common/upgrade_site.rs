//! A two-machine test site just upgraded from ArcGIS Server 11.1 to 11.3
//! (`arcgispro-py3` at 11.3, the clones `hydro` and `survey` still at 11.1),
//! the release channel `conda proup` installs from, and the `fake_conda`
//! example put in as each machine's `Scripts/conda.exe` (hard-linked, or
//! copied where a link is impossible).
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::json;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const PY_ROOT: &str = "framework/runtime/ArcGIS/bin/Python";
const ESRI: &str = "https://conda.anaconda.org/esri";
const MAIN: &str = "https://repo.anaconda.com/pkgs/main";

/// One conda package: name, version, build, channel, depends.
pub type Pkg = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// arcgispro-py3 of ArcGIS Server 11.1 (Pro 3.1): versions from
/// rules/releases.toml, depends consistent among themselves.
#[rustfmt::skip]
pub const DEFAULT_11_1: &[Pkg] = &[
    ("python", "3.9.16", "h6244533_2", MAIN, &[]),
    ("numpy", "1.20.1", "py39h34a8a5c_0", MAIN, &["python >=3.9,<3.10.0a0"]),
    ("pandas", "1.4.4", "py39hd77b12b_0", MAIN, &["numpy >=1.20.1,<2.0a0", "python >=3.9,<3.10.0a0"]),
    ("scipy", "1.6.2", "py39h14eb087_0", MAIN, &["numpy >=1.20.1,<2.0a0", "python >=3.9,<3.10.0a0"]),
    ("arcgis", "2.1.0", "py39_3480", ESRI, &["numpy >=1.20", "pandas >=1.4", "python >=3.9,<3.10.0a0"]),
    ("arcpy-base", "3.1", "py39_arcgispro_41759", ESRI, &["numpy >=1.20", "python 3.9.*"]),
    ("arcpy", "3.1", "py39_arcgispro_41759", ESRI, &["arcpy-base 3.1.*", "numpy >=1.20", "pandas >=1.4", "python 3.9.*"]),
    ("arcgispro", "3.1", "0", ESRI, &["arcgis 2.1.*", "arcpy 3.1.*"]),
];

pub const PINNED_11_1: &str = "# conda-meta/pinned of arcgispro-py3 (ArcGIS Server 11.1)\narcgispro 3.1.*\narcpy 3.1.*\narcpy-base 3.1.*\npython 3.9.*\nnumpy 1.20.*\n";

/// arcgispro-py3 of ArcGIS Server 11.3 (Pro 3.3), same package names.
#[rustfmt::skip]
pub const DEFAULT_11_3: &[Pkg] = &[
    ("python", "3.11.8", "h966fe2a_0", MAIN, &[]),
    ("numpy", "1.24.3", "py311hdab7c0b_1", MAIN, &["python >=3.11,<3.12.0a0"]),
    ("pandas", "2.0.2", "py311hf62ec03_0", MAIN, &["numpy >=1.23.2,<2.0a0", "python >=3.11,<3.12.0a0"]),
    ("scipy", "1.11.4", "py311hc1ccb85_0", MAIN, &["numpy >=1.23.5,<1.28", "python >=3.11,<3.12.0a0"]),
    ("arcgis", "2.3.0", "py311_5229", ESRI, &["numpy >=1.21", "pandas >=2.0", "python >=3.11,<3.12.0a0"]),
    ("arcpy-base", "3.3", "py311_arcgispro_52583", ESRI, &["numpy >=1.24", "python 3.11.*"]),
    ("arcpy", "3.3", "py311_arcgispro_52583", ESRI, &["arcpy-base 3.3.*", "numpy >=1.24", "pandas >=2.0", "python 3.11.*"]),
    ("arcgispro", "3.3", "0", ESRI, &["arcgis 2.3.*", "arcpy 3.3.*"]),
];

pub const PINNED_11_3: &str = "# conda-meta/pinned of arcgispro-py3 (ArcGIS Server 11.3)\narcgispro 3.3.*\narcpy 3.3.*\narcpy-base 3.3.*\npython 3.11.*\nnumpy 1.24.*\n";

/// What the admin added to `hydro` at 11.1, and its 11.3 build in the channel.
#[rustfmt::skip]
pub const NUMBA_11_1: Pkg = ("numba", "0.56.4", "py39_0", MAIN, &["numpy >=1.18", "python >=3.9,<3.10.0a0"]);
#[rustfmt::skip]
pub const NUMBA_11_3: Pkg = ("numba", "0.59.1", "py311_0", MAIN, &["numpy >=1.22", "python >=3.11,<3.12.0a0"]);

/// The machines' install dirs (also their names, upper-cased, in site.toml).
pub const MACHINES: [&str; 2] = ["gis1", "gis2"];

/// The record file name and JSON body of a package.
pub fn record((name, version, build, channel, depends): Pkg) -> (String, String) {
    let module = name.replace('-', "_");
    let body = json!({
        "name": name, "version": version, "build": build, "build_number": 0,
        "channel": channel, "subdir": "win-64", "depends": depends, "constrains": [],
        "fn": format!("{name}-{version}-{build}.conda"),
        "url": format!("{channel}/win-64/{name}-{version}-{build}.conda"),
        "md5": "00000000000000000000000000000000", "license": "unverified (test fixture)",
        "files": [format!("Lib/site-packages/{module}/__init__.py")],
    });
    (
        format!("{name}-{version}-{build}.json"),
        serde_json::to_string_pretty(&body).unwrap(),
    )
}

pub fn write_records(dir: &Path, pkgs: &[Pkg]) {
    std::fs::create_dir_all(dir).unwrap();
    for p in pkgs {
        let (file, body) = record(*p);
        std::fs::write(dir.join(file), body).unwrap();
    }
}

/// The example binary `fake_conda`, built (once per test process) when it
/// is missing or older than its source.
pub fn fake_conda() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            // <target>/<profile>/deps/<test binary>
            let profile_dir = exe.parent().and_then(Path::parent).unwrap();
            let bin = profile_dir
                .join("examples")
                .join(format!("fake_conda{}", std::env::consts::EXE_SUFFIX));
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            let fresh = match (
                modified(&bin),
                modified(&manifest.join("examples/fake_conda.rs")),
            ) {
                (Some(built), Some(source)) => built >= source,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !fresh {
                let mut cargo = std::process::Command::new(env!("CARGO"));
                cargo
                    .args(["build", "--example", "fake_conda"])
                    .current_dir(manifest);
                if profile_dir.file_name().is_some_and(|n| n == "release") {
                    cargo.arg("--release");
                }
                let status = cargo.status().expect("cargo runs");
                assert!(status.success(), "cargo build --example fake_conda failed");
                assert!(bin.is_file(), "{} was not built", bin.display());
            }
            bin
        })
        .clone()
}

/// Put the fake conda at `to`. A hard link where possible: a copy is a file
/// open for writing, and a process forked by another test thread meanwhile
/// inherits it, so executing the copy can fail with ETXTBSY.
fn install_conda(to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    if std::fs::hard_link(fake_conda(), to).is_ok() {
        return;
    }
    std::fs::copy(fake_conda(), to).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The site, in a temp dir. See the module doc.
#[derive(Debug)]
pub struct UpgradeSite {
    pub dir: tempfile::TempDir,
}

impl UpgradeSite {
    pub fn new() -> UpgradeSite {
        UpgradeSite::with_machines(&MACHINES)
    }

    /// The same site with these machine folders (`gis1`, ...); each is the
    /// machine named like its folder in upper case (`GIS1`).
    pub fn with_machines(machines: &[&str]) -> UpgradeSite {
        let site = UpgradeSite {
            dir: tempfile::tempdir().unwrap(),
        };
        let root = site.dir.path();
        let mut site_toml =
            String::from("name = 'upgraded'\nversion = '11.3'\nconfig_store = 'store'\n");
        for m in machines {
            site_toml.push_str(&format!(
                "[[machine]]\nname = '{}'\ninstall_dir = '{m}'\n",
                m.to_uppercase()
            ));
        }
        std::fs::write(site.site_file(), site_toml).unwrap();
        for &m in machines {
            site.write_env(m, "arcgispro-py3", DEFAULT_11_3, PINNED_11_3);
            site.write_env(m, "hydro", DEFAULT_11_1, PINNED_11_1);
            write_records(&site.env_dir(m, "hydro").join("conda-meta"), &[NUMBA_11_1]);
            site.write_pip_dist(m, "hydro", "floodkit", "1.2.0");
            std::fs::write(
                site.env_dir(m, "hydro").join("conda-meta/history"),
                "==> 2023-09-04 14:02:11 <==\n# cmd: conda create --clone arcgispro-py3 --prefix envs\\hydro --pinned --no-shortcuts\n# conda version: 4.14.0\n\
                 ==> 2023-09-04 14:10:40 <==\n# cmd: conda install -n hydro numba=0.56.4\n# conda version: 4.14.0\n+defaults/win-64::numba-0.56.4-py39_0\n# update specs: ['numba=0.56.4']\n",
            )
            .unwrap();
            site.write_env(m, "survey", DEFAULT_11_1, PINNED_11_1);
            install_conda(&site.python_root(m).join("Scripts/conda.exe"));
        }
        let channel = site.channel();
        write_records(&channel.join("default"), DEFAULT_11_3);
        std::fs::write(channel.join("default/pinned"), PINNED_11_3).unwrap();
        write_records(&channel.join("extra"), &[NUMBA_11_3]);

        let serverdirs = site.store().join("serverdirs");
        std::fs::create_dir_all(&serverdirs).unwrap();
        let input = json!({"name": "arcgisinput", "physicalPath": "directories/arcgissystem/arcgisinput", "directoryType": "INPUT"});
        std::fs::write(serverdirs.join("arcgisinput.json"), input.to_string()).unwrap();
        site.service(
            "Hydro",
            "Flood",
            "GPServer",
            Some("hydro"),
            "STARTED",
            "import arcpy\nimport numba\nimport floodkit\n",
        );
        site.service(
            "Hydro",
            "Ebb",
            "GPServer",
            Some("hydro"),
            "STOPPED",
            "import arcpy\nimport numpy\n",
        );
        site.service(
            "Survey",
            "Tally",
            "GPServer",
            Some("survey"),
            "STARTED",
            "import arcpy\nimport pandas\n",
        );
        site.service("", "SampleWorldCities", "MapServer", None, "STARTED", "");
        assert!(root.join("store/services").is_dir());
        site
    }

    pub fn site_file(&self) -> PathBuf {
        self.dir.path().join("site.toml")
    }

    /// `<install>/framework/runtime/ArcGIS/bin/Python` of `gis1` or `gis2`.
    pub fn python_root(&self, machine_dir: &str) -> PathBuf {
        self.dir.path().join(machine_dir).join(PY_ROOT)
    }

    pub fn env_dir(&self, machine_dir: &str, env: &str) -> PathBuf {
        self.python_root(machine_dir).join("envs").join(env)
    }

    /// The machine's `Scripts/conda.exe` (the fake).
    pub fn conda_exe(&self, machine_dir: &str) -> PathBuf {
        self.python_root(machine_dir).join("Scripts/conda.exe")
    }

    /// The release channel: `default/` (11.3 arcgispro-py3 + `pinned`) and
    /// `extra/` (numba 0.59.1 for py311).
    pub fn channel(&self) -> PathBuf {
        self.dir.path().join("channel")
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn conda_log(&self) -> PathBuf {
        self.dir.path().join("conda-calls.jsonl")
    }

    /// The environment the fake conda needs: `FAKE_CONDA_CHANNEL` and
    /// `FAKE_CONDA_LOG` pointing into this site.
    pub fn conda_env(&self) -> [(&'static str, OsString); 2] {
        [
            ("FAKE_CONDA_CHANNEL", self.channel().into_os_string()),
            ("FAKE_CONDA_LOG", self.conda_log().into_os_string()),
        ]
    }

    /// The argv (after the program name) of each fake conda call, in order.
    pub fn conda_calls(&self) -> Vec<Vec<String>> {
        let Ok(text) = std::fs::read_to_string(self.conda_log()) else {
            return Vec::new();
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }

    fn write_env(&self, machine_dir: &str, env: &str, pkgs: &[Pkg], pinned: &str) {
        let meta = self.env_dir(machine_dir, env).join("conda-meta");
        write_records(&meta, pkgs);
        std::fs::write(meta.join("pinned"), pinned).unwrap();
    }

    /// A pip-installed dist: `<name>/__init__.py` and its dist-info.
    fn write_pip_dist(&self, machine_dir: &str, env: &str, name: &str, version: &str) {
        let site = self.env_dir(machine_dir, env).join("Lib/site-packages");
        let info = format!("{name}-{version}.dist-info");
        std::fs::create_dir_all(site.join(name)).unwrap();
        std::fs::create_dir_all(site.join(&info)).unwrap();
        std::fs::write(site.join(name).join("__init__.py"), "def route(): pass\n").unwrap();
        std::fs::write(site.join(&info).join("INSTALLER"), "pip\n").unwrap();
        std::fs::write(
            site.join(&info).join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .unwrap();
        std::fs::write(
            site.join(&info).join("RECORD"),
            format!(
                "{name}/__init__.py,sha256=AAAA,18\n{info}/INSTALLER,sha256=BBBB,4\n{info}/METADATA,,\n{info}/RECORD,,\n"
            ),
        )
        .unwrap();
    }

    /// `${arcgisinput}` (`serverdirs/arcgisinput.json` points here).
    pub fn arcgisinput(&self) -> PathBuf {
        self.dir.path().join("directories/arcgissystem/arcgisinput")
    }

    /// A service in the config store, shaped like `TinySite::service`
    /// (`folder` "" for the root folder); a GP service's code, with
    /// `imports`, goes under `${arcgisinput}`.
    fn service(
        &self,
        folder: &str,
        name: &str,
        kind: &str,
        env: Option<&str>,
        state: &str,
        imports: &str,
    ) {
        let dir = self
            .store()
            .join("services")
            .join(folder)
            .join(format!("{name}.{kind}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut properties = if kind == "GPServer" {
            let code = self
                .arcgisinput()
                .join(folder)
                .join(format!("{name}.{kind}/extracted/p30"));
            std::fs::create_dir_all(&code).unwrap();
            std::fs::write(code.join(format!("{name}.atbx")), "").unwrap();
            std::fs::write(code.join(format!("{}.py", name.to_lowercase())), imports).unwrap();
            json!({
                "toolbox": format!("${{arcgisinput}}\\{folder}\\{name}.{kind}\\extracted\\p30\\{name}.atbx"),
                "executionType": "Asynchronous",
            })
        } else {
            json!({"maxRecordCount": "1000"})
        };
        if let Some(env) = env {
            properties["condaEnvironmentPath"] = env.into();
        }
        let body = json!({
            "serviceName": name, "type": kind, "provider": "ArcObjects11",
            "configuredState": state, "properties": properties,
        });
        std::fs::write(
            dir.join(format!("{name}.{kind}.json")),
            serde_json::to_string_pretty(&body).unwrap(),
        )
        .unwrap();
    }
}
