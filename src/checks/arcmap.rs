//! `arcmap-service`: services still on the ArcMap runtime
//! (`provider` = `ArcObjects`), which ArcGIS Server 11.0 removed.

use super::Context;
use crate::finding::{Code, Condition, Finding};
use crate::release::Feature;

/// Condition under which `arcmap-service` is an error (see rules.toml).
pub const SITE_11_OR_LATER: Condition = Condition::Site11OrLater;

pub fn arcmap_service(ctx: &Context) -> Vec<Finding> {
    let removed = ctx.site_release.as_ref().is_some_and(|r| {
        ctx.releases
            .supports(&r.version, Feature::ArcmapRuntimeRemoved)
    });
    // A forecast to a release without the ArcMap runtime makes it an error too.
    let target_removes = ctx.target.as_ref().is_some_and(|t| {
        ctx.releases
            .supports(&t.server, Feature::ArcmapRuntimeRemoved)
    });
    let mut out = Vec::new();
    for service in &ctx.snapshot.services {
        if !service
            .provider
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("ArcObjects"))
        {
            continue;
        }
        let since = &ctx.releases.capability(Feature::ArcmapRuntimeRemoved).since;
        let mut finding = Finding::new(
            Code::ArcmapService,
            if removed {
                format!("{} runs on the ArcMap runtime, which this site's release no longer has (removed at {since}); republish it from ArcGIS Pro", service.key)
            } else {
                format!("{} runs on the ArcMap runtime, which ArcGIS Server {since} removes; republish it from ArcGIS Pro before upgrading", service.key)
            },
        )
        .service(&service.key)
        .expected("provider ArcObjects11 (ArcGIS Pro runtime)")
        .found(format!("provider {}", service.provider.as_deref().unwrap_or_default()))
        .location(service.file.clone())
        .services(vec![service.key.clone()]);
        if removed || target_removes {
            finding = finding.condition(SITE_11_OR_LATER);
        }
        out.push(finding);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn arcmap_services_are_flagged_with_the_release_condition() {
        let mut snap = snapshot(vec![machine("GIS1", vec![])], Some("10.9.1"));
        snap.services = vec![
            service("Old/Legacy.GPServer", "ArcObjects", None),
            service("New/Fresh.GPServer", "ArcObjects11", None),
        ];
        let f = run_one(&snap, arcmap_service);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].service.as_deref(), Some("Old/Legacy.GPServer"));
        assert_eq!(f[0].condition, None);
        snap.site.version = Some("11.1".into());
        let f = run_one(&snap, arcmap_service);
        assert_eq!(f[0].condition, Some(SITE_11_OR_LATER));
    }
}
