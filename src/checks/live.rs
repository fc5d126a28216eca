//! `service-state-mismatch`, `service-stopped`, `site-machines-mismatch`:
//! what the Administrator API reports against the config store and the site
//! file on disk, and GP services that should be running but are not.

use super::Context;
use crate::finding::{Code, Finding};

pub fn live_findings(ctx: &Context) -> Vec<Finding> {
    let Some(live) = &ctx.snapshot.live else {
        return Vec::new();
    };
    let mut out = machine_findings(ctx);
    let gp = |kind: &str| {
        kind.rsplit('.')
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case("GPServer"))
    };
    for l in live.services.iter().filter(|l| gp(&l.key)) {
        let configured = l.configured_state.as_deref().unwrap_or("");
        let real = l.real_state.as_deref().unwrap_or("");
        if configured.eq_ignore_ascii_case("STARTED") && real.eq_ignore_ascii_case("STOPPED") {
            out.push(
                Finding::new(
                    Code::ServiceStopped,
                    format!(
                        "{} is configured to run but is stopped: its requests fail",
                        l.key
                    ),
                )
                .service(&l.key)
                .services(vec![l.key.clone()])
                .expected("STARTED")
                .found("STOPPED"),
            );
        }
    }
    if !ctx.snapshot.services_from_disk() {
        return out;
    }
    let mismatch = |key: &str, message: String| {
        Finding::new(Code::ServiceStateMismatch, message)
            .service(key)
            .services(vec![key.to_string()])
    };
    for disk in ctx.snapshot.services.iter().filter(|s| s.is_gp()) {
        match live
            .services
            .iter()
            .find(|l| l.key.eq_ignore_ascii_case(&disk.key))
        {
            None => out.push(
                mismatch(
                    &disk.key,
                    format!(
                        "{} is in the config store ({}) but the Administrator API does not list it",
                        disk.key, disk.file
                    ),
                )
                .location(disk.file.clone()),
            ),
            Some(l) => {
                let norm = |p: &Option<String>| p.as_deref().map(|s| s.trim().to_ascii_lowercase());
                if norm(&disk.conda_environment_path) != norm(&l.conda_environment_path) {
                    let show = |p: &Option<String>| {
                        p.clone()
                            .unwrap_or_else(|| "(not set: the active env)".into())
                    };
                    out.push(
                        mismatch(
                            &disk.key,
                            format!(
                                "{}'s condaEnvironmentPath is {} in the config store but {} in the Administrator API",
                                disk.key,
                                show(&disk.conda_environment_path),
                                show(&l.conda_environment_path)
                            ),
                        )
                        .expected(show(&disk.conda_environment_path))
                        .found(show(&l.conda_environment_path))
                        .location(disk.file.clone()),
                    );
                }
            }
        }
    }
    // A service whose JSON on disk could not be read is already a
    // scan-error; it is not also "missing from the config store".
    let unreadable = |key: &str| {
        let tail = format!("{}.json", key.rsplit('/').next().unwrap_or(key));
        ctx.snapshot
            .scan_errors
            .iter()
            .any(|e| e.path.replace('\\', "/").ends_with(&tail))
    };
    // Esri's own folders (PublishingTools, PrintingTools...): a copy of the
    // config store often leaves them out, and gpaudit does not audit them.
    let esri_folder = |key: &str| {
        key.split_once('/').is_some_and(|(f, _)| {
            f.eq_ignore_ascii_case("System") || f.eq_ignore_ascii_case("Utilities")
        })
    };
    for l in live
        .services
        .iter()
        .filter(|l| gp(&l.key) && !esri_folder(&l.key))
    {
        if !ctx
            .snapshot
            .services
            .iter()
            .any(|s| s.key.eq_ignore_ascii_case(&l.key))
            && !unreadable(&l.key)
        {
            out.push(mismatch(
                &l.key,
                format!("the Administrator API lists {} but the config store on disk has no such service", l.key),
            ));
        }
    }
    out
}

/// The site's machines as the API lists them against those of the site
/// file (or snapshots): a machine the API does not know is not part of the
/// site any more (or never joined); one the site file lacks is not audited.
fn machine_findings(ctx: &Context) -> Vec<Finding> {
    let Some(live) = &ctx.snapshot.live else {
        return Vec::new();
    };
    let ours: Vec<&str> = ctx
        .snapshot
        .machines
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    if ours.is_empty() || live.machines.is_empty() {
        return Vec::new();
    }
    let has = |list: &[&str], name: &str| list.iter().any(|m| m.eq_ignore_ascii_case(name));
    let theirs: Vec<&str> = live.machines.iter().map(String::as_str).collect();
    let listed = theirs.join(", ");
    let mut out = Vec::new();
    for name in ours.iter().filter(|m| !has(&theirs, m)) {
        out.push(
            Finding::new(
                Code::SiteMachinesMismatch,
                format!(
                    "{name} is a machine of the site file, but the Administrator API does not list it ({listed}): it left the site, never joined it, or is named differently there"
                ),
            )
            .machine(*name)
            .expected(format!("{name} in the site"))
            .found(listed.clone()),
        );
    }
    for name in theirs.iter().filter(|m| !has(&ours, m)) {
        out.push(
            Finding::new(
                Code::SiteMachinesMismatch,
                format!(
                    "the Administrator API lists {name}, a machine the site file does not have: its environments are not audited"
                ),
            )
            .machine(*name)
            .expected("a [[machine]] entry")
            .found(format!("{name} in the site")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::model::{LiveService, LiveSite};

    fn live(key: &str, env: Option<&str>, configured: &str, real: &str) -> LiveService {
        LiveService {
            key: key.into(),
            provider: Some("ArcObjects11".into()),
            conda_environment_path: env.map(str::to_string),
            configured_state: Some(configured.into()),
            real_state: Some(real.into()),
        }
    }

    #[test]
    fn stopped_and_mismatched_services() {
        let mut s = snapshot(vec![], Some("11.1"));
        s.services.push(service(
            "Hydro/Flood.GPServer",
            "ArcObjects11",
            Some("hydro"),
        ));
        s.services
            .push(service("Hydro/Ebb.GPServer", "ArcObjects11", None));
        s.services
            .push(service("Old/Gone.GPServer", "ArcObjects11", None));
        s.add_live(LiveSite {
            url: "https://gis/arcgis".into(),
            version: Some("11.1".into()),
            machines: vec![],
            services: vec![
                live("Hydro/Flood.GPServer", Some("HYDRO"), "STARTED", "STOPPED"),
                live("Hydro/Ebb.GPServer", Some("ml"), "STARTED", "STARTED"),
                live("New/Fresh.GPServer", None, "STARTED", "STARTED"),
            ],
        });
        let got: Vec<String> = run_one(&s, live_findings)
            .iter()
            .map(|f| format!("{} {}", f.code, f.service.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                "service-state-mismatch Hydro/Ebb.GPServer",
                "service-state-mismatch New/Fresh.GPServer",
                "service-state-mismatch Old/Gone.GPServer",
                "service-stopped Hydro/Flood.GPServer",
            ]
        );
    }

    #[test]
    fn machines_the_api_and_the_site_file_disagree_about() {
        let mut s = snapshot(
            vec![machine("GIS1", vec![]), machine("GIS3", vec![])],
            Some("11.1"),
        );
        s.add_live(LiveSite {
            url: "https://gis/arcgis".into(),
            version: Some("11.1".into()),
            machines: vec!["gis1".into(), "GIS2".into()],
            services: vec![],
        });
        let got: Vec<String> = run_one(&s, live_findings)
            .iter()
            .map(|f| format!("{} {}", f.code, f.machine.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            ["site-machines-mismatch GIS2", "site-machines-mismatch GIS3"]
        );
    }

    #[test]
    fn without_disk_the_api_stands_in_and_nothing_mismatches() {
        let mut s = snapshot(vec![], None);
        s.add_live(LiveSite {
            url: "https://gis/arcgis".into(),
            version: Some("11.3".into()),
            machines: vec!["GIS1".into()],
            services: vec![live("Legacy/Geocode.GPServer", None, "STARTED", "STARTED")],
        });
        assert_eq!(s.services.len(), 1);
        assert!(!s.services_from_disk());
        assert!(run_one(&s, live_findings).is_empty());
        let releases = crate::release::ReleaseTable::builtin();
        let ctx = Context::new(&s, &releases);
        assert_eq!(
            ctx.site_release.unwrap().source,
            "reported by the Administrator API"
        );
    }
}
