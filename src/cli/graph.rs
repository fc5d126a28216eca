//! `gpaudit graph`: an env's dependency graph, or who pulls a package in.

use anyhow::anyhow;
use gpaudit::audit;
use gpaudit::graph::{self, Query};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `graph`.
#[derive(Debug)]
pub struct Args {
    pub input: PathBuf,
    pub machine: String,
    pub env: String,
    pub dot: bool,
    pub query: Option<super::args::GraphQuery>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    use super::args::GraphQuery;
    // Only the asked env is read from a site file (and the services, for
    // `dependents`); the answer is the one a scan of the whole site gives.
    let loaded = audit::load_envs(std::slice::from_ref(&args.input), |s| {
        s.find_env(&args.machine, &args.env)
            .map(|found| vec![found])
    })?;
    let (machine, env) = loaded.snapshot.find_env(&args.machine, &args.env)?;
    let query = match (args.dot, args.query) {
        (true, Some(_)) => {
            return Err(anyhow!(
                "--dot prints the whole graph; it cannot be combined with why or dependents"
            ))
        }
        (true, None) => Query::Dot,
        (false, Some(GraphQuery::Why { package })) => Query::Why(package),
        (false, Some(GraphQuery::Dependents { package })) => Query::Dependents(package),
        (false, None) => Query::Summary,
    };
    super::common::out(&graph::answer(machine, env, &query)?);
    Ok(ExitCode::SUCCESS)
}
