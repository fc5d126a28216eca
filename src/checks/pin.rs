//! `pin-violation`, `pin-file-missing`: whether installed packages keep the
//! env's `conda-meta/pinned`, and whether clones carry a pin file at all.

use super::{env_finding, parse_spec, Context};
use crate::finding::{Code, Finding};
use crate::location::Location;
use rattler_conda_types::Matches;

pub fn pin_violation(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let Some(pinned) = &env.pinned else {
                continue;
            };
            for pin in &pinned.specs {
                // Pins were validated while scanning; an unparseable one was
                // reported there as a scan error.
                let Ok(spec) = parse_spec(&pin.spec) else {
                    continue;
                };
                for package in env
                    .packages
                    .iter()
                    .filter(|p| spec.name.matches(&p.record.name))
                {
                    if spec.matches(&package.record) {
                        continue;
                    }
                    out.push(
                        env_finding(
                            Code::PinViolation,
                            format!(
                                "{} {} in env `{}` on {} breaks the pin `{}`",
                                package.name(),
                                package.record.version.as_str(),
                                env.name,
                                machine.name,
                                pin.spec
                            ),
                            machine,
                            env,
                        )
                        .package(package.name())
                        .expected(pin.spec.clone())
                        .found(package.version_build())
                        .location(Location::at(&pinned.file, pin.line)),
                    );
                }
            }
        }
    }
    out
}

pub fn pin_file_missing(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        let Some(default) = machine.arcgispro_py3() else {
            continue;
        };
        let Some(default_pins) = &default.pinned else {
            continue;
        };
        for env in &machine.envs {
            if env.is_arcgispro_py3()
                || env.pinned.is_some()
                || super::release_marker(env).is_none()
            {
                continue;
            }
            out.push(
                env_finding(
                    Code::PinFileMissing,
                    format!(
                        "clone `{}` on {} has no conda-meta/pinned (cloned without --pinned?) while arcgispro-py3 pins {} specs",
                        env.name,
                        machine.name,
                        default_pins.specs.len()
                    ),
                    machine,
                    env,
                )
                .expected(format!("a pinned file like {}", default_pins.file))
                .found("no conda-meta/pinned")
                .location(env.conda_meta()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::model::{Pinned, PinnedSpec};

    fn pins(specs: &[&str]) -> Pinned {
        Pinned {
            file: "/envs/x/conda-meta/pinned".into(),
            specs: specs
                .iter()
                .enumerate()
                .map(|(i, s)| PinnedSpec {
                    line: i + 1,
                    spec: s.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn pins_use_conda_semantics() {
        let mut e = env(
            "hydro",
            &[
                ("numpy", "1.24.3", "py39hf11a4ad_0"),
                ("python", "3.9.16", "h6244533_2"),
                ("scipy", "1.6.2", "py39h14eb087_0"),
            ],
        );
        // `1.20.*` excludes 1.24.3; `>=3.9,<3.10.0a0` admits 3.9.16; the build glob admits py39*.
        e.pinned = Some(pins(&[
            "numpy 1.20.*",
            "python >=3.9,<3.10.0a0",
            "scipy 1.6.* py39*",
            "gdal 3.4.*",
        ]));
        let snap = snapshot(vec![machine("GIS1", vec![e])], Some("11.1"));
        let f = run_one(&snap, pin_violation);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].package.as_deref(), Some("numpy"));
        assert_eq!(f[0].expected.as_deref(), Some("numpy 1.20.*"));
        assert_eq!(f[0].locations[0].line, Some(1));
        assert_eq!(f[0].found.as_deref(), Some("1.24.3 py39hf11a4ad_0"));
    }

    #[test]
    fn one_point_one_equals_one_point_one_point_zero() {
        let mut e = env("x", &[("six", "1.1", "0")]);
        e.pinned = Some(pins(&["six ==1.1.0"]));
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        assert!(run_one(&snap, pin_violation).is_empty());
    }

    #[test]
    fn clone_without_pinned_is_reported_only_when_default_has_one() {
        let mut default = arcgis_env("arcgispro-py3", "3.1");
        let clone = arcgis_env("hydro", "3.1");
        let snap = snapshot(
            vec![machine("GIS1", vec![default.clone(), clone.clone()])],
            None,
        );
        assert!(run_one(&snap, pin_file_missing).is_empty());
        default.pinned = Some(pins(&["numpy 1.20.*"]));
        let snap = snapshot(vec![machine("GIS1", vec![default, clone])], None);
        let f = run_one(&snap, pin_file_missing);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].env.as_deref(), Some("hydro"));
    }

    /// Issue 13, item 8: `baseline --release 10.8.1` took Pro 2.7's row while
    /// a real 10.8.1 arcgispro-py3 has Pro 2.6's stack, so our own baseline
    /// put into it raised pin-violations.
    #[test]
    fn issue_13_item_8_a_10_8_1_arcgispro_py3_keeps_our_own_baseline() {
        let table = crate::release::ReleaseTable::builtin();
        let stack = crate::stacks::EsriStacks::builtin();
        let pro26 = stack.for_pro(2, 6).unwrap();
        let packages = pro26
            .packages
            .iter()
            .map(|(name, version)| pkg(name, version, "py36_0", &[]))
            .collect();
        let mut default = env_with("arcgispro-py3", packages);
        let release = crate::baseline::release_for(&table, &"10.8.1".parse().unwrap()).unwrap();
        let baseline = crate::baseline::from_release(release).unwrap();
        let lines: Vec<&str> = baseline.pins.iter().map(|p| p.spec.as_str()).collect();
        assert!(lines.contains(&"arcgispro 2.6.*"), "{lines:?}");
        default.pinned = Some(pins(&lines));
        let m = machine("GIS1", vec![default]);
        let snap = snapshot(vec![m], Some("10.8.1"));
        assert!(run_one(&snap, pin_violation).is_empty());
        // The env is identified by arcgispro 2.6 as 10.8.1's own release.
        assert!(run_one(&snap, crate::checks::env::env_release_mismatch).is_empty());
    }
}
