//! `cargo run --release --example gensite -- OUT [--machines 4 --envs 12
//! --packages 450 --services 300 --seed 42]`: write a large synthetic site
//! for the benchmark (`scripts/bench.py`). Dev tooling, not part of gpaudit.

mod generate;

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
struct Args {
    /// An empty (or new) folder to write the site into.
    out: PathBuf,
    #[arg(long, default_value_t = generate::Shape::DEFAULT.machines)]
    machines: usize,
    #[arg(long, default_value_t = generate::Shape::DEFAULT.envs)]
    envs: usize,
    #[arg(long, default_value_t = generate::Shape::DEFAULT.packages)]
    packages: usize,
    #[arg(long, default_value_t = generate::Shape::DEFAULT.services)]
    services: usize,
    #[arg(long, default_value_t = generate::Shape::DEFAULT.seed)]
    seed: u64,
    /// Leave out the services' Python code (arcgisinput).
    #[arg(long)]
    no_code: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        eprintln!("gensite: {} exists and is not empty", args.out.display());
        return std::process::ExitCode::from(2);
    }
    let shape = generate::Shape {
        machines: args.machines.max(1),
        envs: args.envs.max(2),
        packages: args.packages.max(5),
        services: args.services,
        seed: args.seed,
        code: !args.no_code,
    };
    match generate::generate(&args.out, shape) {
        Ok(w) => {
            println!(
                "{}: {} machines x {} envs x {} packages ({} records, {:.1} MB), {} services",
                args.out.display(),
                shape.machines,
                shape.envs,
                shape.packages,
                w.records,
                w.bytes as f64 / 1e6,
                shape.services
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gensite: {}: {e}", args.out.display());
            std::process::ExitCode::from(2)
        }
    }
}
