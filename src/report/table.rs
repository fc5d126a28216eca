//! The terminal rendering of every document: the audit (one row per
//! finding, then the summary), a diff and a migration plan.

use super::{services_brief, RenderOptions, Renderer, Report};
use crate::diff::{change_label, side_text, DiffReport};
use crate::migrate::MigrationPlan;
use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

/// The table format.
#[derive(Clone, Copy, Debug)]
pub struct TableFormat;

impl Renderer for TableFormat {
    fn audit(&self, report: &Report, options: &RenderOptions) -> String {
        render_table(report, options.color)
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

pub fn render_table(report: &Report, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("gpaudit: {}\n", report.site_line()));
    if report.findings.is_empty() {
        out.push_str(&format!("No findings. {}\n", report.summary.line()));
        return out;
    }
    let mut table = new_table(color, &["Severity", "Code", "Where", "Problem", "Services"]);
    for f in &report.findings {
        let severity = severity_cell(f.severity, color);
        let place = match (&f.machine, &f.env) {
            (Some(m), Some(e)) => format!("{m}\n{e}"),
            (Some(m), None) => m.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => f.service.clone().unwrap_or_else(|| "site".into()),
        };
        let mut problem = f.message.clone();
        if let (Some(e), Some(found)) = (&f.expected, &f.found) {
            problem.push_str(&format!("\nexpected: {e}\nfound:    {found}"));
        }
        table.add_row(vec![
            severity,
            Cell::new(f.code.as_str()),
            Cell::new(place),
            Cell::new(problem),
            Cell::new(services_brief(f, 4)),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    out.push_str(&format!("{}\n", report.summary.line()));
    out
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
