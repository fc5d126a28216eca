//! `reference-drift`, `reference-missing`, `reference-extra`: each GP
//! service's env on each machine against the reference env (the ArcGIS Pro
//! env) it was published from. One comparison per (machine, env, reference);
//! each finding lists the services it hits. The package's role and the size
//! of the difference go out as the condition; the rule book sets severity.

use super::Context;
use crate::compare::{compare, ChangeKind};
use crate::finding::{Code, Condition, Finding};
use crate::model::{normalize_dist_name, Ecosystem, Env, EnvIndex, Machine, Provider, Reference};
use crate::reference::EnvListing;
use crate::roles::Role;
use std::collections::BTreeMap;

pub fn reference_findings(ctx: &Context) -> Vec<Finding> {
    let snapshot = ctx.snapshot;
    if snapshot.references.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for machine in &snapshot.machines {
        // env path → (env, reference index → services)
        let mut by_env: BTreeMap<String, (&Env, BTreeMap<usize, Vec<String>>)> = BTreeMap::new();
        for binding in machine.bindings.iter().filter(|b| b.unresolved.is_none()) {
            let Some(env) = machine.env_at(&binding.env_path) else {
                continue;
            };
            let Some(index) = snapshot.reference_index_for(&binding.service) else {
                continue;
            };
            by_env
                .entry(crate::paths::path_key(&env.path))
                .or_insert_with(|| (env, BTreeMap::new()))
                .1
                .entry(index)
                .or_default()
                .push(binding.service.clone());
        }
        for (env, refs) in by_env.values() {
            let refs: Vec<(&Reference, &Vec<String>)> = refs
                .iter()
                .map(|(i, services)| (&snapshot.references[*i], services))
                .collect();
            compare_env(ctx, machine, env, &refs, &mut out);
        }
    }
    out
}

/// The Server release a listing's arcpy belongs to: from its version, or,
/// for a requirement (`arcpy=3.1` in an environment.yml made with
/// `--from-history`), the one release whose Pro version meets it.
fn listing_release(listing: &EnvListing, ctx: &Context) -> Option<String> {
    let by_name = listing.by_name();
    let arcpy = by_name.get("arcpy")?;
    if let Some(version) = &arcpy.version {
        let version = version.parse().ok()?;
        return ctx
            .releases
            .server_for_arcpy(&version)
            .map(|r| r.server.to_string());
    }
    let spec = super::parse_spec(arcpy.spec.as_deref()?).ok()?;
    let version_spec = spec.version?;
    let mut servers: Vec<String> = ctx
        .releases
        .releases()
        .iter()
        .filter(|r| {
            let pro = r.pro.semver();
            format!("{}.{}", pro.major, pro.minor)
                .parse()
                .is_ok_and(|v| version_spec.matches(&v))
        })
        .map(|r| r.server.to_string())
        .collect();
    servers.dedup();
    match servers.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The reference listing with its pip names (`pip freeze`'s `tables`,
/// `PyQt5`) that the env has only as a conda package under another name
/// (`pytables`, `pyqt`) renamed to it, found through the dist-info names
/// the env's conda records own.
fn through_dists<'a>(
    reference: &'a EnvListing,
    index: &EnvIndex,
    env: &EnvListing,
) -> std::borrow::Cow<'a, EnvListing> {
    let in_env = env.by_name();
    let renamed: Vec<(usize, String)> = reference
        .packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ecosystem == Ecosystem::Pypi)
        .filter(|(_, p)| !in_env.contains_key(&normalize_dist_name(&p.name)))
        .filter_map(|(i, p)| match index.dist_owner(&p.name)? {
            Provider::Conda(c) => Some((i, c.name().to_string())),
            _ => None,
        })
        .collect();
    if renamed.is_empty() {
        return std::borrow::Cow::Borrowed(reference);
    }
    let mut listing = reference.clone();
    for (i, name) in renamed {
        listing.packages[i].name = name;
    }
    std::borrow::Cow::Owned(listing)
}

fn compare_env(
    ctx: &Context,
    machine: &Machine,
    env: &Env,
    refs: &[(&Reference, &Vec<String>)],
    out: &mut Vec<Finding>,
) {
    let index = ctx.index(env);
    let listing = EnvListing::from_index(&index, format!("{}/{}", machine.name, env.name));
    let env_release = listing_release(&listing, ctx);
    // One finding per (code, package, expected, found): references that
    // agree on a package give one finding listing all their services.
    let mut merged: BTreeMap<(Code, String, String, String, bool), Finding> = BTreeMap::new();
    // References compared in full (same release), for reference-extra.
    let mut compared_fully: Vec<(&Reference, &Vec<String>)> = Vec::new();
    for (reference, services) in refs {
        let source = &reference.listing.source;
        // An env on another ArcGIS release than its reference differs in
        // everything the release brings; env-release-mismatch says so once.
        // Only the core stack is compared until the env is upgraded.
        let ref_release = listing_release(&reference.listing, ctx);
        let cross_release = matches!((&env_release, &ref_release), (Some(a), Some(b)) if a != b);
        let note = if cross_release {
            format!(
                "; the env is on ArcGIS Server {}, the reference on {}: only core packages are compared until the env is upgraded",
                env_release.as_deref().unwrap_or("?"),
                ref_release.as_deref().unwrap_or("?")
            )
        } else {
            compared_fully.push((reference, services));
            String::new()
        };
        let reference_listing = through_dists(&reference.listing, &index, &listing);
        for change in compare(&reference_listing, &listing, &ctx.roles) {
            if cross_release && change.role != Role::Core {
                continue;
            }
            let before = change
                .before
                .as_ref()
                .map(|p| p.describe())
                .unwrap_or_default();
            let after = change
                .after
                .as_ref()
                .map(|p| p.describe())
                .unwrap_or_default();
            let message = match change.kind {
                ChangeKind::Added | ChangeKind::ChannelChanged => continue,
                ChangeKind::Removed => format!(
                    "{} {before} ({}) is in the reference env but not installed in `{}` on {}{note}",
                    change.name, change.role, env.name, machine.name
                ),
                kind => format!(
                    "{} ({}) is {after} in `{}` on {} but {before} in the reference env ({}){note}",
                    change.name,
                    change.role,
                    env.name,
                    machine.name,
                    match (kind, change.magnitude) {
                        (ChangeKind::Unsatisfied, _) => "does not meet the requirement".into(),
                        (ChangeKind::Rebuilt, _) => "same version, other build".into(),
                        (k, Some(m)) => format!("{} {}", m.as_str(), k.as_str()),
                        (k, None) => k.as_str().to_string(),
                    }
                ),
            };
            let key = (
                change.code(),
                change.name.clone(),
                before.clone(),
                after.clone(),
                cross_release,
            );
            match merged.get_mut(&key) {
                Some(f) => {
                    let mut all = f.services.clone();
                    all.extend(services.iter().cloned());
                    *f = f.clone().services(all);
                    if !f.locations.is_empty() {
                        *f = f.clone().location(source);
                    }
                }
                None => {
                    let mut f = Finding::new(change.code(), message)
                        .machine(&machine.name)
                        .env(&env.name, &env.path)
                        .package(&change.name)
                        .location(source.clone())
                        .services(services.to_vec())
                        .condition(change.condition())
                        .expected(before);
                    if change.kind != ChangeKind::Removed {
                        f = f.found(after);
                    }
                    merged.insert(key, f);
                }
            }
        }
    }
    out.extend(merged.into_values());
    extras(machine, env, &listing, &compared_fully, out);
}

/// `reference-extra`: a package of the env that no reference able to list
/// it has. A pip-only listing (pip freeze) cannot list conda packages, an
/// explicit one cannot list pip packages, and a `--from-history` export lists
/// only what was asked for, so each only speaks for what it covers.
fn extras(
    machine: &Machine,
    env: &Env,
    listing: &EnvListing,
    refs: &[(&Reference, &Vec<String>)],
    out: &mut Vec<Finding>,
) {
    let indexes: Vec<_> = refs.iter().map(|(r, _)| r.listing.by_name()).collect();
    for package in &listing.packages {
        let key = crate::model::normalize_dist_name(&package.name);
        let covering: Vec<usize> = (0..refs.len())
            .filter(|i| refs[*i].0.listing.covers(package.ecosystem))
            .collect();
        if covering.is_empty() || covering.iter().any(|i| indexes[*i].contains_key(&key)) {
            continue;
        }
        let services: Vec<String> = covering
            .iter()
            .flat_map(|i| refs[*i].1.iter().cloned())
            .collect();
        let sources: Vec<&str> = covering
            .iter()
            .map(|i| refs[*i].0.listing.source.as_str())
            .collect();
        let mut finding = Finding::new(
                Code::ReferenceExtra,
                format!(
                    "{} {} is installed in `{}` on {} but in no reference env of the services that use it",
                    package.name,
                    package.describe(),
                    env.name,
                    machine.name
                ),
            )
            .machine(&machine.name)
            .env(&env.name, &env.path)
            .package(&package.name)
            .found(package.describe())
            .services(services)
            .condition(Condition::Extra);
        for source in sources {
            finding = finding.location(source);
        }
        out.push(finding);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::reference::{Ecosystem, EnvFormat, EnvPackage};
    use crate::rules::RuleBook;
    use crate::Severity;

    fn reference(
        name: &str,
        default: bool,
        services: &[&str],
        pkgs: &[(&str, &str, &str)],
    ) -> Reference {
        Reference {
            name: name.into(),
            default,
            services: services.iter().map(|s| s.to_string()).collect(),
            listing: EnvListing {
                source: name.into(),
                format: EnvFormat::CondaListExport,
                packages: pkgs
                    .iter()
                    .map(|(n, v, b)| EnvPackage {
                        name: n.to_string(),
                        ecosystem: Ecosystem::Conda,
                        version: Some(v.to_string()),
                        build: Some(b.to_string()),
                        channel: None,
                        spec: None,
                    })
                    .collect(),
                warnings: Vec::new(),
            },
        }
    }

    fn severity(f: &Finding) -> Severity {
        RuleBook::builtin().severity(f.code, f.condition)
    }

    #[test]
    fn drift_missing_and_extra_with_role_severities() {
        let hydro = env(
            "hydro",
            &[
                ("arcpy", "3.1", "py39_arcgispro_41759"),
                ("numpy", "1.24.3", "py39_0"),
                ("libgdal", "3.4.3", "h_arcgispro_0"),
                ("requests", "2.31.0", "py39_0"),
                ("xgboost", "2.0.3", "py39_0"),
            ],
        );
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        bind(&mut m, "Hydro/Ebb.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.references.push(reference(
            "pro/clone",
            true,
            &[],
            &[
                ("arcpy", "3.1", "py39_arcgispro_41759"),
                ("numpy", "1.20.1", "py39_0"),
                ("libgdal", "3.4.1", "h_arcgispro_0"),
                ("requests", "2.28.1", "py39_0"),
                ("arcgis", "2.1.0", "py39_3480"),
                ("affine", "2.3.0", "py_0"),
            ],
        ));
        let got: Vec<String> = run_one(&s, reference_findings)
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.code,
                    severity(f),
                    f.package.as_deref().unwrap_or(""),
                    f.services.join(",")
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "reference-drift warning libgdal Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
                "reference-drift error numpy Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
                "reference-drift info requests Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
                "reference-extra info xgboost Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
                "reference-missing warning affine Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
                "reference-missing error arcgis Hydro/Ebb.GPServer,Hydro/Flood.GPServer",
            ]
        );
    }

    #[test]
    fn per_service_references_split_the_services_and_extras_need_every_reference() {
        let hydro = env(
            "hydro",
            &[
                ("numpy", "1.20.1", "py39_0"),
                ("scipy", "1.9.3", "py39_0"),
                ("tqdm", "4.64.1", "py_0"),
            ],
        );
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        bind(&mut m, "Hydro/Ebb.GPServer", "/envs/hydro", "hydro");
        bind(
            &mut m,
            "Other/NoRef.GPServer",
            "/envs/elsewhere",
            "elsewhere",
        );
        let mut s = snapshot(vec![m], Some("11.1"));
        s.references.push(reference(
            "flood.json",
            false,
            &["Hydro/Flood.GPServer"],
            &[("numpy", "1.20.1", "py39_0"), ("scipy", "1.9.3", "py39_0")],
        ));
        s.references.push(reference(
            "ebb.json",
            false,
            &["hydro/ebb.gpserver"],
            &[("numpy", "1.20.1", "py39_0")],
        ));
        let got: Vec<String> = run_one(&s, reference_findings)
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f.code,
                    f.package.as_deref().unwrap_or(""),
                    f.services.join(",")
                )
            })
            .collect();
        // scipy is in Flood's reference, so it is not extra; tqdm is in neither.
        assert_eq!(
            got,
            ["reference-extra tqdm Hydro/Ebb.GPServer,Hydro/Flood.GPServer"]
        );
    }

    #[test]
    fn agreeing_references_give_one_finding_and_other_releases_compare_core_only() {
        let legacy = env(
            "legacy",
            &[
                ("arcpy", "3.0", "py39_arcgispro_36045"),
                ("python", "3.9.11", "h6244533_2"),
                ("libgdal", "3.4.0", "h_arcgispro_0"),
                ("tqdm", "4.64.1", "py_0"),
            ],
        );
        let mut m = machine("GIS1", vec![legacy]);
        bind(&mut m, "A/One.GPServer", "/envs/legacy", "legacy");
        bind(&mut m, "A/Two.GPServer", "/envs/legacy", "legacy");
        let mut s = snapshot(vec![m], Some("11.1"));
        let pro31 = [
            ("arcpy", "3.1", "py39_arcgispro_41759"),
            ("python", "3.9.16", "h6244533_2"),
            ("libgdal", "3.4.1", "h_arcgispro_0"),
        ];
        s.references
            .push(reference("one.json", false, &["A/One.GPServer"], &pro31));
        s.references
            .push(reference("two.yml", false, &["A/Two.GPServer"], &pro31));
        let findings = run_one(&s, reference_findings);
        let got: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} [{}]",
                    f.code,
                    f.package.as_deref().unwrap_or(""),
                    f.services.join(","),
                    crate::location::joined(&f.locations)
                )
            })
            .collect();
        // libgdal (native) and tqdm (extra) are not compared across releases.
        assert_eq!(
            got,
            [
                "reference-drift arcpy A/One.GPServer,A/Two.GPServer [one.json, two.yml]",
                "reference-drift python A/One.GPServer,A/Two.GPServer [one.json, two.yml]",
            ]
        );
        assert!(
            findings[0]
                .message
                .contains("only core packages are compared"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn partial_listings_only_speak_for_what_they_cover() {
        let mut hydro = env(
            "hydro",
            &[("numpy", "1.20.1", "py39_0"), ("tqdm", "4.64.1", "py_0")],
        );
        hydro.pip.push(crate::model::PipDist {
            name: "requests_toolbelt".into(),
            version: "1.0.0".into(),
            installer: Some("pip".into()),
            path: "Lib/site-packages/requests_toolbelt-1.0.0.dist-info".into(),
            overwrote: Vec::new(),
            modules: vec!["requests_toolbelt".into()],
        });
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        let mut pip_only = reference("freeze.txt", true, &[], &[]);
        pip_only.listing.format = EnvFormat::PipFreeze;
        pip_only.listing.packages.push(EnvPackage {
            name: "numpy".into(),
            ecosystem: Ecosystem::Pypi,
            version: None,
            build: None,
            channel: Some("pypi".into()),
            spec: None,
        });
        s.references.push(pip_only);
        let got: Vec<String> = run_one(&s, reference_findings)
            .iter()
            .map(|f| format!("{} {}", f.code, f.package.as_deref().unwrap_or("")))
            .collect();
        // tqdm (conda) is not extra: pip freeze cannot list it; the pip
        // package is, since pip freeze would have listed it.
        assert_eq!(got, ["reference-extra requests-toolbelt"]);
    }

    #[test]
    fn issue_13_item_7_pip_freeze_names_match_conda_packages_through_their_dist_info() {
        let mut hydro = env(
            "hydro",
            &[
                ("pytables", "3.7.0", "py39_0"),
                ("pyqt", "5.15.7", "py39_0"),
            ],
        );
        hydro.packages[0].dists = vec!["tables".into()];
        hydro.packages[1].dists = vec!["PyQt5".into()];
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        let mut freeze = reference("freeze.txt", true, &[], &[]);
        freeze.listing.format = EnvFormat::PipFreeze;
        for (name, version) in [
            ("tables", "3.7.0"),
            ("pyqt5", "5.15.7"),
            ("pyqt5", "5.15.7"),
        ] {
            freeze.listing.packages.push(EnvPackage {
                name: name.into(),
                ecosystem: Ecosystem::Pypi,
                version: Some(version.into()),
                build: None,
                channel: Some("pypi".into()),
                spec: None,
            });
        }
        freeze.listing.packages.dedup();
        s.references.push(freeze);
        let got: Vec<String> = run_one(&s, reference_findings)
            .iter()
            .map(|f| format!("{} {}", f.code, f.package.as_deref().unwrap_or("")))
            .collect();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_requirement_on_arcpy_still_tells_the_release() {
        let legacy = env(
            "legacy",
            &[
                ("arcpy", "3.0", "py39_arcgispro_36045"),
                ("tqdm", "4.64.1", "py_0"),
            ],
        );
        let mut m = machine("GIS1", vec![legacy]);
        bind(&mut m, "A/One.GPServer", "/envs/legacy", "legacy");
        let mut s = snapshot(vec![m], Some("11.1"));
        let mut history = reference("history.yml", true, &[], &[]);
        history.listing.format = EnvFormat::EnvironmentYml;
        history.listing.packages.push(EnvPackage {
            name: "arcpy".into(),
            ecosystem: Ecosystem::Conda,
            version: None,
            build: None,
            channel: None,
            spec: Some("arcpy 3.1.*".into()),
        });
        s.references.push(history);
        let findings = run_one(&s, reference_findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(findings[0]
            .message
            .contains("on ArcGIS Server 11.0, the reference on 11.1"));
    }

    #[test]
    fn no_reference_no_findings() {
        let mut m = machine("GIS1", vec![env("hydro", &[("numpy", "1.24.3", "py39_0")])]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let s = snapshot(vec![m], Some("11.1"));
        assert!(run_one(&s, reference_findings).is_empty());
    }
}
