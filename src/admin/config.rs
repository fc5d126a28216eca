//! The `[admin]` settings: what the site file says, with the command line's
//! overrides on top, and signing in with the password from the environment
//! (or a prompt on a terminal). The password is read here and handed to the
//! client; it is never stored in the settings.

use super::{connect, AdminError, HttpAdmin};
use std::io::IsTerminal;
use std::path::PathBuf;

/// How to reach a site's Administrator API (`[admin]` in site.toml, or
/// `--url`/`--username` on the command line).
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// `https://gis.example.com:6443/arcgis`
    pub url: String,
    pub username: String,
    /// The environment variable holding the password.
    pub password_env: String,
    /// A CA certificate (PEM) to trust, for a site's self-signed certificate.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (`--insecure`).
    pub insecure: bool,
    /// The portal the site is federated with
    /// (`https://portal.example.com/portal`): sign in there, never at the
    /// server's own token endpoint.
    pub portal_url: Option<String>,
}

impl AdminConfig {
    pub const DEFAULT_PASSWORD_ENV: &'static str = crate::redact::DEFAULT_PASSWORD_ENV;
}

/// What the command line says about the API, over the site file's `[admin]`.
#[derive(Clone, Debug, Default)]
pub struct AdminOverrides {
    pub url: Option<String>,
    pub username: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub portal_url: Option<String>,
}

/// Settings that cannot be used, or a password that cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no administrator user name: set username under [admin] or pass --username")]
    NoUsername,
    #[error("no password: set the environment variable {0} (or run on a terminal to be asked)")]
    NoPassword(String),
    #[error("reading the password: {0}")]
    Prompt(std::io::Error),
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl AdminOverrides {
    /// The settings to use: the site file's `[admin]` with these on top, or
    /// none when neither names a URL.
    pub fn apply(&self, base: Option<&AdminConfig>) -> Result<Option<AdminConfig>, ConfigError> {
        let mut config = match (base, &self.url) {
            (Some(c), None) => c.clone(),
            (base, Some(url)) => AdminConfig {
                url: url.clone(),
                username: base.map(|b| b.username.clone()).unwrap_or_default(),
                password_env: base.map_or_else(
                    || AdminConfig::DEFAULT_PASSWORD_ENV.to_string(),
                    |b| b.password_env.clone(),
                ),
                ca_file: base.and_then(|b| b.ca_file.clone()),
                insecure: false,
                portal_url: base.and_then(|b| b.portal_url.clone()),
            },
            (None, None) => return Ok(None),
        };
        if let Some(u) = &self.username {
            config.username = u.clone();
        }
        if let Some(ca) = &self.ca_file {
            config.ca_file = Some(ca.clone());
        }
        if let Some(portal) = &self.portal_url {
            config.portal_url = Some(portal.clone());
        }
        config.insecure = self.insecure;
        if config.username.is_empty() {
            return Err(ConfigError::NoUsername);
        }
        Ok(Some(config))
    }
}

/// Sign in: the password from the environment variable, else a prompt when
/// standard input is a terminal. The variable is hidden from every child
/// process gpaudit starts afterwards.
pub fn sign_in(config: &AdminConfig) -> Result<HttpAdmin, ConfigError> {
    crate::exec::hide_from_children(&config.password_env);
    if config.insecure {
        eprintln!("gpaudit: warning: TLS verification is off (--insecure): the site's identity is not checked");
    }
    let password = match std::env::var(&config.password_env) {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::stdin().is_terminal() => rpassword::prompt_password(format!(
            "Password for {} at {}: ",
            config.username, config.url
        ))
        .map_err(ConfigError::Prompt)?,
        _ => return Err(ConfigError::NoPassword(config.password_env.clone())),
    };
    let client = connect(config, password)?;
    if let Some(note) = client.sign_in_note() {
        eprintln!("gpaudit: {note}");
    }
    Ok(client)
}
