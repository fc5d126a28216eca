//! `cargo run --example arcgis-standin -- fixtures/sites/demo`: a stand-in
//! ArcGIS Server 11.x site (and Portal, with `--federated`) on 127.0.0.1,
//! seeded from a site's config store and machines, so that `gpaudit
//! services`, `restart` and `apply` can be tried without a real server. It
//! prints its URL and credentials and serves until stopped (Ctrl-C). The
//! server itself is `tests/common/admin_server.rs`, the one the tests use,
//! and Esri's own Python client is run against it in CI
//! (`tests/conformance/`).

#![allow(clippy::unwrap_used)] // the shared stand-in unwraps poisoned locks only

#[allow(dead_code)]
#[path = "../tests/common/admin_server.rs"]
mod admin_server;

use admin_server::{Options, Server, PASSWORD, PORTAL_PASSWORD, PORTAL_USER, USER};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: arcgis-standin SITE_DIR_OR_SITE_TOML [--federated] [--tls] [--port N] [--fail-machine NAME]... [--empty-folder NAME]...

  --federated         also serve a Portal at <url>/../portal; /rest/info then
                      names its generateToken (sign in with the portal account)
  --tls               serve https with a self-signed certificate (its PEM is
                      printed: save it for --ca-file)
  --port N            listen on this port (default: a free one)
  --fail-machine NAME services started after this fail on that machine only
                      (the site still says STARTED)
  --empty-folder NAME add a folder with no services";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcgis-standin: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut site_arg = None;
    let mut options = Options::default();
    let mut fail = Vec::new();
    let mut empty_folders = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--federated" => options.federated = true,
            "--tls" => options.tls = true,
            "--port" => {
                let p = args.next().ok_or("--port needs a number")?;
                options.port = Some(
                    p.parse()
                        .map_err(|_| format!("--port: `{p}` is not a port"))?,
                );
            }
            "--fail-machine" => fail.push(args.next().ok_or("--fail-machine needs a name")?),
            "--empty-folder" => {
                empty_folders.push(args.next().ok_or("--empty-folder needs a name")?)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if site_arg.is_none() && !other.starts_with('-') => {
                site_arg = Some(PathBuf::from(other))
            }
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let site_arg = site_arg.ok_or(USAGE)?;
    let file = if site_arg.is_dir() {
        site_arg.join("site.toml")
    } else {
        site_arg
    };
    let site = gpaudit::site::Site::load(&file).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let store = gpaudit::scan::locate_config_store(&site, &mut problems).ok_or_else(|| {
        format!(
            "{}: the config store cannot be found: {}",
            file.display(),
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let services = admin_server::try_services_from(&store)?;
    options.machines = site.machines.iter().map(|m| m.name.clone()).collect();
    let mut failing = Vec::new();
    for m in &fail {
        match options.machines.iter().find(|x| x.eq_ignore_ascii_case(m)) {
            Some(name) => failing.push(name.clone()),
            None => {
                return Err(format!(
                    "--fail-machine {m}: not a machine of {} ({})",
                    file.display(),
                    options.machines.join(", ")
                ))
            }
        }
    }
    let server = Server::start_with(services, options.clone()).map_err(|e| e.to_string())?;
    {
        let mut st = server.state.lock().unwrap();
        st.faults.machine_fails = failing;
        st.folders.extend(empty_folders);
    }
    println!("ArcGIS Server stand-in for {}", file.display());
    println!("  url:      {}", server.url);
    println!("  site administrator: {USER} / {PASSWORD}");
    if options.federated {
        println!("  portal:   {}", server.portal_url);
        println!("  portal administrator: {PORTAL_USER} / {PORTAL_PASSWORD}");
    }
    if let Some(pem) = &server.cert_pem {
        println!("  certificate (save as site-ca.pem for --ca-file):\n{pem}");
    }
    let (user, password) = if options.federated {
        (PORTAL_USER, PORTAL_PASSWORD)
    } else {
        (USER, PASSWORD)
    };
    println!("try:");
    println!(
        "  GPAUDIT_PASSWORD='{password}' gpaudit services {} --url {} --username {user}",
        file.display(),
        server.url
    );
    println!("serving until stopped (Ctrl-C)");
    loop {
        std::thread::park();
    }
}
