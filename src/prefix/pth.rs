//! Reading the `.pth` files of an env's site-packages the way `site.py`
//! does, without running them: blank lines and lines starting with `#` are
//! skipped, lines starting with `import ` (or `import` and a tab) are code
//! Python runs at start (named here, never run), and every other line is a
//! directory, relative to site-packages or absolute, added to `sys.path`.
//! The modules of an added directory inside the env are listed (one
//! directory read each); one outside (a share, another drive) is named, not
//! read. Editable installs are told from their files: PEP 660
//! `__editable__.*.pth` (a path line, or an `import` of a finder module
//! whose `MAPPING` literal is read with Ruff's parser) and `NAME.egg-link`
//! with `easy-install.pth`. Files are read through [`crate::read`] only.

use crate::model::{Editable, PthFile, PthLine, PthLineKind, PthOwner, MAX_FIELD_ENTRIES};
use crate::read::{check_within, read_capped_text, FileProblem};
use std::path::{Path, PathBuf};

/// A line of a `.pth` file that Python acts on.
#[derive(Debug, PartialEq, Eq)]
pub enum RawLine<'a> {
    /// A directory, as written (trailing white space removed).
    Path(&'a str),
    /// Code run at start: `import x; x.install()`.
    Import(&'a str),
}

/// The lines of a `.pth` file Python acts on, with their 1-based numbers,
/// as `site.addpackage` reads them: universal newlines, `#` only in the
/// first column, a path line's trailing white space dropped (its leading
/// white space kept). At most [`MAX_FIELD_ENTRIES`] lines are kept.
pub fn parse_pth(text: &str) -> Vec<(usize, RawLine<'_>)> {
    let mut out = Vec::new();
    for (i, line) in universal_lines(text).enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_FIELD_ENTRIES {
            break;
        }
        let raw = if line.starts_with("import ") || line.starts_with("import\t") {
            RawLine::Import(line.trim_end())
        } else {
            RawLine::Path(line.trim_end())
        };
        out.push((i + 1, raw));
    }
    out
}

/// Lines split on `\r\n`, `\r` or `\n`, as Python's text mode reads them.
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]).filter(|r| !r.is_empty());
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// Where a path line points: a prefix-relative directory inside the env,
/// or a directory outside it.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    Inside(String),
    Outside(String),
}

/// Resolve a path line as `site.makepath` joins it to its site-packages
/// (`site_rel`, prefix-relative, `/`-separated) in the env at `env` (the
/// env's path as the scan reached it). In a Windows env (`windows`) both
/// separators separate, and drive letters and UNC paths are absolute; an
/// absolute line inside the env is recognised when it names the env by the
/// path the scan reached it through.
pub fn resolve(env: &str, site_rel: &str, line: &str, windows: bool) -> Resolved {
    let seps: &[char] = if windows { &['/', '\\'] } else { &['/'] };
    let absolute = if windows {
        // `D:gp` names another drive: `os.path.join` drops site-packages.
        let drive =
            line.as_bytes().get(1) == Some(&b':') && line.as_bytes()[0].is_ascii_alphabetic();
        drive || crate::paths::is_windows_absolute(line) || line.starts_with(['/', '\\'])
    } else {
        line.starts_with('/')
    };
    let rest: Vec<&str> = if absolute {
        let env_parts: Vec<&str> = env.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        let parts: Vec<&str> = line.split(seps).filter(|p| !p.is_empty()).collect();
        let same = |a: &str, b: &str| {
            if windows {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let inside = parts.len() >= env_parts.len()
            && env_parts.iter().zip(&parts).all(|(a, b)| same(a, b))
            && (env.starts_with(['/', '\\']) == line.starts_with(['/', '\\']));
        if !inside {
            return Resolved::Outside(line.to_string());
        }
        parts[env_parts.len()..].to_vec()
    } else {
        site_rel
            .split('/')
            .chain(line.split(seps))
            .filter(|p| !p.is_empty())
            .collect()
    };
    let mut folded: Vec<&str> = Vec::new();
    for part in rest {
        match part {
            "." => {}
            ".." => {
                if folded.pop().is_none() {
                    let joined = format!("{site_rel}/{line}");
                    return Resolved::Outside(crate::paths::join_displayed(env, &joined));
                }
            }
            p => folded.push(p),
        }
    }
    Resolved::Inside(folded.join("/"))
}

/// The `.pth` and `.egg-link` files of one site-packages folder, sorted by
/// name (Python reads `.pth` files in that order); hidden files are left
/// out, as Python does.
pub fn list(prefix: &Path, rel: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(prefix.join(rel)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            !n.starts_with('.') && (l.ends_with(".pth") || l.ends_with(".egg-link"))
        })
        .collect();
    names.sort();
    names.truncate(MAX_FIELD_ENTRIES);
    names
}

/// What reading the `.pth` files needs from the rest of the env's scan.
#[allow(missing_debug_implementations)] // it holds closures
pub struct Reader<'a> {
    pub prefix: &'a Path,
    /// The env's folder, canonical: nothing outside it is read.
    pub root: &'a Path,
    /// The env's path as the scan shows it.
    pub env: &'a str,
    /// The env's path as its server sees it, when the scan reads it
    /// through a `path_map`: an absolute line naming the env that way is
    /// inside it.
    pub server_env: Option<&'a str>,
    /// The env's Python, for telling extension modules apart.
    pub python: Option<(u32, u32)>,
    /// Who owns a lower-cased prefix-relative path.
    pub owner: &'a dyn Fn(&str) -> Option<PthOwner>,
    /// The `.dist-info` folder of a pip distribution, by name.
    pub dist_info: &'a dyn Fn(&str) -> Option<PathBuf>,
}

impl Reader<'_> {
    /// Read the `.pth` files (and `.egg-link`s) `names` of site-packages
    /// `rel`.
    pub fn read(
        &self,
        rel: &str,
        names: &[String],
        seen_dirs: &mut Vec<String>,
        failures: &mut Vec<(PathBuf, FileProblem)>,
    ) -> Vec<PthFile> {
        let windows = rel.split('/').count() == 2;
        let mut files = Vec::new();
        for name in names
            .iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(".pth"))
        {
            let path = self.prefix.join(rel).join(name);
            let text = match check_within(&path, self.root).and_then(|()| read_capped_text(&path)) {
                Ok(text) => text,
                Err(e) => {
                    failures.push((path, e));
                    continue;
                }
            };
            let rel_path = format!("{rel}/{name}");
            let mut file = PthFile {
                owner: (self.owner)(&rel_path.to_ascii_lowercase()),
                path: rel_path,
                lines: Vec::new(),
                editables: Vec::new(),
            };
            for (line, raw) in parse_pth(&text) {
                let (text, kind) = match raw {
                    RawLine::Import(code) => (code, PthLineKind::Import),
                    RawLine::Path(p) => (p, self.path_kind(rel, p, windows, seen_dirs, failures)),
                };
                file.lines.push(PthLine {
                    line,
                    text: text.to_string(),
                    kind,
                });
            }
            file.editables
                .extend(self.pep660(rel, name, &file, failures));
            files.push(file);
        }
        // `setup.py develop`: NAME.egg-link names the source folder, which
        // `easy-install.pth` adds to sys.path.
        for link in names
            .iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(".egg-link"))
        {
            let Some(easy) = files
                .iter_mut()
                .find(|f| f.file_name().eq_ignore_ascii_case("easy-install.pth"))
            else {
                continue;
            };
            let path = self.prefix.join(rel).join(link);
            let source = match check_within(&path, self.root).and_then(|()| read_capped_text(&path))
            {
                Ok(text) => text.lines().next().unwrap_or("").trim().to_string(),
                Err(e) => {
                    failures.push((path, e));
                    continue;
                }
            };
            let project = link[..link.len() - ".egg-link".len()].to_string();
            let key = crate::paths::path_key(&source);
            let listed = easy
                .lines
                .iter()
                .any(|l| crate::paths::path_key(&l.text) == key);
            // An egg-link whose folder easy-install.pth does not add makes
            // nothing importable.
            if listed {
                easy.editables.push(Editable {
                    project,
                    kind: "egg-link".into(),
                    sources: vec![source],
                    modules: Vec::new(),
                });
            }
        }
        files
    }

    fn path_kind(
        &self,
        rel: &str,
        line: &str,
        windows: bool,
        seen_dirs: &mut Vec<String>,
        failures: &mut Vec<(PathBuf, FileProblem)>,
    ) -> PthLineKind {
        let mut resolved = resolve(self.env, rel, line, windows);
        if let (Resolved::Outside(_), Some(server)) = (&resolved, self.server_env) {
            if let inside @ Resolved::Inside(_) = resolve(server, rel, line, windows) {
                resolved = inside;
            }
        }
        let dir = match resolved {
            Resolved::Outside(dir) => return PthLineKind::Outside { dir },
            Resolved::Inside(dir) => dir,
        };
        let key = dir.to_ascii_lowercase();
        let on_disk = self.prefix.join(&dir);
        let exists = on_disk.is_dir();
        // site-packages itself, or a folder an earlier line added, adds
        // nothing new.
        let again = key == rel.to_ascii_lowercase() || seen_dirs.contains(&key);
        let mut modules = Vec::new();
        if exists && !again {
            seen_dirs.push(key);
            match check_within(&on_disk, self.root) {
                Ok(()) => modules = list_modules(&on_disk, self.python),
                Err(e) => failures.push((on_disk, e)),
            }
        }
        PthLineKind::Inside {
            dir,
            exists,
            modules,
        }
    }

    /// A PEP 660 editable install (`__editable__.NAME-VERSION.pth`): its
    /// path lines are its source folders; an `import` of a finder module
    /// names its modules in the finder's `MAPPING`; otherwise the
    /// dist-info's `top_level.txt` names them.
    fn pep660(
        &self,
        rel: &str,
        name: &str,
        file: &PthFile,
        failures: &mut Vec<(PathBuf, FileProblem)>,
    ) -> Option<Editable> {
        let lower = name.to_ascii_lowercase();
        let stem = lower.strip_prefix("__editable__.")?.strip_suffix(".pth")?;
        let project = name["__editable__.".len().."__editable__.".len() + stem.len()]
            .split('-')
            .next()
            .unwrap_or(stem)
            .to_string();
        let mut editable = Editable {
            project,
            kind: "pep660".into(),
            sources: Vec::new(),
            modules: Vec::new(),
        };
        for line in &file.lines {
            match line.kind {
                PthLineKind::Import => {
                    let Some(finder) = finder_module(&line.text) else {
                        continue;
                    };
                    let path = self.prefix.join(rel).join(format!("{finder}.py"));
                    match check_within(&path, self.root).and_then(|()| read_capped_text(&path)) {
                        Ok(text) => {
                            for (module, source) in finder_mapping(&text) {
                                editable.modules.push(module);
                                editable.sources.push(source);
                            }
                        }
                        Err(e) => failures.push((path, e)),
                    }
                }
                _ => editable.sources.push(line.text.clone()),
            }
        }
        if editable.modules.is_empty() {
            if let Some(PthOwner::Pip(dist)) = &file.owner {
                let top_level = (self.dist_info)(dist).map(|d| d.join("top_level.txt"));
                if let Some(top_level) = top_level.filter(|t| t.is_file()) {
                    match check_within(&top_level, self.root)
                        .and_then(|()| read_capped_text(&top_level))
                    {
                        Ok(text) => editable.modules.extend(
                            text.lines()
                                .map(str::trim)
                                .filter(|l| !l.is_empty())
                                .take(MAX_FIELD_ENTRIES)
                                .map(str::to_string),
                        ),
                        Err(e) => failures.push((top_level, e)),
                    }
                }
            }
        }
        Some(editable)
    }
}

/// The top-level modules in a directory a `.pth` file adds: module folders
/// (package or namespace: gpaudit does not look inside), `.py` files, and
/// extensions built for `python` (or for any Python).
fn list_modules(dir: &Path, python: Option<(u32, u32)>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten().take(MAX_FIELD_ENTRIES) {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        // A link is not followed out of the env.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let probe = if kind.is_dir() {
            format!("Lib/site-packages/{name}/x")
        } else if kind.is_file() {
            format!("Lib/site-packages/{name}")
        } else {
            continue;
        };
        let Some(module) = super::modules::top_module(&probe) else {
            continue;
        };
        let foreign = crate::model::extension_python(&name)
            .is_some_and(|tag| python.is_some_and(|p| p != tag));
        if !foreign {
            out.push(module.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The module a PEP 660 `.pth` line imports: `import __editable___x_finder;
/// __editable___x_finder.install()` → `__editable___x_finder`.
fn finder_module(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("import")?.trim_start();
    let name = rest.split([';', ',', ' ', '\t']).next()?.trim();
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then_some(name)
}

/// CPython refuses deeper nesting; a finder module setuptools wrote nests
/// two levels.
const MAX_FINDER_BRACKETS: usize = 200;

/// The `MAPPING = {"module": "source folder", ...}` literal of a PEP 660
/// finder module (setuptools writes it, with or without an annotation):
/// each string key with its string value. Nothing else of the file is
/// used; a file that does not parse, or has no such literal, gives nothing.
pub fn finder_mapping(source: &str) -> Vec<(String, String)> {
    let mut depth = 0usize;
    for b in source.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FINDER_BRACKETS {
                    return Vec::new();
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // Ruff's parser and the AST's drop recurse as deep as an expression
    // nests (`not not ... x`): run them on a grown stack.
    stacker::maybe_grow(1024 * 1024, 256 * 1024 * 1024, || mapping_of(source))
}

fn mapping_of(source: &str) -> Vec<(String, String)> {
    use ruff_python_ast::{Expr, Stmt};
    let Ok(parsed) = ruff_python_parser::parse_module(source) else {
        return Vec::new();
    };
    let is_mapping = |target: &Expr| matches!(target, Expr::Name(n) if n.id.as_str() == "MAPPING");
    let dict = parsed.syntax().body.iter().find_map(|stmt| match stmt {
        Stmt::Assign(a) if a.targets.iter().any(is_mapping) => Some(&*a.value),
        Stmt::AnnAssign(a) if is_mapping(&a.target) => a.value.as_deref(),
        _ => None,
    });
    let Some(Expr::Dict(dict)) = dict else {
        return Vec::new();
    };
    dict.items
        .iter()
        .take(MAX_FIELD_ENTRIES)
        .filter_map(|item| match (&item.key, &item.value) {
            (Some(Expr::StringLiteral(k)), Expr::StringLiteral(v)) => {
                Some((k.value.to_str().to_string(), v.value.to_str().to_string()))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_site_py_reads_them() {
        let text = "# pywin32\r\nwin32\r\nwin32\\lib\r\n\r\n  \nPythonwin  \r # not a comment\nimport pywin32_bootstrap\nimport\tx\nimportant\n";
        let lines = parse_pth(text);
        assert_eq!(
            lines,
            vec![
                (2, RawLine::Path("win32")),
                (3, RawLine::Path("win32\\lib")),
                (6, RawLine::Path("Pythonwin")),
                (7, RawLine::Path(" # not a comment")),
                (8, RawLine::Import("import pywin32_bootstrap")),
                (9, RawLine::Import("import\tx")),
                (10, RawLine::Path("important")),
            ]
        );
        assert!(parse_pth("").is_empty());
    }

    #[test]
    fn paths_resolve_inside_or_outside_the_env_with_windows_rules() {
        let env = r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python\envs\hydro";
        let sp = "Lib/site-packages";
        let inside = |s: &str| Resolved::Inside(s.to_string());
        let outside = |s: &str| Resolved::Outside(s.to_string());
        assert_eq!(
            resolve(env, sp, r"win32\lib", true),
            inside("Lib/site-packages/win32/lib")
        );
        assert_eq!(
            resolve(env, sp, r".\a\..\b", true),
            inside("Lib/site-packages/b")
        );
        assert_eq!(resolve(env, sp, r"..\..\Scripts", true), inside("Scripts"));
        assert_eq!(
            resolve(env, sp, r"\\fileserver\gp\lib", true),
            outside(r"\\fileserver\gp\lib")
        );
        assert_eq!(resolve(env, sp, r"D:\gp", true), outside(r"D:\gp"));
        assert_eq!(resolve(env, sp, "D:gp", true), outside("D:gp"));
        assert_eq!(resolve(env, sp, r"\gp", true), outside(r"\gp"));
        assert_eq!(
            resolve(
                env,
                sp,
                r"c:\program files\arcgis\server\framework\runtime\arcgis\bin\python\envs\HYDRO\Lib\site-packages\win32",
                true
            ),
            inside("Lib/site-packages/win32")
        );
        assert_eq!(
            resolve(env, sp, r"..\..\..\shared", true),
            outside(&format!(r"{env}\Lib\site-packages\..\..\..\shared"))
        );
        // In a Linux env a backslash is part of a name, and `D:` is not a drive.
        let lin = "/opt/envs/hydro";
        let lsp = "lib/python3.9/site-packages";
        assert_eq!(
            resolve(lin, lsp, r"a\b", false),
            inside(r"lib/python3.9/site-packages/a\b")
        );
        assert_eq!(
            resolve(lin, lsp, "/opt/envs/hydro/extra", false),
            inside("extra")
        );
        assert_eq!(resolve(lin, lsp, "/mnt/gp", false), outside("/mnt/gp"));
    }

    #[test]
    fn the_finder_mapping_is_read_statically() {
        let finder = r#"from __future__ import annotations
import sys
MAPPING: dict[str, str] = {'clusterkit': 'D:\\src\\clusterkit\\clusterkit', 'ck_extra': "D:/src/x"}
NAMESPACES: dict[str, list[str]] = {}
"#;
        assert_eq!(
            finder_mapping(finder),
            vec![
                (
                    "clusterkit".to_string(),
                    r"D:\src\clusterkit\clusterkit".to_string()
                ),
                ("ck_extra".to_string(), "D:/src/x".to_string()),
            ]
        );
        assert_eq!(
            finder_mapping("MAPPING = {'a': '/x', **other, 1: 'y'}"),
            vec![("a".to_string(), "/x".to_string())]
        );
        assert!(finder_mapping("MAPPING = dict(a='/x')").is_empty());
        assert!(finder_mapping("def (").is_empty());
        assert!(finder_mapping(&"[".repeat(10_000)).is_empty());
        assert_eq!(
            finder_module(
                "import __editable___ck_0_3_finder; __editable___ck_0_3_finder.install()"
            ),
            Some("__editable___ck_0_3_finder")
        );
        assert_eq!(finder_module("import os, sys"), Some("os"));
        assert_eq!(finder_module("import ../x"), None);
    }
}
