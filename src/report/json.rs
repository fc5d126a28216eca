//! The JSON rendering: each document serialized as it is (pretty, sorted by
//! the document itself, a final newline). The stable, versioned form.

use super::{RenderOptions, Renderer, Report};
use crate::diff::DiffReport;
use crate::migrate::MigrationPlan;
use serde::Serialize;

/// The JSON format.
#[derive(Clone, Copy, Debug)]
pub struct JsonFormat;

fn pretty(value: &impl Serialize) -> String {
    // Plain data with string keys: serializing it cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

impl Renderer for JsonFormat {
    fn audit(&self, report: &Report, _: &RenderOptions) -> String {
        pretty(report)
    }

    fn diff(&self, diff: &DiffReport, _: &RenderOptions) -> String {
        pretty(diff)
    }

    fn plan(&self, plan: &MigrationPlan, _: &RenderOptions) -> String {
        plan.to_json()
    }
}
