//! The Markdown rendering, for pasting into a change request: summary, then
//! one section per machine and env.

use super::Report;
use crate::finding::Finding;
use std::collections::BTreeMap;

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
    if let Some(src) = &f.source {
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
