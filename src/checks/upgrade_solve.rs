//! `upgrade-unsolvable`, `upgrade-will-change`: with `audit --target R
//! --channel ...`, solve each clone's re-creation as proup does it (the
//! target's `arcgispro`, or `arcpy`, plus the specs the admin asked for in the
//! clone's history) over the given channels, and say what fails and what
//! moves. The solve itself is `crate::solve`; this module picks the specs and
//! words the findings. pip packages are not part of a conda solve.

use super::upgrade::{added, requested_specs, upgraded_clones};
use super::{env_finding, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, Machine};
use crate::release::Release;
use crate::solve::{solve_upgrade, Channels, Verdict};
use rattler_conda_types::{MatchSpec, ParseStrictness};
use rayon::prelude::*;

pub fn upgrade_solve(ctx: &Context) -> Vec<Finding> {
    let (Some(target), Some(channels)) = (&ctx.target, ctx.channels) else {
        return Vec::new();
    };
    let Some(target_spec) = target_spec(target, channels) else {
        return Vec::new();
    };
    upgraded_clones(ctx, target)
        .into_par_iter()
        .flat_map(|(machine, env, _)| solve_env(target, &target_spec, channels, machine, env))
        .collect()
}

/// `arcgispro 3.3.*`, or `arcpy 3.3.*` when the channels have no
/// arcgispro (Pro releases before 2.7 have no arcpy package).
fn target_spec(target: &Release, channels: &Channels) -> Option<MatchSpec> {
    let name = if target.package("arcgispro").is_some() && channels.has_package("arcgispro") {
        "arcgispro"
    } else {
        target.release_package()
    };
    let version = &target.package(name)?.version;
    MatchSpec::from_str(&format!("{name} {version}.*"), ParseStrictness::Lenient).ok()
}

fn solve_env(
    target: &Release,
    target_spec: &MatchSpec,
    channels: &Channels,
    machine: &Machine,
    env: &Env,
) -> Vec<Finding> {
    let added = added(machine, env);
    let specs = requested_specs(env, &added);
    let asked: Vec<String> = specs.iter().map(|s| format!("`{s}`")).collect();
    let asked = if asked.is_empty() {
        "no added package".to_string()
    } else {
        asked.join(", ")
    };
    let pip = if env.pip.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = env.pip.iter().map(|d| d.name.as_str()).collect();
        format!(
            " pip packages ({}) cannot be solved: proup reinstalls them from PyPI.",
            names.join(", ")
        )
    };
    let to = &target.server;
    let head = format!(
        "re-creating `{}` on {} for ArcGIS Server {to} (`{target_spec}` plus {asked}, solved over {})",
        env.name,
        machine.name,
        channels.describe()
    );
    let unsolvable = |message: String| {
        env_finding(Code::UpgradeUnsolvable, message, machine, env)
            .expected(format!("`{target_spec}` plus {asked} solve together"))
    };
    match solve_upgrade(channels, target_spec, &specs) {
        Verdict::Solved(new_env) => {
            let mut moves = Vec::new();
            for p in &added {
                let old = p.record.version.as_str();
                match new_env.get(p.name()) {
                    Some((new, _)) if !same_version(new, &p.record.version) => {
                        moves.push(format!("{} {old} -> {new}", p.name()))
                    }
                    Some(_) => {}
                    None => moves.push(format!("{} {old} -> not installed", p.name())),
                }
            }
            if moves.is_empty() {
                return Vec::new();
            }
            vec![env_finding(
                Code::UpgradeWillChange,
                format!(
                    "{head}: solves, and moves {} added package(s): {}.{pip}",
                    moves.len(),
                    moves.join(", ")
                ),
                machine,
                env,
            )
            .found(moves.join(", "))]
        }
        Verdict::Blocked(blocked) => blocked
            .into_iter()
            .map(|b| {
                let by = if b.blockers.is_empty() {
                    String::new()
                } else {
                    format!(", blocked by the target's {}", b.blockers.join(", "))
                };
                unsolvable(format!(
                    "{head}: fails; no version of {} (asked for as `{}`) fits the target{by}. Solver: {}.{pip}",
                    b.name, b.spec, b.explanation
                ))
                .package(&b.name)
                .found(format!("`{}`{by}", b.spec))
            })
            .collect(),
        Verdict::Conflicting(why) => vec![unsolvable(format!(
            "{head}: fails; each added package fits the target alone, but not all together. Solver: {why}.{pip}"
        ))],
        Verdict::TargetUnsolvable(why) => vec![unsolvable(format!(
            "{head}: fails; the channels cannot install `{target_spec}` by itself (are these the channels proup uses?). Solver: {why}"
        ))],
        Verdict::Failed(why) => vec![unsolvable(format!(
            "{head}: the solver did not finish: {why}"
        ))],
    }
}

fn same_version(text: &str, version: &rattler_conda_types::Version) -> bool {
    text.parse::<rattler_conda_types::Version>()
        .is_ok_and(|v| v == *version)
}
