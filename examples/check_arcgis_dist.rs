//! Checks a new copy of Esri's `arcgis-dist.json` before it replaces
//! `rules/arcgis-dist.json` (see `rules/arcgis-dist.SOURCE.md`): parses it
//! exactly as gpaudit does, exits 1 naming every problem, and otherwise lists
//! what changed against the vendored copy and which of `rules/releases.toml`'s
//! Pro releases the new copy covers. Maintainer tooling, never part of
//! gpaudit.
//!
//! `cargo run --example check_arcgis_dist -- NEW.json`

use gpaudit::release::ReleaseTable;
use gpaudit::stacks::EsriStacks;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: check_arcgis_dist NEW-arcgis-dist.json");
        return ExitCode::from(2);
    };
    let shown = path.to_string_lossy().into_owned();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{shown}: {e}");
            return ExitCode::from(2);
        }
    };
    let new = match EsriStacks::parse(&text) {
        Ok(s) => s,
        Err(problems) => {
            for p in &problems {
                eprintln!("{shown}: {p}");
            }
            eprintln!(
                "{shown}: {} problem(s); keep the vendored copy",
                problems.len()
            );
            return ExitCode::from(1);
        }
    };
    let old = EsriStacks::builtin();
    let mut changes = 0;
    for stack in new.stacks() {
        let Some(before) = old.for_pro(stack.major_minor.0, stack.major_minor.1) else {
            println!(
                "Pro {}: new release ({} packages)",
                stack.pro,
                stack.packages.len()
            );
            changes += 1;
            continue;
        };
        for (name, version) in &stack.packages {
            match before.version_of(name) {
                None => println!("Pro {}: + {name} {version}", stack.pro),
                Some(was) if was != version => {
                    println!("Pro {}: {name} {was} -> {version}", stack.pro)
                }
                Some(_) => continue,
            }
            changes += 1;
        }
        for (name, was) in &before.packages {
            if stack.version_of(name).is_none() {
                println!("Pro {}: - {name} {was}", stack.pro);
                changes += 1;
            }
        }
    }
    for stack in old.stacks() {
        if new
            .for_pro(stack.major_minor.0, stack.major_minor.1)
            .is_none()
        {
            println!("Pro {}: release no longer listed", stack.pro);
            changes += 1;
        }
    }
    // Which Server rows the new copy gives a stack (the pairing is ours).
    let table = ReleaseTable::builtin();
    for r in table.releases() {
        if new
            .for_pro(r.pro.semver().major, r.pro.semver().minor)
            .is_none()
        {
            println!(
                "note: Server {} (Pro {}) has no stack in the new copy",
                r.server, r.pro
            );
        }
    }
    for stack in new.stacks() {
        if !table
            .releases()
            .iter()
            .any(|r| (r.pro.semver().major, r.pro.semver().minor) == stack.major_minor)
        {
            println!(
                "note: Pro {} has no Server row in rules/releases.toml (add one only with a source for the pairing)",
                stack.pro
            );
        }
    }
    println!(
        "{shown}: valid, {} releases, {changes} change(s) against rules/arcgis-dist.json",
        new.stacks().len()
    );
    ExitCode::SUCCESS
}
