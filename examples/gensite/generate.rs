//! Writing a large, realistic ArcGIS Server site for benchmarks and scale
//! tests: M machines × E envs × P packages × S GP services, with conda-meta
//! records as big as real ones (`files` and `paths_data` lists from a few to
//! thousands of paths), real-shaped `depends`, `pinned`, `history`, some pip
//! packages and a few planted problems. Deterministic for a given seed.
//! Shared by `examples/gensite` and the scale tests; never part of the CLI.

use serde_json::json;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

const PY_ROOT: &str = "framework/runtime/ArcGIS/bin/Python";
const MAIN: &str = "https://repo.anaconda.com/pkgs/main";
const ESRI: &str = "https://conda.anaconda.org/esri";

/// The size of a generated site.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub machines: usize,
    pub envs: usize,
    pub packages: usize,
    pub services: usize,
    pub seed: u64,
    /// Write each service's Python code under arcgisinput.
    pub code: bool,
}

impl Shape {
    /// The benchmark's default site.
    pub const DEFAULT: Shape = Shape {
        machines: 4,
        envs: 12,
        packages: 450,
        services: 300,
        seed: 42,
        code: true,
    };
}

/// What was written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub records: usize,
    pub bytes: u64,
}

struct Pkg {
    name: String,
    version: String,
    build: String,
    channel: &'static str,
    depends: Vec<String>,
    files: usize,
}

/// Number of files of one package: most packages are small, a few ship
/// thousands of files (as numpy, scipy or arcgis do).
fn file_count(rng: &mut fastrand::Rng) -> usize {
    match rng.u32(0..100) {
        0..=59 => rng.usize(2..30),
        60..=89 => rng.usize(30..300),
        90..=97 => rng.usize(300..2000),
        _ => rng.usize(2000..6000),
    }
}

/// The package universe every env is drawn from: the ArcGIS core stack
/// first, then packages that depend only on earlier ones (a DAG).
fn universe(shape: &Shape, rng: &mut fastrand::Rng) -> Vec<Pkg> {
    let py = "python >=3.9,<3.10.0a0".to_string();
    let mut pkgs = vec![
        Pkg {
            name: "python".into(),
            version: "3.9.16".into(),
            build: "h6244533_2".into(),
            channel: MAIN,
            depends: vec![],
            files: 3200,
        },
        Pkg {
            name: "numpy".into(),
            version: "1.20.1".into(),
            build: "py39h34a8a5c_0".into(),
            channel: MAIN,
            depends: vec![py.clone()],
            files: 900,
        },
        Pkg {
            name: "arcpy-base".into(),
            version: "3.1".into(),
            build: "py39_arcgispro_41759".into(),
            channel: ESRI,
            depends: vec!["numpy >=1.20".into(), "python 3.9.*".into()],
            files: 2500,
        },
        Pkg {
            name: "arcpy".into(),
            version: "3.1".into(),
            build: "py39_arcgispro_41759".into(),
            channel: ESRI,
            depends: vec![
                "arcpy-base 3.1.*".into(),
                "numpy >=1.20".into(),
                "python 3.9.*".into(),
            ],
            files: 1200,
        },
        Pkg {
            name: "arcgispro".into(),
            version: "3.1".into(),
            build: "0".into(),
            channel: ESRI,
            depends: vec!["arcpy 3.1.*".into()],
            files: 2,
        },
    ];
    while pkgs.len() < shape.packages.max(pkgs.len()) {
        let i = pkgs.len();
        let mut depends = vec![py.clone()];
        for _ in 0..rng.usize(0..5) {
            let dep = &pkgs[rng.usize(0..i)];
            if dep.name != "python"
                && !depends
                    .iter()
                    .any(|d| d.split(' ').next() == Some(dep.name.as_str()))
            {
                let major = dep.version.split('.').next().unwrap_or("0");
                depends.push(format!("{} >={major}", dep.name));
            }
        }
        pkgs.push(Pkg {
            name: format!("pkg-{i:04}"),
            version: format!("{}.{}.{}", rng.u32(0..5), rng.u32(0..30), rng.u32(0..10)),
            build: format!("py39h{:07x}_{}", rng.u32(0..0x0fff_ffff), rng.u32(0..3)),
            channel: if rng.u32(0..10) == 0 { ESRI } else { MAIN },
            depends,
            files: file_count(rng),
        });
    }
    pkgs.truncate(shape.packages.max(5));
    pkgs
}

/// A record as conda writes it into conda-meta, with full `files` and
/// `paths_data` lists.
fn record_json(p: &Pkg, rng: &mut fastrand::Rng) -> Vec<u8> {
    let module = p.name.replace('-', "_");
    let files: Vec<String> = (0..p.files)
        // A real package: `{module}/__init__.py` first, so the folder is a
        // regular package (not a namespace package of thousands of modules).
        .map(|k| match k % 4 {
            0 if k == 0 => format!("Lib/site-packages/{module}/__init__.py"),
            0 => format!("Lib/site-packages/{module}/__init__{k}.py"),
            1 => format!("Lib/site-packages/{module}/core/_impl_{k}.py"),
            2 => format!("Lib/site-packages/{module}/__pycache__/mod_{k}.cpython-39.pyc"),
            _ => format!("Library/bin/{module}_{k}.dll"),
        })
        .collect();
    let mut sha = String::with_capacity(64);
    let paths: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            sha.clear();
            for _ in 0..4 {
                let _ = write!(sha, "{:016x}", rng.u64(..));
            }
            json!({"_path": f, "path_type": "hardlink", "sha256": sha, "size_in_bytes": rng.u32(100..200_000)})
        })
        .collect();
    let fname = format!("{}-{}-{}.tar.bz2", p.name, p.version, p.build);
    let record = json!({
        "build": p.build,
        "build_number": p.build.rsplit('_').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0),
        "channel": p.channel,
        "constrains": [],
        "depends": p.depends,
        "extracted_package_dir": format!("C:\\Program Files\\ArcGIS\\Server\\framework\\runtime\\ArcGIS\\bin\\Python\\pkgs\\{}-{}-{}", p.name, p.version, p.build),
        "files": files,
        "fn": fname,
        "license": "BSD-3-Clause",
        "link": {"source": format!("C:\\Program Files\\ArcGIS\\Server\\framework\\runtime\\ArcGIS\\bin\\Python\\pkgs\\{}-{}-{}", p.name, p.version, p.build), "type": 1},
        "md5": format!("{:016x}{:016x}", rng.u64(..), rng.u64(..)),
        "name": p.name,
        "paths_data": {"paths": paths, "paths_version": 1},
        "requested_spec": "",
        "sha256": format!("{:016x}{:016x}{:016x}{:016x}", rng.u64(..), rng.u64(..), rng.u64(..), rng.u64(..)),
        "size": rng.u32(10_000..50_000_000),
        "subdir": "win-64",
        "timestamp": 1_672_531_200_000u64,
        "track_features": "",
        "url": format!("{}/win-64/{fname}", p.channel),
        "version": p.version,
    });
    serde_json::to_vec(&record).unwrap_or_default()
}

fn write(path: &Path, bytes: &[u8], out: &mut Written) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    out.bytes += bytes.len() as u64;
    Ok(())
}

const HELPERS: &str = "import math\nimport os\n\n\ndef scale(values, factor=1.0):\n    return [v * factor for v in values]\n\n\ndef out_path(folder, name):\n    return os.path.join(folder, name + \".tif\")\n";

/// A GP script of realistic shape: stdlib, arcpy and package imports (some
/// optional), the service's own helper module, and a few hundred lines of
/// tool code.
fn script(pkgs: &[Pkg], service: usize, rng: &mut fastrand::Rng) -> String {
    let mut s = String::from("# -*- coding: utf-8 -*-\n\"\"\"Generated GP tool.\"\"\"\nimport os\nimport sys\nimport json\nimport logging\nfrom collections import defaultdict\n\nimport arcpy\nimport numpy as np\n\nimport helpers\n");
    for _ in 0..rng.usize(3..8) {
        let p = &pkgs[rng.usize(5..pkgs.len().max(6))];
        let _ = writeln!(s, "import {}", p.name.replace('-', "_"));
    }
    let _ = write!(s, "\ntry:\n    import optional_accelerator_{service}\nexcept ImportError:\n    optional_accelerator_{service} = None\n");
    for f in 0..rng.usize(10..30) {
        let _ = write!(
            s,
            "\n\ndef step_{f}(features, factor={f}):\n    \"\"\"Step {f} of the tool.\"\"\"\n    totals = defaultdict(float)\n    with arcpy.da.SearchCursor(features, [\"SHAPE@AREA\", \"CLASS\"]) as rows:\n        for area, cls in rows:\n            totals[cls] += area * factor\n    values = helpers.scale(list(totals.values()), {f}.5)\n    logging.info(json.dumps({{\"step\": {f}, \"n\": len(values)}}))\n    return np.array(values)\n"
        );
    }
    s.push_str("\n\nif __name__ == \"__main__\":\n    step_0(arcpy.GetParameterAsText(0))\n");
    s
}

/// Write the site into `dir` (which should be empty) and return its size.
pub fn generate(dir: &Path, shape: Shape) -> io::Result<Written> {
    let mut rng = fastrand::Rng::with_seed(shape.seed);
    let pkgs = universe(&shape, &mut rng);
    // Each record is serialized once and written into every env.
    let records: Vec<Vec<u8>> = pkgs.iter().map(|p| record_json(p, &mut rng)).collect();
    let mut out = Written::default();
    let env_names: Vec<String> = (0..shape.envs)
        .map(|e| {
            if e == 0 {
                "arcgispro-py3".to_string()
            } else {
                format!("env{e:02}")
            }
        })
        .collect();

    let mut site = String::from("# Generated by examples/gensite: a large synthetic site.\nname = \"generated\"\nversion = \"11.1\"\nconfig_store = \"config-store\"\n");
    for m in 0..shape.machines {
        let machine = format!("GIS{:02}.EXAMPLE.COM", m + 1);
        let install = format!("m{:02}/ArcGIS/Server", m + 1);
        let _ = write!(site, "\n[[machine]]\nname = \"{machine}\"\ninstall_dir = \"{install}\"\ndefault_env = \"env01\"\n");
        for (e, env) in env_names.iter().enumerate() {
            let prefix = dir.join(&install).join(PY_ROOT).join("envs").join(env);
            let meta = prefix.join("conda-meta");
            // Planted drift: on the last machine, env e holds another build
            // of one package (a hand-made change on one machine).
            let drifted = (m + 1 == shape.machines && e > 0)
                .then(|| 5 + (e * 7) % pkgs.len().saturating_sub(5).max(1));
            for (i, p) in pkgs.iter().enumerate() {
                let name = format!("{}-{}-{}.json", p.name, p.version, p.build);
                if Some(i) == drifted {
                    let mut other = Pkg {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        build: p.build.clone(),
                        channel: p.channel,
                        depends: p.depends.clone(),
                        files: p.files,
                    };
                    other.build = format!("{}_1", p.build);
                    let bytes = record_json(&other, &mut rng);
                    write(
                        &meta.join(format!(
                            "{}-{}-{}.json",
                            other.name, other.version, other.build
                        )),
                        &bytes,
                        &mut out,
                    )?;
                } else {
                    write(&meta.join(name), &records[i], &mut out)?;
                }
                out.records += 1;
            }
            write(
                &meta.join("pinned"),
                b"arcgispro 3.1.*\narcpy 3.1.*\npython 3.9.*\nnumpy 1.20.*\n",
                &mut out,
            )?;
            let history = format!(
                "==> 2023-03-14 10:02:11 <==\n# cmd: conda-script.py create --clone arcgispro-py3 --prefix {env} --pinned\n# conda version: 4.14.0\n{}",
                if e > 0 { format!("==> 2023-04-01 09:00:00 <==\n# cmd: conda-script.py install -n {env} pkg-0010\n# conda version: 4.14.0\n+defaults/win-64::pkg-0010-1.0.0-py39_0\n# update specs: ['pkg-0010']\n") } else { String::new() }
            );
            write(&meta.join("history"), history.as_bytes(), &mut out)?;
            let sp = prefix.join("Lib/site-packages");
            std::fs::create_dir_all(&sp)?;
            if e % 3 == 1 {
                let di = sp.join(format!("extra_tool_{e}-1.0.0.dist-info"));
                write(&di.join("INSTALLER"), b"pip\n", &mut out)?;
                write(
                    &di.join("METADATA"),
                    format!("Metadata-Version: 2.1\nName: extra-tool-{e}\nVersion: 1.0.0\n")
                        .as_bytes(),
                    &mut out,
                )?;
                write(&di.join("RECORD"), format!("extra_tool_{e}/__init__.py,sha256=AAAA,100\nextra_tool_{e}-1.0.0.dist-info/RECORD,,\n").as_bytes(), &mut out)?;
            }
        }
    }
    write(&dir.join("site.toml"), site.as_bytes(), &mut out)?;

    let store = dir.join("config-store");
    if shape.code {
        write(
            &store.join("serverdirs/arcgisinput.json"),
            br#"{"name": "arcgisinput", "physicalPath": "arcgisinput", "directoryType": "INPUT"}"#,
            &mut out,
        )?;
    }
    for s in 0..shape.services {
        let folder = format!("Folder{:02}", s % 20);
        let name = format!("Tool{s:04}");
        // Most services use their own env; a third run in the active env.
        let env = (s % 3 != 0).then(|| env_names[1 + s % (shape.envs - 1).max(1)].clone());
        let mut properties = json!({"toolbox": format!("${{arcgisinput}}\\{folder}\\{name}.GPServer\\extracted\\p20\\tools.tbx"), "executionType": "Asynchronous", "showMessages": "Info", "maximumRecords": 1000});
        if let Some(env) = env {
            properties["condaEnvironmentPath"] = json!(env);
        }
        let body = json!({"serviceName": name, "type": "GPServer", "provider": "ArcObjects11", "configuredState": "STARTED", "minInstancesPerNode": 1, "maxInstancesPerNode": 2, "properties": properties});
        let path = store
            .join("services")
            .join(&folder)
            .join(format!("{name}.GPServer"))
            .join(format!("{name}.GPServer.json"));
        write(&path, body.to_string().as_bytes(), &mut out)?;
        if shape.code {
            let code = dir
                .join("arcgisinput")
                .join(&folder)
                .join(format!("{name}.GPServer"))
                .join("extracted/p20");
            write(&code.join("tools.tbx"), b"toolbox", &mut out)?;
            let main = script(&pkgs, s, &mut rng);
            write(
                &code.join(format!("{}.py", name.to_lowercase())),
                main.as_bytes(),
                &mut out,
            )?;
            write(&code.join("helpers.py"), HELPERS.as_bytes(), &mut out)?;
        }
    }
    Ok(out)
}
