//! gpaudit: audits the conda environments and geoprocessing services of an
//! ArcGIS Enterprise site. Gather (`scan`) → check (`checks`) → apply policy
//! (`policy`) → render (`report`), as separate phases over a [`Snapshot`].

pub mod admin;
pub mod apply;
pub mod audit;
pub mod baseline;
pub mod checks;
pub mod compare;
pub mod diff;
pub mod exec;
pub mod finding;
pub mod graph;
pub mod migrate;
pub mod output;
pub mod paths;
pub mod policy;
pub mod python;
pub mod redact;
pub mod reference;
pub mod release;
pub mod report;
pub mod restart;
pub mod roles;
pub mod rules;
pub mod scan;
pub mod site;
pub mod snapshot;
pub mod solve;
pub mod stacks;

pub use finding::{Code, Finding, Severity};
pub use snapshot::Snapshot;
