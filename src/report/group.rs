//! Grouping findings for people: what one cause produced is shown together,
//! and what is identical on several machines is shown once. The rule (also
//! in `rules/README.md`): findings about the same package in the same env
//! name form one group, whatever their codes and machines; any other
//! findings form one group per code. Within a group, findings that differ
//! only in their machine are one entry listing the machines.

use crate::finding::{Code, Finding, Severity};
use crate::rules::RuleBook;
use serde::Serialize;
use std::collections::BTreeMap;

/// Findings with one cause.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingGroup {
    /// `g1`, `g2`, ... in report order; findings carry it as `group`.
    pub id: String,
    /// The worst severity in the group.
    pub severity: Severity,
    /// `numpy in env hydro`, or the shared message.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Every code in the group, worst first.
    pub codes: Vec<Code>,
    /// Every machine the group's findings are on.
    pub machines: Vec<String>,
    /// Every GP service the group's findings affect.
    pub services: Vec<String>,
    /// The group's findings, identical ones on several machines merged.
    pub entries: Vec<GroupEntry>,
    /// For a package group: who pulls the package in (two levels up), in
    /// the env on the group's first machine.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<WhyLink>,
}

/// One `depends` edge: `from` requires `to` with `spec`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct WhyLink {
    pub from: String,
    pub to: String,
    pub spec: String,
}

/// One finding, or the same finding on several machines.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GroupEntry {
    pub code: Code,
    pub severity: Severity,
    /// The message, with the machine list in place of the machine's name
    /// when the finding is on several machines.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    pub machines: Vec<String>,
    /// Indices into the report's `findings`.
    pub findings: Vec<usize>,
    /// A one-line reason, for the services-at-risk table.
    pub reason: String,
}

/// What makes two findings "the same but for the machine".
fn machine_neutral(f: &Finding) -> String {
    match &f.machine {
        Some(m) => f.message.replace(m.as_str(), "\u{0}"),
        None => f.message.clone(),
    }
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Package { env: String, package: String },
    Code(Code),
}

fn key_of(f: &Finding) -> GroupKey {
    match (&f.env, &f.package) {
        (Some(env), Some(package)) => GroupKey::Package {
            env: env.to_ascii_lowercase(),
            package: package.to_ascii_lowercase(),
        },
        _ => GroupKey::Code(f.code),
    }
}

/// Group `findings` (already in report order). Returns the groups in
/// report order (worst first, then as their first finding came) and each
/// finding's group id.
pub fn group(findings: &[Finding]) -> (Vec<FindingGroup>, Vec<String>) {
    let mut order: Vec<GroupKey> = Vec::new();
    let mut members: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        let key = key_of(f);
        let list = members.entry(key.clone()).or_default();
        if list.is_empty() {
            order.push(key);
        }
        list.push(i);
    }
    let mut groups: Vec<(GroupKey, FindingGroup)> = order
        .into_iter()
        .map(|key| {
            let built = build_group(findings, &members[&key], &key);
            (key, built)
        })
        .collect();
    // Worst first; a stable sort keeps report order among equals.
    groups.sort_by_key(|(_, g)| std::cmp::Reverse(g.severity));
    let mut ids = vec![String::new(); findings.len()];
    let groups = groups
        .into_iter()
        .enumerate()
        .map(|(n, (key, mut g))| {
            g.id = format!("g{}", n + 1);
            for i in &members[&key] {
                ids[*i] = g.id.clone();
            }
            g
        })
        .collect();
    (groups, ids)
}

fn build_group(findings: &[Finding], indices: &[usize], key: &GroupKey) -> FindingGroup {
    let mut entries: Vec<GroupEntry> = Vec::new();
    let mut entry_keys: Vec<(Code, String, Option<String>, Option<String>)> = Vec::new();
    for &i in indices {
        let f = &findings[i];
        let k = (
            f.code,
            machine_neutral(f),
            f.expected.clone(),
            f.found.clone(),
        );
        match entry_keys.iter().position(|e| *e == k) {
            Some(at) => {
                let e = &mut entries[at];
                e.findings.push(i);
                if let Some(m) = &f.machine {
                    if !e.machines.contains(m) {
                        e.machines.push(m.clone());
                    }
                }
            }
            None => {
                entry_keys.push(k);
                entries.push(GroupEntry {
                    code: f.code,
                    severity: f.severity,
                    message: f.message.clone(),
                    expected: f.expected.clone(),
                    found: f.found.clone(),
                    machines: f.machine.iter().cloned().collect(),
                    findings: vec![i],
                    reason: String::new(),
                });
            }
        }
    }
    for e in &mut entries {
        let first = &findings[e.findings[0]];
        if e.machines.len() > 1 {
            if let Some(m) = &first.machine {
                e.message = first.message.replace(m.as_str(), &e.machines.join(", "));
            }
        }
        e.reason = reason_of(first);
        if !e.machines.is_empty() {
            e.reason.push_str(&format!(" on {}", e.machines.join(", ")));
        }
    }
    let all: Vec<&Finding> = indices.iter().map(|i| &findings[*i]).collect();
    let severity = all
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let mut codes: Vec<(Severity, Code)> = Vec::new();
    for f in &all {
        if !codes.iter().any(|(_, c)| *c == f.code) {
            codes.push((f.severity, f.code));
        }
    }
    codes.sort_by_key(|(s, c)| (std::cmp::Reverse(*s), *c));
    let mut machines: Vec<String> = all.iter().filter_map(|f| f.machine.clone()).collect();
    machines.sort();
    machines.dedup();
    let mut services: Vec<String> = all
        .iter()
        .flat_map(|f| f.services.iter().chain(f.service.iter()).cloned())
        .collect();
    services.sort();
    services.dedup();
    let (title, package, env) = match key {
        GroupKey::Package { .. } => {
            let package = all[0].package.clone().unwrap_or_default();
            let env = all[0].env.clone().unwrap_or_default();
            (format!("{package} in env {env}"), Some(package), Some(env))
        }
        GroupKey::Code(code) => (RuleBook::builtin().rule(*code).title.clone(), None, None),
    };
    FindingGroup {
        id: String::new(),
        severity,
        title,
        package,
        env,
        codes: codes.into_iter().map(|(_, c)| c).collect(),
        machines,
        services,
        entries,
        why: Vec::new(),
    }
}

/// A short reason a finding gives a service, without its machine.
pub fn reason_of(f: &Finding) -> String {
    let Some(pkg) = f.package.as_deref() else {
        return match f.code {
            Code::SiteInconsistent => {
                format!("env `{}` is missing", f.env.as_deref().unwrap_or("?"))
            }
            _ => reason_without_package(f),
        };
    };
    let env = f.env.as_deref().unwrap_or("?");
    match f.code {
        Code::ServiceImportUnresolved => format!("imports `{pkg}`, not provided by `{env}`"),
        Code::ServiceImportRemovedStdlib => {
            format!("imports `{pkg}`, which a newer Python removed")
        }
        Code::PinViolation => format!("`{pkg}` breaks its pin in `{env}`"),
        Code::DependencyUnsatisfied => format!("`{pkg}` breaks a dependency in `{env}`"),
        Code::DependencyMissing => format!("`{pkg}` is needed but not installed in `{env}`"),
        Code::ConstraintViolated => format!("`{pkg}` breaks a constraint in `{env}`"),
        Code::ReferenceDrift => format!("`{pkg}` differs from the Pro env in `{env}`"),
        Code::ReferenceMissing => format!("`{pkg}` of the Pro env is missing from `{env}`"),
        Code::ReferenceExtra => format!("`{pkg}` is in `{env}` but in no Pro env"),
        Code::SiteInconsistent => format!("`{pkg}` differs between machines in `{env}`"),
        Code::PipClobbered => format!("pip's `{pkg}` overwrote conda's in `{env}`"),
        Code::PipInstalled => format!("`{pkg}` was installed by pip in `{env}`"),
        _ => reason_without_package(f),
    }
}

fn reason_without_package(f: &Finding) -> String {
    let env = f.env.as_deref().unwrap_or("?");
    match f.code {
        Code::EnvMissing => format!("env `{env}` does not exist"),
        Code::EnvNotArcgis => format!("env `{env}` has no arcpy"),
        Code::EnvReleaseMismatch => format!("env `{env}` is at another ArcGIS release"),
        Code::ArcmapService => "runs on the ArcMap runtime".into(),
        Code::PerServiceEnvUnsupported => "condaEnvironmentPath needs 10.8.1 or later".into(),
        Code::ServiceCodePython2 => "its code is Python 2".into(),
        Code::ServiceCodeMissing => "its code was not found, so its imports are unchecked".into(),
        Code::ScanError if f.env.is_some() => format!("a file of `{env}` could not be read"),
        _ => f.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: Code, machine: &str, env: &str, package: Option<&str>, sev: Severity) -> Finding {
        let mut f = Finding::new(
            code,
            format!(
                "{} in env `{env}` on {machine} is off",
                package.unwrap_or("x")
            ),
        )
        .machine(machine)
        .env(env, format!("/{machine}/{env}"));
        if let Some(p) = package {
            f = f.package(p);
        }
        f.severity = sev;
        f
    }

    #[test]
    fn one_cause_is_one_group_and_identical_machines_are_one_entry() {
        let findings = vec![
            f(
                Code::PinViolation,
                "GIS1",
                "hydro",
                Some("numpy"),
                Severity::Error,
            ),
            f(
                Code::ReferenceDrift,
                "GIS1",
                "hydro",
                Some("numpy"),
                Severity::Error,
            ),
            f(Code::EnvMissing, "GIS1", "legacy", None, Severity::Error),
            f(Code::EnvMissing, "GIS2", "legacy", None, Severity::Error),
            f(
                Code::SiteInconsistent,
                "GIS2",
                "hydro",
                Some("numpy"),
                Severity::Warning,
            ),
        ];
        let (groups, ids) = group(&findings);
        assert_eq!(groups.len(), 2, "{groups:#?}");
        assert_eq!(
            groups[1].title,
            RuleBook::builtin().rule(Code::EnvMissing).title
        );
        let numpy = &groups[0];
        assert_eq!(numpy.title, "numpy in env hydro");
        assert_eq!(
            numpy.codes,
            [
                Code::PinViolation,
                Code::ReferenceDrift,
                Code::SiteInconsistent
            ]
        );
        assert_eq!(numpy.machines, ["GIS1", "GIS2"]);
        let missing = &groups[1];
        assert_eq!(missing.entries.len(), 1);
        assert_eq!(missing.entries[0].machines, ["GIS1", "GIS2"]);
        assert_eq!(
            missing.entries[0].message,
            "x in env `legacy` on GIS1, GIS2 is off"
        );
        assert_eq!(ids, ["g1", "g1", "g2", "g2", "g1"]);
    }
}
