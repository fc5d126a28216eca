//! `per-service-env-unsupported`: `condaEnvironmentPath` set on a machine
//! whose release (before 10.8.1) ignores it.

use super::Context;
use crate::finding::{Code, Finding};
use crate::release::Feature;

pub fn per_service_env_unsupported(ctx: &Context) -> Vec<Finding> {
    let since = &ctx.releases.capability(Feature::PerServiceEnv).since;
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        let Some(release) = ctx.machine_release(machine) else {
            continue;
        };
        if ctx.releases.supports(&release, Feature::PerServiceEnv) {
            continue;
        }
        for service in ctx.snapshot.services.iter().filter(|s| s.is_gp()) {
            let Some(value) = &service.conda_environment_path else {
                continue;
            };
            out.push(
                Finding::new(
                    Code::PerServiceEnvUnsupported,
                    format!(
                        "{} sets condaEnvironmentPath `{value}`, but {} runs ArcGIS Server {release}, which ignores it before {since}: the service runs in the active env there",
                        service.key, machine.name
                    ),
                )
                .machine(&machine.name)
                .service(&service.key)
                .expected(format!("ArcGIS Server {since} or later"))
                .found(format!("ArcGIS Server {release}"))
                .location(service.file.clone())
                .services(vec![service.key.clone()]),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    #[test]
    fn only_machines_before_10_8_1_are_reported() {
        let old = machine("GIS3", vec![arcgis_env("arcgispro-py3", "2.5")]);
        let new = machine("GIS1", vec![arcgis_env("arcgispro-py3", "3.1")]);
        let mut snap = snapshot(vec![new, old], Some("11.1"));
        snap.services = vec![
            service("Hydro/Flood.GPServer", "ArcObjects11", Some("hydro")),
            service("Hydro/Ebb.GPServer", "ArcObjects11", None),
        ];
        let f = run_one(&snap, per_service_env_unsupported);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].machine.as_deref(), Some("GIS3"));
        assert_eq!(f[0].found.as_deref(), Some("ArcGIS Server 10.8"));
    }
}
