//! A stand-in `conda` executable for the tests (copied to a test site's
//! `<python root>/Scripts/conda.exe`): `--version`, `info --json`, `create
//! --file` with an explicit spec, and Esri's `proup`, acting on conda-meta
//! records and pip dist-info folders only. Every call is logged to
//! `FAKE_CONDA_LOG`; failures are switched on with `FAKE_CONDA_FAIL`. Test
//! tooling, never part of gpaudit.

use serde_json::{json, Value};
use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const VERSION: &str = "24.1.2";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    log_invocation(&args);
    let code = run(&args).unwrap_or_else(|e| {
        eprintln!("fake conda: {e}");
        1
    });
    ExitCode::from(code)
}

/// Append `{"argv":[...],"pid":N}` to `FAKE_CONDA_LOG`, when set.
fn log_invocation(args: &[String]) {
    let Some(log) = std::env::var_os("FAKE_CONDA_LOG") else {
        return;
    };
    // Whether the administrator's password reached conda (it must not).
    let saw_password = std::env::var_os("GPAUDIT_PASSWORD").is_some();
    let line = format!(
        "{}\n",
        json!({"argv": args, "pid": std::process::id(), "saw_password": saw_password})
    );
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()).and_then(|()| f.flush()));
    if let Err(e) = written {
        eprintln!(
            "fake conda: cannot log to {}: {e}",
            Path::new(&log).display()
        );
    }
}

fn run(args: &[String]) -> Result<u8, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["--version"] => {
            println!("conda {VERSION}");
            Ok(0)
        }
        ["info", "--json"] => {
            let root = root()?;
            let info = json!({
                "conda_version": VERSION,
                "root_prefix": root.display().to_string(),
                "envs_dirs": [root.join("envs").display().to_string()],
                "platform": "win-64",
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?
            );
            Ok(0)
        }
        ["proup", rest @ ..] => match parse_target(rest)? {
            Some(t) if t.file.is_none() => proup(&t, args),
            _ => Ok(unsupported(args)),
        },
        ["create", rest @ ..] => match parse_target(rest)? {
            Some(t) if t.file.is_some() => create(&t, args),
            _ => Ok(unsupported(args)),
        },
        _ => Ok(unsupported(args)),
    }
}

fn unsupported(args: &[String]) -> u8 {
    eprintln!("fake conda: unsupported command: conda {}", args.join(" "));
    2
}

/// `FAKE_CONDA_ROOT`, else the folder above the one holding this program.
fn root() -> Result<PathBuf, String> {
    if let Some(root) = std::env::var_os("FAKE_CONDA_ROOT") {
        return Ok(PathBuf::from(root));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} has no grandparent folder", exe.display()))
}

/// The env a command works on, from `-n NAME` / `-p PATH` and its flags.
struct Target {
    prefix: PathBuf,
    name: String,
    file: Option<PathBuf>,
}

/// `None` for flags this fake does not know (an unsupported command).
fn parse_target(args: &[&str]) -> Result<Option<Target>, String> {
    let (mut prefix, mut file) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "-y" | "--yes" => {}
            "-n" | "--name" | "-p" | "--prefix" | "--file" => {
                let Some(value) = it.next() else {
                    return Ok(None);
                };
                if *arg == "--file" {
                    file = Some(PathBuf::from(value));
                } else if prefix.is_some() {
                    return Ok(None);
                } else if matches!(*arg, "-n" | "--name") {
                    prefix = Some(root()?.join("envs").join(value));
                } else {
                    prefix = Some(PathBuf::from(value));
                }
            }
            _ => return Ok(None),
        }
    }
    let Some(prefix) = prefix else {
        return Ok(None);
    };
    let name = prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(Target { prefix, name, file }))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Conflict,
    Hang,
    Crash,
    Slow(u64),
}

/// The `FAKE_CONDA_FAIL` items (`MODE:ENV`, `slow:ENV:MILLIS`) for `env`.
fn failure_modes(env: &str) -> Result<Vec<Mode>, String> {
    let spec = std::env::var("FAKE_CONDA_FAIL").unwrap_or_default();
    let mut modes = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let parts: Vec<&str> = item.split(':').collect();
        let mode = match parts.as_slice() {
            ["conflict", e] => (Mode::Conflict, *e),
            ["hang", e] => (Mode::Hang, *e),
            ["crash", e] => (Mode::Crash, *e),
            ["slow", e, ms] => (
                Mode::Slow(
                    ms.parse()
                        .map_err(|_| format!("bad FAKE_CONDA_FAIL item `{item}`"))?,
                ),
                *e,
            ),
            _ => return Err(format!("bad FAKE_CONDA_FAIL item `{item}`")),
        };
        if mode.1 == env {
            modes.push(mode.0);
        }
    }
    Ok(modes)
}

/// One conda-meta record as read from a `*.json` file.
struct Record {
    file: String,
    body: Value,
    raw: Vec<u8>,
}

impl Record {
    fn field(&self, key: &str) -> &str {
        self.body[key].as_str().unwrap_or("")
    }

    fn dist(&self) -> String {
        let (name, version, build) = (
            self.field("name"),
            self.field("version"),
            self.field("build"),
        );
        format!("{name}-{version}-{build}")
    }

    /// `esri/win-64::arcpy-3.3-py311_arcgispro_52583`, as history writes it.
    fn history_line(&self) -> String {
        let url = self.field("channel").trim_end_matches('/');
        let channel = if url.contains("repo.anaconda.com/pkgs/") {
            "defaults"
        } else {
            url.rsplit('/')
                .next()
                .filter(|c| !c.is_empty())
                .unwrap_or("esri")
        };
        let subdir = Some(self.field("subdir"))
            .filter(|s| !s.is_empty())
            .unwrap_or("win-64");
        format!("+{channel}/{subdir}::{}", self.dist())
    }
}

/// The `*.json` records of a folder, sorted by file name.
fn read_records(dir: &Path) -> Result<Vec<Record>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.ends_with(".json") {
            continue;
        }
        let raw = fs::read(entry.path()).map_err(|e| format!("cannot read {file}: {e}"))?;
        let body: Value = serde_json::from_slice(&raw)
            .map_err(|e| format!("{}: not JSON: {e}", entry.path().display()))?;
        records.push(Record { file, body, raw });
    }
    records.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(records)
}

/// `1.10.2` → [1, 10, 2]: good enough to pick the newest build in a test.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.')
        .map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or(0)
        })
        .collect()
}

/// Pip-installed dists under `Lib/site-packages`: (name, version).
fn pip_dists(prefix: &Path) -> Vec<(String, String)> {
    let site = prefix.join("Lib/site-packages");
    let mut dists: Vec<(String, String)> = fs::read_dir(&site)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let dir = entry.file_name().to_string_lossy().into_owned();
            let stem = dir.strip_suffix(".dist-info")?;
            let installer = fs::read_to_string(entry.path().join("INSTALLER")).ok()?;
            let (name, version) = stem.split_once('-')?;
            (installer.trim() == "pip").then(|| (name.to_string(), version.to_string()))
        })
        .collect();
    dists.sort();
    dists
}

fn io_err(what: &str, path: &Path) -> impl Fn(std::io::Error) -> String {
    let context = format!("cannot {what} {}", path.display());
    move |e| format!("{context}: {e}")
}

fn proup(t: &Target, args: &[String]) -> Result<u8, String> {
    if !t.prefix.join("conda-meta").is_dir() {
        eprintln!(
            "EnvironmentLocationNotFound: Not a conda environment: {}",
            t.prefix.display()
        );
        return Ok(1);
    }
    let channel = std::env::var_os("FAKE_CONDA_CHANNEL")
        .map(PathBuf::from)
        .ok_or("FAKE_CONDA_CHANNEL is not set (the folder of the new release's channel)")?;
    let defaults = read_records(&channel.join("default"))?;
    let extras = match channel.join("extra") {
        dir if dir.is_dir() => read_records(&dir)?,
        _ => Vec::new(),
    };
    let default_names: HashSet<&str> = defaults.iter().map(|r| r.field("name")).collect();
    let current = read_records(&t.prefix.join("conda-meta"))?;
    let added: Vec<&Record> = current
        .iter()
        .filter(|r| !default_names.contains(r.field("name")))
        .collect();
    let dists = pip_dists(&t.prefix);

    let modes = failure_modes(&t.name)?;
    for mode in &modes {
        if let Mode::Slow(ms) = mode {
            std::thread::sleep(Duration::from_millis(*ms));
        }
    }
    if modes.contains(&Mode::Conflict) {
        eprintln!("UnsatisfiableError: The following specifications were found to be incompatible with each other:\n\nOutput in format: Requested package -> Available versions\n\nPackage python conflicts for:");
        for r in &added {
            eprintln!("{} -> python[version='{}']", r.field("name"), python_dep(r));
        }
        eprintln!("arcgispro -> python[version='>=3.11,<3.12.0a0']");
        return Ok(1);
    }
    if modes.contains(&Mode::Hang) {
        if let Some(pidfile) = std::env::var_os("FAKE_CONDA_PIDFILE") {
            let tmp = PathBuf::from(format!("{}.tmp", Path::new(&pidfile).display()));
            fs::write(&tmp, std::process::id().to_string()).map_err(io_err("write", &tmp))?;
            fs::rename(&tmp, &pidfile).map_err(io_err("write", Path::new(&pidfile)))?;
        }
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    let archive = archive_env(&t.prefix, &t.name)?;
    println!("Archiving environment to {}", archive.display());
    fs::remove_dir_all(&t.prefix).map_err(io_err("delete", &t.prefix))?;
    let meta = t.prefix.join("conda-meta");
    fs::create_dir_all(&meta).map_err(io_err("create", &meta))?;

    if modes.contains(&Mode::Crash) {
        write_records(&meta, &defaults[..defaults.len() / 2])?;
        eprintln!("Fatal Python error: _Py_HashRandomization_Init: failed to get random numbers (simulated crash)");
        return Ok(3);
    }
    write_records(&meta, &defaults)?;
    let pinned = channel.join("default/pinned");
    if pinned.is_file() {
        fs::copy(&pinned, meta.join("pinned")).map_err(io_err("copy", &pinned))?;
    }
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for r in &added {
        let newest = extras
            .iter()
            .filter(|e| e.field("name") == r.field("name"))
            .max_by_key(|e| version_key(e.field("version")));
        match newest {
            Some(e) => found.push(e),
            None => missing.push(format!("- {}", r.field("name"))),
        }
    }
    if !missing.is_empty() {
        eprintln!("PackagesNotFoundError: The following packages are not available from current channels: {}", missing.join(" "));
        return Ok(1);
    }
    for e in &found {
        let file = meta.join(format!("{}.json", e.dist()));
        fs::write(&file, &e.raw).map_err(io_err("write", &file))?;
    }
    for (name, version) in &dists {
        reinstall_pip(&t.prefix, name, version)?;
    }
    let written: Vec<&Record> = defaults.iter().chain(found.iter().copied()).collect();
    append_history(&meta, args, &written)?;
    println!("Upgraded environment {}", t.prefix.display());
    Ok(0)
}

fn python_dep(r: &Record) -> String {
    let deps = r.body["depends"].as_array().into_iter().flatten();
    deps.filter_map(Value::as_str)
        .find_map(|d| d.strip_prefix("python "))
        .unwrap_or("*")
        .to_string()
}

/// Tar the env into `<parent of prefix>/<name>.tar.bz2`, paths relative to it.
fn archive_env(prefix: &Path, name: &str) -> Result<PathBuf, String> {
    let parent = prefix.parent().ok_or("the env has no parent folder")?;
    let archive = parent.join(format!("{name}.tar.bz2"));
    let file = fs::File::create(&archive).map_err(io_err("create", &archive))?;
    let mut tar = tar::Builder::new(bzip2::write::BzEncoder::new(
        file,
        bzip2::Compression::default(),
    ));
    add_tree(&mut tar, prefix, Path::new("")).map_err(io_err("archive", prefix))?;
    tar.into_inner()
        .and_then(bzip2::write::BzEncoder::finish)
        .map_err(io_err("write", &archive))?;
    Ok(archive)
}

fn add_tree<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    rel: &Path,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let (path, rel) = (entry.path(), rel.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            tar.append_dir(&rel, &path)?;
            add_tree(tar, &path, &rel)?;
        } else {
            tar.append_path_with_name(&path, &rel)?;
        }
    }
    Ok(())
}

fn write_records(meta: &Path, records: &[Record]) -> Result<(), String> {
    for r in records {
        let file = meta.join(&r.file);
        fs::write(&file, &r.raw).map_err(io_err("write", &file))?;
    }
    Ok(())
}

/// What `pip install NAME==VERSION` leaves: a module folder and a dist-info.
fn reinstall_pip(prefix: &Path, name: &str, version: &str) -> Result<(), String> {
    let site = prefix.join("Lib/site-packages");
    let module = name.to_lowercase().replace('-', "_");
    let info = format!("{name}-{version}.dist-info");
    let files = [
        (
            format!("{module}/__init__.py"),
            format!("\"\"\"{name} {version}\"\"\"\n"),
        ),
        (format!("{info}/INSTALLER"), "pip\n".to_string()),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
    ];
    let mut record = String::new();
    for (rel, body) in &files {
        let path = site.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        fs::write(&path, body).map_err(io_err("write", &path))?;
        record.push_str(&format!("{rel},,\n"));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    let path = site.join(&info).join("RECORD");
    fs::write(&path, record).map_err(io_err("write", &path))
}

fn append_history(meta: &Path, args: &[String], records: &[&Record]) -> Result<(), String> {
    let mut block = format!(
        "==> 2026-11-21 10:00:00 <==\n# cmd: conda {}\n# conda version: {VERSION}\n",
        args.join(" ")
    );
    for r in records {
        block.push_str(&r.history_line());
        block.push('\n');
    }
    let path = meta.join("history");
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(block.as_bytes()))
        .map_err(io_err("write", &path))
}

/// `conda create -p PREFIX --file SPEC`, SPEC an `@EXPLICIT` list of URLs.
fn create(t: &Target, args: &[String]) -> Result<u8, String> {
    let spec = t.file.as_deref().ok_or("no --file")?;
    if fs::read_dir(&t.prefix).is_ok_and(|mut d| d.next().is_some()) {
        eprintln!(
            "CondaValueError: prefix already exists: {}",
            t.prefix.display()
        );
        return Ok(1);
    }
    let text = fs::read_to_string(spec).map_err(io_err("read", spec))?;
    let mut records = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line == "@EXPLICIT" {
            continue;
        }
        let Some(body) = record_from_url(line) else {
            eprintln!("CondaValueError: could not parse explicit URL: {line}");
            return Ok(1);
        };
        let raw = serde_json::to_vec_pretty(&body).map_err(|e| e.to_string())?;
        let mut record = Record {
            file: String::new(),
            body,
            raw,
        };
        record.file = format!("{}.json", record.dist());
        records.push(record);
    }
    let meta = t.prefix.join("conda-meta");
    fs::create_dir_all(&meta).map_err(io_err("create", &meta))?;
    write_records(&meta, &records)?;
    append_history(&meta, args, &records.iter().collect::<Vec<_>>())?;
    Ok(0)
}

/// `https://host/esri/win-64/arcpy-3.1-py39_arcgispro_41759.conda#md5` → a record.
fn record_from_url(line: &str) -> Option<Value> {
    let url = line.split('#').next()?.trim();
    let (base, file) = url.rsplit_once('/')?;
    let (channel, subdir) = base.rsplit_once('/')?;
    let stem = file
        .strip_suffix(".conda")
        .or_else(|| file.strip_suffix(".tar.bz2"))?;
    let mut parts = stem.rsplitn(3, '-');
    let (build, version, name) = (parts.next()?, parts.next()?, parts.next()?);
    if [name, version, build, channel, subdir]
        .iter()
        .any(|s| s.is_empty())
    {
        return None;
    }
    Some(json!({
        "name": name, "version": version, "build": build, "build_number": 0,
        "depends": [], "channel": channel, "subdir": subdir, "fn": file, "url": url,
    }))
}
