//! The `gpaudit` binary: parses the command line, runs the library's phases
//! and maps outcomes to exit codes (0 clean, 1 findings at or above
//! `--fail-on`, 2 the site could not be audited). `anyhow` lives only here.

use anyhow::{anyhow, Context as _};
use clap::{Parser, Subcommand, ValueEnum};
use gpaudit::admin::{self, AdminConfig, HttpAdmin, ServiceRef, SiteAdmin};
use gpaudit::apply;
use gpaudit::audit::{self, Loaded};
use gpaudit::baseline;
use gpaudit::diff;
use gpaudit::graph::DepGraph;
use gpaudit::migrate::MigrationPlan;
use gpaudit::output;
use gpaudit::policy::Policy;
use gpaudit::reference::{self, EnvFormat};
use gpaudit::release::{ArcgisVersion, ReleaseTable};
use gpaudit::report::{render_markdown, render_table};
use gpaudit::roles::Roles;
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

/// How to reach the Administrator API, overriding the site file's [admin].
#[derive(clap::Args, Debug, Default)]
struct AdminArgs {
    /// The site's URL (https://gis.example.com:6443/arcgis).
    #[arg(long)]
    url: Option<String>,
    /// The administrator's user name.
    #[arg(long)]
    username: Option<String>,
    /// A CA certificate (PEM) to trust for the site's TLS certificate.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Do not verify the site's TLS certificate (says so on every run).
    #[arg(long)]
    insecure: bool,
}

/// The API settings: the site file's [admin] with the command line on top.
fn admin_config(
    site: Option<&gpaudit::site::Site>,
    args: &AdminArgs,
) -> anyhow::Result<Option<AdminConfig>> {
    let base = site.and_then(|s| s.admin.clone());
    let mut config = match (base, &args.url) {
        (Some(c), None) => c,
        (base, Some(url)) => AdminConfig {
            url: url.clone(),
            username: base
                .as_ref()
                .map(|b| b.username.clone())
                .unwrap_or_default(),
            password_env: base
                .as_ref()
                .map(|b| b.password_env.clone())
                .unwrap_or_else(|| AdminConfig::DEFAULT_PASSWORD_ENV.to_string()),
            ca_file: base.and_then(|b| b.ca_file),
            insecure: false,
        },
        (None, None) => return Ok(None),
    };
    if let Some(u) = &args.username {
        config.username = u.clone();
    }
    if let Some(ca) = &args.ca_file {
        config.ca_file = Some(ca.clone());
    }
    config.insecure = args.insecure;
    if config.username.is_empty() {
        return Err(anyhow!(
            "no administrator user name: set username under [admin] or pass --username"
        ));
    }
    Ok(Some(config))
}

/// Sign in: the password from the environment variable, else a prompt.
fn sign_in(config: &AdminConfig) -> anyhow::Result<HttpAdmin> {
    gpaudit::exec::hide_from_children(&config.password_env);
    if config.insecure {
        eprintln!("gpaudit: warning: TLS verification is off (--insecure): the site's identity is not checked");
    }
    let password = match std::env::var(&config.password_env) {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::stdin().is_terminal() => rpassword::prompt_password(format!(
            "Password for {} at {}: ",
            config.username, config.url
        ))
        .context("reading the password")?,
        _ => {
            return Err(anyhow!(
                "no password: set the environment variable {} (or run on a terminal to be asked)",
                config.password_env
            ))
        }
    };
    Ok(admin::connect(config, password)?)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BaselineFormat {
    /// conda-meta/pinned: one match spec a line.
    Pinned,
    /// An environment.yml with the pins as dependencies.
    EnvironmentYml,
}

fn parse_env_format(s: &str) -> Result<EnvFormat, String> {
    EnvFormat::parse(s).ok_or_else(|| {
        let names: Vec<&str> = EnvFormat::ALL.iter().map(|f| f.as_str()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

/// Add "use FLAG to force one" to a format-detection failure.
fn hint(e: reference::ReadError, flag: &str) -> anyhow::Error {
    if e.message.contains("not a recognised environment listing") {
        anyhow!("{e}; use {flag} to force a format")
    } else {
        anyhow!(e)
    }
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("gpaudit: warning: {w}");
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Exit 1 when any of `severities` is at or above the threshold.
    fn exit_code(self, mut severities: impl Iterator<Item = Severity>) -> ExitCode {
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
            reference,
            reference_format,
            target,
            channel,
            admin,
        } => {
            let channels = match channel.is_empty() {
                true => None,
                false => Some(gpaudit::solve::Channels::load(&channel)?),
            };
            let mut loaded = load_with_live(&inputs, &admin)?;
            if let Some(arg) = reference {
                let (path, selector) = reference::split_selector(&arg);
                let select = reference::Selection::inline(selector.as_deref());
                let listing = reference::load(&path, select, reference_format)
                    .map_err(|e| hint(e, "--reference-format"))?;
                warn_all(&listing.warnings);
                loaded.snapshot.set_default_reference(arg, listing);
            }
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
            let table = ReleaseTable::builtin();
            let target = target
                .map(|t| baseline::release_for(&table, &t))
                .transpose()
                .map_err(|e| anyhow!(e))?;
            if let Some(t) = target {
                if t.package("python").is_none() {
                    return Err(anyhow!(
                        "the release table has no Python version for ArcGIS Server {}",
                        t.server
                    ));
                }
            }
            let report = audit::audit_with_channels(
                &loaded.snapshot,
                &policy,
                today(),
                target,
                channels.as_ref(),
            );
            let text = match format {
                Format::Json => report.to_json() + "\n",
                Format::Markdown => render_markdown(&report),
                Format::Table => {
                    render_table(&report, output.is_none() && std::io::stdout().is_terminal())
                }
            };
            emit(&text, output.as_deref(), Some(&loaded))?;
            Ok(fail_on.exit_code(report.findings.iter().map(|f| f.severity)))
        }
        Command::Diff {
            a,
            b,
            machine,
            env,
            input_format,
            format,
            fail_on,
        } => {
            let (m, e) = (machine.as_deref(), env.as_deref());
            let a =
                diff::load_side(&a, m, e, input_format).map_err(|e| hint(e, "--input-format"))?;
            let b =
                diff::load_side(&b, m, e, input_format).map_err(|e| hint(e, "--input-format"))?;
            warn_all(&a.warnings);
            warn_all(&b.warnings);
            let report = diff::diff(&a, &b);
            let text = match format {
                Format::Json => report.to_json(),
                Format::Markdown => report.render_markdown(),
                Format::Table => report.render_table(std::io::stdout().is_terminal()),
            };
            print!("{text}");
            Ok(fail_on.exit_code(report.changes.iter().map(|c| c.severity)))
        }
        Command::Baseline {
            release,
            from,
            machine,
            env,
            format,
            output,
        } => {
            let table = ReleaseTable::builtin();
            let release = release
                .map(|r| baseline::release_for(&table, &r))
                .transpose()
                .map_err(|e| anyhow!(e))?;
            let built = match &from {
                Some(arg) => {
                    let listing = diff::load_side(arg, machine.as_deref(), env.as_deref(), None)?;
                    warn_all(&listing.warnings);
                    if let Some(r) = release {
                        if let Some(note) = baseline::release_mismatch(&listing, r) {
                            eprintln!("gpaudit: warning: {note}");
                        }
                    }
                    baseline::from_env(&listing, &Roles::builtin())
                }
                None => match release {
                    Some(r) => baseline::from_release(r),
                    None => Err("give --release or --from".into()),
                },
            }
            .map_err(|e| anyhow!(e))?;
            if !built.unverified.is_empty() {
                eprintln!(
                    "gpaudit: warning: unverified versions pinned ({}); see the file's header",
                    built.unverified.join(", ")
                );
            }
            let text = match format {
                BaselineFormat::Pinned => built.render_pinned(),
                BaselineFormat::EnvironmentYml => built.render_environment_yml(),
            };
            if let (Some(out), Some(arg)) = (&output, &from) {
                for root in diff::read_roots(arg) {
                    output::check_outside(out, &[root.as_path()])?;
                }
            }
            emit(&text, output.as_deref(), None)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            site,
            format,
            output,
            conda,
            admin,
        } => {
            let loaded = load_with_live(std::slice::from_ref(&site), &admin)?;
            if loaded.site.is_none() {
                return Err(anyhow!("{}: plan takes a site file", paths::display(&site)));
            }
            let plan = gpaudit::migrate::build(
                &loaded.snapshot,
                &ReleaseTable::builtin(),
                conda.as_deref(),
                loaded
                    .site
                    .as_ref()
                    .map_or(site.as_path(), |s| s.file.as_path()),
            );
            let text = match format {
                Format::Json => plan.to_json(),
                Format::Markdown => plan.render_markdown(),
                Format::Table => plan.render_table(),
            };
            emit(&text, output.as_deref(), Some(&loaded))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Services {
            site,
            env,
            machine,
            admin,
        } => {
            let loaded = audit::load(std::slice::from_ref(&site))?;
            let config = admin_config(loaded.site.as_ref(), &admin)?;
            let mut live = match &config {
                Some(c) => Some(sign_in(c)?),
                None => None,
            };
            let text = services_table(
                &loaded,
                env.as_deref(),
                machine.as_deref(),
                live.as_mut().map(|l| l as &mut dyn SiteAdmin),
            )?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Restart {
            site,
            env,
            service,
            execute,
            timeout,
            admin,
        } => {
            let loaded = audit::load(std::slice::from_ref(&site))?;
            let config = admin_config(loaded.site.as_ref(), &admin)?.ok_or_else(|| {
                anyhow!("restarting needs the Administrator API: add [admin] to the site file or pass --url")
            })?;
            let targets = restart_targets(&loaded, env.as_deref(), &service)?;
            let mut client = sign_in(&config)?;
            let plan = gpaudit::restart::plan(&mut client, &targets);
            print!("{}", plan.describe());
            if !execute {
                println!("dry run: nothing was changed; pass --execute to restart these services");
                return Ok(ExitCode::SUCCESS);
            }
            let outcomes =
                plan.execute(&mut client, std::time::Duration::from_secs(timeout), |o| {
                    println!(
                        "{} {}: {}",
                        if o.ok { "ok    " } else { "FAILED" },
                        o.service,
                        o.detail
                    );
                });
            let failed = outcomes.iter().filter(|o| !o.ok).count();
            if failed > 0 {
                eprintln!(
                    "gpaudit: {failed} of {} service(s) did not restart",
                    outcomes.len()
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply {
            plan,
            execute,
            resume,
            stop_on_failure,
            machine,
            proup_timeout,
            timeout,
            admin,
        } => apply(
            &plan,
            gpaudit::apply::Options {
                execute,
                resume,
                stop_on_failure,
                machines: machine,
                proup_timeout: std::time::Duration::from_secs(proup_timeout),
                service_timeout: std::time::Duration::from_secs(timeout),
                interrupted: Default::default(),
            },
            &admin,
        ),
        Command::Rollback {
            plan,
            env,
            machine,
            execute,
            timeout,
        } => {
            let migration = MigrationPlan::load(&plan)?;
            let files = apply::Files::beside(&plan, &migration);
            let journal = apply::journal::Journal::read(&files.journal)?;
            let targets = apply::rollback::targets(&migration, &files, &journal, &machine, &env)?;
            if targets.is_empty() {
                println!("No env of the plan failed to upgrade; name one with --env to roll it back anyway.");
                return Ok(ExitCode::SUCCESS);
            }
            for t in &targets {
                println!("{}", t.describe());
            }
            if !execute {
                println!("dry run: nothing was changed; pass --execute to roll back");
                return Ok(ExitCode::SUCCESS);
            }
            let restored = apply::rollback::execute(
                &migration,
                &files,
                &targets,
                std::time::Duration::from_secs(timeout),
                &mut |line| println!("{line}"),
            )?;
            if restored.iter().all(|r| r.ok) {
                println!(
                    "Restart the envs' services once the server runs the release they are for."
                );
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
        Command::Scan {
            site,
            output,
            admin,
        } => {
            let loaded = load_with_live(std::slice::from_ref(&site), &admin)?;
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

/// `gpaudit apply`: sign in when the site has an API, run, report.
fn apply(
    plan_path: &Path,
    options: gpaudit::apply::Options,
    args: &AdminArgs,
) -> anyhow::Result<ExitCode> {
    let plan = MigrationPlan::load(plan_path)?;
    let site = gpaudit::site::Site::load(Path::new(&plan.site_file)).ok();
    let config = admin_config(site.as_ref(), args)?;
    let mut client = match &config {
        Some(c) => Some(sign_in(c)?),
        None => None,
    };
    if options.execute {
        let flag = options.interrupted.clone();
        let _ = ctrlc::set_handler(move || {
            if !flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
                eprintln!("gpaudit: interrupted: finishing the current step, then stopping (the journal records where)");
            }
        });
    }
    let execute = options.execute;
    let mut progress = |line: &str| println!("{line}");
    let runner = apply::Runner {
        plan: &plan,
        files: apply::Files::beside(plan_path, &plan),
        options,
        admin: client.as_mut().map(|c| c as &mut dyn SiteAdmin),
        progress: &mut progress,
    };
    let outcome = runner.run()?;
    print!("{}", outcome.render());
    if !execute {
        if outcome.preflight.ok() {
            println!("dry run: nothing was changed; pass --execute to apply the plan");
            return Ok(ExitCode::SUCCESS);
        }
        println!("dry run: the preflight failed; nothing was changed");
        return Ok(ExitCode::from(1));
    }
    if !outcome.executed {
        eprintln!("gpaudit: the preflight failed; nothing was changed");
        return Ok(ExitCode::from(1));
    }
    Ok(if outcome.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Load the inputs (scanning a site) and, when the site has [admin] or
/// --url is given, read its Administrator API at the same time. An API that
/// cannot be reached is a scan error; the disk audit goes on.
fn load_with_live(inputs: &[PathBuf], args: &AdminArgs) -> anyhow::Result<Loaded> {
    let site = match inputs {
        [one] => {
            let file = if one.is_dir() {
                one.join("site.toml")
            } else {
                one.clone()
            };
            std::fs::read_to_string(&file)
                .ok()
                .filter(|t| !t.trim_start().starts_with('{'))
                .and_then(|t| gpaudit::site::Site::parse(&t, &file).ok())
        }
        _ => None,
    };
    let Some(config) = admin_config(site.as_ref(), args)? else {
        return Ok(audit::load(inputs)?);
    };
    let mut client = sign_in(&config)?;
    let url = config.url.clone();
    let (loaded, live) = std::thread::scope(|scope| {
        let api = scope.spawn(move || admin::gather_live(&mut client, &url));
        let loaded = audit::load(inputs);
        (loaded, api.join())
    });
    let mut loaded = loaded?;
    match live {
        Ok(Ok((live, problems))) => {
            for problem in problems {
                loaded
                    .snapshot
                    .scan_errors
                    .push(gpaudit::snapshot::ScanError {
                        machine: None,
                        env: None,
                        env_path: None,
                        path: live.url.clone(),
                        message: format!("Administrator API: {problem}"),
                    });
            }
            loaded.snapshot.add_live(live)
        }
        Ok(Err(e)) => loaded
            .snapshot
            .scan_errors
            .push(gpaudit::snapshot::ScanError {
                machine: None,
                env: None,
                env_path: None,
                path: gpaudit::redact::text(&config.url),
                message: format!(
                    "the Administrator API could not be read, so live states are not checked: {e}"
                ),
            }),
        Err(_) => return Err(anyhow!("reading the Administrator API failed unexpectedly")),
    }
    Ok(loaded)
}

/// The GP services an env's restart covers: those bound to it on any
/// machine, or the ones named.
fn restart_targets(
    loaded: &Loaded,
    env: Option<&str>,
    named: &[String],
) -> anyhow::Result<Vec<ServiceRef>> {
    if !named.is_empty() {
        let mut out: Vec<ServiceRef> = Vec::new();
        for k in named {
            let s = ServiceRef::parse(k)
                .ok_or_else(|| anyhow!("`{k}` is not a service (Folder/Name.GPServer)"))?;
            if !s.is_gp() {
                return Err(anyhow!(
                    "`{k}` is not a GP service; restart only restarts GP services"
                ));
            }
            if !out.iter().any(|o| o.key().eq_ignore_ascii_case(&s.key())) {
                out.push(s);
            }
        }
        return Ok(out);
    }
    let env = env.unwrap_or_default();
    let mut keys: Vec<String> = loaded
        .snapshot
        .machines
        .iter()
        .flat_map(|m| m.bindings.iter())
        .filter(|b| b.env_name.eq_ignore_ascii_case(env))
        .map(|b| b.service.clone())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Err(anyhow!(
            "no GP service runs in env `{env}` on any machine of the site"
        ));
    }
    Ok(keys.iter().filter_map(|k| ServiceRef::parse(k)).collect())
}

/// The `services` table: disk (config store and bindings) with live states.
fn services_table(
    loaded: &Loaded,
    env: Option<&str>,
    machine: Option<&str>,
    mut live: Option<&mut dyn SiteAdmin>,
) -> anyhow::Result<String> {
    let snapshot = &loaded.snapshot;
    let mut keys: Vec<String> = snapshot
        .services
        .iter()
        .filter(|s| s.is_gp())
        .map(|s| s.key.clone())
        .collect();
    if let Some(api) = live.as_deref_mut() {
        keys.extend(
            api.services()?
                .into_iter()
                .filter(ServiceRef::is_gp)
                .map(|s| s.key()),
        );
    }
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    keys.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::ASCII_FULL_CONDENSED)
        .set_header(vec![
            "Folder",
            "Service",
            "Provider",
            "Env",
            "Configured",
            "Real",
        ]);
    let mut rows = 0;
    for key in keys {
        let envs: Vec<String> = {
            let mut e: Vec<String> = snapshot
                .machines
                .iter()
                .filter(|m| machine.is_none_or(|want| m.name.eq_ignore_ascii_case(want)))
                .flat_map(|m| {
                    m.bindings
                        .iter()
                        .filter(|b| b.service.eq_ignore_ascii_case(&key))
                })
                .map(|b| b.env_name.clone())
                .collect();
            e.sort();
            e.dedup();
            e
        };
        if let Some(want) = env {
            if !envs.iter().any(|e| e.eq_ignore_ascii_case(want)) {
                continue;
            }
        }
        let disk = snapshot.service(&key);
        let (configured, real) = match (live.as_deref_mut(), ServiceRef::parse(&key)) {
            (Some(api), Some(s)) => match api.status(&s) {
                Ok(st) => (st.configured, st.real),
                Err(e) => (String::from("?"), format!("error: {e}")),
            },
            _ => (
                disk.and_then(|d| d.configured_state.clone())
                    .unwrap_or_default(),
                "(no API)".to_string(),
            ),
        };
        let service = ServiceRef::parse(&key);
        table.add_row(vec![
            service
                .as_ref()
                .and_then(|s| s.folder.clone())
                .unwrap_or_else(|| "(root)".into()),
            service
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_else(|| key.clone()),
            disk.and_then(|d| d.provider.clone()).unwrap_or_default(),
            if envs.is_empty() {
                "-".into()
            } else {
                envs.join(", ")
            },
            configured,
            real,
        ]);
        rows += 1;
    }
    Ok(format!("{table}\n{rows} GP service(s)\n"))
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
