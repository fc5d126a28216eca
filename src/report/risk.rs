//! The admin's first question, answered from the findings: which GP
//! services will fail, and why. One row per service, worst first.

use super::group::FindingGroup;
use crate::finding::{Finding, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

/// A GP service that a warning or an error touches.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ServiceAtRisk {
    pub service: String,
    /// The worst severity of what touches it.
    pub severity: Severity,
    pub machines: Vec<String>,
    pub envs: Vec<String>,
    /// One line per finding group that touches it, worst first.
    pub reasons: Vec<String>,
    /// The ids of those groups.
    pub groups: Vec<String>,
}

/// Every service touched by a warning or an error, worst first, then by name.
pub fn services_at_risk(findings: &[Finding], groups: &[FindingGroup]) -> Vec<ServiceAtRisk> {
    let mut by_service: BTreeMap<String, ServiceAtRisk> = BTreeMap::new();
    // Groups are in report order (worst first), so reasons come out worst first.
    for g in groups {
        for entry in &g.entries {
            for &i in &entry.findings {
                let f = &findings[i];
                if f.severity < Severity::Warning {
                    continue;
                }
                for service in f.services.iter().chain(f.service.iter()) {
                    let row = by_service
                        .entry(service.clone())
                        .or_insert_with(|| ServiceAtRisk {
                            service: service.clone(),
                            severity: f.severity,
                            machines: Vec::new(),
                            envs: Vec::new(),
                            reasons: Vec::new(),
                            groups: Vec::new(),
                        });
                    row.severity = row.severity.max(f.severity);
                    if let Some(m) = &f.machine {
                        push_once(&mut row.machines, m);
                    }
                    if let Some(e) = &f.env {
                        push_once(&mut row.envs, e);
                    }
                    if !row.groups.contains(&g.id) {
                        row.groups.push(g.id.clone());
                    }
                    if !row.reasons.contains(&entry.reason) {
                        row.reasons.push(entry.reason.clone());
                    }
                }
            }
        }
    }
    let mut rows: Vec<ServiceAtRisk> = by_service.into_values().collect();
    for r in &mut rows {
        r.machines.sort();
        r.envs.sort();
    }
    rows.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.service)
            .cmp(&(std::cmp::Reverse(b.severity), &b.service))
    });
    rows
}

fn push_once(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}
