//! `gpaudit diff`: two envs, each from any listing form (or a site's
//! machine/env), compared package by package. Builds the diff as data (a
//! versioned JSON document) and renders it as a table or Markdown. Each
//! change gets the severity the rule book gives the matching `reference-*`
//! finding, so `--fail-on` means the same here as in an audit.

use crate::compare::{compare, Change};
use crate::finding::Severity;
use crate::model::ToolInfo;
use crate::reference::{self, split_selector, EnvFormat, EnvListing, ReadError, Selection};
use crate::roles::Roles;
use crate::rules::RuleBook;
use crate::scan;
use crate::site::Site;
use serde::Serialize;
use std::path::Path;

/// Version of the diff JSON; bumped when a field changes meaning.
pub const DIFF_SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub schema: u32,
    pub kind: &'static str,
    pub tool: ToolInfo,
    pub a: DiffSide,
    pub b: DiffSide,
    pub summary: DiffSummary,
    pub changes: Vec<DiffEntry>,
}

#[derive(Debug, Serialize)]
pub struct DiffSide {
    pub source: String,
    pub format: EnvFormat,
    pub packages: usize,
}

#[derive(Debug, Serialize, Default, PartialEq, Eq)]
pub struct DiffSummary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

#[derive(Debug, Serialize)]
pub struct DiffEntry {
    pub severity: Severity,
    #[serde(flatten)]
    pub change: Change,
}

/// Compare `a` (the reference side) with `b`.
pub fn diff(a: &EnvListing, b: &EnvListing) -> DiffReport {
    let rules = RuleBook::builtin();
    let roles = Roles::builtin();
    let changes: Vec<DiffEntry> = compare(a, b, &roles)
        .into_iter()
        .map(|change| DiffEntry {
            severity: rules.severity(change.code(), Some(change.condition())),
            change,
        })
        .collect();
    let count = |s| changes.iter().filter(|c| c.severity == s).count();
    let side = |l: &EnvListing| DiffSide {
        source: l.source.clone(),
        format: l.format,
        packages: l.packages.len(),
    };
    DiffReport {
        schema: DIFF_SCHEMA,
        kind: "gpaudit-diff",
        tool: ToolInfo::current(),
        a: side(a),
        b: side(b),
        summary: DiffSummary {
            error: count(Severity::Error),
            warning: count(Severity::Warning),
            info: count(Severity::Info),
        },
        changes,
    }
}

/// Read one side: a listing in any form, or a site (its file or folder)
/// with a machine and env picked by `#MACHINE/ENV` or by `machine`/`env`.
pub fn load_side(
    arg: &str,
    machine: Option<&str>,
    env: Option<&str>,
    forced: Option<EnvFormat>,
) -> Result<EnvListing, ReadError> {
    let (path, inline) = split_selector(arg);
    let select = match inline.as_deref() {
        Some(sel) => Selection::inline(Some(sel)),
        None => Selection {
            machine,
            env,
            strict: false,
        },
    };
    if forced.is_none() {
        if let Some(site) = site_at(&path)? {
            return site_env(site, select.machine, select.env);
        }
    }
    reference::load(&path, select, forced)
}

/// The site file at `path` (or in the folder `path`), if it is one.
fn site_at(path: &Path) -> Result<Option<Site>, ReadError> {
    let file = if path.is_dir() {
        path.join("site.toml")
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Ok(None);
    }
    let Ok(text) = crate::read::read_capped_text(&file) else {
        return Ok(None);
    };
    if !text
        .lines()
        .any(|l| l.trim_start().starts_with("[[machine]]"))
    {
        return Ok(None);
    }
    Site::parse(&text, &file).map(Some).map_err(|e| ReadError {
        path: crate::paths::display(&file),
        message: e.to_string(),
    })
}

/// Pick one env of a site and read only it: the site is listed (its
/// services and every machine's envs, unread), the env is chosen on that
/// listing, and then only that env is read. The listing and its warnings are
/// the ones a scan of the whole site gives.
fn site_env(site: Site, machine: Option<&str>, env: Option<&str>) -> Result<EnvListing, ReadError> {
    let lookup_failed = |e: crate::model::LookupError| ReadError {
        path: crate::paths::display(&site.file),
        message: e.to_string(),
    };
    let listed = scan::list_site(&site);
    let (want_machine, want_path) = listed
        .snapshot()
        .select_env(machine, env)
        .map(|(m, e)| (m.name.clone(), e.path.clone()))
        .map_err(lookup_failed)?;
    let snapshot = listed.read_envs(|m, e| m.name == want_machine && e.path == want_path);
    let (found_machine, found) = snapshot.select_env(machine, env).map_err(lookup_failed)?;
    let mut listing = EnvListing::from_env(found, format!("{}/{}", found_machine.name, found.name));
    listing.warnings = snapshot
        .scan_errors
        .iter()
        .filter(|e| e.env_path.as_deref() == Some(found.path.as_str()))
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    Ok(listing)
}

/// The folders (or file) an input reads, which output must not land in: a
/// prefix, a site's install dirs, extra envs and config store, or the file.
pub fn read_roots(arg: &str) -> Vec<std::path::PathBuf> {
    let (path, _) = split_selector(arg);
    match site_at(&path) {
        Ok(Some(site)) => {
            let mut roots: Vec<std::path::PathBuf> = Vec::new();
            for m in &site.machines {
                roots.push(m.install_dir.clone());
                roots.extend(m.extra_envs.iter().cloned());
            }
            roots.extend(site.config_store.clone());
            roots.push(site.file.clone());
            roots
        }
        _ => vec![path],
    }
}

impl DiffReport {
    /// Both sides: where from, which form, how many packages.
    pub fn header(&self) -> String {
        format!(
            "A: {} ({}, {} packages)\nB: {} ({}, {} packages)\n",
            self.a.source,
            self.a.format.describe(),
            self.a.packages,
            self.b.source,
            self.b.format.describe(),
            self.b.packages
        )
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        format!(
            "{} difference(s): {} error, {} warning, {} info",
            self.changes.len(),
            s.error,
            s.warning,
            s.info
        )
    }
}

/// `upgraded (minor)` and the like.
pub fn change_label(c: &Change) -> String {
    match c.magnitude {
        Some(m) if m != crate::compare::Magnitude::Build => {
            format!("{} ({})", c.kind.as_str(), m.as_str())
        }
        _ => c.kind.as_str().to_string(),
    }
}

/// One side of a change: `1.20.1 py39_0 [esri]`, or `-` when absent.
pub fn side_text(p: Option<&crate::reference::EnvPackage>) -> String {
    match p {
        None => "-".into(),
        Some(p) => match &p.channel {
            Some(ch) => format!("{} [{ch}]", p.describe()),
            None => p.describe(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/fixtures/reference/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn same_env_in_two_forms_differs_only_where_the_forms_do() {
        let a = load_side(&fixture("conda-list.json"), None, None, None).unwrap();
        let b = load_side(&fixture("conda-list-export.txt"), None, None, None).unwrap();
        let report = diff(&a, &b);
        // conda list --export carries no channels: nothing to compare there.
        assert!(report.changes.is_empty(), "{:?}", report.changes);
    }

    #[test]
    fn pip_view_of_a_conda_env() {
        let a = load_side(&fixture("conda-list.json"), None, None, None).unwrap();
        let b = load_side(&fixture("pip-list.json"), None, None, None).unwrap();
        let report = diff(&a, &b);
        let got: Vec<String> = report
            .changes
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e.severity,
                    e.change.name,
                    change_label(&e.change)
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "info arcgis channel-changed",
                "error arcpy removed",
                "warning ca-certificates removed",
                "info certifi added",
                "error gdal removed",
                "info numpy channel-changed",
                "info pandas channel-changed",
                "error python removed",
                "info python-dateutil added",
            ]
        );
        assert!(report
            .summary_line()
            .contains("9 difference(s): 3 error, 1 warning, 5 info"));
    }
}
