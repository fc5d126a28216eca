//! The HTTP side of the Administrator API: a blocking `ureq` agent with
//! rustls (TLS verified by default; a site CA from `ca_file`; `--insecure`
//! only on request), tokens from `generateToken` renewed before they expire
//! and sent as `X-Esri-Authorization: Bearer`, retries with back-off for
//! GETs only, and ArcGIS's error shapes (HTTP 200 with `"status":"error"`).
//! Passwords and tokens are scrubbed from every message it produces.

use super::{AdminConfig, AdminError, AdminInfo, ServiceRef, ServiceStatus, SiteAdmin};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use ureq::tls::{PemItem, RootCerts, TlsConfig};
use ureq::Agent;

const TOKEN_MINUTES: u64 = 60;
/// Renew a token this long before it expires.
const RENEW_MARGIN_MS: i64 = 60_000;
const GET_ATTEMPTS: u32 = 3;

/// A signed-in client for one site.
pub struct HttpAdmin {
    agent: Agent,
    admin: String,
    username: String,
    password: String,
    token: Option<(String, i64)>,
    /// Every token issued in this session, to scrub from messages even
    /// after it was replaced.
    spent: Vec<String>,
    insecure: bool,
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

/// Build a client from the settings and a password. Reads `ca_file`.
pub fn connect(config: &AdminConfig, password: String) -> Result<HttpAdmin, AdminError> {
    check_url(config)?;
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &config.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            AdminError::Config(format!("{}: cannot read the CA file: {e}", ca.display()))
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
    let base = config.url.trim_end_matches('/');
    let admin = if base.ends_with("/admin") {
        base.to_string()
    } else {
        format!("{base}/admin")
    };
    Ok(HttpAdmin {
        agent,
        admin,
        username: config.username.clone(),
        password,
        token: None,
        spent: Vec::new(),
        insecure: config.insecure,
    })
}

/// Refuse URLs that would leak: credentials or a query in the URL itself,
/// and plain `http://` to anything but this machine (the password and token
/// would cross the network in clear text) unless `--insecure` says so.
fn check_url(config: &AdminConfig) -> Result<(), AdminError> {
    let url = url::Url::parse(&config.url)
        .map_err(|e| AdminError::Config(format!("[admin] url is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(AdminError::Config(
            "[admin] url must not carry a user name, password or query; use username and password_env".into(),
        ));
    }
    let loopback = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback || config.insecure => Ok(()),
        "http" => Err(AdminError::Config(format!(
            "{}: plain http would send the password and token in clear text; use https (or --insecure, knowing the risk)",
            config.url
        ))),
        other => Err(AdminError::Config(format!(
            "[admin] url: unsupported scheme `{other}`"
        ))),
    }
}

impl HttpAdmin {
    /// Remove secrets (and URL credentials) from a message.
    fn scrub(&self, text: &str) -> String {
        let mut out: String = crate::redact::text(text)
            .chars()
            .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
            .collect();
        let encoded: String =
            url::form_urlencoded::byte_serialize(self.password.as_bytes()).collect();
        let secrets = [self.password.as_str(), encoded.as_str()]
            .into_iter()
            .chain(self.token.iter().map(|t| t.0.as_str()))
            .chain(self.spent.iter().map(String::as_str));
        for secret in secrets.filter(|s| s.len() >= 3) {
            out = out.replace(secret, "********");
        }
        out
    }

    fn transport_error(&self, url: &str, e: &ureq::Error) -> AdminError {
        let text = e.to_string();
        let message = if !self.insecure
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
            let code = err
                .get("code")
                .and_then(|c| {
                    c.as_i64()
                        .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(i64::from(status));
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
            let hint = match code {
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

    fn ensure_token(&mut self) -> Result<String, AdminError> {
        if let Some((token, expires)) = &self.token {
            if expires.saturating_sub(RENEW_MARGIN_MS) > now_ms() {
                return Ok(token.clone());
            }
        }
        let url = format!("{}/generateToken", self.admin);
        let minutes = TOKEN_MINUTES.to_string();
        let result = self.agent.post(&url).send_form([
            ("username", self.username.as_str()),
            ("password", self.password.as_str()),
            ("client", "requestip"),
            ("expiration", minutes.as_str()),
            ("f", "json"),
        ]);
        let mut response = result.map_err(|e| self.transport_error(&url, &e))?;
        if let Some(e) = redirect_error(&url, &response) {
            return Err(e);
        }
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(&url, &e))?;
        let value = self.parse(&url, status, &body)?;
        let token = value
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| AdminError::Http {
                url: url.clone(),
                message: "generateToken returned no token".into(),
            })?
            .to_string();
        let expires = value
            .get("expires")
            .and_then(|e| {
                e.as_i64()
                    .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or_else(|| now_ms() + 30 * 60_000);
        self.spent.push(token.clone());
        self.token = Some((token.clone(), expires));
        Ok(token)
    }

    /// One call; `get` calls are retried with back-off on transport errors
    /// and 5xx, and any call is retried once with a new token on 498/499.
    fn call(&mut self, method: &str, path: &str) -> Result<Value, AdminError> {
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
                    .call()
            } else {
                self.agent
                    .post(&url)
                    .header("X-Esri-Authorization", &auth)
                    .send_form([("f", "json")])
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
                    if let Some(e) = redirect_error(&url, &response) {
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
                    code: 498 | 499, ..
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

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn service_entries(v: &Value, folder: Option<&str>) -> Vec<ServiceRef> {
    v.get("services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = text(s, "serviceName")?;
            let kind = text(s, "type")?;
            let folder = text(s, "folderName")
                .filter(|f| f != "/" && !f.is_empty())
                .or_else(|| folder.map(str::to_string));
            Some(ServiceRef { folder, name, kind })
        })
        .collect()
}

impl SiteAdmin for HttpAdmin {
    fn info(&mut self) -> Result<AdminInfo, AdminError> {
        let v = self.call("GET", "info")?;
        Ok(AdminInfo {
            version: v
                .get("currentversion")
                .or_else(|| v.get("currentVersion"))
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                }),
            build: text(&v, "currentbuild").or_else(|| text(&v, "fullVersion")),
        })
    }

    fn machines(&mut self) -> Result<Vec<String>, AdminError> {
        let v = self.call("GET", "machines")?;
        let mut out: Vec<String> = v
            .get("machines")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| text(m, "machineName"))
            .collect();
        out.sort();
        Ok(out)
    }

    fn services(&mut self) -> Result<Vec<ServiceRef>, AdminError> {
        let root = self.call("GET", "services")?;
        let mut out = service_entries(&root, None);
        let folders: Vec<String> = root
            .get("folders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        for folder in folders {
            let v = self.call("GET", &format!("services/{folder}"))?;
            out.extend(service_entries(&v, Some(&folder)));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn service_json(&mut self, service: &ServiceRef) -> Result<Value, AdminError> {
        self.call("GET", &format!("services/{}", service.path()))
    }

    fn status(&mut self, service: &ServiceRef) -> Result<ServiceStatus, AdminError> {
        let v = self.call("GET", &format!("services/{}/status", service.path()))?;
        match (text(&v, "configuredState"), text(&v, "realTimeState")) {
            (Some(configured), Some(real)) => Ok(ServiceStatus {
                configured: self.scrub(&configured),
                real: self.scrub(&real),
            }),
            _ => Err(AdminError::Http {
                url: format!("{}/services/{}/status", self.admin, service.path()),
                message: "the status answer has no configuredState/realTimeState".into(),
            }),
        }
    }

    fn stop(&mut self, service: &ServiceRef) -> Result<(), AdminError> {
        self.call("POST", &format!("services/{}/stop", service.path()))
            .map(|_| ())
    }

    fn start(&mut self, service: &ServiceRef) -> Result<(), AdminError> {
        self.call("POST", &format!("services/{}/start", service.path()))
            .map(|_| ())
    }
}

/// How long to wait, polling `status`, for a service to reach `state`.
pub fn wait_for(
    admin: &mut dyn SiteAdmin,
    service: &ServiceRef,
    started: bool,
    timeout: Duration,
) -> Result<bool, AdminError> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(24 * 3600));
    let want = if started { "STARTED" } else { "STOPPED" };
    loop {
        if admin.status(service)?.real.eq_ignore_ascii_case(want) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
