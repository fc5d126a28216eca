//! The HTML rendering: one self-contained page (inline CSS and script, no
//! network) for the people who approve an upgrade. The audit has tabs:
//! the services at risk and a site matrix, the finding groups (collapsible,
//! filterable by severity, machine and env, with a drawing of who pulls a
//! package in) and, with `--target`, the forecast. A diff and a plan are
//! plain pages. Markup comes from `maud`, which escapes every value.

use super::{FindingGroup, RenderOptions, Renderer, Report, WhyLink};
use crate::diff::{change_label, side_text, DiffReport};
use crate::finding::{Code, Severity};
use crate::migrate::{kind_name, MigrationPlan};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeSet;

/// The HTML format.
#[derive(Clone, Copy, Debug)]
pub struct HtmlFormat;

impl Renderer for HtmlFormat {
    fn audit(&self, report: &Report, _: &RenderOptions) -> String {
        page(
            &format!("gpaudit: {}", report.site.name),
            audit_body(report),
        )
    }

    fn diff(&self, diff: &DiffReport, _: &RenderOptions) -> String {
        page("gpaudit: environment diff", diff_body(diff))
    }

    fn plan(&self, plan: &MigrationPlan, _: &RenderOptions) -> String {
        page(
            &format!("gpaudit: migration plan for {}", plan.site),
            plan_body(plan),
        )
    }
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{font-size:20px;margin:0 0 4px}
main{padding:16px 24px;max-width:1400px}
.summary span{display:inline-block;margin-right:14px;font-weight:600}
.tabs{margin:12px 0;border-bottom:1px solid #c9d1d9}
.tabs button{border:0;background:none;padding:8px 14px;font:inherit;cursor:pointer;border-bottom:3px solid transparent}
.tabs button.active{border-color:#1f6feb;font-weight:600}
section.tab{display:none}section.tab.active{display:block}
table{border-collapse:collapse;background:#fff;margin:8px 0 18px;width:100%}
th,td{border:1px solid #d8dee4;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}
.sev{font-weight:700;text-transform:uppercase;font-size:12px}
.sev-error{color:#b42318}.sev-warning{color:#9a6700}.sev-info{color:#1f6feb}
td.cell-error{background:#fde2e1}td.cell-warning{background:#fff3c4}td.cell-info{background:#e3efff}td.cell-ok{background:#e6f4ea}
td.cell-none{background:#f0f0f0;color:#888}
details{background:#fff;border:1px solid #d8dee4;border-radius:6px;margin:6px 0;padding:6px 10px}
details summary{cursor:pointer}
details.more{border:0;padding:0;margin:2px 0;background:none}
.codes code{margin-right:6px}
.filters label{margin-right:12px}
.muted{color:#57606a}
code{background:#eef1f4;padding:0 3px;border-radius:3px}
svg text{font:12px system-ui,sans-serif}
"#;

const SCRIPT: &str = r#"
(function(){
  function show(id){
    document.querySelectorAll('section.tab').forEach(function(s){s.classList.toggle('active',s.id===id);});
    document.querySelectorAll('.tabs button').forEach(function(b){b.classList.toggle('active',b.dataset.tab===id);});
  }
  document.querySelectorAll('.tabs button').forEach(function(b){
    b.addEventListener('click',function(){show(b.dataset.tab);});
  });
  function filter(){
    var sev=document.getElementById('f-sev').value, m=document.getElementById('f-machine').value, e=document.getElementById('f-env').value;
    var rank={info:0,warning:1,error:2}, shown=0;
    document.querySelectorAll('details.group').forEach(function(g){
      var ok=rank[g.dataset.severity]>=rank[sev]
        &&(m===''||g.dataset.machines.split(' ').indexOf(m)>=0)
        &&(e===''||g.dataset.env===e);
      g.style.display=ok?'':'none'; if(ok){shown++;}
    });
    document.getElementById('f-count').textContent=shown+' group(s) shown';
  }
  ['f-sev','f-machine','f-env'].forEach(function(id){document.getElementById(id).addEventListener('change',filter);});
  filter();
})();
"#;

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

fn sev(severity: Severity) -> Markup {
    html! { span class=(format!("sev sev-{severity}")) { (severity.as_str()) } }
}

/// Text whose `backticked` parts are shown as code, as in the messages.
fn rich(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A space-free token for `data-` attributes and filters.
fn token(s: &str) -> String {
    s.replace(char::is_whitespace, "_")
}

fn audit_body(report: &Report) -> Markup {
    let s = &report.summary;
    let forecast: Vec<&FindingGroup> = report
        .groups
        .iter()
        .filter(|g| g.codes.iter().any(|c| is_upgrade(*c)))
        .collect();
    html! {
        header {
            h1 { "gpaudit report: " (report.site.name) }
            div { (report.site_line()) }
        }
        main {
            div.summary {
                span.sev-error { (s.error) " errors" }
                span.sev-warning { (s.warning) " warnings" }
                span.sev-info { (s.info) " info" }
                @if s.waived > 0 { span.muted { (s.waived) " waived" } }
                @if !report.filter.is_empty() { span.muted { "narrowed: " (filter_text(report)) } }
            }
            nav.tabs {
                button.active data-tab="overview" { "Services and site" }
                button data-tab="findings" { "Findings (" (report.groups.len()) " groups)" }
                @if let Some(target) = &report.target {
                    button data-tab="forecast" { "Forecast: " (target) }
                }
            }
            section.tab.active id="overview" {
                h2 { "GP services at risk" }
                (services_table(report))
                h2 { "Site matrix" }
                p.muted { "Each env on each machine: its release, its worst finding, and the GP services that run in it there." }
                (matrix(report))
            }
            section.tab id="findings" { (findings(report)) }
            @if let Some(target) = &report.target {
                section.tab id="forecast" { (forecast_tab(report, target, &forecast)) }
            }
        }
        script { (PreEscaped(SCRIPT)) }
    }
}

fn filter_text(report: &Report) -> String {
    let f = &report.filter;
    let mut parts = Vec::new();
    for (k, v) in [
        ("machine", &f.machine),
        ("env", &f.env),
        ("service", &f.service),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k} {v}"));
        }
    }
    if let Some(m) = f.min_severity {
        parts.push(format!("{m} and above"));
    }
    parts.join(", ")
}

fn services_table(report: &Report) -> Markup {
    html! {
        @if report.services_at_risk.is_empty() {
            p { "No GP service is touched by a warning or an error." }
        } @else {
            table #services {
                thead { tr { th { "Severity" } th { "Service" } th { "Envs" } th { "Machines" } th { "Why" } } }
                tbody {
                    @for r in &report.services_at_risk {
                        tr data-service=(r.service) {
                            td { (sev(r.severity)) }
                            td { code { (r.service) } }
                            td { (r.envs.join(", ")) }
                            td { (r.machines.join(", ")) }
                            td {
                                @for why in r.reasons.iter().take(3) { div { (rich(why)) } }
                                @if r.reasons.len() > 3 {
                                    details.more {
                                        summary { (r.reasons.len() - 3) " more" }
                                        @for why in r.reasons.iter().skip(3) { div { (rich(why)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn matrix(report: &Report) -> Markup {
    let machines: Vec<&String> = {
        let mut seen = Vec::new();
        for c in &report.matrix {
            if !seen.contains(&&c.machine) {
                seen.push(&c.machine);
            }
        }
        seen
    };
    let envs: BTreeSet<&String> = report.matrix.iter().map(|c| &c.env).collect();
    html! {
        table #matrix {
            thead { tr { th { "Env" } @for m in &machines { th { (m) } } } }
            tbody {
                @for env in &envs {
                    tr {
                        th { (env) }
                        @for m in &machines {
                            @match report.matrix.iter().find(|c| &c.machine == *m && &c.env == *env) {
                                Some(c) => {
                                    td class=(format!("cell-{}", c.severity.map_or("ok", |s| s.as_str()))) {
                                        div { "release " (c.release.as_deref().unwrap_or("?")) }
                                        div { @if c.findings == 0 { "no findings" } @else { (c.findings) " finding(s), worst " (sev_text(c.severity)) } }
                                        @for s in &c.services { div { code { (s) } } }
                                    }
                                }
                                None => { td.cell-none { "not on this machine" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sev_text(s: Option<Severity>) -> &'static str {
    s.map_or("none", Severity::as_str)
}

fn findings(report: &Report) -> Markup {
    let machines: BTreeSet<&String> = report.groups.iter().flat_map(|g| &g.machines).collect();
    let envs: BTreeSet<&String> = report
        .groups
        .iter()
        .filter_map(|g| g.env.as_ref())
        .collect();
    html! {
        div.filters {
            label { "Severity at least " select #f-sev { option value="info" { "info" } option value="warning" { "warning" } option value="error" { "error" } } }
            label { "Machine " select #f-machine { option value="" { "any" } @for m in &machines { option value=(token(m)) { (m) } } } }
            label { "Env " select #f-env { option value="" { "any" } @for e in &envs { option value=(token(e)) { (e) } } } }
            span #f-count.muted {}
        }
        @for g in &report.groups { (group(report, g)) }
    }
}

fn group(report: &Report, g: &FindingGroup) -> Markup {
    let machines: Vec<String> = g.machines.iter().map(|m| token(m)).collect();
    html! {
        details.group id=(g.id) data-severity=(g.severity.as_str()) data-machines=(machines.join(" ")) data-env=(g.env.as_deref().map(token).unwrap_or_default()) {
            summary {
                (sev(g.severity)) " " strong { (g.title) } " "
                span.codes { @for c in &g.codes { code { (c.as_str()) } } }
                @if !g.machines.is_empty() { span.muted { " on " (g.machines.join(", ")) } }
            }
            ul {
                @for e in &g.entries {
                    li {
                        (sev(e.severity)) " " code { (e.code.as_str()) } " " (rich(&e.message))
                        @if let (Some(x), Some(f)) = (&e.expected, &e.found) {
                            div.muted { "expected " (x) "; found " (f) }
                        }
                        @let first = &report.findings[e.findings[0]];
                        @if !first.locations.is_empty() {
                            div.muted { "source: " (crate::location::joined(&first.locations)) }
                        }
                    }
                }
            }
            @if !g.services.is_empty() {
                div { "Services: " @for s in &g.services { code { (s) } " " } }
            }
            @if !g.why.is_empty() {
                div { "Who pulls " code { (g.package.as_deref().unwrap_or("")) } " in:" }
                (why_svg(g.package.as_deref().unwrap_or(""), &g.why))
            }
        }
    }
}

/// The `depends` edges above a package, drawn in columns: the package on
/// the right, what requires it to its left, what requires those further
/// left. Laid out here, so the page needs no graph library.
fn why_svg(package: &str, links: &[WhyLink]) -> Markup {
    let mut columns: Vec<Vec<String>> = vec![vec![package.to_string()]];
    loop {
        let last = columns.last().cloned().unwrap_or_default();
        let mut next: Vec<String> = Vec::new();
        for l in links {
            if last.contains(&l.to)
                && !columns.iter().any(|c| c.contains(&l.from))
                && !next.contains(&l.from)
            {
                next.push(l.from.clone());
            }
        }
        if next.is_empty() || columns.len() > 3 {
            break;
        }
        columns.push(next);
    }
    let (box_w, box_h, col_gap, row_gap) = (150.0, 24.0, 90.0, 10.0);
    let rows = columns.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let width = columns.len() as f64 * (box_w + col_gap);
    let height = rows * (box_h + row_gap) + row_gap;
    let at = |col: usize, row: usize| -> (f64, f64) {
        let x = width - (col as f64 + 1.0) * (box_w + col_gap) + col_gap / 2.0;
        (x, row_gap + row as f64 * (box_h + row_gap))
    };
    let place = |name: &str| -> Option<(f64, f64)> {
        columns
            .iter()
            .enumerate()
            .find_map(|(c, col)| col.iter().position(|n| n == name).map(|r| at(c, r)))
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) role="img" aria-label=(format!("who requires {package}")) {
            @for l in links {
                @if let (Some((fx, fy)), Some((tx, ty))) = (place(&l.from), place(&l.to)) {
                    line x1=(fx + box_w) y1=(fy + box_h / 2.0) x2=(tx) y2=(ty + box_h / 2.0) stroke="#8b949e" {}
                    title { (l.from) " requires " (l.spec) }
                }
            }
            @for (c, col) in columns.iter().enumerate() {
                @for (r, name) in col.iter().enumerate() {
                    @let (x, y) = at(c, r);
                    rect x=(x) y=(y) width=(box_w) height=(box_h) rx="4" fill=(if c == 0 { "#fde2e1" } else { "#eef1f4" }) stroke="#8b949e" {}
                    text x=(x + 6.0) y=(y + 16.0) { (name) }
                }
            }
        }
    }
}

fn is_upgrade(c: Code) -> bool {
    c.as_str().starts_with("upgrade-")
}

fn forecast_tab(report: &Report, target: &str, groups: &[&FindingGroup]) -> Markup {
    let needs: Vec<&crate::finding::Finding> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::UpgradeNeedsProup)
        .collect();
    html! {
        h2 { "Upgrading to ArcGIS Server " (target) }
        @if needs.is_empty() && groups.is_empty() {
            p { "Nothing in the forecast: no env needs proup and nothing blocks the upgrade." }
        }
        @if !needs.is_empty() {
            h3 { "Envs that need conda proup, and the services down while they migrate" }
            table #forecast-envs {
                thead { tr { th { "Machine" } th { "Env" } th { "What happens" } th { "Services" } } }
                tbody {
                    @for f in &needs {
                        tr {
                            td { (f.machine.as_deref().unwrap_or("")) }
                            td { (f.env.as_deref().unwrap_or("")) }
                            td { (f.message) }
                            td { @for s in &f.services { code { (s) } " " } }
                        }
                    }
                }
            }
        }
        @let blockers: Vec<&&FindingGroup> = groups.iter().filter(|g| g.severity == Severity::Error).collect();
        @if !blockers.is_empty() {
            h3 { "What blocks the upgrade" }
            @for g in blockers { (group(report, g)) }
        }
        @let rest: Vec<&&FindingGroup> = groups.iter().filter(|g| g.severity != Severity::Error).collect();
        @if !rest.is_empty() {
            h3 { "What else changes" }
            @for g in rest { (group(report, g)) }
        }
    }
}

fn diff_body(diff: &DiffReport) -> Markup {
    html! {
        header { h1 { "Environment diff" } @for line in diff.header().lines() { div { (line) } } }
        main {
            p { (diff.summary_line()) }
            @if !diff.changes.is_empty() {
                table {
                    thead { tr { th { "Severity" } th { "Package" } th { "Role" } th { "Change" } th { "A" } th { "B" } } }
                    tbody {
                        @for entry in &diff.changes {
                            @let c = &entry.change;
                            tr {
                                td { (sev(entry.severity)) }
                                td { code { (c.name) } }
                                td { (c.role.as_str()) }
                                td { (change_label(c)) }
                                td { (side_text(c.before.as_ref())) }
                                td { (side_text(c.after.as_ref())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn plan_body(plan: &MigrationPlan) -> Markup {
    html! {
        header { h1 { "Migration plan: " (plan.site) } }
        main {
            @if plan.machines.is_empty() {
                p { "Every clone is at its machine's release: nothing to migrate." }
            }
            @for m in &plan.machines {
                h2 { (m.machine) " (now " (m.release) ")" }
                @for e in &m.envs {
                    h3 { code { (e.env) } ": " (e.from_release) " → " (e.to_release) }
                    ol {
                        @for s in &e.steps {
                            li {
                                strong { (kind_name(s.kind)) } " " (s.detail)
                                @if let Some(argv) = &s.argv { ": " code { (argv.join(" ")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
