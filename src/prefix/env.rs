//! Scanning one conda environment: its package records, pip distributions,
//! `pinned` and `history`. Records are parsed in parallel, then sorted.

use super::cache::{Entry, EnvCache, Source};
use super::history;
use super::pip::{self, DistCandidate};
use super::records::{self, OwnershipProbe, RecordScan};
use crate::model::{
    CappedInput, Env, EnvOrigin, OverwrittenFile, Pinned, PinnedSpec, PipDist, PthFile, PthOwner,
    ScanError, MAX_FIELD_ENTRIES,
};
use crate::paths;
use crate::read::{check_within, read_capped_text, FileProblem};
use rattler_conda_types::MatchSpec;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The env at `prefix` as a listing names it, before anything in it is
/// read: its name, path and origin, and nothing else.
pub fn unread_env(name: &str, prefix: &Path, origin: EnvOrigin) -> Env {
    Env {
        name: name.to_string(),
        path: paths::display(prefix),
        origin,
        packages: Vec::new(),
        pip: Vec::new(),
        pinned: None,
        history: Vec::new(),
        unowned: Vec::new(),
        capped: Vec::new(),
        pth: None,
    }
}

/// Scan the env at `prefix`. Problems with single files are returned as
/// scan errors beside a (possibly partial) env.
pub fn scan_env(
    machine: &str,
    name: &str,
    prefix: &Path,
    origin: EnvOrigin,
) -> (Env, Vec<ScanError>) {
    scan_env_as(machine, name, prefix, origin, None)
}

/// [`scan_env`] of an env read through a `path_map`: `server_path` is the
/// env's path as its server sees it, which the env's own files (an
/// absolute `.pth` line) use for it.
pub fn scan_env_as(
    machine: &str,
    name: &str,
    prefix: &Path,
    origin: EnvOrigin,
    server_path: Option<&str>,
) -> (Env, Vec<ScanError>) {
    let mut env = unread_env(name, prefix, origin);
    let env_path = env.path.clone();
    let mut failures: Vec<(PathBuf, FileProblem)> = Vec::new();

    let conda_meta = prefix.join("conda-meta");
    // Files of the env are read only when they are in it: a symlink out of
    // it (to /etc/shadow, to /dev/zero) is reported, not followed.
    let root = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.to_path_buf());
    let meta_linked = crate::read::is_symlink(&conda_meta);
    let record_files: Vec<PathBuf> = list_records(&conda_meta, &mut failures)
        .into_iter()
        .filter_map(|(f, linked)| {
            match crate::read::check_listed_within(&f, linked, meta_linked, &root) {
                Ok(()) => Some(f),
                Err(e) => {
                    failures.push((f, e));
                    None
                }
            }
        })
        .collect();

    let site_dirs = pip::site_packages_dirs(prefix);
    let candidates: Vec<DistCandidate> = site_dirs
        .iter()
        .flat_map(|rel| pip::scan_site_packages(prefix, rel, &mut failures))
        .collect();
    // The `.pth` files, watched like pip's files so their owner is known.
    let pth_names: Vec<(&String, Vec<String>)> = site_dirs
        .iter()
        .map(|rel| (rel, super::pth::list(prefix, rel)))
        .collect();
    let pth_keys = pth_names
        .iter()
        .flat_map(|(rel, names)| names.iter().map(move |n| format!("{rel}/{n}")))
        .map(|p| p.to_ascii_lowercase());
    let probe = OwnershipProbe::new(
        candidates.iter().map(|c| c.key.clone()).collect(),
        candidates
            .iter()
            .flat_map(|c| c.record.iter().cloned())
            .chain(pth_keys)
            .collect(),
    );

    let mut cache = EnvCache::open(&root, &probe);
    let jobs: Vec<(PathBuf, Option<Entry>)> = record_files
        .into_iter()
        .map(|file| {
            let cached = cache.as_mut().and_then(|c| c.take(&file));
            (file, cached)
        })
        .collect();
    let results: Vec<(PathBuf, Result<RecordScan, FileProblem>, Source)> = jobs
        .into_par_iter()
        .map(|(file, cached)| {
            let (r, source) = match &cache {
                Some(_) => EnvCache::read(&file, cached, &probe),
                None => (records::read_record(&file, &probe), Source::Read(None)),
            };
            (file, r, source)
        })
        .collect();
    let save = cache
        .as_ref()
        .is_some_and(|c| c.changed(results.iter().map(|(_, _, s)| s)));
    let mut kept = Vec::new();
    let mut scans = Vec::with_capacity(results.len());
    for (file, result, source) in results {
        match result {
            Ok(mut scan) => {
                if let Some(entry) = source.into_entry().filter(|_| save) {
                    kept.push((entry, scans.len()));
                }
                env.capped.append(&mut scan.capped);
                scans.push(scan);
            }
            Err(e) => failures.push((file, e)),
        }
    }
    if let Some(cache) = cache.filter(|_| save) {
        let kept: Vec<_> = kept.into_iter().map(|(e, i)| (e, &scans[i])).collect();
        cache.save(&kept);
    }

    if let Some(list) = records_listing_problem(&conda_meta, scans.len(), &failures) {
        failures.push((conda_meta.clone(), list));
    }

    // Extension modules count only for the env's Python.
    let python = scans
        .iter()
        .find(|s| s.package.name() == "python")
        .and_then(|s| crate::model::major_minor(&s.package.record.version.as_str()));
    env.pip = pip_dists(&candidates, &scans, prefix, python);
    env.pth = Some(read_pth(
        prefix,
        &root,
        (&env_path, server_path),
        python,
        &pth_names,
        &candidates,
        &scans,
        &mut failures,
    ));
    env.packages = scans
        .into_iter()
        .map(|s| {
            let mut package = s.package;
            let modules = std::mem::take(&mut package.modules);
            package.modules = super::modules::with_extensions(modules, &s.extensions, python);
            package
        })
        .collect();
    env.unowned = unowned_modules(prefix, &env);
    mark_files_missing(prefix, &mut env);
    env.packages
        .sort_by(|a, b| a.name().cmp(b.name()).then_with(|| a.file.cmp(&b.file)));

    let pinned_file = conda_meta.join("pinned");
    if pinned_file.symlink_metadata().is_ok() {
        match check_within(&pinned_file, &root).and_then(|()| read_capped_text(&pinned_file)) {
            Ok(text) => {
                let pinned = parse_pinned(&text, &pinned_file, &mut failures, &mut env.capped);
                env.pinned = Some(pinned);
            }
            Err(e) => failures.push((pinned_file, e)),
        }
    }
    let history_file = conda_meta.join("history");
    if history_file.symlink_metadata().is_ok() {
        match check_within(&history_file, &root).and_then(|()| read_capped_text(&history_file)) {
            Ok(text) => {
                env.history = history::parse_history(&text);
                let total = env.history.len();
                if total > MAX_FIELD_ENTRIES {
                    // The latest entries are the ones that tell what changed.
                    env.history.drain(..total - MAX_FIELD_ENTRIES);
                    env.capped.push(CappedInput {
                        path: paths::display(&history_file),
                        field: "entries".into(),
                        kept: MAX_FIELD_ENTRIES,
                        total,
                    });
                }
            }
            Err(e) => failures.push((history_file, e)),
        }
    }

    let errors = failures
        .into_iter()
        .map(|(path, f)| ScanError {
            machine: Some(machine.to_string()),
            env: Some(name.to_string()),
            env_path: Some(env_path.clone()),
            path: paths::display(&path),
            message: f.message,
        })
        .collect();
    (env, errors)
}

/// The `*.json` files of conda-meta, sorted, each with whether its listing
/// says it is a symlink (or could not say). A file name that is not UTF-8
/// cannot be a record conda wrote; it is reported, not skipped silently.
fn list_records(
    conda_meta: &Path,
    failures: &mut Vec<(PathBuf, FileProblem)>,
) -> Vec<(PathBuf, bool)> {
    let entries = match std::fs::read_dir(conda_meta) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            failures.push((
                conda_meta.to_path_buf(),
                FileProblem::new("not a conda environment: it has no conda-meta folder"),
            ));
            return Vec::new();
        }
        Err(e) => {
            failures.push((conda_meta.to_path_buf(), FileProblem::io(&e)));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                failures.push((conda_meta.to_path_buf(), FileProblem::io(&e)));
                continue;
            }
        };
        let path = entry.path();
        match entry.file_name().to_str() {
            Some(n) if n.ends_with(".json") => {
                let linked = entry.file_type().map_or(true, |t| t.is_symlink());
                files.push((path, linked));
            }
            Some(_) => {}
            None => failures.push((
                path,
                FileProblem::new("file name is not valid UTF-8; not a record conda wrote"),
            )),
        }
    }
    files.sort();
    files
}

/// An env whose conda-meta exists but yields no package at all.
fn records_listing_problem(
    conda_meta: &Path,
    parsed: usize,
    failures: &[(PathBuf, FileProblem)],
) -> Option<FileProblem> {
    let no_meta = failures.iter().any(|(p, _)| p == conda_meta);
    (parsed == 0 && !no_meta && conda_meta.is_dir())
        .then(|| FileProblem::new("empty environment: conda-meta holds no readable package record"))
}

fn parse_pinned(
    text: &str,
    file: &Path,
    failures: &mut Vec<(PathBuf, FileProblem)>,
    capped: &mut Vec<CappedInput>,
) -> Pinned {
    let mut specs = Vec::new();
    let mut total = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        total += 1;
        if total > MAX_FIELD_ENTRIES {
            continue;
        }
        match MatchSpec::from_str(line, crate::model::conda_spec_options()) {
            Ok(_) => specs.push(PinnedSpec {
                line: i + 1,
                spec: line.to_string(),
            }),
            Err(e) => failures.push((
                file.to_path_buf(),
                FileProblem::new(format!("line {}: `{line}` is not a match spec: {e}", i + 1)),
            )),
        }
    }
    if total > MAX_FIELD_ENTRIES {
        capped.push(CappedInput {
            path: paths::display(file),
            field: "specs".into(),
            kept: MAX_FIELD_ENTRIES,
            total,
        });
    }
    Pinned {
        file: paths::display(file),
        specs,
    }
}

/// Distributions no conda record owns, with the conda files they overwrote.
fn pip_dists(
    candidates: &[DistCandidate],
    scans: &[RecordScan],
    prefix: &Path,
    python: Option<(u32, u32)>,
) -> Vec<PipDist> {
    let owned: HashSet<&str> = scans
        .iter()
        .flat_map(|s| s.owned_dist_infos.iter().map(String::as_str))
        .collect();
    let owners = records::owners_by_path(scans);
    let mut dists: Vec<PipDist> = candidates
        .iter()
        .filter(|c| !owned.contains(c.key.as_str()))
        .map(|c| {
            let mut overwrote: Vec<OverwrittenFile> = c
                .record
                .iter()
                .filter_map(|p| owners.get(p.as_str()))
                .map(|(path, package)| OverwrittenFile {
                    path: path.to_string(),
                    package: package.to_string(),
                })
                .collect();
            overwrote.sort();
            overwrote.dedup();
            let mut modules = super::modules::ModuleSet::default();
            for p in &c.record {
                modules.see(p);
            }
            PipDist {
                name: c.name.clone(),
                version: c.version.clone(),
                installer: c.installer.clone(),
                path: paths::display(c.path.strip_prefix(prefix).unwrap_or(&c.path)),
                overwrote,
                modules: modules.finish_for(python),
            }
        })
        .collect();
    dists.sort_by_key(|d| d.name.to_lowercase());
    dists
}

/// Read the `.pth` files of every site-packages, with their owners; the
/// env is at `env_path` here and, read through a `path_map`, at `server_env`
/// on its server.
#[allow(clippy::too_many_arguments)]
fn read_pth(
    prefix: &Path,
    root: &Path,
    (env_path, server_env): (&str, Option<&str>),
    python: Option<(u32, u32)>,
    names: &[(&String, Vec<String>)],
    candidates: &[DistCandidate],
    scans: &[RecordScan],
    failures: &mut Vec<(PathBuf, FileProblem)>,
) -> Vec<PthFile> {
    if names.iter().all(|(_, n)| n.is_empty()) {
        return Vec::new();
    }
    let owner = |key: &str| -> Option<PthOwner> {
        // pip writes after conda: a file both list is pip's now.
        if let Some(c) = candidates
            .iter()
            .find(|c| c.record.iter().any(|p| p == key))
        {
            return Some(PthOwner::Pip(c.name.clone()));
        }
        scans
            .iter()
            .find(|s| s.owned_watched.iter().any(|(k, _)| k == key))
            .map(|s| PthOwner::Conda(s.package.name().to_string()))
    };
    let dist_info = |name: &str| {
        candidates
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.path.clone())
    };
    let reader = super::pth::Reader {
        prefix,
        root,
        env: env_path,
        server_env,
        python,
        owner: &owner,
        dist_info: &dist_info,
    };
    let mut seen = Vec::new();
    names
        .iter()
        .flat_map(|(rel, names)| reader.read(rel, names, &mut seen, failures))
        .collect()
}

/// The top-level folder of a module name (`google` of `google.protobuf`).
fn top_of(module: &str) -> &str {
    module.split('.').next().unwrap_or(module)
}

/// Mark the conda packages whose files were removed behind conda's back
/// (`pip uninstall` of a conda package): none of the dist-infos its record
/// lists is on disk, no top-level module it installs is in site-packages,
/// and no pip dist provides one. One directory listing per site-packages,
/// no `stat` per file.
fn mark_files_missing(prefix: &Path, env: &mut Env) {
    let mut present: HashSet<String> = HashSet::new();
    for rel in pip::site_packages_dirs(prefix) {
        let Ok(entries) = std::fs::read_dir(prefix.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            present.insert(name.split('.').next().unwrap_or(&name).to_string());
            if name.ends_with(".dist-info") || name.ends_with(".egg-info") {
                present.insert(format!("dist:{}", name.split('-').next().unwrap_or(&name)));
            }
        }
    }
    if present.is_empty() {
        return;
    }
    let by_pip: HashSet<String> = env
        .pip
        .iter()
        .flat_map(|d| d.modules.iter().map(|m| top_of(m).to_ascii_lowercase()))
        .collect();
    for p in &mut env.packages {
        if p.modules.is_empty() || p.dists.is_empty() {
            continue;
        }
        let dist_gone = p
            .dists
            .iter()
            .all(|d| !present.contains(&format!("dist:{}", d.to_ascii_lowercase())));
        let modules_gone = p.modules.iter().all(|m| {
            let m = top_of(m).to_ascii_lowercase();
            !present.contains(&m) && !by_pip.contains(&m)
        });
        p.files_missing = dist_gone && modules_gone;
    }
}

/// Importable site-packages entries (module folders, `.py`, `.pyd`, `.so`)
/// that no conda record's files and no pip RECORD provide: what an admin
/// copied in by hand, and what `conda proup` would not carry over.
fn unowned_modules(prefix: &Path, env: &Env) -> Vec<String> {
    // Windows file names ignore case: `PIL` on disk is pillow's `PIL`.
    let provided: HashSet<String> = env
        .packages
        .iter()
        .flat_map(|p| p.modules.iter())
        .chain(env.pip.iter().flat_map(|d| d.modules.iter()))
        .map(|m| top_of(m).to_ascii_lowercase())
        .collect();
    // A snapshot of an env whose records name no module at all cannot say.
    if provided.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rel in pip::site_packages_dirs(prefix) {
        let Ok(entries) = std::fs::read_dir(prefix.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{rel}/{name}");
            // Seen as a path inside the folder, so a folder reads as a module.
            let probe = if entry.path().is_dir() {
                format!("Lib/site-packages/{name}/x")
            } else {
                format!("Lib/site-packages/{name}")
            };
            if let Some(module) = super::modules::top_module(&probe) {
                if !provided.contains(module.to_ascii_lowercase().as_str()) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_lines_parse_with_comments_and_report_bad_lines() {
        let mut failures = Vec::new();
        let pinned = parse_pinned(
            "# pins\r\nnumpy 1.20.*  # critical\n\npython 3.9.*\nnumpy >=>=1\n*[build=*mkl]\n",
            Path::new("pinned"),
            &mut failures,
            &mut Vec::new(),
        );
        let specs: Vec<_> = pinned
            .specs
            .iter()
            .map(|s| (s.line, s.spec.as_str()))
            .collect();
        // issue 13 item 11: a glob name is a spec conda accepts.
        assert_eq!(
            specs,
            vec![
                (2, "numpy 1.20.*"),
                (4, "python 3.9.*"),
                (6, "*[build=*mkl]")
            ]
        );
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].1.message.starts_with("line 5"),
            "{}",
            failures[0].1.message
        );
    }
}

#[cfg(test)]
mod pth_tests {
    use super::*;
    use crate::model::{EnvIndex, Provider, PthLineKind};

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A Windows-layout env with python and a pip-installed pywin32 whose
    /// `pywin32.pth` is on disk.
    fn pywin32_env(root: &Path) {
        write(
            root,
            "conda-meta/python-3.9.16-h_0.json",
            r#"{"name": "python", "version": "3.9.16", "build": "h_0", "build_number": 0, "files": ["python.exe"]}"#,
        );
        let sp = "Lib/site-packages";
        write(
            root,
            &format!("{sp}/pywin32-306.dist-info/INSTALLER"),
            "pip\n",
        );
        write(
            root,
            &format!("{sp}/pywin32-306.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: pywin32\nVersion: 306\n",
        );
        write(
            root,
            &format!("{sp}/pywin32-306.dist-info/RECORD"),
            "pywin32.pth,sha256=x,1\nwin32/win32api.pyd,,\nwin32/lib/win32con.py,,\npythonwin/win32ui.pyd,,\npythonwin/pywin/__init__.py,,\npywin32-306.dist-info/RECORD,,\n",
        );
        write(
            root,
            &format!("{sp}/pywin32.pth"),
            "# .pth file for the PyWin32 extensions\r\nwin32\r\nwin32\\lib\r\nPythonwin\r\n# hackery\r\nimport pywin32_bootstrap\r\n",
        );
        for f in [
            "win32/win32api.pyd",
            "win32/_win32sysloader.cp37-win_amd64.pyd",
            "win32/lib/win32con.py",
            "pythonwin/win32ui.pyd",
            "pythonwin/pywin/__init__.py",
        ] {
            write(root, &format!("{sp}/{f}"), "");
        }
    }

    #[test]
    fn issue_13_item_2_pip_installed_pywin32_provides_win32api_through_its_pth_file() {
        let dir = tempfile::tempdir().unwrap();
        pywin32_env(dir.path());
        let (env, errors) = scan_env("GIS1", "hydro", dir.path(), EnvOrigin::Install);
        assert!(errors.is_empty(), "{errors:?}");
        let pth = env.pth.as_ref().unwrap();
        assert_eq!(pth.len(), 1);
        assert_eq!(pth[0].owner, Some(PthOwner::Pip("pywin32".into())));
        assert!(pth[0]
            .lines
            .iter()
            .any(|l| l.kind == PthLineKind::Import && l.text == "import pywin32_bootstrap"));
        // `Pythonwin` names the `pythonwin` folder only where names ignore
        // case: on this file system it is not there, as Python would find.
        let index = EnvIndex::new(&env);
        assert!(index.provides("win32api"));
        assert!(index.provides("win32con"));
        assert!(matches!(index.providers("win32api"), [Provider::Pip(d)] if d.name == "pywin32"));
        // Built for Python 3.7: does not load in 3.9.
        assert!(!index.provides("_win32sysloader"));
        assert!(!index.provides("win32gui"));
        // Without the .pth file, Python does not find win32api.
        std::fs::remove_file(dir.path().join("Lib/site-packages/pywin32.pth")).unwrap();
        let (env, _) = scan_env("GIS1", "hydro", dir.path(), EnvOrigin::Install);
        assert_eq!(env.pth.as_deref(), Some(&[][..]));
        assert!(!EnvIndex::new(&env).provides("win32api"));
    }

    #[test]
    fn pth_line_naming_the_env_by_its_server_path_was_outside_the_env_through_a_path_map() {
        // An env read through a path_map (here a temp folder) whose
        // hand-made .pth names a folder of the env by its server path.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        pywin32_env(root);
        let sp = "Lib/site-packages";
        let server =
            r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python\envs\hydro";
        write(
            root,
            &format!("{sp}/tools.pth"),
            &format!("{server}\\Lib\\site-packages\\gp_tools\n"),
        );
        write(root, &format!("{sp}/gp_tools/reproj.py"), "");
        let kind = |env: &Env| {
            let pth = env.pth.as_ref().unwrap();
            let file = pth.iter().find(|f| f.path.ends_with("tools.pth")).unwrap();
            file.lines[0].kind.clone()
        };

        let (env, _) = scan_env_as("GIS1", "hydro", root, EnvOrigin::Install, Some(server));
        assert!(
            matches!(kind(&env), PthLineKind::Inside { ref dir, exists: true, .. } if dir == "Lib/site-packages/gp_tools"),
            "{:?}",
            kind(&env)
        );
        assert!(EnvIndex::new(&env).provides("reproj"));

        // Without the server path the line names a folder elsewhere.
        let (env, _) = scan_env("GIS1", "hydro", root, EnvOrigin::Install);
        assert!(matches!(kind(&env), PthLineKind::Outside { .. }));
        assert!(!EnvIndex::new(&env).provides("reproj"));
    }

    #[test]
    fn issue_13_item_2_editable_installs_and_hand_made_pth_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        pywin32_env(root);
        let sp = "Lib/site-packages";
        // pip install -e, PEP 660 with a finder module.
        write(
            root,
            &format!("{sp}/clusterkit-0.3.dist-info/INSTALLER"),
            "pip\n",
        );
        write(
            root,
            &format!("{sp}/clusterkit-0.3.dist-info/RECORD"),
            "__editable__.clusterkit-0.3.pth,,\n__editable___clusterkit_0_3_finder.py,,\nclusterkit-0.3.dist-info/RECORD,,\n",
        );
        write(
            root,
            &format!("{sp}/__editable__.clusterkit-0.3.pth"),
            "import __editable___clusterkit_0_3_finder; __editable___clusterkit_0_3_finder.install()\n",
        );
        write(
            root,
            &format!("{sp}/__editable___clusterkit_0_3_finder.py"),
            "import sys\nMAPPING: dict[str, str] = {'clusterkit': 'D:\\\\src\\\\clusterkit\\\\clusterkit'}\nNAMESPACES: dict[str, list[str]] = {}\n",
        );
        // PEP 660 with a path line: top_level.txt names the modules.
        write(
            root,
            &format!("{sp}/gauge-1.0.dist-info/INSTALLER"),
            "pip\n",
        );
        write(
            root,
            &format!("{sp}/gauge-1.0.dist-info/RECORD"),
            "__editable__.gauge-1.0.pth,,\ngauge-1.0.dist-info/top_level.txt,,\n",
        );
        write(
            root,
            &format!("{sp}/gauge-1.0.dist-info/top_level.txt"),
            "gauge\n",
        );
        write(
            root,
            &format!("{sp}/__editable__.gauge-1.0.pth"),
            "D:\\src\\gauge\\src\n",
        );
        // setup.py develop.
        write(
            root,
            &format!("{sp}/tidekit.egg-link"),
            "C:\\src\\tidekit\n.\n",
        );
        write(
            root,
            &format!("{sp}/easy-install.pth"),
            "c:\\src\\tidekit\nC:/src/floodkit/\n",
        );
        write(
            root,
            &format!("{sp}/floodkit.egg-link"),
            "C:\\src\\floodkit\n.\n",
        );
        // Not added by easy-install.pth: makes nothing importable.
        write(root, &format!("{sp}/stale.egg-link"), "C:\\src\\stale\n.\n");
        // By hand: a share, and a folder inside the env.
        write(
            root,
            &format!("{sp}/gp-share.pth"),
            "\\\\FILESERVER\\gp\\lib\nspecial_tools\n",
        );
        write(root, &format!("{sp}/special_tools/reproj.py"), "");
        let (env, errors) = scan_env("GIS1", "hydro", root, EnvOrigin::Install);
        assert!(errors.is_empty(), "{errors:?}");
        let index = EnvIndex::new(&env);
        let editables: Vec<_> = index
            .editables()
            .map(|(f, e)| {
                (
                    f.file_name(),
                    e.project.as_str(),
                    e.kind.as_str(),
                    e.modules.clone(),
                )
            })
            .collect();
        assert_eq!(
            editables,
            vec![
                (
                    "__editable__.clusterkit-0.3.pth",
                    "clusterkit",
                    "pep660",
                    vec!["clusterkit".to_string()]
                ),
                (
                    "__editable__.gauge-1.0.pth",
                    "gauge",
                    "pep660",
                    vec!["gauge".to_string()]
                ),
                ("easy-install.pth", "floodkit", "egg-link", vec![]),
                ("easy-install.pth", "tidekit", "egg-link", vec![]),
            ]
        );
        assert!(index.provides("clusterkit.model"));
        assert!(index.provides("gauge"));
        assert!(
            matches!(index.providers("reproj"), [Provider::Unowned(p)] if p.ends_with("gp-share.pth"))
        );
        // Editable installs are not pip packages to reinstall from PyPI.
        let pip: Vec<&str> = index.pip_dists().map(|d| d.name.as_str()).collect();
        assert_eq!(pip, ["pywin32"]);
        let outside: Vec<(&str, &str)> = index
            .outside_paths()
            .map(|(f, d)| (f.file_name(), d))
            .collect();
        assert_eq!(
            outside,
            vec![
                ("__editable__.gauge-1.0.pth", "D:\\src\\gauge\\src"),
                ("easy-install.pth", "c:\\src\\tidekit"),
                ("easy-install.pth", "C:/src/floodkit/"),
                ("gp-share.pth", "\\\\FILESERVER\\gp\\lib"),
            ]
        );
        let unowned: Vec<&str> = index.unowned_pth().map(|f| f.file_name()).collect();
        assert_eq!(unowned, ["easy-install.pth", "gp-share.pth"]);
    }
}
