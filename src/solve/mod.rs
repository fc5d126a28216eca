//! The offline solve behind `audit --target R --channel ...`: would proup,
//! re-creating a clone on the target release, find versions of the packages
//! the admin asked for that fit the new stack? Solves the target's
//! `arcgispro` (or `arcpy`) version plus the clone's requested specs with
//! `rattler_solve`'s resolvo backend, over local channels (`channels`), for
//! win-64. Pure computation over loaded data: no I/O, no network; the check
//! that turns the outcome into findings is `checks::upgrade_solve`.

pub mod channels;

pub use channels::{ChannelError, Channels};

use rattler_conda_types::{GenericVirtualPackage, MatchSpec, PackageName, RepoDataRecord};
use rattler_solve::{ChannelPriority, SolveError, SolverImpl, SolverTask};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// How long one solve may take before it is reported as failed: a solve
/// over Esri's and main's repodata takes a fraction of a second.
const SOLVE_TIMEOUT: Duration = Duration::from_secs(60);

/// At most this many lines of the solver's explanation go into a finding.
const EXPLANATION_LINES: usize = 8;

/// The virtual packages of a 64-bit Windows machine (ArcGIS Server's),
/// whatever OS gpaudit runs on.
pub fn win64_virtual_packages() -> Vec<GenericVirtualPackage> {
    let vp = |name: &str, version: &str, build: &str| {
        Some(GenericVirtualPackage {
            name: PackageName::from_str(name).ok()?,
            version: version.parse().ok()?,
            build_string: build.parse().ok()?,
        })
    };
    [vp("__win", "0", "0"), vp("__archspec", "1", "x86_64")]
        .into_iter()
        .flatten()
        .collect()
}

/// What one solve gave.
#[derive(Debug)]
pub enum Outcome {
    /// The records of the solved env.
    Solved(Vec<RepoDataRecord>),
    /// No set of packages satisfies the specs: the solver's explanation.
    Unsolvable(String),
    /// The solver could not run (timeout, bad records).
    Failed(String),
}

/// Solve `specs` over the channels for win-64 (channel priority flexible,
/// as conda's default: a higher channel's candidates come first).
pub fn solve(channels: &Channels, specs: &[MatchSpec]) -> Outcome {
    let mut task = SolverTask::from_iter(channels.channels.iter().map(|c| &c.records));
    task.specs = specs.to_vec();
    task.virtual_packages = win64_virtual_packages();
    task.channel_priority = ChannelPriority::Flexible;
    task.timeout = Some(SOLVE_TIMEOUT);
    match rattler_solve::resolvo::Solver.solve(task) {
        Ok(result) => Outcome::Solved(result.records),
        Err(SolveError::Unsolvable(messages)) => Outcome::Unsolvable(messages.join("\n")),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// An added package's spec that cannot be installed on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedSpec {
    /// The spec as requested (`pyarrow=0.17`).
    pub spec: String,
    pub name: String,
    /// Target packages the solver names in the conflict, with the version
    /// the target alone solves to (`python 3.11.8`).
    pub blockers: Vec<String>,
    /// The solver's explanation, shortened.
    pub explanation: String,
}

/// What proup's re-creation of one clone would do, as far as a solve knows.
#[derive(Debug)]
pub enum Verdict {
    /// It solves: every package of the new env, name → (version, build).
    Solved(BTreeMap<String, (String, String)>),
    /// The channels cannot even install the target release by itself.
    TargetUnsolvable(String),
    /// These requested specs cannot be installed on the target.
    Blocked(Vec<BlockedSpec>),
    /// Each requested spec fits alone, but not all together.
    Conflicting(String),
    Failed(String),
}

/// Solve the target (`arcgispro 3.3.*`) with the requested specs; when that
/// fails, find which requested specs fail on the target by themselves and
/// which target packages the solver blames.
pub fn solve_upgrade(channels: &Channels, target: &MatchSpec, requested: &[MatchSpec]) -> Verdict {
    let mut specs = vec![target.clone()];
    specs.extend(requested.iter().cloned());
    let whole = match solve(channels, &specs) {
        Outcome::Solved(records) => return Verdict::Solved(by_name(&records)),
        Outcome::Failed(e) => return Verdict::Failed(e),
        Outcome::Unsolvable(why) => why,
    };
    let stack = match solve(channels, std::slice::from_ref(target)) {
        Outcome::Solved(records) => by_name(&records),
        Outcome::Unsolvable(why) => return Verdict::TargetUnsolvable(shorten(&why)),
        Outcome::Failed(e) => return Verdict::Failed(e),
    };
    let mut blocked = Vec::new();
    for spec in requested {
        let alone = [target.clone(), spec.clone()];
        let why = match solve(channels, &alone) {
            Outcome::Solved(_) => continue,
            Outcome::Unsolvable(why) => why,
            Outcome::Failed(e) => return Verdict::Failed(e),
        };
        let name = spec
            .name
            .as_exact()
            .map(|n| n.as_normalized().to_string())
            .unwrap_or_else(|| spec.to_string());
        blocked.push(BlockedSpec {
            spec: spec.to_string(),
            blockers: blockers(&why, &stack, &name),
            name,
            explanation: shorten(&why),
        });
    }
    if blocked.is_empty() {
        Verdict::Conflicting(shorten(&whole))
    } else {
        Verdict::Blocked(blocked)
    }
}

fn by_name(records: &[RepoDataRecord]) -> BTreeMap<String, (String, String)> {
    records
        .iter()
        .map(|r| {
            let p = &r.package_record;
            (
                p.name.as_normalized().to_string(),
                (p.version.as_str().to_string(), p.build.to_string()),
            )
        })
        .collect()
}

/// A line of resolvo's tree without its drawing characters.
fn bare(line: &str) -> &str {
    line.trim_start_matches(|c: char| c.is_whitespace() || "│├└─".contains(c))
        .trim_end()
}

/// The target packages the solver's explanation says conflict: the package
/// a "conflicts" line starts with, if the target stack has it; else any
/// target package the explanation names. The requested package itself and
/// the release's meta-packages are not blockers.
fn blockers(why: &str, stack: &BTreeMap<String, (String, String)>, own: &str) -> Vec<String> {
    let skip = |n: &str| n == own || n == "arcgispro" || n == "arcpy";
    let add = |found: &mut Vec<String>, name: &str| {
        if let Some((version, _)) = stack.get(name) {
            let shown = format!("{name} {version}");
            if !skip(name) && !found.contains(&shown) {
                found.push(shown);
            }
        }
    };
    let mut found: Vec<String> = Vec::new();
    for line in why.lines().map(bare).filter(|l| l.contains("conflict")) {
        if let Some(first) = line.split([' ', ',']).next() {
            add(&mut found, first);
        }
    }
    if found.is_empty() {
        for word in why.split(|c: char| !(c.is_alphanumeric() || "-_.".contains(c))) {
            add(&mut found, word);
        }
    }
    found
}

/// The solver's explanation in at most `EXPLANATION_LINES` lines, joined
/// with ` / ` so that it fits a finding's message.
pub fn shorten(why: &str) -> String {
    let lines: Vec<&str> = why.lines().map(bare).filter(|l| !l.is_empty()).collect();
    let mut out = lines
        .iter()
        .take(EXPLANATION_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join(" / ");
    if lines.len() > EXPLANATION_LINES {
        out.push_str(&format!(
            " / ({} more lines)",
            lines.len() - EXPLANATION_LINES
        ));
    }
    out
}

#[cfg(test)]
mod tests;
