//! Writes the test suite's just-upgraded site (`tests/common/upgrade_site.rs`:
//! clones at 11.1 on an 11.3 install, the fake conda as each machine's
//! `Scripts/conda.exe`, the release channel) to a folder that stays, for
//! trying `plan`/`apply` by hand and for the Ansible CI step. Dev tooling.
//!
//! usage: upgrade-site [--machines N]
//! Prints the site folder; the fake conda needs `FAKE_CONDA_CHANNEL=<folder>/channel`.

#[path = "../tests/common/upgrade_site.rs"]
mod upgrade_site;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut count = 2usize;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|n| n.parse::<usize>())) {
            ("--machines", Some(Ok(n))) if (1..=9).contains(&n) => count = n,
            _ => {
                eprintln!("usage: upgrade-site [--machines N] (N from 1 to 9)");
                std::process::exit(2);
            }
        }
    }
    let names: Vec<String> = (1..=count).map(|i| format!("gis{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let site = upgrade_site::UpgradeSite::with_machines(&names);
    println!("{}", site.dir.keep().display());
}
