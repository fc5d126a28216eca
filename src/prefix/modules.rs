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

/// A top-level module folder: whether it has an `__init__.py`, and the
/// submodules in it (what a namespace package provides).
#[derive(Debug, Default)]
struct Folder {
    name: String,
    has_init: bool,
    children: Vec<String>,
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

    /// A path inside the module folder `last_dir` names: whether it is the
    /// folder's `__init__.py`, else which submodule it belongs to.
    fn see_in_folder(&mut self, path: &str) {
        let rest = &path[self.last_dir.len()..];
        let Some(folder) = self.folders.get_mut(self.current) else {
            return;
        };
        let (child, is_dir) = match rest.split_once(['/', '\\']) {
            Some((dir, _)) => (dir, true),
            None => (rest, false),
        };
        if !is_dir && child.eq_ignore_ascii_case("__init__.py") {
            folder.has_init = true;
            return;
        }
        let sub = if is_dir {
            (!child.is_empty() && !child.contains('.') && child != "__pycache__").then_some(child)
        } else {
            child
                .split_once('.')
                .filter(|(_, ext)| {
                    let ext = ext.rsplit('.').next().unwrap_or(ext);
                    ["py", "pyd", "so"]
                        .iter()
                        .any(|e| ext.eq_ignore_ascii_case(e))
                })
                .map(|(stem, _)| stem)
                .filter(|stem| !stem.is_empty())
        };
        if let Some(sub) = sub {
            if folder.children.last().is_none_or(|l| l != sub) {
                folder.children.push(sub.to_string());
            }
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
        // only what it holds is, so `google.protobuf` is recorded and
        // `google.cloud` is not provided by it.
        for mut folder in std::mem::take(&mut self.folders) {
            if folder.has_init || folder.children.is_empty() {
                self.modules.push(folder.name);
                continue;
            }
            folder.children.sort();
            folder.children.dedup();
            for child in folder.children {
                self.modules.push(format!("{}.{child}", folder.name));
            }
        }
        self.modules.sort_by_key(|m| m.to_ascii_lowercase());
        self.modules.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        (self.modules, self.tagged)
    }
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
        assert_eq!(set.finish().0, ["google._upb", "google.protobuf", "numpy"]);
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
