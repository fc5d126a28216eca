//! `conda-meta/history` as data: one block per conda command, and what a
//! block means (which subcommand, whether it changed the env).

use serde::{Deserialize, Serialize};

/// One block of `conda-meta/history`.
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub timestamp: String,
    pub cmd: Option<String>,
    pub conda_version: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub update_specs: Vec<String>,
    pub remove_specs: Vec<String>,
}

impl HistoryEntry {
    /// The conda subcommand this block records (`install`, `create`, ...).
    /// The executable may hold spaces (`C:\\Program Files\\...\\conda-script.py`):
    /// the subcommand is the first word that is not an option after the
    /// last word naming conda's entry point, else after the first word.
    pub fn subcommand(&self) -> Option<&str> {
        let cmd = self.cmd.as_deref()?;
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let start = words
            .iter()
            .rposition(|w| is_conda_entry_point(w))
            .map_or(1, |i| i + 1);
        words[start.min(words.len())..]
            .iter()
            .copied()
            .find(|word| !word.starts_with('-'))
    }

    /// Whether this block changed the env after it was created: a conda
    /// install/update/remove, or any package added or removed outside a
    /// `create`.
    pub fn is_modification(&self) -> bool {
        match self.subcommand() {
            Some("create") => false,
            Some("install" | "update" | "upgrade" | "remove" | "uninstall") => true,
            _ => {
                !self.update_specs.is_empty()
                    || !self.remove_specs.is_empty()
                    || !self.removed.is_empty()
            }
        }
    }
}

/// Whether a `# cmd:` word is conda's entry point (`conda`, `conda.exe`,
/// `conda-script.py`, quoted or not, with or without a folder).
fn is_conda_entry_point(word: &str) -> bool {
    let word = word.trim_matches(['"', '\'']);
    let file = word.rsplit(['/', '\\']).next().unwrap_or(word);
    let file = file.to_ascii_lowercase();
    let stem = file
        .strip_suffix(".exe")
        .or_else(|| file.strip_suffix(".bat"))
        .or_else(|| file.strip_suffix(".py"))
        .unwrap_or(&file);
    matches!(stem, "conda" | "conda-script" | "mamba" | "mamba-script")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cmd: &str) -> HistoryEntry {
        HistoryEntry {
            cmd: Some(cmd.into()),
            ..HistoryEntry::default()
        }
    }

    #[test]
    fn issue_13_item_9_history_cmd_with_spaces_in_the_conda_path_is_a_create() {
        let e = entry(
            r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python\Scripts\conda-script.py create --clone arcgispro-py3 -p D:\envs\hydro",
        );
        assert_eq!(e.subcommand(), Some("create"));
        assert!(!e.is_modification());
        let e = entry(
            r#""C:\Program Files\ArcGIS\Pro\bin\Python\Scripts\conda.exe" install -n hydro numpy"#,
        );
        assert_eq!(e.subcommand(), Some("install"));
        assert!(e.is_modification());
        assert_eq!(entry("conda install numpy").subcommand(), Some("install"));
        assert_eq!(
            entry("/opt/x/bin/python -m conda remove x").subcommand(),
            Some("remove")
        );
    }
}
