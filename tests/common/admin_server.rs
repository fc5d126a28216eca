//! A stand-in ArcGIS Server 11.x site (and, when federated, its Portal) for
//! the tests and for `cargo run --example arcgis-standin`: the Administrator
//! API's real request and response shapes as Esri's own Python client
//! (`arcgis` 2.4.x) expects them — the `/admin` root with `resources`,
//! `/rest/info` with an absolute `tokenServicesUrl` (and `owningSystemUrl`
//! when federated), `/admin/info`, folders (empty ones as empty lists, and
//! the `System` and `Utilities` folders with Esri's built-in GP services),
//! service JSON, status, per-machine statistics, start/stop/edit, machines
//! and their status, `expires` as a string, errors with HTTP 200 with and
//! without a `code`, tokens in the header, query or POST body, bound to the
//! Referer they were issued for, and the portal's `generateToken` (password
//! or `request=getToken` exchange). It listens on 127.0.0.1 with a random
//! port, plain or TLS with a generated self-signed certificate, its services
//! read from a fixture site's config store, with switches to inject faults.
//! Also included by `examples/arcgis_standin.rs`: keep it free of test-only
//! helpers.
//!
//! Over 600 lines on purpose: it is one HTTP API in one file because the
//! example includes it by path (`#[path]`), where submodules would need a
//! folder layout the tests' `common/` shares with other helpers.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The primary site administrator (signs in at the server itself).
pub const USER: &str = "siteadmin";
pub const PASSWORD: &str = "s3cret-Pa55word";
/// A portal administrator (federated mode only; signs in at the portal).
pub const PORTAL_USER: &str = "portaladmin";
pub const PORTAL_PASSWORD: &str = "P0rtal-Adm1n-Pa55";

/// The machines of a stand-in site unless told otherwise: the demo site's.
pub const DEFAULT_MACHINES: [&str; 3] =
    ["GIS1.EXAMPLE.COM", "GIS2.EXAMPLE.COM", "GIS3.EXAMPLE.COM"];

/// Esri's built-in services of an 11.x site, which a real Administrator API
/// lists whether or not anyone published anything.
pub const BUILT_IN: [&str; 8] = [
    "System/CachingControllers.GPServer",
    "System/CachingTools.GPServer",
    "System/PublishingTools.GPServer",
    "System/ReportingTools.GPServer",
    "System/SyncTools.GPServer",
    "Utilities/Geometry.GeometryServer",
    "Utilities/OfflinePackaging.GPServer",
    "Utilities/PrintingTools.GPServer",
];

#[derive(Debug, Clone)]
pub struct Svc {
    pub json: Value,
    pub configured: String,
    pub real: String,
    /// Machines on which its instances did not start.
    pub failed_on: BTreeSet<String>,
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Answer every admin call with a web adaptor's HTML login page.
    pub login_page: bool,
    /// Answer the next N GETs with HTTP 500.
    pub http_500: usize,
    /// Close the next N connections without answering.
    pub drop: usize,
    /// Sleep this long before answering.
    pub slow: Duration,
    /// Services whose `start` fails.
    pub start_fails: Vec<String>,
    /// Services whose `stop` fails (and that keep running).
    pub stop_fails: Vec<String>,
    /// Answer every admin call with a redirect elsewhere.
    pub redirect: bool,
    /// Tokens expire this many ms after they are issued (default 60 min).
    pub token_ms: Option<i64>,
    /// Machines on which every service start fails (the site still says
    /// STARTED; only the per-machine statistics tell).
    pub machine_fails: Vec<String>,
    /// Token errors (498/499) come without a `code`, as some versions send.
    pub token_errors_without_code: bool,
    /// The web tier asks for Windows sign-in (IWA): HTTP 401 with
    /// `WWW-Authenticate: Negotiate` on everything.
    pub iwa: bool,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub expires: i64,
    /// The Referer it was issued for (`client=referer`); `None` for
    /// `client=requestip`, which a federated server refuses (498).
    pub referer: Option<String>,
    /// Issued by the portal (valid at the server only when federated).
    pub portal: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub services: BTreeMap<String, Svc>,
    /// Folders, including empty ones.
    pub folders: BTreeSet<String>,
    /// Machine name and whether it is stopped.
    pub machines: BTreeMap<String, bool>,
    pub tokens: BTreeMap<String, Token>,
    pub faults: Faults,
    /// Every start/stop, in order: `stop Hydro/Flood.GPServer`.
    pub actions: Vec<String>,
    /// Every request line seen (for asserting no secret travels in a URL).
    pub requests: Vec<String>,
    /// For every authenticated POST: whether the token was in its body.
    pub post_body_tokens: Vec<bool>,
    /// Set when the portal password reached a server's own token endpoint.
    pub portal_password_at_server: bool,
    /// Federated with the stand-in portal at `<base>/portal`.
    pub federated: bool,
    /// `http://127.0.0.1:PORT`: makes URLs absolute, as a real server does.
    pub base: String,
    /// Requests being answered right now, and the most there ever were.
    pub in_flight: usize,
    pub max_in_flight: usize,
    issued: u64,
}

pub struct Server {
    /// `http(s)://127.0.0.1:PORT/arcgis`
    pub url: String,
    /// `http(s)://127.0.0.1:PORT/portal` (answers only when federated).
    pub portal_url: String,
    pub state: Arc<Mutex<State>>,
    /// PEM of the self-signed certificate, when serving TLS.
    pub cert_pem: Option<String>,
}

/// How to start a stand-in.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub tls: bool,
    pub federated: bool,
    /// Machine names; `DEFAULT_MACHINES` when empty.
    pub machines: Vec<String>,
    /// Listen on this port (0 or `None`: a random free one).
    pub port: Option<u16>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Services of a fixture site's config store.
pub fn services_from(store: &Path) -> BTreeMap<String, Svc> {
    try_services_from(store).unwrap()
}

/// Services of a config store, or what could not be read.
pub fn try_services_from(store: &Path) -> Result<BTreeMap<String, Svc>, String> {
    let mut out = BTreeMap::new();
    let root = store.join("services");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                let json: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
                let rel = p
                    .parent()
                    .and_then(|d| d.strip_prefix(&root).ok())
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let state = json["configuredState"]
                    .as_str()
                    .unwrap_or("STARTED")
                    .to_string();
                out.insert(
                    rel,
                    Svc {
                        json,
                        configured: state.clone(),
                        real: state,
                        failed_on: BTreeSet::new(),
                    },
                );
            }
        }
    }
    Ok(out)
}

impl Server {
    /// A stand-alone (not federated) site with the default machines.
    pub fn start(services: BTreeMap<String, Svc>, tls: bool) -> Server {
        Server::start_with(
            services,
            Options {
                tls,
                ..Options::default()
            },
        )
        .unwrap()
    }

    pub fn start_with(
        mut services: BTreeMap<String, Svc>,
        options: Options,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", options.port.unwrap_or(0)))?;
        let port = listener.local_addr()?.port();
        for key in BUILT_IN {
            let (folder, name_type) = key.split_once('/').unwrap_or(("", key));
            let (name, kind) = name_type.rsplit_once('.').unwrap_or((name_type, ""));
            services.entry(key.to_string()).or_insert_with(|| Svc {
                json: json!({"serviceName": name, "type": kind, "folderName": folder,
                    "provider": "ArcObjects11", "configuredState": "STARTED",
                    "minInstancesPerNode": 1, "maxInstancesPerNode": 2, "properties": {}}),
                configured: "STARTED".into(),
                real: "STARTED".into(),
                failed_on: BTreeSet::new(),
            });
        }
        let machines = if options.machines.is_empty() {
            DEFAULT_MACHINES.iter().map(|m| m.to_string()).collect()
        } else {
            options.machines.clone()
        };
        let scheme = if options.tls { "https" } else { "http" };
        let base = format!("{scheme}://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            folders: services
                .keys()
                .filter_map(|k| k.split_once('/').map(|(f, _)| f.to_string()))
                .collect(),
            services,
            machines: machines.into_iter().map(|m| (m, false)).collect(),
            federated: options.federated,
            base: base.clone(),
            ..State::default()
        }));
        let (config, cert_pem) = if options.tls {
            let cert =
                rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                    .map_err(std::io::Error::other)?;
            let pem = cert.cert.pem();
            let key =
                rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(std::io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(vec![cert.cert.der().clone()], key)
                .map_err(std::io::Error::other)?;
            (Some(Arc::new(config)), Some(pem))
        } else {
            (None, None)
        };
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = match config {
                        Some(c) => match rustls::ServerConnection::new(c) {
                            Ok(conn) => {
                                let mut tls = rustls::StreamOwned::new(conn, stream);
                                serve(&mut tls, &state)
                            }
                            Err(_) => Ok(()),
                        },
                        None => {
                            let mut s: TcpStream = stream;
                            serve(&mut s, &state)
                        }
                    };
                });
            }
        });
        Ok(Server {
            url: format!("{base}/arcgis"),
            portal_url: format!("{base}/portal"),
            state,
            cert_pem,
        })
    }
}

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), urldecode(v)))
        .collect()
}

fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An answer: status, content type, extra headers, body.
type Answer = (u16, &'static str, String, String);

fn serve<S: Read + Write>(stream: &mut S, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut length = 0usize;
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            let k = k.to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.insert(k, v.trim().to_string());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, content_type, extra, answer) = {
        let Ok(mut st) = state.lock() else {
            return Ok(());
        };
        st.requests.push(format!("{method} {target}"));
        if st.faults.drop > 0 {
            st.faults.drop -= 1;
            return Ok(());
        }
        let slow = st.faults.slow;
        if !slow.is_zero() {
            st.in_flight += 1;
            st.max_in_flight = st.max_in_flight.max(st.in_flight);
            drop(st);
            std::thread::sleep(slow);
            let Ok(again) = state.lock() else {
                return Ok(());
            };
            st = again;
            st.in_flight -= 1;
        }
        respond(&mut st, &method, path, query, &headers, &body)
    };
    let stream = reader.into_inner();
    let reason = match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    stream.flush()
}

/// ArcGIS Server's error shape (HTTP 200), with or without a `code`.
fn error(code: Option<i64>, message: &str) -> Answer {
    let mut v = json!({"status": "error", "messages": [message]});
    if let Some(code) = code {
        v["code"] = json!(code);
    }
    (200, "application/json", String::new(), v.to_string())
}

/// The portal's error shape.
fn portal_error(code: i64, message: &str, details: &[&str]) -> Answer {
    ok(json!({"error": {"code": code, "message": message, "details": details}}))
}

fn ok(v: Value) -> Answer {
    (200, "application/json", String::new(), v.to_string())
}

fn not_found() -> Answer {
    (
        404,
        "text/html",
        String::new(),
        "<html><body>HTTP Status 404 – Not Found</body></html>".into(),
    )
}

fn issue(st: &mut State, referer: Option<String>, portal: bool) -> (String, i64) {
    st.issued += 1;
    let token = format!(
        "{}tok-{:06}-{}",
        if portal { "p" } else { "s" },
        st.issued,
        now_ms() % 100_000
    );
    let expires = now_ms() + st.faults.token_ms.unwrap_or(60 * 60_000);
    st.tokens.insert(
        token.clone(),
        Token {
            expires,
            referer,
            portal,
        },
    );
    (token, expires)
}

/// `client=referer` binds the token to the Referer; anything else (Esri:
/// "requestip ... is not supported") is a token bound to nothing.
fn client_referer(form: &BTreeMap<String, String>) -> Option<String> {
    match form.get("client").map(String::as_str) {
        Some("referer") => Some(form.get("referer").cloned().unwrap_or_default()),
        _ => None,
    }
}

fn respond(
    st: &mut State,
    method: &str,
    path: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    body: &str,
) -> Answer {
    if st.faults.iwa {
        return (
            401,
            "text/html",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n".into(),
            "<html><body>401 - Unauthorized</body></html>".into(),
        );
    }
    let form = form(body);
    let base = st.base.clone();
    if let Some(rest) = path.strip_prefix("/portal/sharing/rest/") {
        return if st.federated {
            portal(st, method, rest, &form)
        } else {
            not_found()
        };
    }
    match path.trim_end_matches('/') {
        "/arcgis/rest/info" => {
            let mut info = json!({"currentVersion": 11.1, "fullVersion": "11.1.0",
                "soapUrl": format!("{base}/arcgis/services"),
                "secureSoapUrl": null,
                "authInfo": {"isTokenBasedSecurity": true,
                    "tokenServicesUrl": format!("{base}/arcgis/tokens/"),
                    "shortLivedTokenValidity": 60}});
            if st.federated {
                info["owningSystemUrl"] = json!(format!("{base}/portal"));
                info["authInfo"]["tokenServicesUrl"] =
                    json!(format!("{base}/portal/sharing/rest/generateToken"));
            }
            return ok(info);
        }
        // The services directory's root (public here: no secured services).
        "/arcgis/rest/services" => {
            let root: Vec<Value> = st
                .services
                .keys()
                .filter(|k| !k.contains('/'))
                .filter_map(|k| k.rsplit_once('.'))
                .map(|(name, kind)| json!({"name": name, "type": kind}))
                .collect();
            return ok(json!({"currentVersion": 11.1, "folders": st.folders, "services": root}));
        }
        // The server's own token service, as `/rest/info` names it.
        "/arcgis/tokens" | "/arcgis/tokens/generateToken" => {
            return server_token(st, method, &form, false);
        }
        _ => {}
    }
    let rest = match path.strip_prefix("/arcgis/admin") {
        Some(r) if r.is_empty() || r.starts_with('/') => r.trim_matches('/'),
        _ => return not_found(),
    };
    if st.faults.redirect {
        return (
            302,
            "text/plain",
            "Location: http://attacker.example.com/collect\r\n".into(),
            String::new(),
        );
    }
    if st.faults.login_page {
        return (
            200,
            "text/html",
            String::new(),
            "<html><head><title>Sign In</title></head><body>ArcGIS Web Adaptor</body></html>"
                .into(),
        );
    }
    if method == "GET" && st.faults.http_500 > 0 {
        st.faults.http_500 -= 1;
        return (
            500,
            "text/plain",
            String::new(),
            "Internal Server Error".into(),
        );
    }
    if rest == "generateToken" {
        return server_token(st, method, &form, true);
    }
    // All three transports: the header, the query string, the form body.
    let q = form_query(query);
    let body_token = form.get("token").cloned();
    let token = headers
        .get("x-esri-authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| q.get("token").cloned())
        .or_else(|| body_token.clone());
    let code = |c: i64| (!st.faults.token_errors_without_code).then_some(c);
    let Some(token) = token else {
        return error(code(499), "Token Required.");
    };
    let referer = headers.get("referer").cloned().unwrap_or_default();
    match st.tokens.get(&token) {
        None => return error(code(498), "Invalid token."),
        Some(t) if t.expires < now_ms() => return error(code(498), "Invalid token."),
        Some(t) if t.portal && !st.federated => return error(code(498), "Invalid token."),
        Some(t) if t.referer.as_deref().is_some_and(|r| r != referer) => {
            return error(code(498), "Invalid token.")
        }
        // A requestip portal token: Esri says it "may generate an invalid token".
        Some(t) if t.portal && t.referer.is_none() => return error(code(498), "Invalid token."),
        _ => {}
    }
    if method == "POST" {
        st.post_body_tokens
            .push(body_token.as_deref() == Some(token.as_str()));
    }
    admin(st, method, rest, &form)
}

/// `generateToken` at the server (`/admin/generateToken`, `expires` as a
/// string, as 11.x sends it) or its token service (`/tokens/`).
fn server_token(
    st: &mut State,
    method: &str,
    form: &BTreeMap<String, String>,
    admin: bool,
) -> Answer {
    if method != "POST" {
        return error(Some(405), "Method not supported.");
    }
    let user = form.get("username").map(String::as_str);
    let password = form.get("password").map(String::as_str);
    if password == Some(PORTAL_PASSWORD) {
        st.portal_password_at_server = true;
    }
    if user != Some(USER) || password != Some(PASSWORD) {
        return error(None, "Unable to generate token.");
    }
    let (token, expires) = issue(st, client_referer(form), false);
    if admin {
        ok(json!({"token": token, "expires": expires.to_string()}))
    } else {
        ok(json!({"token": token, "expires": expires, "ssl": false}))
    }
}

/// The portal's sharing API: `info` and `generateToken` (a portal sign-in,
/// or `request=getToken` exchanging a portal token for a server's).
fn portal(st: &mut State, method: &str, rest: &str, form: &BTreeMap<String, String>) -> Answer {
    let base = st.base.clone();
    match rest.trim_end_matches('/') {
        "info" => ok(json!({"owningSystemUrl": format!("{base}/portal"),
            "authInfo": {"tokenServicesUrl": format!("{base}/portal/sharing/rest/generateToken"),
                "isTokenBasedSecurity": true}})),
        "generateToken" if method != "POST" => {
            portal_error(405, "Method not supported.", &["generateToken needs POST"])
        }
        "generateToken" if form.get("request").map(String::as_str) == Some("getToken") => {
            let valid = form
                .get("token")
                .and_then(|t| st.tokens.get(t))
                .is_some_and(|t| t.portal && t.expires >= now_ms());
            if !valid {
                return portal_error(498, "Invalid token.", &[]);
            }
            let (token, expires) = issue(
                st,
                client_referer(form).or(form.get("referer").cloned()),
                true,
            );
            ok(json!({"token": token, "expires": expires, "ssl": false}))
        }
        "generateToken" => {
            if form.get("username").map(String::as_str) != Some(PORTAL_USER)
                || form.get("password").map(String::as_str) != Some(PORTAL_PASSWORD)
            {
                return portal_error(
                    400,
                    "Unable to generate token.",
                    &["Invalid username or password."],
                );
            }
            let (token, expires) = issue(st, client_referer(form), true);
            ok(json!({"token": token, "expires": expires, "ssl": false}))
        }
        _ => not_found(),
    }
}

fn admin(st: &mut State, method: &str, rest: &str, form: &BTreeMap<String, String>) -> Answer {
    let base = st.base.clone();
    match (method, rest) {
        ("GET", "") => ok(
            json!({"resources": ["machines", "clusters", "system", "services",
            "security", "data", "uploads", "logs", "mode", "usagereports"],
            "currentVersion": 11.1, "fullVersion": "11.1.0", "acceptLanguage": null}),
        ),
        ("GET", "info") => ok(json!({"currentversion": 11.1, "fullVersion": "11.1.0",
            "currentbuild": "41800", "timezone": {"windowsZoneID": "UTC", "olsonZoneID": "UTC"},
            "loggedInUser": "admin", "loggedInUserPrivilege": "ADMINISTER"})),
        ("GET", "machines") => {
            let list: Vec<Value> = st
                .machines
                .keys()
                .map(|m| {
                    json!({"machineName": m,
                    "adminURL": format!("https://{}:6443/arcgis/admin", m.to_ascii_lowercase())})
                })
                .collect();
            ok(json!({"machines": list}))
        }
        ("GET", r) if r.starts_with("machines/") => {
            let r = &r["machines/".len()..];
            let (name, sub) = r.split_once('/').unwrap_or((r, ""));
            let Some(stopped) = st.machines.get(name).copied() else {
                return error(Some(404), &format!("Machine '{name}' does not exist."));
            };
            let state = if stopped { "STOPPED" } else { "STARTED" };
            match sub {
                "" => ok(json!({"machineName": name, "platform": "WINDOWS",
                    "adminURL": format!("https://{}:6443/arcgis/admin", name.to_ascii_lowercase()),
                    "ports": {"JMXPort": "4000", "OpenEJBPort": "4001", "NamingPort": "4002", "DerbyPort": "4003"},
                    "configuredState": state, "synchronize": false, "underMaintenance": false})),
                "status" => ok(json!({"configuredState": state, "realTimeState": state})),
                _ => error(Some(404), "Resource not found."),
            }
        }
        ("GET", "services") => {
            let root: Vec<Value> = st
                .services
                .keys()
                .filter(|k| !k.contains('/'))
                .map(|k| entry("/", k))
                .collect();
            let detail: Vec<Value> = st
                .folders
                .iter()
                .map(|f| {
                    json!({"folderName": f, "description": null, "webEncrypted": false,
                    "isDefault": f == "System" || f == "Utilities"})
                })
                .collect();
            ok(json!({"folderName": "/", "description": "Root folder",
                "folders": st.folders, "foldersDetail": detail, "services": root}))
        }
        ("GET", r) if r.starts_with("services/") => {
            let r = &r["services/".len()..];
            if let Some(key) = r.strip_suffix("/status") {
                return match st.services.get(key) {
                    Some(s) => {
                        ok(json!({"configuredState": s.configured, "realTimeState": s.real}))
                    }
                    None => error(Some(404), &format!("Service '{key}' does not exist.")),
                };
            }
            if let Some(key) = r.strip_suffix("/statistics") {
                return match st.services.get(key) {
                    Some(s) => ok(statistics(st, key, s)),
                    None => error(Some(404), &format!("Service '{key}' does not exist.")),
                };
            }
            if let Some(s) = st.services.get(r) {
                return ok(s.json.clone());
            }
            let folder = r;
            if !st.folders.contains(folder) {
                return error(Some(404), &format!("Folder '{folder}' does not exist."));
            }
            let list: Vec<Value> = st
                .services
                .keys()
                .filter_map(|k| k.split_once('/'))
                .filter(|(f, _)| *f == folder)
                .map(|(_, name)| entry(folder, name))
                .collect();
            ok(json!({"folderName": folder, "description": null, "services": list}))
        }
        ("POST", r) if r.starts_with("services/") => {
            let r = &r["services/".len()..];
            let (key, op) = r.rsplit_once('/').unwrap_or((r, ""));
            let fails = st.faults.start_fails.iter().any(|f| f == key);
            let stop_fails = st.faults.stop_fails.iter().any(|f| f == key);
            let failing: BTreeSet<String> = st
                .machines
                .iter()
                .filter(|(m, stopped)| **stopped || st.faults.machine_fails.contains(m))
                .map(|(m, _)| m.clone())
                .collect();
            let Some(s) = st.services.get_mut(key) else {
                return error(Some(404), &format!("Service '{key}' does not exist."));
            };
            match op {
                "stop" if stop_fails => {
                    return error(Some(500), &format!("Failed to stop the service {key}."));
                }
                "stop" => {
                    s.configured = "STOPPED".into();
                    s.real = "STOPPED".into();
                    s.failed_on.clear();
                }
                "start" if fails => {
                    st.actions.push(format!("start-failed {key}"));
                    // As Esri's documented example: no `code`.
                    return error(None, &format!("Failed to start the service {key}: the service's Python environment could not be loaded."));
                }
                "start" => {
                    s.configured = "STARTED".into();
                    s.real = "STARTED".into();
                    s.failed_on = failing;
                }
                "edit" => {
                    if let Some(json) = form
                        .get("service")
                        .and_then(|j| serde_json::from_str(j).ok())
                    {
                        s.json = json;
                    }
                }
                _ => return error(Some(404), "Unknown operation."),
            }
            st.actions.push(format!("{op} {key}"));
            ok(json!({"status": "success"}))
        }
        ("GET", "generateToken") => error(Some(405), "Method not supported."),
        _ => {
            let _ = base;
            error(Some(404), "Resource not found.")
        }
    }
}

/// `.../statistics`: a summary and one entry per machine;
/// `isStatisticsAvailable` is false where the service is not deployed.
fn statistics(st: &State, key: &str, s: &Svc) -> Value {
    let (folder, name_type) = key.split_once('/').unwrap_or(("/", key));
    let (name, kind) = name_type.rsplit_once('.').unwrap_or((name_type, ""));
    let running = s.real == "STARTED";
    let per: Vec<Value> = st
        .machines
        .keys()
        .map(|m| {
            let up = running && !s.failed_on.contains(m);
            json!({"machineName": m, "isStatisticsAvailable": up,
                "max": if up { 2 } else { 0 }, "busy": 0, "free": if up { 1 } else { 0 },
                "initializing": 0, "notCreated": 0, "transactions": 0, "totalBusyTime": 0})
        })
        .collect();
    json!({"summary": {"folderName": folder, "serviceName": name, "type": kind,
        "startTime": 0, "max": 0, "busy": 0, "free": 0, "initializing": 0,
        "notCreated": 0, "transactions": 0, "totalBusyTime": 0,
        "isStatisticsAvailable": running}, "perMachine": per})
}

fn form_query(q: &str) -> BTreeMap<String, String> {
    form(q)
}

fn entry(folder: &str, name_type: &str) -> Value {
    let (name, kind) = name_type.rsplit_once('.').unwrap_or((name_type, ""));
    json!({"folderName": folder, "serviceName": name, "type": kind, "description": ""})
}
