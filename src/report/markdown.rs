//! The Markdown rendering, for pasting into a change request: the audit
//! (summary, then one section per machine and env), a diff, a plan.

use super::{RenderOptions, Renderer, Report};
use crate::diff::{change_label, side_text, DiffReport};
use crate::finding::Finding;
use crate::migrate::{kind_name, MigrationPlan};
use std::collections::BTreeMap;

/// The Markdown format.
#[derive(Clone, Copy, Debug)]
pub struct MarkdownFormat;

impl Renderer for MarkdownFormat {
    fn audit(&self, report: &Report, _: &RenderOptions) -> String {
        render_markdown(report)
    }

    fn diff(&self, diff: &DiffReport, _: &RenderOptions) -> String {
        diff_markdown(diff)
    }

    fn plan(&self, plan: &MigrationPlan, _: &RenderOptions) -> String {
        plan_markdown(plan)
    }
}

/// Escape the characters Markdown would interpret inside inline text.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn item(f: &Finding) -> String {
    let mut s = format!("- **{}** `{}`: {}", f.severity, f.code, esc(&f.message));
    if let (Some(e), Some(found)) = (&f.expected, &f.found) {
        s.push_str(&format!(
            "\n  - expected: {}; found: {}",
            esc(e),
            esc(found)
        ));
    }
    if !f.services.is_empty() {
        let list: Vec<String> = f.services.iter().map(|s| format!("`{s}`")).collect();
        s.push_str(&format!("\n  - services: {}", list.join(", ")));
    }
    if !f.locations.is_empty() {
        let src = crate::location::joined(&f.locations);
        s.push_str(&format!("\n  - source: `{src}`"));
    }
    s.push('\n');
    s
}

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("# gpaudit report: {}\n\n", esc(&report.site.name)));
    out.push_str(&format!("{}\n\n", esc(&report.site_line())));
    out.push_str("| Severity | Findings |\n|---|---|\n");
    out.push_str(&format!("| error | {} |\n", report.summary.error));
    out.push_str(&format!("| warning | {} |\n", report.summary.warning));
    out.push_str(&format!("| info | {} |\n", report.summary.info));
    if report.summary.waived > 0 {
        out.push_str(&format!("| waived | {} |\n", report.summary.waived));
    }
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("No findings.\n");
        return out;
    }
    // machine → env → findings; findings are already in report order.
    let mut sections: BTreeMap<(Option<&str>, Option<&str>), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        sections
            .entry((f.machine.as_deref(), f.env.as_deref()))
            .or_default()
            .push(f);
    }
    let mut last_machine: Option<Option<&str>> = None;
    for ((machine, env), findings) in sections {
        if last_machine != Some(machine) {
            match machine {
                Some(m) => out.push_str(&format!("## Machine {}\n\n", esc(m))),
                None => out.push_str("## Site-wide\n\n"),
            }
            last_machine = Some(machine);
        }
        match env {
            Some(e) => out.push_str(&format!("### Env {}\n\n", esc(e))),
            None if machine.is_some() => out.push_str("### Machine-wide\n\n"),
            None => {}
        }
        for f in findings {
            out.push_str(&item(f));
        }
        out.push('\n');
    }
    out
}

fn diff_markdown(diff: &DiffReport) -> String {
    let mut out = String::from("# Environment diff\n\n");
    for line in diff.header().lines() {
        out.push_str(&format!("- {}\n", esc(line)));
    }
    out.push_str(&format!("\n{}\n", diff.summary_line()));
    if diff.changes.is_empty() {
        return out;
    }
    out.push_str("\n| Severity | Package | Role | Change | A | B |\n|---|---|---|---|---|---|\n");
    for entry in &diff.changes {
        let c = &entry.change;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            entry.severity,
            esc(&c.name),
            c.role,
            change_label(c),
            esc(&side_text(c.before.as_ref())),
            esc(&side_text(c.after.as_ref()))
        ));
    }
    out
}

fn plan_markdown(plan: &MigrationPlan) -> String {
    let mut out = format!("# Migration plan: {}\n\n", esc(&plan.site));
    if plan.machines.is_empty() {
        out.push_str("Every clone is at its machine's release: nothing to migrate.\n");
        return out;
    }
    for m in &plan.machines {
        out.push_str(&format!("## {} (now {})\n\n", esc(&m.machine), m.release));
        for e in &m.envs {
            out.push_str(&format!(
                "### `{}`: {} → {}\n\nfingerprint `{}`\n\n",
                e.env, e.from_release, e.to_release, e.fingerprint
            ));
            for s in &e.steps {
                out.push_str(&format!("1. **{}** {}", kind_name(s.kind), esc(&s.detail)));
                if let Some(argv) = &s.argv {
                    out.push_str(&format!(": `{}`", argv.join(" ")));
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out
}
