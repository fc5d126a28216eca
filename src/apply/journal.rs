//! The apply journal: an append-only JSON-lines file beside the plan, one
//! entry written and flushed to disk before a step starts and right after
//! it ends, each with the step's id and checksum. It is what `--resume`
//! reads to skip finished steps, and what the admin reads afterwards.

use crate::exec::Finished;
use crate::paths;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const JOURNAL_SCHEMA: u32 = 1;

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Done,
    Failed,
    /// Not run, because an earlier step of its env failed.
    Skipped,
}

/// A service's state as a step saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    pub service: String,
    /// `STARTED`/`STOPPED` before the step, or `unknown`.
    pub before: String,
    /// `STARTED`/`STOPPED` after the step, or `unknown`.
    pub after: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub problem: String,
}

/// One line of the journal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    /// An apply (or rollback) started.
    Run {
        schema: u32,
        /// The checksum of the plan it applies.
        plan: String,
        site: String,
        at: String,
        pid: u32,
        host: String,
        command: String,
    },
    Begin {
        step: String,
        checksum: String,
        at: String,
    },
    End {
        step: String,
        checksum: String,
        at: String,
        status: StepStatus,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Finished>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        services: Vec<ServiceState>,
    },
    /// A rollback of one env.
    Rollback {
        machine: String,
        env: String,
        at: String,
        ok: bool,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Finished>,
    },
    /// A step started a process (proup): where, its id and start time, so
    /// a resume after a crash can refuse to start a second one beside it.
    Child {
        step: String,
        pid: u32,
        host: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started: Option<String>,
        at: String,
    },
    /// The run stopped on Ctrl-C after finishing its current step.
    Interrupted { at: String },
    /// The run reached its end.
    Finished { at: String, ok: bool },
}

impl Entry {
    /// The entry that opens a run of `command` on `plan`.
    pub fn run(plan: &crate::migrate::MigrationPlan, command: &str) -> Entry {
        Entry::Run {
            schema: JOURNAL_SCHEMA,
            plan: plan.checksum(),
            site: plan.site.clone(),
            at: now(),
            pid: std::process::id(),
            host: super::lock::host_name(),
            command: command.to_string(),
        }
    }
}

/// Why the journal cannot be used. Nothing is written when this happens.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: cannot write the journal: {cause}")]
    Io { path: String, cause: std::io::Error },
}

/// An open journal: what earlier runs recorded, and the file to append to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    entries: Vec<Entry>,
    /// The file ends in a line cut short by a crash: the length of what
    /// comes before it, to which the next append cuts the file first.
    torn: Option<u64>,
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

impl Journal {
    /// Read a journal (a missing file is an empty one). A last line cut
    /// short by a crash is dropped: its step is treated as unfinished.
    pub fn read(path: &Path) -> Result<Journal, JournalError> {
        let invalid = |message: String| JournalError::Invalid {
            path: paths::display(path),
            message,
        };
        let text = match crate::read::read_capped_text_if_exists(path) {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => return Err(invalid(e.message)),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut entries = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => entries.push(e),
                Err(_) if i + 1 == lines.len() && !complete => {}
                Err(e) => return Err(invalid(format!("line {}: not a journal entry: {e}", i + 1))),
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file: None,
            entries,
            torn: (!text.is_empty() && !complete)
                .then(|| text.rfind('\n').map_or(0, |i| i as u64 + 1)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The plan checksum of the first run recorded.
    pub fn plan_checksum(&self) -> Option<&str> {
        self.entries.iter().find_map(|e| match e {
            Entry::Run { plan, .. } => Some(plan.as_str()),
            _ => None,
        })
    }

    /// The last end recorded for `step`.
    pub fn last_end(&self, step: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| matches!(e, Entry::End { step: s, .. } if s == step))
    }

    /// The process `step` started and whose end was never recorded:
    /// `(pid, host, start time)`.
    pub fn unfinished_child(&self, step: &str) -> Option<(u32, &str, Option<&str>)> {
        for e in self.entries.iter().rev() {
            match e {
                Entry::End { step: s, .. } if s == step => return None,
                Entry::Child {
                    step: s,
                    pid,
                    host,
                    started,
                    ..
                } if s == step => return Some((*pid, host.as_str(), started.as_deref())),
                _ => {}
            }
        }
        None
    }

    /// Whether `step` finished (in any earlier run).
    pub fn is_done(&self, step: &str) -> bool {
        matches!(
            self.last_end(step),
            Some(Entry::End {
                status: StepStatus::Done,
                ..
            })
        )
    }

    /// Whether `step` was begun and its end never recorded (the run
    /// crashed or was killed in it).
    pub fn was_cut_short(&self, step: &str) -> bool {
        let last_begin = self
            .entries
            .iter()
            .rposition(|e| matches!(e, Entry::Begin { step: s, .. } if s == step));
        let last_end = self
            .entries
            .iter()
            .rposition(|e| matches!(e, Entry::End { step: s, .. } if s == step));
        match (last_begin, last_end) {
            (Some(b), Some(e)) => b > e,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Whether `step` was ever begun.
    pub fn was_begun(&self, step: &str) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, Entry::Begin { step: s, .. } if s == step))
    }

    /// Append an entry and flush it to disk before returning.
    pub fn append(&mut self, entry: Entry) -> Result<(), JournalError> {
        let io = |cause| JournalError::Io {
            path: paths::display(&self.path),
            cause,
        };
        if self.file.is_none() {
            if let Some(len) = self.torn.take() {
                // Through a plain write handle: an append-only one may not
                // truncate (Windows).
                OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .and_then(|f| f.set_len(len))
                    .map_err(io)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(io)?;
            self.file = Some(file);
        }
        let mut line = serde_json::to_string(&entry).map_err(|e| JournalError::Invalid {
            path: paths::display(&self.path),
            message: e.to_string(),
        })?;
        line.push('\n');
        if let Some(file) = self.file.as_mut() {
            file.write_all(line.as_bytes()).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        self.entries.push(entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(step: &str, status: StepStatus) -> Entry {
        Entry::End {
            step: step.into(),
            checksum: "c".into(),
            at: now(),
            status,
            detail: String::new(),
            output: None,
            services: Vec::new(),
        }
    }

    #[test]
    fn entries_survive_a_reopen_and_a_torn_last_line_is_an_unfinished_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.journal.jsonl");
        let mut j = Journal::read(&path).unwrap();
        assert!(j.is_empty());
        for step in ["a", "b"] {
            j.append(Entry::Begin {
                step: step.into(),
                checksum: "c".into(),
                at: now(),
            })
            .unwrap();
        }
        j.append(end("a", StepStatus::Done)).unwrap();
        drop(j);
        // A crash while writing b's end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"event\":\"end\",\"step\":\"b\",\"chec")
            .unwrap();
        let mut j = Journal::read(&path).unwrap();
        assert!(j.is_done("a"));
        assert!(!j.is_done("b"));
        assert!(j.was_cut_short("b"));
        assert!(!j.was_cut_short("a"));
        // The next run appends after the torn line, and the journal stays
        // readable.
        j.append(end("b", StepStatus::Done)).unwrap();
        let j = Journal::read(&path).unwrap();
        assert!(j.is_done("b"));
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_refused_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "{\"event\":\"interrupted\",\"at\":\"x\"}\nnot json\n{\"event\":\"interrupted\",\"at\":\"x\"}\n").unwrap();
        let e = Journal::read(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn the_last_end_of_a_step_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::read(&dir.path().join("j.jsonl")).unwrap();
        j.append(end("p", StepStatus::Failed)).unwrap();
        assert!(!j.is_done("p"));
        j.append(end("p", StepStatus::Done)).unwrap();
        assert!(j.is_done("p"));
    }
}
