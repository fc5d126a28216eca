//! The render phase: a [`Report`] (the audit's result as data, the stable
//! JSON document) and the renderings of every document (audit, diff, plan).
//! One file per output format, each a [`Renderer`]; [`Format`] picks one.
//! Adding a format is a new file and a new [`Format`] variant.

mod fit;
pub mod group;
mod html;
mod json;
pub(crate) mod markdown;
pub mod risk;
pub(crate) mod table;

pub use group::{FindingGroup, GroupEntry, WhyLink};
pub use risk::ServiceAtRisk;

pub use markdown::render_markdown;
pub use table::render_table;

use crate::diff::DiffReport;
use crate::migrate::MigrationPlan;

/// The output formats every report command offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    Html,
}

impl Format {
    /// The renderer of this format: the one dispatch.
    pub fn renderer(self) -> &'static dyn Renderer {
        match self {
            Format::Table => &table::TableFormat,
            Format::Json => &json::JsonFormat,
            Format::Markdown => &markdown::MarkdownFormat,
            Format::Html => &html::HtmlFormat,
        }
    }
}

/// How the output will be shown.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Colours: a terminal is reading (and the user did not say no).
    pub color: bool,
    /// The columns a table must fit in.
    pub width: usize,
}

impl RenderOptions {
    /// The width of a table written to a file or a pipe.
    pub const DEFAULT_WIDTH: usize = 120;
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            color: false,
            width: RenderOptions::DEFAULT_WIDTH,
        }
    }
}

/// One output format: how it renders each document gpaudit produces.
pub trait Renderer {
    fn audit(&self, report: &Report, options: &RenderOptions) -> String;
    fn diff(&self, diff: &DiffReport, options: &RenderOptions) -> String;
    fn plan(&self, plan: &MigrationPlan, options: &RenderOptions) -> String;
}

/// A document a command produces: it picks its method of a [`Renderer`].
pub trait Document {
    fn render_with(&self, renderer: &dyn Renderer, options: &RenderOptions) -> String;
}

impl Document for Report {
    fn render_with(&self, renderer: &dyn Renderer, options: &RenderOptions) -> String {
        renderer.audit(self, options)
    }
}

impl Document for DiffReport {
    fn render_with(&self, renderer: &dyn Renderer, options: &RenderOptions) -> String {
        renderer.diff(self, options)
    }
}

impl Document for MigrationPlan {
    fn render_with(&self, renderer: &dyn Renderer, options: &RenderOptions) -> String {
        renderer.plan(self, options)
    }
}

/// Render a document in a format.
pub fn render(document: &dyn Document, format: Format, options: &RenderOptions) -> String {
    document.render_with(format.renderer(), options)
}

use crate::finding::{Finding, Severity};
use crate::model::ToolInfo;
use serde::Serialize;

/// Version of the report JSON; bumped when a field changes meaning.
/// Schema 2 added `services_at_risk`, `matrix`, `groups`, each finding's
/// `group`, `filter` and `target`.
pub const REPORT_SCHEMA: u32 = 2;

/// The audit's result: services at risk first, then finding groups, then
/// every finding (one object per machine, as the checks reported them).
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub tool: ToolInfo,
    pub site: ReportSite,
    pub summary: Summary,
    /// The release `audit --target` forecast for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What the report was narrowed to (`--machine`, `--env`, ...).
    #[serde(skip_serializing_if = "ReportFilter::is_empty")]
    pub filter: ReportFilter,
    pub services_at_risk: Vec<ServiceAtRisk>,
    /// Every env of every machine, with its worst finding.
    pub matrix: Vec<MatrixCell>,
    pub groups: Vec<FindingGroup>,
    pub findings: Vec<Finding>,
}

/// One env on one machine, for the site matrix.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MatrixCell {
    pub machine: String,
    pub env: String,
    /// The ArcGIS Server release its arcpy belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The worst severity of its findings; none when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    pub findings: usize,
    /// The GP services that run in it there.
    pub services: Vec<String>,
}

/// Narrowing a report to part of the site. Every format shows the same
/// narrowed data; the summary counts only what is kept.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReportFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
}

impl ReportFilter {
    pub fn is_empty(&self) -> bool {
        *self == ReportFilter::default()
    }

    /// Whether a finding is kept. Names compare case-insensitively, as
    /// Windows host names, env folders and service names do.
    pub fn keeps(&self, f: &Finding) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        eq(&self.machine, f.machine.as_deref())
            && eq(&self.env, f.env.as_deref())
            && self.service.as_deref().is_none_or(|s| {
                f.service
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(s))
                    || f.services.iter().any(|x| x.eq_ignore_ascii_case(s))
            })
            && self.min_severity.is_none_or(|m| f.severity >= m)
    }

    /// Whether a matrix cell is kept.
    pub fn keeps_cell(&self, c: &MatrixCell) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| have.eq_ignore_ascii_case(w))
        };
        eq(&self.machine, &c.machine)
            && eq(&self.env, &c.env)
            && self
                .service
                .as_deref()
                .is_none_or(|s| c.services.iter().any(|x| x.eq_ignore_ascii_case(s)))
    }
}

#[derive(Debug, Serialize)]
pub struct ReportSite {
    pub name: String,
    pub version: Option<String>,
    pub version_source: Option<String>,
    pub machines: Vec<String>,
}

#[derive(Debug, Serialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub waived: usize,
}

impl Summary {
    pub fn of(findings: &[Finding], waived: usize) -> Summary {
        let count = |s| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            error: count(Severity::Error),
            warning: count(Severity::Warning),
            info: count(Severity::Info),
            waived,
        }
    }

    /// `2 errors, 1 warning, 0 info (3 waived)`.
    pub fn line(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut s = format!(
            "{}, {}, {} info",
            plural(self.error, "error"),
            plural(self.warning, "warning"),
            self.info
        );
        if self.waived > 0 {
            s.push_str(&format!(" ({} waived)", self.waived));
        }
        s
    }
}

impl Report {
    /// Assemble the report from the policy's findings (in report order):
    /// narrow them, group them, and find the services at risk.
    pub fn assemble(
        site: ReportSite,
        findings: Vec<Finding>,
        waived: usize,
        matrix: Vec<MatrixCell>,
        target: Option<String>,
        filter: ReportFilter,
    ) -> Report {
        let mut findings: Vec<Finding> = findings.into_iter().filter(|f| filter.keeps(f)).collect();
        let (groups, ids) = group::group(&findings);
        for (f, id) in findings.iter_mut().zip(ids) {
            f.group = Some(id);
        }
        let services_at_risk = risk::services_at_risk(&findings, &groups);
        let matrix = matrix
            .into_iter()
            .filter(|c| filter.keeps_cell(c))
            .collect();
        Report {
            schema: REPORT_SCHEMA,
            tool: ToolInfo::current(),
            summary: Summary::of(&findings, waived),
            site,
            target,
            filter,
            services_at_risk,
            matrix,
            groups,
            findings,
        }
    }

    pub fn site_line(&self) -> String {
        self.site_line_with(&self.site.machines)
    }

    /// The site line with the machines named as given (shortened names).
    pub fn site_line_with(&self, machines: &[String]) -> String {
        let version = match (&self.site.version, &self.site.version_source) {
            (Some(v), Some(src)) => format!("ArcGIS Server {v} ({src})"),
            (Some(v), None) => format!("ArcGIS Server {v}"),
            _ => "ArcGIS Server release unknown".into(),
        };
        format!(
            "site {}, {version}, machines: {}",
            self.site.name,
            machines.join(", ")
        )
    }
}
