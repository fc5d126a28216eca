//! Combining snapshots: per-machine snapshots merged into one site, the
//! Administrator API's view added, the default reference replaced. Pure
//! functions over data; reading the files is the caller's job.

use super::listing::EnvListing;
use super::snapshot::*;

impl Snapshot {
    /// Merge per-machine snapshots of one site into one. The config store
    /// (the services) comes from whichever snapshot read it; the machines
    /// of the snapshots that could not are bound to its services here.
    pub fn merge(parts: Vec<(String, Snapshot)>) -> Result<Snapshot, SnapshotError> {
        let count = parts.len();
        let mut iter = parts.into_iter();
        let Some((_, mut merged)) = iter.next() else {
            return Err(SnapshotError::Merge {
                path: "-".into(),
                message: "no snapshot given".into(),
            });
        };
        // Machines whose scan did not read the config store.
        let mut unbound: Vec<String> = Vec::new();
        if merged.site.config_store.is_none() {
            unbound.extend(merged.machines.iter().map(|m| m.name.clone()));
        }
        for (path, part) in iter {
            if !part.site.name.eq_ignore_ascii_case(&merged.site.name) {
                return Err(SnapshotError::Merge {
                    path,
                    message: format!(
                        "is a snapshot of site `{}`, not `{}`",
                        part.site.name, merged.site.name
                    ),
                });
            }
            match (&merged.site.version, &part.site.version) {
                (Some(a), Some(b)) if a != b => {
                    return Err(SnapshotError::Merge {
                        path,
                        message: format!("declares site version {b}, another snapshot {a}"),
                    })
                }
                (None, Some(b)) => merged.site.version = Some(b.clone()),
                _ => {}
            }
            if part.site.config_store.is_none() {
                unbound.extend(part.machines.iter().map(|m| m.name.clone()));
            } else if merged.site.config_store.is_none() {
                merged.site.config_store = part.site.config_store.clone();
            }
            for machine in part.machines {
                if merged
                    .machines
                    .iter()
                    .any(|m| m.name.eq_ignore_ascii_case(&machine.name))
                {
                    return Err(SnapshotError::Merge {
                        path,
                        message: format!("machine `{}` is in more than one snapshot", machine.name),
                    });
                }
                merged.machines.push(machine);
            }
            for service in part.services {
                if !merged.services.iter().any(|s| s.key == service.key) {
                    merged.services.push(service);
                }
            }
            for reference in part.references {
                let has_default = merged.references.iter().any(|r| r.default);
                match merged
                    .references
                    .iter_mut()
                    .find(|r| r.listing.source == reference.listing.source)
                {
                    Some(r) => {
                        for s in reference.services {
                            if !r.services.contains(&s) {
                                r.services.push(s);
                            }
                        }
                        r.default |= reference.default && !has_default;
                    }
                    None => {
                        let mut reference = reference;
                        reference.default &= !has_default;
                        merged.references.push(reference);
                    }
                }
            }
            if merged.live.is_none() {
                merged.live = part.live;
            }
            for code in part.service_code {
                if !merged
                    .service_code
                    .iter()
                    .any(|c| c.service == code.service)
                {
                    merged.service_code.push(code);
                }
            }
            merged.scan_errors.extend(part.scan_errors);
        }
        merged.services.sort_by(|a, b| a.key.cmp(&b.key));
        merged.bind_unbound(&unbound, count);
        merged.scan_errors.sort();
        merged.scan_errors.dedup();
        Ok(merged)
    }

    /// Bind the services of the config store another snapshot read on the
    /// `unbound` machines; when no snapshot read it, say so.
    fn bind_unbound(&mut self, unbound: &[String], snapshots: usize) {
        if unbound.is_empty() {
            return;
        }
        let Some(_) = self.site.config_store else {
            if self.services.is_empty() && self.live.is_none() {
                self.scan_errors.push(ScanError {
                    machine: None,
                    env: None,
                    env_path: None,
                    path: super::rebind::UNREAD_CONFIG_STORE.into(),
                    message: super::rebind::no_config_store_note(snapshots),
                });
            }
            return;
        };
        let Snapshot {
            machines,
            services,
            scan_errors,
            ..
        } = self;
        for machine in machines
            .iter_mut()
            .filter(|m| unbound.iter().any(|u| u.eq_ignore_ascii_case(&m.name)))
        {
            super::rebind::rebind(machine, services, scan_errors);
            scan_errors.retain(|e| {
                !(super::rebind::is_config_store_error(e)
                    && e.machine
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&machine.name)))
            });
        }
    }

    /// Add what the Administrator API said. When the config store could not
    /// be read (or there is no disk access at all), the API's services
    /// stand in for it, so every check that needs no env still runs.
    pub fn add_live(&mut self, live: LiveSite) {
        if self.services.is_empty() {
            self.services = live
                .services
                .iter()
                .map(|l| {
                    let (folder, rest) = match l.key.split_once('/') {
                        Some((f, r)) => (Some(f.to_string()), r),
                        None => (None, l.key.as_str()),
                    };
                    let (name, kind) = rest.rsplit_once('.').unwrap_or((rest, ""));
                    Service {
                        key: l.key.clone(),
                        folder,
                        name: name.to_string(),
                        service_type: kind.to_string(),
                        provider: l.provider.clone(),
                        configured_state: l.configured_state.clone(),
                        conda_environment_path: l.conda_environment_path.clone(),
                        toolbox: None,
                        file: format!(
                            "{}/admin/services/{}",
                            live.url.trim_end_matches('/'),
                            l.key
                        ),
                    }
                })
                .collect();
        }
        self.live = Some(live);
    }

    /// Make `listing` the default reference (`audit --reference`), in place
    /// of the site file's default; per-service references stay.
    pub fn set_default_reference(&mut self, name: String, listing: EnvListing) {
        for r in &mut self.references {
            r.default = false;
        }
        self.references.retain(|r| !r.services.is_empty());
        match self
            .references
            .iter_mut()
            .find(|r| r.listing.source == listing.source)
        {
            Some(r) => r.default = true,
            None => self.references.push(Reference {
                name,
                default: true,
                services: Vec::new(),
                listing,
            }),
        }
    }
}
