//! The HTTP side of the Administrator API: a blocking `ureq` agent with
//! rustls (TLS verified by default; a site CA from `ca_file`, for the portal
//! too; `--insecure` only on request), tokens from the server's or the
//! portal's `generateToken` (see `signin`) renewed before they expire, sent
//! as `X-Esri-Authorization: Bearer` with the Referer they were issued for
//! and, on every POST, in the form body as Esri's docs require — never in a
//! URL; retries with back-off for GETs only; and ArcGIS's error shapes
//! (HTTP 200 with `"status":"error"`, with or without a `code`). Passwords
//! and tokens are scrubbed from every message it produces. What it reads
//! and drives (`SiteAdmin`) is in `resources`.

use super::signin::{self, Discovery, TokenSource};
use super::{AdminConfig, AdminError};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ureq::tls::{PemItem, RootCerts, TlsConfig};
use ureq::Agent;

const TOKEN_MINUTES: u64 = 60;
/// Renew a token this long before it expires.
const RENEW_MARGIN_MS: i64 = 60_000;
const GET_ATTEMPTS: u32 = 3;

/// A signed-in client for one site. A clone shares the connection pool and
/// the token, and refreshes its token on its own.
#[derive(Clone)]
pub struct HttpAdmin {
    agent: Agent,
    /// `https://gis.example.com:6443/arcgis`
    base: String,
    pub(super) admin: String,
    username: String,
    password: String,
    token: Option<(String, i64)>,
    /// Every token issued in this session, to scrub from messages even
    /// after it was replaced.
    spent: Vec<String>,
    insecure: bool,
    source: TokenSource,
    /// Sent as `referer` with `client=referer` and as the Referer header of
    /// every call: a referer token is valid only with it.
    referer: String,
    note: Option<String>,
}

impl std::fmt::Debug for HttpAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password or token.
        f.debug_struct("HttpAdmin")
            .field("admin", &self.admin)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Build a client from the settings and a password. Reads `ca_file`, and
/// (without `portal_url`) the server's public `/rest/info` to learn whether
/// a portal issues its tokens. No token is asked for yet.
pub fn connect(config: &AdminConfig, password: String) -> Result<HttpAdmin, AdminError> {
    signin::check_url("[admin] url", &config.url, config.insecure)?;
    let portal = match &config.portal_url {
        Some(p) => Some(signin::check_url("portal_url", p.trim(), false)?),
        None => None,
    };
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &config.ca_file {
        let pem = crate::read::read_capped(ca).map_err(|e| {
            AdminError::Config(format!(
                "{}: cannot read the CA file: {}",
                ca.display(),
                e.message
            ))
        })?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(AdminError::Config(format!(
                "{}: no PEM certificate in the CA file",
                ca.display()
            )));
        }
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    if config.insecure {
        tls = tls.disable_verification(true);
    }
    let agent: Agent = Agent::config_builder()
        .tls_config(tls.build())
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        // A redirect would carry the token header to wherever it points.
        .max_redirects(0)
        .build()
        .into();
    let trimmed = config.url.trim_end_matches('/');
    let base = trimmed
        .strip_suffix("/admin")
        .unwrap_or(trimmed)
        .to_string();
    let admin = format!("{base}/admin");
    let mut client = HttpAdmin {
        agent,
        referer: base.clone(),
        source: TokenSource::Server {
            url: format!("{admin}/generateToken"),
        },
        base,
        admin,
        username: config.username.clone(),
        password,
        token: None,
        spent: Vec::new(),
        insecure: config.insecure,
        note: None,
    };
    match portal {
        Some(p) => {
            let portal = p.as_str().trim_end_matches('/').to_string();
            client.source = TokenSource::Portal {
                url: signin::portal_token_url(&portal),
                portal,
                discovered: false,
            };
        }
        None => client.discover()?,
    }
    Ok(client)
}

impl HttpAdmin {
    /// Every secret of this session: the password (as typed and as sent
    /// form-encoded) and every token issued.
    fn secrets(&self) -> Vec<String> {
        let encoded: String =
            url::form_urlencoded::byte_serialize(self.password.as_bytes()).collect();
        [self.password.clone(), encoded]
            .into_iter()
            .chain(self.token.iter().map(|t| t.0.clone()))
            .chain(self.spent.iter().cloned())
            .collect()
    }

    /// Remove secrets (and URL credentials) from a message.
    pub(super) fn scrub(&self, text: &str) -> String {
        let out: String = crate::redact::text(text)
            .chars()
            .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
            .collect();
        self.scrub_name(&out)
    }

    /// Remove secrets from a name the API returned (a service, a folder),
    /// keeping everything else as it was written.
    pub(super) fn scrub_name(&self, text: &str) -> String {
        let secrets = self.secrets();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        crate::redact::secrets(text, &refs)
    }

    fn transport_error(&self, url: &str, e: &ureq::Error) -> AdminError {
        let text = e.to_string();
        let message = if signin::is_pki_refusal(&text) {
            format!("{} ({text})", signin::PKI_MESSAGE)
        } else if !self.insecure
            && (text.contains("certificate")
                || text.contains("UnknownIssuer")
                || text.contains("invalid peer"))
        {
            format!(
                "the site's TLS certificate is not trusted ({text}). ArcGIS Server uses a self-signed certificate unless one was installed: trust its CA with `ca_file = \"site-ca.pem\"` under [admin], or, knowing the risk, pass --insecure"
            )
        } else {
            format!("request failed: {text}")
        };
        AdminError::Http {
            url: url.to_string(),
            message: self.scrub(&message),
        }
    }

    /// Parse an answer: JSON, and not ArcGIS's error shape.
    fn parse(&self, url: &str, status: u16, body: &str) -> Result<Value, AdminError> {
        let value: Value = serde_json::from_str(body).map_err(|_| {
            let snippet: String = body
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            AdminError::NotJson {
                url: url.to_string(),
                snippet: self.scrub(&format!("HTTP {status}: {snippet}")),
            }
        })?;
        if value.get("status").and_then(Value::as_str) == Some("error")
            || value.get("error").is_some()
        {
            let err = value.get("error").unwrap_or(&value);
            let given = err.get("code").and_then(|c| {
                c.as_i64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            });
            let list = |key: &str| -> Vec<String> {
                err.get(key)
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut messages = list("messages");
            if messages.is_empty() {
                messages.extend(
                    err.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                );
            }
            if messages.is_empty() {
                messages = list("details");
            }
            let code = given
                .or_else(|| signin::infer_code(&messages))
                .or_else(|| (status >= 400).then_some(i64::from(status)));
            let hint = match code.unwrap_or(0) {
                498 | 499 => " (the token was rejected: sign-in needed)",
                403 => " (the user is not allowed: an administrator account is needed)",
                404 => " (no such resource on this site)",
                _ => "",
            };
            messages.push(hint.trim().to_string());
            messages.retain(|m| !m.is_empty());
            return Err(AdminError::Api {
                url: url.to_string(),
                code,
                messages: self.scrub(&messages.join("; ")),
            });
        }
        if status >= 400 {
            return Err(AdminError::Http {
                url: url.to_string(),
                message: format!("HTTP {status}"),
            });
        }
        Ok(value)
    }

    /// What to print about how gpaudit signs in (a portal found in
    /// `/rest/info`), if anything.
    pub fn sign_in_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Read the server's public `/rest/info`: a portal's token service there
    /// means the site is federated. An unreadable answer leaves the server's
    /// own token endpoint in place (the first call reports what is wrong);
    /// a web tier that signs users in itself is refused here.
    fn discover(&mut self) -> Result<(), AdminError> {
        let url = format!("{}/rest/info", self.base);
        let mut response = match self.agent.get(&url).query("f", "json").call() {
            Ok(r) => r,
            Err(e) if signin::is_pki_refusal(&e.to_string()) => {
                return Err(self.transport_error(&url, &e))
            }
            Err(_) => return Ok(()),
        };
        if let Some(e) = web_tier_error(&url, &response) {
            return Err(e);
        }
        let Ok(body) = response.body_mut().read_to_string() else {
            return Ok(());
        };
        let Ok(info) = serde_json::from_str::<Value>(&body) else {
            return Ok(());
        };
        match signin::discover(&info, &self.base) {
            Discovery::Standalone => Ok(()),
            Discovery::WebTier => Err(AdminError::Config(format!(
                "{url}: the site does not use ArcGIS tokens (isTokenBasedSecurity is false): its web tier signs users in (IWA or PKI), which gpaudit does not do; use the server's own URL (https://<machine>:6443/arcgis)"
            ))),
            Discovery::Federated { token_url, portal } => {
                signin::check_url("the portal's token service named by /rest/info", &token_url, false)?;
                self.note = Some(format!(
                    "{} is federated with {} (authInfo.tokenServicesUrl in its /rest/info): signing in at the portal; if the portal refuses the account, at the server itself (its primary site administrator). Set [admin] portal_url (or --portal-url) to skip this guess",
                    crate::redact::text(&self.base),
                    crate::redact::text(&portal)
                ));
                self.source = TokenSource::Portal {
                    url: token_url,
                    portal,
                    discovered: true,
                };
                Ok(())
            }
        }
    }

    fn ensure_token(&mut self) -> Result<String, AdminError> {
        if let Some((token, expires)) = &self.token {
            if expires.saturating_sub(RENEW_MARGIN_MS) > now_ms() {
                return Ok(token.clone());
            }
        }
        let server_url = format!("{}/generateToken", self.admin);
        let (token, expires) = match self.source.clone() {
            TokenSource::Server { url } => self.request_token(&url)?,
            TokenSource::Portal {
                url, discovered, ..
            } => match self.request_token(&url) {
                // The portal does not know the account: on a federated site
                // the primary site administrator signs in at the server.
                Err(AdminError::Api {
                    code: Some(400), ..
                }) if discovered => {
                    self.source = TokenSource::Server {
                        url: server_url.clone(),
                    };
                    self.request_token(&server_url)?
                }
                other => other?,
            },
        };
        self.spent.push(token.clone());
        self.token = Some((token.clone(), expires));
        Ok(token)
    }

    /// `generateToken` with `client=referer` (Esri: the IP-address choice
    /// "is not supported and may generate an invalid token" on a federated
    /// server), at the server or the portal.
    fn request_token(&mut self, url: &str) -> Result<(String, i64), AdminError> {
        let minutes = TOKEN_MINUTES.to_string();
        let result = self
            .agent
            .post(url)
            .header("Referer", &self.referer)
            .send_form([
                ("username", self.username.as_str()),
                ("password", self.password.as_str()),
                ("client", "referer"),
                ("referer", self.referer.as_str()),
                ("expiration", minutes.as_str()),
                ("f", "json"),
            ]);
        let mut response = result.map_err(|e| self.transport_error(url, &e))?;
        if let Some(e) = redirect_error(url, &response).or_else(|| web_tier_error(url, &response)) {
            return Err(e);
        }
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(url, &e))?;
        let value = self.parse(url, status, &body)?;
        let token = value
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AdminError::Http {
                url: url.to_string(),
                message: "generateToken returned no token".into(),
            })?
            .to_string();
        let expires = signin::expires_ms(&value).unwrap_or_else(|| now_ms() + 30 * 60_000);
        Ok((token, expires))
    }

    /// One call; `get` calls are retried with back-off on transport errors
    /// and 5xx, and any call is retried once with a new token on 498/499.
    pub(super) fn call(&mut self, method: &str, path: &str) -> Result<Value, AdminError> {
        let url = format!("{}/{}", self.admin, path.trim_start_matches('/'));
        let attempts = if method == "GET" { GET_ATTEMPTS } else { 1 };
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.ensure_token()?;
            let auth = format!("Bearer {token}");
            let result = if method == "GET" {
                self.agent
                    .get(&url)
                    .query("f", "json")
                    .header("X-Esri-Authorization", &auth)
                    .header("Referer", &self.referer)
                    .call()
            } else {
                // Esri's Server Admin docs: every POST carries the token in
                // its body; the header is what Esri's own client sends.
                self.agent
                    .post(&url)
                    .header("X-Esri-Authorization", &auth)
                    .header("Referer", &self.referer)
                    .send_form([("f", "json"), ("token", token.as_str())])
            };
            // Only a dropped connection, a timeout or a 5xx is worth
            // another try; a TLS or 4xx answer will not change.
            let mut retryable = false;
            let outcome = match result {
                Err(e) => {
                    retryable = !matches!(e, ureq::Error::Tls(_));
                    Err(self.transport_error(&url, &e))
                }
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if let Some(e) =
                        redirect_error(&url, &response).or_else(|| web_tier_error(&url, &response))
                    {
                        return Err(e);
                    }
                    match response.body_mut().read_to_string() {
                        Err(e) => {
                            retryable = true;
                            Err(self.transport_error(&url, &e))
                        }
                        Ok(body) if status >= 500 => Err(AdminError::Http {
                            url: url.clone(),
                            message: self.scrub(&format!(
                                "HTTP {status}: {}",
                                body.chars().take(80).collect::<String>()
                            )),
                        }),
                        Ok(body) => self.parse(&url, status, &body),
                    }
                }
            };
            if let Err(AdminError::Http { message, .. }) = &outcome {
                retryable |= message.starts_with("HTTP 5");
            }
            match outcome {
                Err(AdminError::Api {
                    code: Some(498 | 499),
                    ..
                }) if !renewed => {
                    renewed = true;
                    self.token = None;
                }
                Err(AdminError::Http { .. }) if retryable && attempt < attempts => {
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }
}

/// A redirect is refused, not followed: it would carry the password or the
/// token to wherever it points.
fn redirect_error(url: &str, response: &ureq::http::Response<ureq::Body>) -> Option<AdminError> {
    let status = response.status().as_u16();
    if !(300..400).contains(&status) {
        return None;
    }
    let to = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(crate::redact::text)
        .unwrap_or_default();
    Some(AdminError::Http {
        url: url.to_string(),
        message: format!(
            "redirected (HTTP {status}) to `{to}`; use that URL as [admin] url (gpaudit does not follow redirects with credentials)"
        ),
    })
}

/// HTTP 401 with a challenge: a web tier (IWA, or another sign-in at the
/// web adaptor) in front of the site.
fn web_tier_error(url: &str, response: &ureq::http::Response<ureq::Body>) -> Option<AdminError> {
    if response.status().as_u16() != 401 {
        return None;
    }
    let challenge: Vec<&str> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .collect();
    if challenge.is_empty() {
        return None;
    }
    Some(signin::web_tier_from_challenge(url, &challenge.join(", ")))
}
