//! gpaudit: audits the conda environments and geoprocessing services of an
//! ArcGIS Enterprise site. Gather (`scan`) → check (`checks`) → apply policy
//! (`policy`) → render (`report`), as separate phases over a [`Snapshot`].

pub mod admin;
pub mod apply;
pub mod audit;
pub mod baseline;
pub mod cache;
pub mod checks;
pub mod compare;
pub mod diff;
pub mod exec;
pub mod finding;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
#[cfg(windows)]
pub mod job_object;
pub mod location;
pub mod migrate;
pub mod model;
pub mod output;
pub mod paths;
pub mod policy;
pub mod prefix;
pub mod python;
pub mod read;
pub mod redact;
pub mod reference;
pub mod release;
pub mod report;
pub mod restart;
pub mod roles;
pub mod rules;
pub mod scan;
pub mod services;
pub mod site;
pub mod solve;
pub mod stacks;

pub use finding::{Code, Condition, Finding, Severity};
pub use model::Snapshot;
