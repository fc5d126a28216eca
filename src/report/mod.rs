//! The render phase: a [`Report`] (the audit's result as data, the stable
//! JSON document) and the renderings of every document (audit, diff, plan).
//! One file per output format, each a [`Renderer`]; [`Format`] picks one.
//! Adding a format is a new file and a new [`Format`] variant.

mod json;
pub(crate) mod markdown;
pub(crate) mod table;

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
}

impl Format {
    /// The renderer of this format: the one dispatch.
    pub fn renderer(self) -> &'static dyn Renderer {
        match self {
            Format::Table => &table::TableFormat,
            Format::Json => &json::JsonFormat,
            Format::Markdown => &markdown::MarkdownFormat,
        }
    }
}

/// How the output will be shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    /// Colours and Unicode borders: a terminal is reading.
    pub color: bool,
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
pub const REPORT_SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub tool: ToolInfo,
    pub site: ReportSite,
    pub summary: Summary,
    pub findings: Vec<Finding>,
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
    pub fn site_line(&self) -> String {
        let version = match (&self.site.version, &self.site.version_source) {
            (Some(v), Some(src)) => format!("ArcGIS Server {v} ({src})"),
            (Some(v), None) => format!("ArcGIS Server {v}"),
            _ => "ArcGIS Server release unknown".into(),
        };
        format!(
            "site {}, {version}, machines: {}",
            self.site.name,
            self.site.machines.join(", ")
        )
    }
}

/// Services of a finding, shortened for narrow renderings.
pub(crate) fn services_brief(f: &Finding, max: usize) -> String {
    if f.services.len() <= max {
        f.services.join(", ")
    } else {
        format!(
            "{} and {} more",
            f.services[..max].join(", "),
            f.services.len() - max
        )
    }
}
