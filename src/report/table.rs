//! The terminal rendering of every document: the audit (one row per
//! finding, then the summary), a diff and a migration plan.

use super::{fit, RenderOptions, Renderer, Report};
use crate::diff::{change_label, side_text, DiffReport};
use crate::finding::Severity;
use crate::migrate::MigrationPlan;
use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

/// The table format.
#[derive(Clone, Copy, Debug)]
pub struct TableFormat;

impl Renderer for TableFormat {
    fn audit(&self, report: &Report, options: &RenderOptions) -> String {
        render_table(report, options)
    }

    fn diff(&self, diff: &DiffReport, options: &RenderOptions) -> String {
        diff_table(diff, options.color)
    }

    fn plan(&self, plan: &MigrationPlan, _: &RenderOptions) -> String {
        plan_table(plan)
    }
}

/// A table for a terminal (`color`: Unicode borders, sized to it) or for a
/// file or pipe (ASCII, 160 columns).
pub fn new_table(color: bool, header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(if color {
            presets::UTF8_FULL_CONDENSED
        } else {
            presets::ASCII_FULL_CONDENSED
        })
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if !color {
        table.force_no_tty();
        table.set_width(160);
    }
    table
}

/// A severity, coloured on a terminal.
pub fn severity_cell(severity: crate::Severity, color: bool) -> Cell {
    let cell = Cell::new(severity.as_str());
    if !color {
        return cell;
    }
    cell.fg(match severity {
        crate::Severity::Error => Color::Red,
        crate::Severity::Warning => Color::Yellow,
        crate::Severity::Info => Color::Blue,
    })
}

/// The audit for a terminal: the services at risk first, then one entry
/// per finding group (its title, codes and machines, then its worst
/// finding), every line fitted to `width` columns.
pub fn render_table(report: &Report, options: &RenderOptions) -> String {
    let width = options.width.max(60);
    let names = ShortNames::of(&report.site.machines);
    let mut out = String::new();
    out.push_str(&fit::line(
        &format!(
            "gpaudit: {}",
            report.site_line_with(&names.all(&report.site.machines))
        ),
        width,
    ));
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str(&format!("No findings. {}\n", report.summary.line()));
        return out;
    }
    let sev = |s: Severity| paint(s, &fit::cell(s.as_str(), 7), options.color);
    if !report.services_at_risk.is_empty() {
        out.push_str(&format!(
            "\nGP services at risk ({}), worst first:\n",
            report.services_at_risk.len()
        ));
        let service_w = report
            .services_at_risk
            .iter()
            .map(|r| r.service.chars().count())
            .max()
            .unwrap_or(0)
            .min(32);
        let place_of = |r: &super::ServiceAtRisk| {
            format!(
                "{} ({})",
                r.envs.join(", "),
                names.all(&r.machines).join(", ")
            )
        };
        let fixed = 2 + 8 + service_w + 2;
        let rest = width.saturating_sub(fixed);
        let place_w = report
            .services_at_risk
            .iter()
            .map(|r| place_of(r).chars().count())
            .max()
            .unwrap_or(0)
            .min(rest / 3);
        let why_w = rest.saturating_sub(place_w + 2);
        for r in &report.services_at_risk {
            let place = place_of(r);
            let mut why = r.reasons.first().cloned().unwrap_or_default();
            if r.reasons.len() > 1 {
                why.push_str(&format!("; +{} more", r.reasons.len() - 1));
            }
            out.push_str(&format!(
                "  {} {}  {}  {}\n",
                sev(r.severity),
                fit::cell(&r.service, service_w),
                fit::cell(&place, place_w),
                fit::line(&names.replace(&why), why_w)
            ));
        }
    }
    out.push_str(&format!(
        "\nFindings ({} groups of {}), worst first:\n",
        report.groups.len(),
        report.findings.len()
    ));
    let indent = 2 + 8;
    for g in &report.groups {
        let codes: Vec<&str> = g.codes.iter().map(|c| c.as_str()).collect();
        let machines = names.all(&g.machines).join(", ");
        let head = if g.package.is_some() {
            format!("{} · {} · {}", g.title, codes.join(", "), machines)
        } else {
            let mut h = codes.join(", ");
            if g.entries.len() > 1 {
                h.push_str(&format!(" ({})", g.entries.len()));
            }
            if !machines.is_empty() {
                h.push_str(&format!(" · {machines}"));
            }
            h
        };
        out.push_str(&format!(
            "  {} {}\n",
            sev(g.severity),
            fit::line(&head, width - indent)
        ));
        let worst = g
            .entries
            .iter()
            .find(|e| e.severity == g.severity)
            .unwrap_or(&g.entries[0]);
        let mut detail = names.replace(&fit::shorten_paths(&worst.message, 40));
        if g.entries.len() > 1 {
            detail.push_str(&format!(" (+{} more)", g.entries.len() - 1));
        }
        out.push_str(&format!(
            "{}{}\n",
            " ".repeat(indent),
            fit::line(&detail, width - indent)
        ));
    }
    out.push_str(&format!(
        "\nFull details: --format markdown, html or json.\n{}\n",
        report.summary.line()
    ));
    out
}

/// A severity word, coloured on a terminal.
fn paint(severity: Severity, text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match severity {
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Info => "34",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Machine names shortened to their first label where that is unique
/// (`GIS1` for `GIS1.EXAMPLE.COM`): a table has no room for domains.
struct ShortNames {
    pairs: Vec<(String, String)>,
}

impl ShortNames {
    fn of(machines: &[String]) -> ShortNames {
        let first = |m: &str| m.split('.').next().unwrap_or(m).to_string();
        let unique = machines.iter().all(|m| {
            machines
                .iter()
                .filter(|o| first(o).eq_ignore_ascii_case(&first(m)))
                .count()
                == 1
        });
        let pairs = machines
            .iter()
            .map(|m| (m.clone(), if unique { first(m) } else { m.clone() }))
            .collect();
        ShortNames { pairs }
    }

    fn all(&self, machines: &[String]) -> Vec<String> {
        machines.iter().map(|m| self.replace(m)).collect()
    }

    fn replace(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (long, short) in &self.pairs {
            if long != short {
                out = out.replace(long.as_str(), short);
            }
        }
        out
    }
}

fn diff_table(diff: &DiffReport, color: bool) -> String {
    let mut out = diff.header();
    if diff.changes.is_empty() {
        out.push_str("The two envs have the same packages.\n");
        return out;
    }
    let mut table = new_table(color, &["Severity", "Package", "Role", "Change", "A", "B"]);
    for entry in &diff.changes {
        let c = &entry.change;
        let severity = severity_cell(entry.severity, color);
        table.add_row(vec![
            severity,
            Cell::new(&c.name),
            Cell::new(c.role.as_str()),
            Cell::new(change_label(c)),
            Cell::new(side_text(c.before.as_ref())),
            Cell::new(side_text(c.after.as_ref())),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    out.push_str(&diff.summary_line());
    out.push('\n');
    out
}

fn plan_table(plan: &MigrationPlan) -> String {
    if plan.machines.is_empty() {
        return "Every clone is at its machine's release: nothing to migrate.\n".into();
    }
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::ASCII_FULL_CONDENSED)
        .set_header(vec!["Machine", "Env", "Step", "What"]);
    for r in plan.rows() {
        table.add_row(r.to_vec());
    }
    format!(
        "Migration plan for site {}: machines one at a time, in this order.\n{table}\nSave it with `--format json -o plan.json`, then check it with `gpaudit apply plan.json` (a dry run) and run it with `--execute`.\n",
        plan.site
    )
}
