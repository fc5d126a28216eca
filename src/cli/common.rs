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

/// The columns a table may use: the terminal's (at least 60), else 120.
pub fn terminal_width(terminal: bool) -> usize {
    let detected = terminal
        .then(|| comfy_table::Table::new().width())
        .flatten()
        .map(usize::from);
    detected.map_or(gpaudit::report::RenderOptions::DEFAULT_WIDTH, |w| w.max(60))
}

/// Today, for waiver expiry.
pub fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// Write `text` to standard output. A reader that went away (`| head`) ends
/// the output quietly: the command still finishes and exits with the code
/// it would have had.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("gpaudit: error: writing the output: {e}");
        }
    }
}

/// Print `text`, or write it atomically to `output` (refusing a path inside
/// the audited site).
/// `what` names it when it is written to a file: `gpaudit: wrote the
/// report (86 findings) to out.json`.
pub fn emit(
    text: &str,
    what: &str,
    output: Option<&Path>,
    loaded: Option<&Loaded>,
) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            if let Some(site) = loaded.and_then(|l| l.site.as_ref()) {
                let store = loaded
                    .and_then(|l| l.snapshot.site.config_store.as_deref())
                    .map(Path::new);
                output::check_outside_site(path, site, store)?;
            }
            output::write_atomic(path, text.as_bytes())?;
            eprintln!("gpaudit: wrote {what} to {}", gpaudit::paths::display(path));
        }
        None => out(text),
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
