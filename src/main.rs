//! The `gpaudit` binary: parses the command line, runs the library's phases
//! and maps outcomes to exit codes (0 clean, 1 findings at or above
//! `--fail-on`, 2 the site could not be audited). `anyhow` lives only here.

use anyhow::{anyhow, Context as _};
use clap::{Parser, Subcommand, ValueEnum};
use gpaudit::audit::{self, Loaded};
use gpaudit::graph::DepGraph;
use gpaudit::output;
use gpaudit::policy::Policy;
use gpaudit::report::{render_markdown, render_table};
use gpaudit::rules::RuleBook;
use gpaudit::{paths, Severity};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gpaudit",
    version,
    about = "Audit the Python environments and GP services of an ArcGIS Server site"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a site (site.toml, scanned now) or saved snapshots, and report every problem.
    Audit {
        /// A site.toml, or one or more snapshot files (one per machine) to merge.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Severity overrides and waivers (default: gpaudit.toml beside the first input).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Exit 1 when a finding is at or above this severity.
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
        /// Write the report to this file (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Gather everything the checks need into one versioned snapshot JSON.
    Scan {
        /// The site file.
        site: PathBuf,
        /// Where to write the snapshot (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Explore an env's dependency graph.
    Graph {
        /// A site.toml or a snapshot file.
        input: PathBuf,
        /// The machine (as named in the site file).
        #[arg(long)]
        machine: String,
        /// The env (name or path).
        #[arg(long)]
        env: String,
        /// Print the whole graph as Graphviz DOT.
        #[arg(long)]
        dot: bool,
        #[command(subcommand)]
        query: Option<GraphQuery>,
    },
    /// List every finding code with its default severity.
    Rules,
}

#[derive(Subcommand, Debug)]
enum GraphQuery {
    /// Who pulls PACKAGE in, as a tree up to the top-level packages.
    Why { package: String },
    /// Everything affected if PACKAGE changed, and the services that run in the env.
    Dependents { package: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gpaudit: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

fn emit(text: &str, output: Option<&Path>, loaded: Option<&Loaded>) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            if let Some(site) = loaded.and_then(|l| l.site.as_ref()) {
                let store = loaded
                    .and_then(|l| l.snapshot.site.config_store.as_deref())
                    .map(Path::new);
                output::check_outside_site(path, site, store)?;
            }
            output::write_atomic(path, text.as_bytes())?;
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Audit {
            inputs,
            config,
            format,
            fail_on,
            output,
        } => {
            let loaded = audit::load(&inputs)?;
            let policy = match config {
                Some(path) => Policy::load(&path)?,
                None => {
                    let beside = loaded.config_dir.join("gpaudit.toml");
                    if beside.is_file() {
                        Policy::load(&beside)?
                    } else {
                        Policy::default()
                    }
                }
            };
            let report = audit::audit(&loaded.snapshot, &policy, today());
            let text = match format {
                Format::Json => report.to_json() + "\n",
                Format::Markdown => render_markdown(&report),
                Format::Table => {
                    render_table(&report, output.is_none() && std::io::stdout().is_terminal())
                }
            };
            emit(&text, output.as_deref(), Some(&loaded))?;
            let failed = fail_on
                .threshold()
                .is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Scan { site, output } => {
            let loaded = audit::load(std::slice::from_ref(&site))?;
            if loaded.site.is_none() {
                return Err(anyhow!(
                    "{}: scan takes a site file, not a snapshot",
                    paths::display(&site)
                ));
            }
            let json = serde_json::to_string_pretty(&loaded.snapshot)
                .context("serializing the snapshot")?
                + "\n";
            emit(&json, output.as_deref(), Some(&loaded))?;
            for e in &loaded.snapshot.scan_errors {
                eprintln!("gpaudit: warning: {}: {}", e.path, e.message);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph {
            input,
            machine,
            env,
            dot,
            query,
        } => {
            let loaded = audit::load(std::slice::from_ref(&input))?;
            let snapshot = &loaded.snapshot;
            let m = snapshot
                .machines
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(&machine))
                .ok_or_else(|| {
                    let names: Vec<_> = snapshot.machines.iter().map(|m| m.name.as_str()).collect();
                    anyhow!(
                        "no machine `{machine}` in the site (machines: {})",
                        names.join(", ")
                    )
                })?;
            let e = m
                .envs
                .iter()
                .find(|e| {
                    e.name.eq_ignore_ascii_case(&env)
                        || paths::path_key(&e.path) == paths::path_key(&env)
                })
                .ok_or_else(|| {
                    let names: Vec<_> = m.envs.iter().map(|e| e.name.as_str()).collect();
                    anyhow!("no env `{env}` on {} (envs: {})", m.name, names.join(", "))
                })?;
            let graph = DepGraph::build(e);
            let text = match (dot, query) {
                (true, Some(_)) => {
                    return Err(anyhow!(
                    "--dot prints the whole graph; it cannot be combined with why or dependents"
                ))
                }
                (true, None) => graph.to_dot(&e.name),
                (false, Some(GraphQuery::Why { package })) => {
                    graph.why(&package).ok_or_else(|| {
                        anyhow!(
                            "`{package}` is not installed in env `{}` on {}",
                            e.name,
                            m.name
                        )
                    })?
                }
                (false, Some(GraphQuery::Dependents { package })) => {
                    let deps = graph.dependents(&package).ok_or_else(|| {
                        anyhow!(
                            "`{package}` is not installed in env `{}` on {}",
                            e.name,
                            m.name
                        )
                    })?;
                    let mut out = format!(
                        "{} package(s) in env `{}` on {} depend on {package}:\n",
                        deps.len(),
                        e.name,
                        m.name
                    );
                    for d in deps {
                        out.push_str(&format!("  {d}\n"));
                    }
                    let services = m.services_in(&e.path);
                    out.push_str(&format!(
                        "{} GP service(s) run in this env on {}:\n",
                        services.len(),
                        m.name
                    ));
                    for s in services {
                        out.push_str(&format!("  {s}\n"));
                    }
                    out
                }
                (false, None) => {
                    let tops = graph.top_level();
                    format!(
                        "env `{}` on {}: {} packages, {} dependency edges; top-level packages:\n  {}\n",
                        e.name,
                        m.name,
                        graph.graph.node_count(),
                        graph.graph.edge_count(),
                        tops.join("\n  ")
                    )
                }
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules => {
            let book = RuleBook::builtin();
            for rule in book.iter() {
                println!(
                    "{:<28} {:<8} {}",
                    rule.code.as_str(),
                    rule.severity.as_str(),
                    rule.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
