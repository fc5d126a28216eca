//! What every command shares: writing output (atomically, never inside the
//! audited site), warnings, the API settings from the command line, and
//! signing in.

use super::args::AdminArgs;
use anyhow::anyhow;
use gpaudit::admin::{self, AdminConfig, AdminOverrides, HttpAdmin};
use gpaudit::audit::Loaded;
use gpaudit::output;
use gpaudit::reference;
use gpaudit::site::Site;
use std::path::Path;

impl AdminArgs {
    /// The API settings: the site file's `[admin]` with these on top.
    pub fn config(&self, site: Option<&Site>) -> anyhow::Result<Option<AdminConfig>> {
        let overrides = AdminOverrides {
            url: self.url.clone(),
            username: self.username.clone(),
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            portal_url: self.portal_url.clone(),
        };
        Ok(overrides.apply(site.and_then(|s| s.admin.as_ref()))?)
    }

    /// Sign in when the site file or the command line names an API.
    pub fn connect(&self, site: Option<&Site>) -> anyhow::Result<Option<(HttpAdmin, String)>> {
        match self.config(site)? {
            Some(config) => Ok(Some((admin::sign_in(&config)?, config.url))),
            None => Ok(None),
        }
    }
}

/// Today, for waiver expiry.
pub fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// Print `text`, or write it atomically to `output` (refusing a path inside
/// the audited site).
pub fn emit(text: &str, output: Option<&Path>, loaded: Option<&Loaded>) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            if let Some(site) = loaded.and_then(|l| l.site.as_ref()) {
                let store = loaded
                    .and_then(|l| l.snapshot.site.config_store.as_deref())
                    .map(Path::new);
                output::check_outside_site(path, site, store)?;
            }
            output::write_atomic(path, text.as_bytes())?;
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Text from outside, made safe for the terminal.
pub use gpaudit::redact::terminal_safe;

pub fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("gpaudit: warning: {}", terminal_safe(w));
    }
}

/// Add "use FLAG to force one" to a format-detection failure.
pub fn hint(e: reference::ReadError, flag: &str) -> anyhow::Error {
    if e.message.contains("not a recognised environment listing") {
        anyhow!("{e}; use {flag} to force a format")
    } else {
        anyhow!(e)
    }
}
