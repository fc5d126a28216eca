//! Finding a plan's paths where apply (or rollback) runs: the plan writes
//! them as the server sees them, or relative to the site file
//! ([`crate::migrate::plan_path`]); the site file as it is on this machine
//! (its folder, each machine's `path_map` and `local`) says where they are
//! here. Fills the plan's `here` fields; reads only the site file.

use crate::migrate::MigrationPlan;
use crate::paths;
use crate::site::{MachineSpec, Site};

/// Where a plan path of `machine` is here.
fn resolve(site: &Site, machine: Option<&MachineSpec>, written: &str) -> Result<String, String> {
    let absolute = paths::is_windows_absolute(written)
        || written.starts_with(['/', '\\'])
        || std::path::Path::new(written).is_absolute();
    if !absolute {
        return Ok(paths::display(&site.dir.join(written.replace('\\', "/"))));
    }
    let Some(machine) = machine else {
        return Err(format!(
            "the machine is not in the site file {}",
            paths::display(&site.file)
        ));
    };
    machine
        .resolve_path(written, &site.dir)
        .map(|p| paths::display(&p))
        .map_err(|e| format!("{e} (in {})", paths::display(&site.file)))
}

/// Find every path of `plan` through `site` (the plan's site file, loaded
/// where this run is).
pub fn localize(plan: &mut MigrationPlan, site: &Site) {
    for m in &mut plan.machines {
        let spec = site
            .machines
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&m.machine));
        m.python_root_here = Some(resolve(site, spec, &m.python_root));
        for e in &mut m.envs {
            e.here = Some(resolve(site, spec, &e.path));
        }
    }
}
