//! The command line's definition (clap): every command, its arguments and
//! their help. Nothing here runs anything; `cli::run` dispatches.

use clap::{Parser, Subcommand, ValueEnum};
use gpaudit::reference::EnvFormat;
use gpaudit::release::ArcgisVersion;
use gpaudit::report::Format;
use gpaudit::Severity;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gpaudit",
    version,
    about = "Audit the Python environments and GP services of an ArcGIS Server site"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Parse every conda-meta record and service script again instead of
    /// reusing what an earlier run kept in the user's cache folder
    /// ($GPAUDIT_CACHE_DIR moves it).
    #[arg(long, global = true)]
    pub no_cache: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        /// Compare every GP service without a reference of its own with this
        /// env (replaces site.toml's [reference] default). Any listing form;
        /// FILE#MACHINE/ENV picks an env from a snapshot.
        #[arg(long, value_name = "FILE")]
        reference: Option<String>,
        /// Also check for what breaks on this ArcGIS Server release (11.5):
        /// scripts' imports of modules its Python removed become errors.
        #[arg(long, value_name = "RELEASE")]
        target: Option<ArcgisVersion>,
        /// With --target: solve each clone's re-creation on the target over
        /// these local channels (repodata.json files, subdir folders, or
        /// channel folders with win-64/ and noarch/), first = highest priority.
        #[arg(long = "channel", value_name = "DIR_OR_FILE", num_args = 1.., requires = "target")]
        channel: Vec<PathBuf>,
        #[command(flatten)]
        admin: AdminArgs,
        /// Read --reference as this format instead of detecting it.
        #[arg(long, value_parser = parse_env_format, value_name = "FORMAT", requires = "reference")]
        reference_format: Option<EnvFormat>,
        #[command(flatten)]
        narrow: NarrowArgs,
        /// Colours on a terminal: auto (unless NO_COLOR is set), always, never.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Compare two envs package by package (A is the reference side).
    ///
    /// Each of A and B is a conda prefix, conda list --json/--explicit/--export
    /// output, a conda env export YAML, pip freeze / pip list --format=json
    /// output, a snapshot, or a site.toml; FILE#MACHINE/ENV (or --machine and
    /// --env) picks the env from a snapshot or site.
    Diff {
        a: String,
        b: String,
        /// The machine, for an A or B that is a site or snapshot.
        #[arg(long)]
        machine: Option<String>,
        /// The env, for an A or B that is a site or snapshot.
        #[arg(long)]
        env: Option<String>,
        /// Read A and B as this format instead of detecting it.
        #[arg(long, value_parser = parse_env_format, value_name = "FORMAT")]
        input_format: Option<EnvFormat>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Exit 1 when a difference is at or above this severity.
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
    },
    /// Print a conda-meta/pinned file (or environment.yml) that pins a
    /// release's critical stack, or the exact core and native packages of an env.
    Baseline {
        /// The ArcGIS Server release (11.3) whose critical stack to pin.
        #[arg(long, required_unless_present = "from")]
        release: Option<ArcgisVersion>,
        /// Pin the core and native packages of this env instead (any form diff takes).
        #[arg(long, value_name = "ENV")]
        from: Option<String>,
        /// The machine, for a --from that is a site or snapshot.
        #[arg(long, requires = "from")]
        machine: Option<String>,
        /// The env, for a --from that is a site or snapshot.
        #[arg(long, requires = "from")]
        env: Option<String>,
        /// What to write.
        #[arg(long, value_enum, default_value_t = BaselineFormat::Pinned)]
        format: BaselineFormat,
        /// Write to this file (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// List the site's GP services: folder, name, provider, env, configured and real state.
    Services {
        /// The site file (its [admin] section, or --url, gives the live states).
        site: PathBuf,
        /// Only the services that run in this env (on any machine, or --machine).
        #[arg(long)]
        env: Option<String>,
        /// Show the env each service runs in on this machine.
        #[arg(long)]
        machine: Option<String>,
        /// No progress bar (it is drawn only on a terminal anyway).
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Stop and start the GP services of an env (or the named ones), one at a
    /// time, through the Administrator API. A dry run unless --execute.
    Restart {
        site: PathBuf,
        /// Every GP service that runs in this env on any machine.
        #[arg(long, required_unless_present = "service", conflicts_with = "service")]
        env: Option<String>,
        /// A service to restart (Folder/Name.GPServer); repeat for more.
        #[arg(long)]
        service: Vec<String>,
        /// Restart for real; without it, print what would be done.
        #[arg(long)]
        execute: bool,
        /// Seconds to wait for each service to stop and to start.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// After a Server upgrade: plan the migration of every clone behind its
    /// machine's release (snapshot, stop, proup, verify, start), machine by machine.
    Plan {
        site: PathBuf,
        /// Output format (JSON is the plan a later apply reads).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the plan to this file (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The conda to run proup with (default: <python root>/Scripts/conda.exe).
        #[arg(long)]
        conda: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Carry out a migration plan: preflight (a dry run, the default), then
    /// with --execute every step, journaled beside the plan.
    Apply {
        /// The plan, as written by `gpaudit plan --format json -o PLAN`.
        plan: PathBuf,
        /// Act; without it, run the preflight checks and show what would be done.
        #[arg(long)]
        execute: bool,
        /// Go on from the journal of an earlier run: finished steps are skipped.
        #[arg(long)]
        resume: bool,
        /// Stop at the first env that fails instead of going on with the others.
        #[arg(long)]
        stop_on_failure: bool,
        /// Only this machine's part of the plan (repeat for more).
        #[arg(long)]
        machine: Vec<String>,
        /// Seconds to let each conda proup run before it is killed.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        proup_timeout: u64,
        /// Seconds to wait for each service to stop and to start.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Get back the pre-upgrade env of a failed migration, from proup's
    /// archive or the package list the plan's snapshot step saved.
    Rollback {
        plan: PathBuf,
        /// Roll back this env (repeat for more); default: those whose proup
        /// or verify failed in the journal.
        #[arg(long)]
        env: Vec<String>,
        /// Only this machine's envs (repeat for more).
        #[arg(long)]
        machine: Vec<String>,
        /// Act; without it, show what would be done.
        #[arg(long)]
        execute: bool,
        /// Seconds to let a conda create run (restoring without an archive).
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: u64,
    },
    /// Gather everything the checks need into one versioned snapshot JSON.
    Scan {
        /// The site file.
        site: PathBuf,
        /// Where to write the snapshot (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        admin: AdminArgs,
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
pub enum GraphQuery {
    /// Who pulls PACKAGE in, as a tree up to the top-level packages.
    Why { package: String },
    /// Everything affected if PACKAGE changed, and the services that run in the env.
    Dependents { package: String },
}

/// Narrow a report to part of the site (every format).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct NarrowArgs {
    /// Only findings on this machine.
    #[arg(long, value_name = "MACHINE")]
    pub machine: Option<String>,
    /// Only findings about this env (its name).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only findings that affect this GP service (Folder/Name.GPServer).
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Only findings at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<MinSeverity>,
}

/// A severity threshold on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MinSeverity {
    Error,
    Warning,
    Info,
}

impl From<MinSeverity> for Severity {
    fn from(m: MinSeverity) -> Severity {
        match m {
            MinSeverity::Error => Severity::Error,
            MinSeverity::Warning => Severity::Warning,
            MinSeverity::Info => Severity::Info,
        }
    }
}

/// When to colour the output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour: `always`, or `auto` on a terminal without NO_COLOR.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// How to reach the Administrator API, overriding the site file's [admin].
#[derive(clap::Args, Debug, Default)]
pub struct AdminArgs {
    /// The site's URL (https://gis.example.com:6443/arcgis).
    #[arg(long)]
    pub url: Option<String>,
    /// The administrator's user name.
    #[arg(long)]
    pub username: Option<String>,
    /// A CA certificate (PEM) to trust for the site's TLS certificate.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the site's TLS certificate (says so on every run).
    #[arg(long)]
    pub insecure: bool,
    /// Sign in at this portal (https://portal.example.com/portal) and use
    /// its token at the server: for a site federated with a portal.
    #[arg(long, value_name = "URL")]
    pub portal_url: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BaselineFormat {
    /// conda-meta/pinned: one match spec a line.
    Pinned,
    /// An environment.yml with the pins as dependencies.
    EnvironmentYml,
}

pub fn parse_env_format(s: &str) -> Result<EnvFormat, String> {
    EnvFormat::parse(s).ok_or_else(|| {
        let names: Vec<&str> = EnvFormat::ALL.iter().map(|f| f.as_str()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Exit 1 when any of `severities` is at or above the threshold.
    pub fn exit_code(self, mut severities: impl Iterator<Item = Severity>) -> ExitCode {
        let failed = self.threshold().is_some_and(|t| severities.any(|s| s >= t));
        if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }

    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}
