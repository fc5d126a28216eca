//! The Administrator API as real sites run it, against the stand-in in
//! `common/admin_server.rs`: a site federated with a portal (a portal
//! account through `--portal-url`, or the portal found in `/rest/info`),
//! the primary site administrator of a federated site, web-tier sign-in
//! refused, token errors without a code, per-machine failures of a restart,
//! and no token in any URL, output, file or error.

#![allow(clippy::unwrap_used)]

mod common;
use common::admin_server::{
    services_from, Options, Server, PASSWORD, PORTAL_PASSWORD, PORTAL_USER, USER,
};
use common::*;
use std::path::Path;

fn demo_store() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sites/demo/arcgisserver/config-store")
}

fn federated() -> Server {
    Server::start_with(
        services_from(&demo_store()),
        Options {
            federated: true,
            ..Options::default()
        },
    )
    .unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(user: &str, password: &str, args: &[&str], extra: &[&str], url: &str) -> Run {
    let out = gpaudit()
        .args(args)
        .args(["--url", url, "--username", user])
        .args(extra)
        .env("GPAUDIT_PASSWORD", password)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// No password and no token in any output, file or request URL; every
/// authenticated POST carried its token in the body.
fn assert_no_secret(server: &Server, runs: &[&Run], files: &[&Path]) {
    let st = server.state.lock().unwrap();
    let tokens: Vec<&String> = st.tokens.keys().collect();
    assert!(!tokens.is_empty(), "no token was issued");
    let mut texts: Vec<String> = runs
        .iter()
        .flat_map(|r| [r.stdout.clone(), r.stderr.clone()])
        .collect();
    texts.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    for text in &texts {
        for secret in [PASSWORD, PORTAL_PASSWORD] {
            assert!(!text.contains(secret), "password in output:\n{text}");
        }
        for t in &tokens {
            assert!(!text.contains(t.as_str()), "token in output:\n{text}");
        }
    }
    for line in &st.requests {
        assert!(
            !line.contains("token=") && !tokens.iter().any(|t| line.contains(t.as_str())),
            "a token in a URL: {line}"
        );
    }
    assert!(
        st.post_body_tokens.iter().all(|in_body| *in_body),
        "a POST without its token in the body"
    );
}

#[test]
fn a_portal_account_runs_services_and_restart_on_a_federated_site() {
    let server = federated();
    let site = demo_site();
    let portal = ["--portal-url", server.portal_url.as_str()];
    let services = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &portal,
        &server.url,
    );
    assert_eq!(services.code, 0, "{}", services.stderr);
    assert!(services.stdout.contains("Flood"), "{}", services.stdout);
    assert!(
        services.stdout.contains("GIS1 up, GIS2 up, GIS3 up"),
        "{}",
        services.stdout
    );

    let restart = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["restart", site.to_str().unwrap()],
        &[
            &portal[..],
            &["--env", "hydro", "--execute", "--timeout", "5"],
        ]
        .concat(),
        &server.url,
    );
    assert_eq!(restart.code, 0, "{}\n{}", restart.stdout, restart.stderr);
    assert!(
        restart.stdout.contains(
            "Hydro/Flood.GPServer: restarted: started on GIS1.EXAMPLE.COM, GIS2.EXAMPLE.COM, GIS3.EXAMPLE.COM"
        ),
        "{}",
        restart.stdout
    );
    {
        let st = server.state.lock().unwrap();
        assert!(st
            .actions
            .contains(&"start Hydro/Flood.GPServer".to_string()));
        // Only portal tokens, and the portal password never at the server.
        assert!(st.tokens.values().all(|t| t.portal && t.referer.is_some()));
        assert!(!st.portal_password_at_server);
        assert!(!st.post_body_tokens.is_empty());
    }
    // A snapshot written through the portal sign-in holds no secret either.
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("site.json");
    let snapshot = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["scan", site.to_str().unwrap(), "-o", snap.to_str().unwrap()],
        &portal,
        &server.url,
    );
    assert_eq!(snapshot.code, 0, "{}", snapshot.stderr);
    assert_no_secret(&server, &[&services, &restart, &snapshot], &[&snap]);
}

#[test]
fn the_portal_is_found_in_rest_info_and_said_so() {
    let server = federated();
    let site = demo_site();
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &[],
        &server.url,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is federated with") && r.stderr.contains(&server.portal_url),
        "{}",
        r.stderr
    );
    assert!(!server.state.lock().unwrap().portal_password_at_server);

    // The primary site administrator of a federated site: the portal does
    // not know the account, so the server's own endpoint is used.
    let psa = run(
        USER,
        PASSWORD,
        &["services", site.to_str().unwrap()],
        &[],
        &server.url,
    );
    assert_eq!(psa.code, 0, "{}", psa.stderr);
    assert!(server
        .state
        .lock()
        .unwrap()
        .tokens
        .values()
        .any(|t| !t.portal));
    assert_no_secret(&server, &[&r, &psa], &[]);
}

#[test]
fn a_given_portal_url_never_sends_the_password_to_the_server() {
    let server = federated();
    let site = demo_site();
    // The site administrator's password, but the user said "portal": the
    // portal refuses and gpaudit does not try the server with it.
    let r = run(
        USER,
        PASSWORD,
        &["services", site.to_str().unwrap()],
        &["--portal-url", &server.portal_url],
        &server.url,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("Unable to generate token"),
        "{}",
        r.stderr
    );
    let st = server.state.lock().unwrap();
    assert!(
        !st.requests
            .iter()
            .any(|l| l.contains("/arcgis/admin/generateToken") || l.contains("/arcgis/tokens")),
        "{:?}",
        st.requests
    );
    drop(st);

    // Plain http to a portal elsewhere is refused before anything is sent.
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &["--portal-url", "http://portal.example.com/portal"],
        &server.url,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("clear text"), "{}", r.stderr);
}

#[test]
fn web_tier_sign_in_is_refused_by_name() {
    let server = federated();
    server.state.lock().unwrap().faults.iwa = true;
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", demo_site().to_str().unwrap()],
        &[],
        &server.url,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Integrated Windows Authentication (IWA)"),
        "{}",
        r.stderr
    );
}

#[test]
fn token_errors_without_a_code_renew_the_token() {
    let server = federated();
    {
        let mut st = server.state.lock().unwrap();
        st.faults.token_errors_without_code = true;
        // Every token expires at once: the server says "Invalid token."
        // without a code, and gpaudit signs in again (once per call).
        st.faults.token_ms = Some(-1);
    }
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", demo_site().to_str().unwrap()],
        &["--portal-url", &server.portal_url],
        &server.url,
    );
    // Every renewed token is rejected too: a clear error, not a loop.
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("Invalid token"), "{}", r.stderr);
    assert_eq!(server.state.lock().unwrap().tokens.len(), 2, "one renewal");
    assert_no_secret(&server, &[&r], &[]);
}

#[test]
fn a_restart_that_fails_on_one_machine_is_reported_per_machine() {
    let server = federated();
    server.state.lock().unwrap().faults.machine_fails = vec!["GIS2.EXAMPLE.COM".into()];
    let site = demo_site();
    let services_before = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &["--env", "hydro"],
        &server.url,
    );
    assert!(
        services_before.stdout.contains("GIS1 up, GIS2 up, GIS3 up"),
        "{}",
        services_before.stdout
    );
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["restart", site.to_str().unwrap()],
        &["--env", "hydro", "--execute", "--timeout", "1"],
        &server.url,
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "FAILED Hydro/Flood.GPServer: started on GIS1.EXAMPLE.COM, GIS3.EXAMPLE.COM, failed on GIS2.EXAMPLE.COM"
        ),
        "{}",
        r.stdout
    );
    // The site-level status says STARTED all the same.
    assert_eq!(
        server.state.lock().unwrap().services["Hydro/Flood.GPServer"].real,
        "STARTED"
    );
    let services_after = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &["--env", "hydro"],
        &server.url,
    );
    assert!(
        services_after
            .stdout
            .contains("GIS1 up, GIS2 DOWN, GIS3 up"),
        "{}",
        services_after.stdout
    );
    assert_no_secret(&server, &[&services_before, &r, &services_after], &[]);
}

#[test]
fn a_stopped_machine_is_named_by_services_and_restart() {
    let server = federated();
    *server
        .state
        .lock()
        .unwrap()
        .machines
        .get_mut("GIS3.EXAMPLE.COM")
        .unwrap() = true;
    let site = demo_site();
    let services = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &["--env", "hydro"],
        &server.url,
    );
    assert!(
        services.stdout.contains(
            "machines: GIS1.EXAMPLE.COM STARTED, GIS2.EXAMPLE.COM STARTED, GIS3.EXAMPLE.COM STOPPED"
        ),
        "{}",
        services.stdout
    );
    let r = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["restart", site.to_str().unwrap()],
        &[
            "--service",
            "Hydro/Flood.GPServer",
            "--execute",
            "--timeout",
            "1",
        ],
        &server.url,
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("failed on GIS3.EXAMPLE.COM (machine STOPPED: GIS3.EXAMPLE.COM)"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_api_and_the_site_file_disagreeing_on_machines_is_a_finding() {
    let server = Server::start_with(
        services_from(&demo_store()),
        Options {
            machines: vec!["GIS1.EXAMPLE.COM".into(), "GIS9.EXAMPLE.COM".into()],
            ..Options::default()
        },
    )
    .unwrap();
    let out = gpaudit()
        .args(["audit", demo_site().to_str().unwrap(), "--format", "json"])
        .args(["--url", &server.url, "--username", USER])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut machines: Vec<String> = findings(&report, "site-machines-mismatch")
        .iter()
        .map(|f| f["machine"].as_str().unwrap_or("").to_string())
        .collect();
    machines.sort();
    assert_eq!(
        machines,
        ["GIS2.EXAMPLE.COM", "GIS3.EXAMPLE.COM", "GIS9.EXAMPLE.COM"]
    );
}

#[test]
fn the_site_ca_file_is_trusted_for_the_portal_too() {
    let server = Server::start_with(
        services_from(&demo_store()),
        Options {
            tls: true,
            federated: true,
            ..Options::default()
        },
    )
    .unwrap();
    let site = demo_site();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("site-ca.pem");
    std::fs::write(&ca, server.cert_pem.as_ref().unwrap()).unwrap();
    let portal = ["--portal-url", server.portal_url.as_str()];
    let trusted = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &[&portal[..], &["--ca-file", ca.to_str().unwrap()]].concat(),
        &server.url,
    );
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(server
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .any(|l| l.starts_with("POST /portal/sharing/rest/generateToken")));
    let refused = run(
        PORTAL_USER,
        PORTAL_PASSWORD,
        &["services", site.to_str().unwrap()],
        &portal,
        &server.url,
    );
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("not trusted"), "{}", refused.stderr);
    assert_no_secret(&server, &[&trusted, &refused], &[]);
}
