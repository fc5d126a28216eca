//! Which top-level Python modules a package provides, told from the paths
//! it installs: `Lib/site-packages/<module>/...`, `<module>.py`, or an
//! extension `<module>.cp39-win_amd64.pyd` / `.so`. Names keep their case
//! (Python matches imports case-sensitively, PEP 235); one folder spelled
//! two ways is one module on Windows, and is kept once. Used for conda records' `files` and pip
//! `RECORD`s; runs on every path, so it only looks, never allocates, until
//! it has a module.

/// The top-level module a prefix-relative path belongs to, if any.
pub fn top_module(path: &str) -> Option<&str> {
    let rest = site_packages_rest(path)?;
    match rest.split_once(['/', '\\']) {
        Some((dir, _)) => {
            // Metadata, caches and data folders are not importable modules.
            let ok = !dir.is_empty() && !dir.contains('.') && dir != "__pycache__";
            ok.then_some(dir)
        }
        None => {
            let (stem, ext) = rest.split_once('.')?;
            let ext = ext.rsplit('.').next().unwrap_or(ext);
            let importable = ext.eq_ignore_ascii_case("py")
                || ext.eq_ignore_ascii_case("pyd")
                || ext.eq_ignore_ascii_case("so");
            (importable && !stem.is_empty()).then_some(stem)
        }
    }
}

/// The distribution a `site-packages/<name>-<version>.dist-info/...` (or
/// `.egg-info`) path belongs to.
fn dist_info_name(path: &str) -> Option<&str> {
    let rest = site_packages_rest(path)?;
    let dir = rest.split(['/', '\\']).next()?;
    let ends_with = |suffix: &str| {
        dir.len() > suffix.len()
            && dir
                .get(dir.len() - suffix.len()..)
                .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
    };
    if !ends_with(".dist-info") && !ends_with(".egg-info") {
        return None;
    }
    let name = dir.split('-').next()?;
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

/// What follows `site-packages/` in a path under `Lib/` or `lib/pythonX.Y/`.
fn site_packages_rest(path: &str) -> Option<&str> {
    const SP: &str = "site-packages/";
    let bytes = path.as_bytes();
    if bytes.len() < 4
        || !bytes[..4].eq_ignore_ascii_case(b"lib/") && !bytes[..4].eq_ignore_ascii_case(b"lib\\")
    {
        return None;
    }
    let after_lib = &path[4..];
    let candidates = [
        after_lib,
        after_lib.split_once(['/', '\\']).map_or("", |(_, r)| r),
    ];
    candidates.into_iter().find_map(|c| {
        let head = c.get(..SP.len())?;
        (head.eq_ignore_ascii_case(SP) || head.eq_ignore_ascii_case("site-packages\\"))
            .then(|| &c[SP.len()..])
    })
}

pub use crate::model::extension_python;

/// A top-level module folder: whether it has an `__init__.py`, and, until
/// it does, what it holds: a namespace package (no `__init__.py`)
/// provides only that.
#[derive(Debug, Default)]
struct Folder {
    name: String,
    has_init: bool,
    /// Dotted paths below the folder of its module files (`cloud.storage.blob`)
    /// and of the subfolders with an `__init__` (`cloud.storage`).
    parts: Vec<String>,
    inits: Vec<String>,
}

/// Extension modules built for one CPython: `(module, (major, minor))`.
pub type Extensions = Vec<(String, (u32, u32))>;

/// Collects the modules of one package from its paths, in order.
#[derive(Debug, Default)]
pub struct ModuleSet {
    modules: Vec<String>,
    /// Top-level extension modules built for one CPython: importable only
    /// from that Python (a `.cp37-win_amd64.pyd` does not load in 3.9).
    tagged: Extensions,
    /// Distribution names of the `.dist-info`/`.egg-info` folders it
    /// installs (`tables` for pytables, `PyQt5` for pyqt).
    dists: Vec<String>,
    /// Module folders seen, and the one `last_dir` names.
    folders: Vec<Folder>,
    current: usize,
    /// `Lib/site-packages/<module>/` of the last module folder seen: the
    /// paths of one folder come together, and a byte compare skips them.
    last_dir: String,
}

impl ModuleSet {
    pub fn see(&mut self, path: &str) {
        if !self.last_dir.is_empty() && path.as_bytes().starts_with(self.last_dir.as_bytes()) {
            self.see_in_folder(path);
            return;
        }
        let Some(m) = top_module(path) else {
            if let Some(dist) = dist_info_name(path) {
                if !self.dists.iter().any(|d| d == dist) {
                    self.dists.push(dist.to_string());
                }
            }
            return;
        };
        // `m` is a slice of `path`: where it ends in `path`.
        let end = m.as_ptr() as usize - path.as_ptr() as usize + m.len();
        if path[end..].starts_with(['/', '\\']) {
            self.last_dir.clear();
            self.last_dir.push_str(&path[..=end]);
            self.current = match self
                .folders
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(m))
            {
                Some(i) => i,
                None => {
                    self.folders.push(Folder {
                        name: m.to_string(),
                        ..Folder::default()
                    });
                    self.folders.len() - 1
                }
            };
            self.see_in_folder(path);
            return;
        } else if let Some(tag) = extension_python(&path[end - m.len()..]) {
            self.tagged.push((m.to_string(), tag));
            return;
        }
        if !self
            .modules
            .last()
            .is_some_and(|l| l.eq_ignore_ascii_case(m))
        {
            self.modules.push(m.to_string());
        }
    }

    /// A path inside the module folder `last_dir` names. Once the folder
    /// is a regular package (its `__init__` seen) nothing inside matters;
    /// until then each module file and each package below it is kept, to
    /// any depth of namespace folders.
    fn see_in_folder(&mut self, path: &str) {
        let rest = &path[self.last_dir.len()..];
        let Some(folder) = self.folders.get_mut(self.current) else {
            return;
        };
        if folder.has_init {
            return;
        }
        let (dirs, file) = match rest.rsplit_once(['/', '\\']) {
            Some((dirs, file)) => (Some(dirs), file),
            None => (None, rest),
        };
        // Below a data folder (`x.dist-info`, `__pycache__`) nothing imports.
        let importable_dirs = dirs.is_none_or(|d| {
            d.split(['/', '\\'])
                .all(|c| !c.is_empty() && !c.contains('.') && c != "__pycache__")
        });
        if !importable_dirs {
            return;
        }
        let Some(stem) = module_stem(file) else {
            return;
        };
        let dotted = || dirs.map(|d| d.replace(['/', '\\'], "."));
        if stem == "__init__" {
            match dotted() {
                None => {
                    folder.has_init = true;
                    folder.parts = Vec::new();
                    folder.inits = Vec::new();
                }
                Some(d) => {
                    if folder.inits.last() != Some(&d) {
                        folder.inits.push(d);
                    }
                }
            }
            return;
        }
        let part = match dotted() {
            Some(d) => format!("{d}.{stem}"),
            None => stem.to_string(),
        };
        if folder.parts.last() != Some(&part) {
            folder.parts.push(part);
        }
    }

    /// The distribution names of the dist-info folders seen.
    pub fn dists(&self) -> &[String] {
        &self.dists
    }

    /// The modules importable from `python` (when unknown, every
    /// extension counts).
    pub fn finish_for(self, python: Option<(u32, u32)>) -> Vec<String> {
        let (modules, tagged) = self.finish();
        with_extensions(modules, &tagged, python)
    }

    /// The modules that load in any Python, and the extension modules
    /// built for one, to be told apart once the env's Python is known.
    pub fn finish(mut self) -> (Vec<String>, Extensions) {
        // A folder with an `__init__.py` is a package: importable by its
        // name. One without is a namespace package (protobuf's `google/`):
        // only what it holds is, to any depth (`google.protobuf`,
        // `google.cloud.storage`), so `google.cloud` is not provided by
        // protobuf.
        for folder in std::mem::take(&mut self.folders) {
            if folder.has_init || (folder.parts.is_empty() && folder.inits.is_empty()) {
                self.modules.push(folder.name);
                continue;
            }
            for held in namespace_roots(&folder.parts, &folder.inits) {
                self.modules.push(format!("{}.{held}", folder.name));
            }
        }
        self.modules.sort_by_key(|m| m.to_ascii_lowercase());
        self.modules.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        (self.modules, self.tagged)
    }
}

/// The name of a module file (`x.py`, `x.cp39-win_amd64.pyd`, `x.so`,
/// a sourceless `x.pyc`), up to its first dot.
fn module_stem(file: &str) -> Option<&str> {
    let (stem, ext) = file.split_once('.')?;
    let ext = ext.rsplit('.').next().unwrap_or(ext);
    let module = ["py", "pyd", "so", "pyc"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e));
    (module && !stem.is_empty()).then_some(stem)
}

/// What a namespace folder provides: each module file whose folders up to
/// it are all namespaces, and each package (a folder with an `__init__`)
/// whose folders above it are; each under its dotted path below the folder.
fn namespace_roots(parts: &[String], inits: &[String]) -> Vec<String> {
    let inits: std::collections::HashSet<&str> = inits.iter().map(String::as_str).collect();
    // The outermost package on the way to `dotted`, if there is one.
    let package_of = |dotted: &str| {
        dotted
            .match_indices('.')
            .map(|(i, _)| &dotted[..i])
            .chain(std::iter::once(dotted))
            .find(|p| inits.contains(p))
            .map(str::to_string)
    };
    let mut out: Vec<String> = parts
        .iter()
        .map(|p| {
            let parent = p.rsplit_once('.').map(|(d, _)| d);
            parent.and_then(package_of).unwrap_or_else(|| p.clone())
        })
        .chain(inits.iter().filter_map(|i| package_of(i)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `modules` plus the extension modules built for `python`.
pub fn with_extensions(
    mut modules: Vec<String>,
    tagged: &[(String, (u32, u32))],
    python: Option<(u32, u32)>,
) -> Vec<String> {
    modules.extend(
        tagged
            .iter()
            .filter(|(_, tag)| python.is_none_or(|p| p == *tag))
            .map(|(m, _)| m.clone()),
    );
    modules.sort_by_key(|m| m.to_ascii_lowercase());
    modules.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    modules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_from_paths() {
        let cases = [
            ("Lib/site-packages/numpy/__init__.py", Some("numpy")),
            ("Lib/site-packages/six.py", Some("six")),
            (
                "Lib/site-packages/_cffi_backend.cp39-win_amd64.pyd",
                Some("_cffi_backend"),
            ),
            ("lib/python3.9/site-packages/yaml/__init__.py", Some("yaml")),
            (
                "lib/python3.9/site-packages/_yaml.cpython-39-x86_64-linux-gnu.so",
                Some("_yaml"),
            ),
            ("Lib/site-packages/numpy-1.20.1.dist-info/METADATA", None),
            ("Lib/site-packages/__pycache__/six.cpython-39.pyc", None),
            ("Lib/site-packages/easy-install.pth", None),
            ("Library/bin/gdal.dll", None),
            ("Lib/os.py", None),
            ("li", None),
        ];
        for (path, want) in cases {
            assert_eq!(top_module(path), want, "{path}");
        }
        let mut set = ModuleSet::default();
        for p in [
            "Lib/site-packages/PIL/__init__.py",
            "Lib/site-packages/PIL/b.py",
            "Lib/site-packages/pil/c.py",
        ] {
            set.see(p);
        }
        assert_eq!(set.finish().0, ["PIL"]);
        // A module named like a path part is still told apart.
        let mut set = ModuleSet::default();
        for p in [
            "lib/python3.9/site-packages/lib/__init__.py",
            "lib/python3.9/site-packages/yaml/__init__.py",
        ] {
            set.see(p);
        }
        assert_eq!(set.finish().0, ["lib", "yaml"]);
        // The dist-info names a package installs (issue 13 item 7).
        let mut set = ModuleSet::default();
        for p in [
            "Lib/site-packages/tables-3.7.0.dist-info/METADATA",
            "Lib/site-packages/tables/__init__.py",
            "Lib/site-packages/PyQt5-5.15.7.egg-info/PKG-INFO",
        ] {
            set.see(p);
        }
        assert_eq!(set.dists(), ["tables", "PyQt5"]);
    }

    #[test]
    fn issue_13_item_5_a_namespace_folder_provides_only_what_it_holds() {
        let mut set = ModuleSet::default();
        for p in [
            "Lib/site-packages/google/protobuf/__init__.py",
            "Lib/site-packages/google/protobuf/message.py",
            "Lib/site-packages/google/_upb/_message.pyd",
            "Lib/site-packages/numpy/linalg/__init__.py",
            "Lib/site-packages/numpy/__init__.py",
        ] {
            set.see(p);
        }
        assert_eq!(
            set.finish().0,
            ["google._upb._message", "google.protobuf", "numpy"]
        );
    }

    #[test]
    fn issue_13_item_5_namespace_packages_resolve_to_full_depth() {
        let mut set = ModuleSet::default();
        for p in [
            "Lib/site-packages/google/cloud/storage/__init__.py",
            "Lib/site-packages/google/cloud/storage/blob.py",
            "Lib/site-packages/google/cloud/storage/_http/__init__.py",
            "Lib/site-packages/google/cloud/_helpers.py",
            "Lib/site-packages/google/cloud/obsolete/README.txt",
            "Lib/site-packages/google/cloud/__pycache__/_helpers.cpython-39.pyc",
            "Lib/site-packages/azure/core/__init__.py",
            "Lib/site-packages/azure/__init__.py",
            "Lib/site-packages/zope/interface/_zope.cp39-win_amd64.pyd",
        ] {
            set.see(p);
        }
        // azure's `__init__.py` came last: it is a regular package after all.
        assert_eq!(
            set.finish().0,
            [
                "azure",
                "google.cloud._helpers",
                "google.cloud.storage",
                "zope.interface._zope"
            ]
        );
    }

    #[test]
    fn issue_13_item_18_a_pyd_built_for_another_python_is_not_importable() {
        assert_eq!(extension_python("_x.cp37-win_amd64.pyd"), Some((3, 7)));
        assert_eq!(extension_python("_x.cp310-win_amd64.pyd"), Some((3, 10)));
        assert_eq!(
            extension_python("_yaml.cpython-39-x86_64-linux-gnu.so"),
            Some((3, 9))
        );
        assert_eq!(extension_python("_x.abi3.so"), None);
        assert_eq!(extension_python("_x.pyd"), None);
        let mut set = ModuleSet::default();
        for p in [
            "Lib/site-packages/_old.cp37-win_amd64.pyd",
            "Lib/site-packages/_new.cp39-win_amd64.pyd",
            "Lib/site-packages/_any.pyd",
            "Lib/site-packages/pkg/__init__.py",
            "Lib/site-packages/pkg/_inner.cp37-win_amd64.pyd",
        ] {
            set.see(p);
        }
        assert_eq!(set.finish_for(Some((3, 9))), ["_any", "_new", "pkg"]);
    }
}
