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
    pub fn subcommand(&self) -> Option<&str> {
        let cmd = self.cmd.as_deref()?;
        cmd.split_whitespace()
            .skip(1)
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
