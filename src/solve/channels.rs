//! Reading the channels proup will use from local files (`--channel
//! DIR_OR_FILE`): a `repodata.json` file, a subdir folder holding one, or a
//! channel folder with `win-64/` and `noarch/` (what an admin downloads, or
//! the mirror a disconnected site keeps). Records are read with rattler's
//! `RepoData`; only win-64 and noarch records are kept (ArcGIS Server's envs
//! are Windows envs). Reads files; never touches the network.

use rattler_conda_types::{Channel, RepoData, RepoDataRecord};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The subdirs a Windows ArcGIS Server env installs from.
pub const SUBDIRS: &[&str] = &["win-64", "noarch"];

/// A channel argument that could not be read: the path and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ChannelError {
    pub path: String,
    pub problem: String,
}

fn error(path: &Path, problem: impl Into<String>) -> ChannelError {
    ChannelError {
        path: crate::paths::display(path),
        problem: problem.into(),
    }
}

/// Every `--channel` argument that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ChannelErrors(pub Vec<ChannelError>);

/// One `--channel` argument, read.
#[derive(Debug)]
pub struct LoadedChannel {
    /// The argument as given, for messages.
    pub name: String,
    /// The `repodata.json` files read from it.
    pub files: Vec<PathBuf>,
    /// Its win-64 and noarch records.
    pub records: Vec<RepoDataRecord>,
}

/// Every `--channel`, in the order given (the first has the highest
/// priority, as in conda's channel list).
#[derive(Debug, Default)]
pub struct Channels {
    pub channels: Vec<LoadedChannel>,
}

impl Channels {
    /// Read every argument (in parallel); every unreadable one is reported.
    pub fn load(args: &[PathBuf]) -> Result<Channels, ChannelErrors> {
        let results: Vec<Result<LoadedChannel, ChannelError>> =
            args.par_iter().map(|a| load_one(a)).collect();
        let mut channels = Vec::new();
        let mut problems = Vec::new();
        for r in results {
            match r {
                Ok(c) => channels.push(c),
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() {
            Ok(Channels { channels })
        } else {
            Err(ChannelErrors(problems))
        }
    }

    pub fn record_count(&self) -> usize {
        self.channels.iter().map(|c| c.records.len()).sum()
    }

    /// Whether any channel has a package of this name.
    pub fn has_package(&self, name: &str) -> bool {
        self.channels.iter().any(|c| {
            c.records
                .iter()
                .any(|r| r.package_record.name.as_normalized() == name)
        })
    }

    /// `esri/ (2 files, 40 records), main.json (1 file, 30000 records)`.
    pub fn describe(&self) -> String {
        self.channels
            .iter()
            .map(|c| format!("{} ({} records)", c.name, c.records.len()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `repodata.json` files of an argument, and the channel folder their
/// records' URLs are relative to.
fn files_of(arg: &Path) -> Result<(PathBuf, Vec<PathBuf>), ChannelError> {
    if arg.is_file() {
        let parent = arg.parent().unwrap_or(Path::new("."));
        let in_subdir = parent
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SUBDIRS.contains(&n) || n.contains('-'));
        let channel_dir = if in_subdir {
            parent.parent().unwrap_or(Path::new("."))
        } else {
            parent
        };
        return Ok((channel_dir.to_path_buf(), vec![arg.to_path_buf()]));
    }
    if !arg.is_dir() {
        return Err(error(arg, "no such file or folder"));
    }
    let own = arg.join("repodata.json");
    if own.is_file() {
        // A subdir folder (`.../esri/win-64`).
        return files_of(&own);
    }
    let files: Vec<PathBuf> = SUBDIRS
        .iter()
        .map(|s| arg.join(s).join("repodata.json"))
        .filter(|p| p.is_file())
        .collect();
    if files.is_empty() {
        return Err(error(
            arg,
            "holds no repodata.json, win-64/repodata.json or noarch/repodata.json",
        ));
    }
    Ok((arg.to_path_buf(), files))
}

fn load_one(arg: &Path) -> Result<LoadedChannel, ChannelError> {
    let (dir, files) = files_of(arg)?;
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let channel = Channel::try_from_directory(&dir).map_err(|e| error(&dir, e.to_string()))?;
    let mut records = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).map_err(|e| error(file, e.to_string()))?;
        let mut repodata: RepoData = serde_json::from_slice(&bytes)
            .map_err(|e| error(file, format!("not a conda repodata.json: {e}")))?;
        let total = repodata.packages.len()
            + repodata.conda_packages.len()
            + repodata.v3.tar_bz2.len()
            + repodata.v3.conda.len();
        // A record without `subdir` is in the file's subdir; records of
        // other subdirs (and wheels) are dropped before rattler builds URLs
        // from the subdir.
        let file_subdir = repodata
            .info
            .as_ref()
            .and_then(|i| i.subdir.clone())
            .unwrap_or_default();
        let keep = |r: &mut rattler_conda_types::PackageRecord| {
            if r.subdir.is_empty() {
                r.subdir.clone_from(&file_subdir);
            }
            SUBDIRS.contains(&r.subdir.as_str())
        };
        repodata.packages.retain(|_, r| keep(r));
        repodata.conda_packages.retain(|_, r| keep(r));
        repodata.v3.tar_bz2.retain(|_, r| keep(r));
        repodata.v3.conda.retain(|_, r| keep(r));
        repodata.v3.whl.clear();
        let kept = repodata.into_repo_data_records(&channel);
        if total > 0 && kept.is_empty() {
            return Err(error(
                file,
                format!(
                    "none of its {total} records is for win-64 or noarch (ArcGIS Server's envs are Windows envs)"
                ),
            ));
        }
        records.extend(kept);
    }
    Ok(LoadedChannel {
        name: crate::paths::display(arg),
        files,
        records,
    })
}
