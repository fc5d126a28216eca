//! Gathering the site file's `[reference]` envs: each distinct file is read
//! once, in parallel, and tied to the GP services it applies to. A reference
//! that cannot be read, or an entry naming no GP service, becomes a scan
//! error; the audit goes on without it.

use crate::model::{Reference, ScanError, Service};
use crate::paths;
use crate::reference::{self, split_selector, Selection};
use crate::site::Site;
use rayon::prelude::*;
use std::collections::BTreeMap;

pub fn gather_references(
    site: &Site,
    services: &[Service],
    errors: &mut Vec<ScanError>,
) -> Vec<Reference> {
    let refs = &site.references;
    let site_error = |message: String| ScanError {
        machine: None,
        env: None,
        env_path: None,
        path: paths::display(&site.file),
        message,
    };
    // written reference -> service keys that name it
    let mut wanted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    if let Some(default) = &refs.default {
        wanted.entry(default.as_str()).or_default();
    }
    for (key, written) in &refs.services {
        let service = services.iter().find(|s| s.key.eq_ignore_ascii_case(key));
        match service {
            Some(s) if s.is_gp() => {
                wanted.entry(written.as_str()).or_default().push(s.key.clone());
            }
            Some(s) => errors.push(site_error(format!(
                "[reference.services] names `{key}`, a {} service; only GP services run in a conda env",
                s.service_type
            ))),
            // With no services read (the config store could not be), the
            // scan error already says so; every key would be noise.
            None if services.is_empty() => {
                wanted.entry(written.as_str()).or_default().push(key.clone());
            }
            None => errors.push(site_error(format!(
                "[reference.services] names `{key}`, which is not a service in the config store"
            ))),
        }
    }
    let loaded: Vec<_> = wanted
        .into_par_iter()
        .map(|(written, keys)| {
            let (path, selector) = split_selector(&site.reference_path(written));
            let result = reference::load(&path, Selection::inline(selector.as_deref()), None);
            (written, keys, result)
        })
        .collect();
    let mut out = Vec::new();
    for (written, keys, result) in loaded {
        match result {
            Ok(listing) => {
                for w in &listing.warnings {
                    errors.push(ScanError {
                        machine: None,
                        env: None,
                        env_path: None,
                        path: listing.source.clone(),
                        message: format!("reference env: {w}"),
                    });
                }
                out.push(Reference {
                    name: written.to_string(),
                    default: refs.default.as_deref() == Some(written),
                    services: keys,
                    listing,
                });
            }
            Err(e) => errors.push(ScanError {
                machine: None,
                env: None,
                env_path: None,
                path: e.path,
                message: if refs.default.as_deref() == Some(written) && keys.is_empty() {
                    format!(
                        "the default reference env cannot be read, so GP services without a reference of their own are not compared with one: {}",
                        e.message
                    )
                } else {
                    format!(
                        "the reference env of {} cannot be read, so it is not compared with one: {}",
                        keys.join(", "),
                        e.message
                    )
                },
            }),
        }
    }
    out
}
