//! The Markdown rendering, for pasting into a change request: the audit
//! (summary, services at risk, finding groups, details collapsed), a diff,
//! a plan. Rendered alike by CommonMark and GitHub: no nested lists, code
//! spans kept as spans, no escaped backticks inside them.

use super::{RenderOptions, Renderer, Report};
use crate::diff::{change_label, side_text, DiffReport};
use crate::migrate::{kind_name, MigrationPlan};

/// The Markdown format.
#[derive(Clone, Copy, Debug)]
pub struct MarkdownFormat;

impl Renderer for MarkdownFormat {
    fn audit(&self, report: &Report, _: &RenderOptions) -> String {
        // Markdown is printed to terminals too: control characters from
        // outside are shown, never obeyed.
        crate::redact::terminal_safe(&render_markdown(report))
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

/// Inline text: code spans (`numpy`) kept as they are, everything else
/// escaped. An unmatched last backtick is escaped, so it cannot open a span.
pub(crate) fn text(s: &str) -> String {
    let ticks = s.matches('`').count();
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    let mut seen = 0;
    for c in s.chars() {
        if c == '`' {
            seen += 1;
            if !inside && seen == ticks && ticks % 2 == 1 {
                out.push_str("\\`");
            } else {
                inside = !inside;
                out.push('`');
            }
        } else if inside {
            out.push(c);
        } else {
            out.push_str(&esc(c.encode_utf8(&mut [0; 4])));
        }
    }
    out
}

/// The audit for a change request: the summary, the services at risk, one
/// line per finding group, and every finding's details in one collapsed
/// block (full paths, expected and found).
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("# gpaudit report: {}\n\n", esc(&report.site.name)));
    out.push_str(&format!("{}\n\n", esc(&report.site_line())));
    out.push_str(&format!("**{}**\n", esc(&report.summary.line())));
    if report.findings.is_empty() {
        out.push_str("\nNo findings.\n");
        return out;
    }
    if !report.services_at_risk.is_empty() {
        out.push_str("\n## GP services at risk\n\n");
        out.push_str("| Severity | Service | Envs | Machines | Why |\n|---|---|---|---|---|\n");
        for r in &report.services_at_risk {
            let mut why: Vec<String> = r.reasons.iter().take(3).map(|x| text(x)).collect();
            if r.reasons.len() > 3 {
                why.push(format!("and {} more", r.reasons.len() - 3));
            }
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} |\n",
                r.severity,
                r.service,
                esc(&r.envs.join(", ")),
                esc(&r.machines.join(", ")),
                why.join("; ")
            ));
        }
    }
    out.push_str(&format!(
        "\n## Findings: {} groups of {}\n\n",
        report.groups.len(),
        report.findings.len()
    ));
    for g in &report.groups {
        let codes: Vec<String> = g.codes.iter().map(|c| format!("`{c}`")).collect();
        let mut line = format!(
            "- **{}** {}: {}",
            g.severity,
            esc(&g.title),
            codes.join(", ")
        );
        if !g.machines.is_empty() {
            line.push_str(&format!(" on {}", esc(&g.machines.join(", "))));
        }
        let n: usize = g.entries.iter().map(|e| e.findings.len()).sum();
        if n > 1 {
            line.push_str(&format!(" ({n} findings)"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\n<details><summary>Details of every finding</summary>\n\n");
    for g in &report.groups {
        let entries: Vec<String> = g
            .entries
            .iter()
            .map(|e| {
                let first = &report.findings[e.findings[0]];
                let mut s = format!("`{}`: {}", e.code, text(&e.message));
                if let (Some(x), Some(f)) = (&e.expected, &e.found) {
                    s.push_str(&format!(" (expected {}; found {})", text(x), text(f)));
                }
                if !first.locations.is_empty() {
                    let src = crate::location::joined(&first.locations);
                    s.push_str(&format!(" [{}]", esc(&src)));
                }
                s
            })
            .collect();
        out.push_str(&format!(
            "- **{}** {}: {}\n",
            g.id,
            esc(&g.title),
            entries.join(" · ")
        ));
    }
    out.push_str("\n</details>\n");
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

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn code_spans_stay_spans_and_the_rest_is_escaped() {
        assert_eq!(text("`numpy 1.20.*` in env_x"), "`numpy 1.20.*` in env\\_x");
        assert_eq!(text("a ` lone"), "a \\` lone");
        assert_eq!(text("`a` and `b`"), "`a` and `b`");
    }
}
