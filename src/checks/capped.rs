//! `input-capped` and `findings-capped`: where gpaudit stopped reading or
//! reporting because a file or a check produced more than any real site
//! does (a record with a million `depends`). The scan cuts fields to
//! [`MAX_FIELD_ENTRIES`] and records the cut in the env; [`cap_findings`]
//! keeps at most [`MAX_FINDINGS_PER_GROUP`] findings of one code per env
//! and says how many more there were. Both codes are this module's only.

use super::{env_finding, Context};
use crate::finding::{Code, Finding};
use crate::model::MAX_FIELD_ENTRIES;
use std::collections::HashMap;

/// The most findings of one code about one env (or, for findings about no
/// env, about the site) that a report lists.
pub const MAX_FINDINGS_PER_GROUP: usize = 200;

/// The fields the scan cut.
pub fn input_capped(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            for cut in &env.capped {
                out.push(
                    env_finding(
                        Code::InputCapped,
                        format!(
                            "{}: `{}` holds {} entries; only {} were read (gpaudit reads at most {MAX_FIELD_ENTRIES} per field), so findings about the rest are missing",
                            cut.path, cut.field, cut.total, cut.kept
                        ),
                        machine,
                        env,
                    )
                    .location(cut.path.clone()),
                );
            }
        }
    }
    out
}

/// Keep at most [`MAX_FINDINGS_PER_GROUP`] findings per (machine, env,
/// code), in the order the checks gave them after sorting; each group cut
/// gets one `findings-capped` finding saying how many were left out.
pub fn cap_findings(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut counts: HashMap<(Option<String>, Option<String>, Code), usize> = HashMap::new();
    for f in &findings {
        *counts
            .entry((f.machine.clone(), f.env_path.clone(), f.code))
            .or_default() += 1;
    }
    if counts.values().all(|&n| n <= MAX_FINDINGS_PER_GROUP) {
        return findings;
    }
    // Deterministic: which findings are kept must not depend on threads.
    findings.sort_by(|a, b| {
        (a.code, &a.machine, &a.env_path, &a.package, &a.message).cmp(&(
            b.code,
            &b.machine,
            &b.env_path,
            &b.package,
            &b.message,
        ))
    });
    let mut seen: HashMap<(Option<String>, Option<String>, Code), usize> = HashMap::new();
    let mut out = Vec::with_capacity(findings.len().min(100_000));
    let mut notes = Vec::new();
    for f in findings {
        let key = (f.machine.clone(), f.env_path.clone(), f.code);
        let n = seen.entry(key.clone()).or_default();
        *n += 1;
        if *n <= MAX_FINDINGS_PER_GROUP {
            if *n == MAX_FINDINGS_PER_GROUP && counts[&key] > MAX_FINDINGS_PER_GROUP {
                let mut note = Finding::new(
                    Code::FindingsCapped,
                    format!(
                        "{} more `{}` findings{} were left out (a report lists at most {MAX_FINDINGS_PER_GROUP} per code and env)",
                        counts[&key] - MAX_FINDINGS_PER_GROUP,
                        f.code,
                        match (&f.env, &f.machine) {
                            (Some(e), Some(m)) => format!(" for env `{e}` on {m}"),
                            (None, Some(m)) => format!(" on {m}"),
                            _ => String::new(),
                        }
                    ),
                );
                note.machine = f.machine.clone();
                note.env = f.env.clone();
                note.env_path = f.env_path.clone();
                notes.push(note);
            }
            out.push(f);
        }
    }
    out.extend(notes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::model::CappedInput;

    #[test]
    fn regression_a_million_depends_give_a_bounded_report() {
        // One record with more depends than any real one: before the caps,
        // one finding per entry (a million gave 800 MB of JSON).
        let many: Vec<String> = (0..MAX_FINDINGS_PER_GROUP * 3)
            .map(|i| format!("missing-{i}"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut e = env_with("big", vec![pkg("a", "1", "0", &refs)]);
        e.capped.push(CappedInput {
            path: "conda-meta/a-1-0.json".into(),
            field: "depends".into(),
            kept: 10_000,
            total: 1_000_000,
        });
        let snap = snapshot(vec![machine("GIS1", vec![e])], None);
        let releases = crate::release::ReleaseTable::builtin();
        let ctx = Context::new(&snap, &releases);
        let findings = crate::checks::run(&ctx);
        let missing = findings
            .iter()
            .filter(|f| f.code == Code::DependencyMissing)
            .count();
        assert_eq!(missing, MAX_FINDINGS_PER_GROUP);
        let capped: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.code == Code::FindingsCapped)
            .collect();
        assert_eq!(capped.len(), 1, "{capped:?}");
        assert!(
            capped[0].message.starts_with(&format!(
                "{} more `dependency-missing` findings for env `big` on GIS1",
                MAX_FINDINGS_PER_GROUP * 2
            )),
            "{}",
            capped[0].message
        );
        let input: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.code == Code::InputCapped)
            .collect();
        assert_eq!(input.len(), 1);
        assert!(input[0].message.contains("holds 1000000 entries"));
    }

    #[test]
    fn a_report_under_the_caps_is_left_as_it_is() {
        let f: Vec<Finding> = (0..5)
            .map(|i| Finding::new(Code::DependencyMissing, format!("m{i}")))
            .collect();
        assert_eq!(cap_findings(f.clone()).len(), 5);
    }
}
