//! `scan-error`: files the scan could not read or parse, and records whose
//! `depends` or `constrains` entries are not match specs, as findings.

use super::{env_finding, parse_spec, Context};
use crate::finding::{Code, Finding};
use crate::model::{Env, Machine, Package};

pub fn scan_errors(ctx: &Context) -> Vec<Finding> {
    let mut out = malformed_specs(ctx);
    out.extend(files(ctx));
    out
}

fn files<'a>(ctx: &'a Context) -> impl Iterator<Item = Finding> + 'a {
    ctx.snapshot.scan_errors.iter().map(|e| {
        let mut f = Finding::new(Code::ScanError, format!("{}: {}", e.path, e.message))
            .location(e.path.clone());
        f.machine = e.machine.clone();
        f.env = e.env.clone();
        f.env_path = e.env_path.clone();
        if let (Some(m), Some(p)) = (&e.machine, &e.env_path) {
            if let Ok(machine) = ctx.snapshot.find_machine(m) {
                f = f.services(machine.services_in(p));
            }
        }
        f
    })
}

/// Every `depends` and `constrains` entry that does not parse: the record
/// is malformed (conda would refuse it too).
fn malformed_specs(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            for package in &env.packages {
                let fields = [
                    ("depends", &package.record.depends),
                    ("constrains", &package.record.constrains),
                ];
                for (field, specs) in fields {
                    for spec in specs {
                        // The memo says which fail; the rare failure is
                        // parsed again for its message.
                        if ctx.spec(spec).is_some() {
                            continue;
                        }
                        if let Err(why) = parse_spec(spec) {
                            out.push(bad_spec(
                                machine,
                                env,
                                package,
                                field,
                                spec,
                                &why.to_string(),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// A spec in a record that is not a match spec: the record is malformed.
fn bad_spec(
    machine: &Machine,
    env: &Env,
    package: &Package,
    field: &str,
    spec: &str,
    why: &str,
) -> Finding {
    env_finding(
        Code::ScanError,
        format!(
            "{} in env `{}` on {}: {field} entry `{spec}` is not a match spec: {why}",
            package.name(),
            env.name,
            machine.name
        ),
        machine,
        env,
    )
    .package(package.name())
    .location(package.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::location::Location;

    #[test]
    fn an_unparseable_depends_entry_is_a_scan_error() {
        let e = env_with("x", vec![pkg("a", "1", "0", &["b >=>=1"])]);
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        let f = run_one(&snap, scan_errors);
        assert_eq!(f[0].code, Code::ScanError);
        assert_eq!(f[0].locations, [Location::file("conda-meta/a-1-0.json")]);
    }
}
