//! What the `.pth` files of an env's site-packages say, as the scan read
//! them (never run): the directories they add to `sys.path`, their `import`
//! lines by name, and the editable installs they make (PEP 660
//! `__editable__.*.pth`, or an old `NAME.egg-link` with `easy-install.pth`).
//! Stored in the snapshot; the [`super::EnvIndex`] turns it into providers.

use serde::{Deserialize, Serialize};

/// One `.pth` file of site-packages.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PthFile {
    /// Prefix-relative path (`Lib/site-packages/pywin32.pth`).
    pub path: String,
    /// Who installed it; `None` when no conda record and no pip `RECORD`
    /// lists it (made by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<PthOwner>,
    /// Its path and `import` lines, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<PthLine>,
    /// The editable installs it makes: one for a PEP 660 file, one per
    /// `.egg-link` whose folder `easy-install.pth` adds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editables: Vec<Editable>,
}

/// The conda package or pip distribution a `.pth` file belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PthOwner {
    Conda(String),
    Pip(String),
}

/// A line of a `.pth` file that Python acts on (blank and `#` lines are
/// left out, as `site.py` skips them).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PthLine {
    /// 1-based line number.
    pub line: usize,
    /// The line as written (trailing white space removed, as `site.py` does).
    pub text: String,
    pub kind: PthLineKind,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum PthLineKind {
    /// `import ...`: Python runs it at every start; gpaudit names it only.
    Import,
    /// A directory inside the env (prefix-relative), and the top-level
    /// modules found in it. `exists` is false when it is not on disk
    /// (Python then skips it).
    Inside {
        dir: String,
        exists: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        modules: Vec<String>,
    },
    /// A directory outside the env (a share, another drive), as Python
    /// would join it; not read by gpaudit.
    Outside { dir: String },
}

/// An editable install: the project's code stays in its source folder.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Editable {
    /// The project's name (from the file names).
    pub project: String,
    /// How it was made: `pep660` (`__editable__.*.pth`) or `egg-link`
    /// (`setup.py develop`).
    pub kind: String,
    /// Where its code is (as written), when the files say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The modules it provides by name (the PEP 660 finder's `MAPPING`, or
    /// the dist-info's `top_level.txt`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

impl PthFile {
    /// The directories outside the env it adds.
    pub fn outside(&self) -> impl Iterator<Item = &str> + '_ {
        self.lines.iter().filter_map(|l| match &l.kind {
            PthLineKind::Outside { dir } => Some(dir.as_str()),
            _ => None,
        })
    }

    /// The file's name (`pywin32.pth`).
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pth_files_round_trip_and_old_envs_read_without_them() {
        let file = PthFile {
            path: "Lib/site-packages/gp-share.pth".into(),
            owner: Some(PthOwner::Pip("x".into())),
            lines: vec![
                PthLine {
                    line: 1,
                    text: r"\\fileserver\gp\lib".into(),
                    kind: PthLineKind::Outside {
                        dir: r"\\fileserver\gp\lib".into(),
                    },
                },
                PthLine {
                    line: 2,
                    text: "import x".into(),
                    kind: PthLineKind::Import,
                },
            ],
            editables: vec![],
        };
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(serde_json::from_str::<PthFile>(&json).unwrap(), file);
        let old = r#"{"name": "hydro", "path": "/envs/hydro", "origin": "install",
            "packages": [], "pip": [], "pinned": null, "history": []}"#;
        let env: crate::model::Env = serde_json::from_str(old).unwrap();
        assert!(env.pth.is_none());
    }
}
