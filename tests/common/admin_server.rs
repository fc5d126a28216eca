//! An ArcGIS Server stand-in for the tests: the Administrator API's real
//! request and response shapes (generateToken, info, machines, folders,
//! service JSON, status, start/stop/edit, errors with HTTP 200) on
//! 127.0.0.1 with a random port, plain or TLS with a generated self-signed
//! certificate, its state read from a fixture site's config store, and
//! switches to inject faults.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const USER: &str = "siteadmin";
pub const PASSWORD: &str = "s3cret-Pa55word";

#[derive(Debug, Clone)]
pub struct Svc {
    pub json: Value,
    pub configured: String,
    pub real: String,
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
}

#[derive(Debug, Default)]
pub struct State {
    pub services: BTreeMap<String, Svc>,
    pub tokens: BTreeMap<String, i64>,
    pub faults: Faults,
    /// Every start/stop, in order: `stop Hydro/Flood.GPServer`.
    pub actions: Vec<String>,
    /// Every request line seen (for asserting no secret travels in a URL).
    pub requests: Vec<String>,
    issued: u64,
}

pub struct Server {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    /// PEM of the self-signed certificate, when serving TLS.
    pub cert_pem: Option<String>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Services of a fixture site's config store.
pub fn services_from(store: &Path) -> BTreeMap<String, Svc> {
    let mut out = BTreeMap::new();
    let root = store.join("services");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let json: Value =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                let rel = p
                    .parent()
                    .unwrap()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
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
                    },
                );
            }
        }
    }
    out
}

impl Server {
    pub fn start(services: BTreeMap<String, Svc>, tls: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            services,
            ..State::default()
        }));
        let (config, cert_pem) = if tls {
            let cert =
                rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                    .unwrap();
            let pem = cert.cert.pem();
            let key =
                rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.cert.der().clone()], key)
                .unwrap();
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
                        Some(c) => {
                            let conn = rustls::ServerConnection::new(c).unwrap();
                            let mut tls = rustls::StreamOwned::new(conn, stream);
                            serve(&mut tls, &state)
                        }
                        None => {
                            let mut s: TcpStream = stream;
                            serve(&mut s, &state)
                        }
                    };
                });
            }
        });
        let scheme = if tls { "https" } else { "http" };
        Server {
            url: format!("{scheme}://127.0.0.1:{port}/arcgis"),
            state,
            cert_pem,
        }
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
    let (status, content_type, answer) = {
        let mut st = state.lock().unwrap();
        st.requests.push(format!("{method} {target}"));
        if st.faults.drop > 0 {
            st.faults.drop -= 1;
            return Ok(());
        }
        let slow = st.faults.slow;
        if !slow.is_zero() {
            drop(st);
            std::thread::sleep(slow);
            st = state.lock().unwrap();
        }
        respond(&mut st, &method, path, query, &headers, &body)
    };
    let stream = reader.into_inner();
    let location = if status == 302 {
        "Location: http://attacker.example.com/collect\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "HTTP/1.1 {status} OK\r\nContent-Type: {content_type}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    stream.flush()
}

fn error(code: i64, message: &str) -> (u16, &'static str, String) {
    (
        200,
        "application/json",
        json!({"status": "error", "messages": [message], "code": code}).to_string(),
    )
}

fn ok(v: Value) -> (u16, &'static str, String) {
    (200, "application/json", v.to_string())
}

fn respond(
    st: &mut State,
    method: &str,
    path: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    body: &str,
) -> (u16, &'static str, String) {
    if path == "/arcgis/rest/info" {
        return ok(
            json!({"currentVersion": 11.1, "fullVersion": "11.1.0", "authInfo": {"isTokenBasedSecurity": true, "tokenServicesUrl": "/arcgis/tokens/"}}),
        );
    }
    let Some(rest) = path.strip_prefix("/arcgis/admin/") else {
        return (404, "text/plain", "not found".into());
    };
    if st.faults.redirect {
        return (302, "text/plain", String::new());
    }
    if st.faults.login_page {
        return (
            200,
            "text/html",
            "<html><head><title>Sign In</title></head><body>ArcGIS Web Adaptor</body></html>"
                .into(),
        );
    }
    if method == "GET" && st.faults.http_500 > 0 {
        st.faults.http_500 -= 1;
        return (500, "text/plain", "Internal Server Error".into());
    }
    let form = form(body);
    if rest == "generateToken" {
        if method != "POST" {
            return error(405, "Method not supported.");
        }
        if form.get("username").map(String::as_str) != Some(USER)
            || form.get("password").map(String::as_str) != Some(PASSWORD)
        {
            return error(400, "Unable to generate token.");
        }
        st.issued += 1;
        let token = format!("tok-{:06}-{}", st.issued, now_ms() % 100_000);
        let expires = now_ms() + st.faults.token_ms.unwrap_or(60 * 60_000);
        st.tokens.insert(token.clone(), expires);
        return ok(json!({"token": token, "expires": expires}));
    }
    // All three transports: the header, the query string, the form body.
    let q = form_query(query);
    let token = headers
        .get("x-esri-authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| q.get("token").cloned())
        .or_else(|| form.get("token").cloned());
    let Some(token) = token else {
        return error(499, "Token Required.");
    };
    match st.tokens.get(&token) {
        None => return error(498, "Invalid token."),
        Some(exp) if *exp < now_ms() => return error(498, "Invalid token."),
        _ => {}
    }
    match (method, rest) {
        ("GET", "info") => ok(
            json!({"currentversion": "11.1", "currentbuild": "41800", "fullVersion": "11.1.0.41800", "timezone": {}}),
        ),
        ("GET", "machines") => ok(json!({"machines": [
            {"machineName": "GIS1.EXAMPLE.COM", "adminURL": "https://gis1.example.com:6443/arcgis/admin"},
            {"machineName": "GIS2.EXAMPLE.COM", "adminURL": "https://gis2.example.com:6443/arcgis/admin"}]})),
        ("GET", "services") => {
            let mut folders: Vec<String> = st
                .services
                .keys()
                .filter_map(|k| k.split_once('/').map(|(f, _)| f.to_string()))
                .collect();
            folders.dedup();
            let root: Vec<Value> = st
                .services
                .iter()
                .filter(|(k, _)| !k.contains('/'))
                .map(|(k, _)| entry("/", k))
                .collect();
            ok(
                json!({"folderName": "/", "description": "Root folder", "folders": folders, "services": root}),
            )
        }
        ("GET", r) if r.starts_with("services/") => {
            let r = &r["services/".len()..];
            if let Some(key) = r.strip_suffix("/status") {
                return match st.services.get(key) {
                    Some(s) => {
                        ok(json!({"configuredState": s.configured, "realTimeState": s.real}))
                    }
                    None => error(404, &format!("Service '{key}' does not exist.")),
                };
            }
            if let Some(s) = st.services.get(r) {
                return ok(s.json.clone());
            }
            let folder = r;
            let list: Vec<Value> = st
                .services
                .keys()
                .filter(|k| k.split_once('/').is_some_and(|(f, _)| f == folder))
                .map(|k| entry(folder, k.split_once('/').unwrap().1))
                .collect();
            if list.is_empty() {
                return error(404, &format!("Folder '{folder}' does not exist."));
            }
            ok(json!({"folderName": folder, "services": list}))
        }
        ("POST", r) if r.starts_with("services/") => {
            let r = &r["services/".len()..];
            let (key, op) = r.rsplit_once('/').unwrap_or((r, ""));
            let fails = st.faults.start_fails.iter().any(|f| f == key);
            let stop_fails = st.faults.stop_fails.iter().any(|f| f == key);
            let Some(s) = st.services.get_mut(key) else {
                return error(404, &format!("Service '{key}' does not exist."));
            };
            match op {
                "stop" if stop_fails => {
                    return error(500, &format!("Failed to stop the service {key}."));
                }
                "stop" => {
                    s.configured = "STOPPED".into();
                    s.real = "STOPPED".into();
                }
                "start" if fails => {
                    st.actions.push(format!("start-failed {key}"));
                    return error(500, &format!("Failed to start the service {key}: the service's Python environment could not be loaded."));
                }
                "start" => {
                    s.configured = "STARTED".into();
                    s.real = "STARTED".into();
                }
                "edit" => {
                    if let Some(json) = form
                        .get("service")
                        .and_then(|j| serde_json::from_str(j).ok())
                    {
                        s.json = json;
                    }
                }
                _ => return error(404, "Unknown operation."),
            }
            st.actions.push(format!("{op} {key}"));
            ok(json!({"status": "success"}))
        }
        _ => error(404, "Resource not found."),
    }
}

fn form_query(q: &str) -> BTreeMap<String, String> {
    form(q)
}

fn entry(folder: &str, name_type: &str) -> Value {
    let (name, kind) = name_type.rsplit_once('.').unwrap_or((name_type, ""));
    json!({"folderName": folder, "serviceName": name, "type": kind, "description": ""})
}
