//! `scan-error`: files the scan could not read or parse, as findings.

use super::Context;
use crate::finding::{Code, Finding};

pub fn scan_errors(ctx: &Context) -> Vec<Finding> {
    ctx.snapshot
        .scan_errors
        .iter()
        .map(|e| {
            let mut f = Finding::new(Code::ScanError, format!("{}: {}", e.path, e.message))
                .location(e.path.clone());
            f.machine = e.machine.clone();
            f.env = e.env.clone();
            f.env_path = e.env_path.clone();
            if let (Some(m), Some(p)) = (&e.machine, &e.env_path) {
                if let Some(machine) = ctx.snapshot.machines.iter().find(|x| &x.name == m) {
                    f = f.services(machine.services_in(p));
                }
            }
            f
        })
        .collect()
}
