//! The Administrator API end to end, against the stand-in ArcGIS Server in
//! `common/admin_server.rs` seeded from the demo site's config store:
//! `services`, `restart` (dry run, execute, a failed start), TLS (refused,
//! `--ca-file`, `--insecure`), error shapes, and no secret in any output.

#![allow(clippy::unwrap_used)]

mod common;
use common::admin_server::{services_from, Server, PASSWORD, USER};
use common::*;
use std::path::Path;

fn demo_store() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sites/demo/arcgisserver/config-store")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(server: &Server, args: &[&str], extra: &[&str]) -> Run {
    let out = gpaudit()
        .args(args)
        .arg(demo_site())
        .args(["--url", &server.url, "--username", USER])
        .args(extra)
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// No password and no token in anything gpaudit printed.
fn assert_no_secret(server: &Server, runs: &[&Run]) {
    let tokens: Vec<String> = server
        .state
        .lock()
        .unwrap()
        .tokens
        .keys()
        .cloned()
        .collect();
    for r in runs {
        for text in [&r.stdout, &r.stderr] {
            assert!(!text.contains(PASSWORD), "password in output:\n{text}");
            for t in &tokens {
                assert!(!text.contains(t.as_str()), "token in output:\n{text}");
            }
        }
    }
    // Tokens travel in a header, never in a URL.
    for line in &server.state.lock().unwrap().requests {
        assert!(
            !line.contains("token=") && !line.contains(PASSWORD),
            "{line}"
        );
    }
}

#[test]
fn services_lists_live_states_and_envs() {
    let server = Server::start(services_from(&demo_store()), false);
    let r = run(&server, &["services"], &["--env", "hydro"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in ["Flood", "Ebb", "Geocode", "PrintingTools", "STOPPED"] {
        assert!(r.stdout.contains(want), "{want} missing:\n{}", r.stdout);
    }
    assert!(!r.stdout.contains("Cluster"), "{}", r.stdout);
    assert_no_secret(&server, &[&r]);
}

#[test]
fn restart_is_a_dry_run_unless_executed_and_keeps_stopped_services_stopped() {
    let server = Server::start(services_from(&demo_store()), false);
    let dry = run(&server, &["restart"], &["--env", "hydro"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("dry run"), "{}", dry.stdout);
    assert!(
        dry.stdout
            .contains("Legacy/Geocode.GPServer: leave stopped"),
        "{}",
        dry.stdout
    );
    assert!(server.state.lock().unwrap().actions.is_empty());

    let live = run(
        &server,
        &["restart"],
        &["--env", "hydro", "--execute", "--timeout", "5"],
    );
    assert_eq!(live.code, 0, "{}\n{}", live.stdout, live.stderr);
    assert_eq!(
        server.state.lock().unwrap().actions,
        [
            "stop Hydro/Ebb.GPServer",
            "start Hydro/Ebb.GPServer",
            "stop Hydro/Flood.GPServer",
            "start Hydro/Flood.GPServer",
            "stop Utilities/PrintingTools.GPServer",
            "start Utilities/PrintingTools.GPServer",
        ]
    );
    assert_eq!(
        server.state.lock().unwrap().services["Legacy/Geocode.GPServer"].real,
        "STOPPED"
    );
    assert_no_secret(&server, &[&dry, &live]);
}

#[test]
fn a_failed_start_is_reported_and_the_others_still_restart() {
    let server = Server::start(services_from(&demo_store()), false);
    server.state.lock().unwrap().faults.start_fails = vec!["Hydro/Ebb.GPServer".into()];
    let r = run(
        &server,
        &["restart"],
        &["--env", "hydro", "--execute", "--timeout", "5"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("FAILED Hydro/Ebb.GPServer: start failed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("1 of 4 service(s) did not restart"),
        "{}",
        r.stderr
    );
    let actions = server.state.lock().unwrap().actions.clone();
    assert!(
        actions.contains(&"start Hydro/Flood.GPServer".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"start Utilities/PrintingTools.GPServer".to_string()),
        "{actions:?}"
    );
    assert_no_secret(&server, &[&r]);
}

#[test]
fn tls_is_verified_unless_the_site_ca_is_given_or_insecure_is_asked() {
    let server = Server::start(services_from(&demo_store()), true);
    let refused = run(&server, &["services"], &[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("not trusted")
            && refused.stderr.contains("ca_file")
            && refused.stderr.contains("--insecure"),
        "{}",
        refused.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("site-ca.pem");
    std::fs::write(&ca, server.cert_pem.as_ref().unwrap()).unwrap();
    let trusted = run(&server, &["services"], &["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(!trusted.stderr.contains("insecure"));

    let insecure = run(&server, &["services"], &["--insecure"]);
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
    assert!(
        insecure.stderr.contains("TLS verification is off"),
        "{}",
        insecure.stderr
    );
    assert_no_secret(&server, &[&refused, &trusted, &insecure]);
}

#[test]
fn api_errors_are_clear_and_secret_free() {
    let server = Server::start(services_from(&demo_store()), false);
    // A wrong password: ArcGIS's error shape with HTTP 200.
    let out = gpaudit()
        .args(["services"])
        .arg(demo_site())
        .args(["--url", &server.url, "--username", USER])
        .env("GPAUDIT_PASSWORD", "wrong-password-123")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("Unable to generate token") && !err.contains("wrong-password-123"),
        "{err}"
    );

    // A web adaptor's login page instead of JSON.
    server.state.lock().unwrap().faults.login_page = true;
    let r = run(&server, &["services"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not JSON") && r.stderr.contains("web adaptor"),
        "{}",
        r.stderr
    );
    server.state.lock().unwrap().faults.login_page = false;

    // Two 500s on GETs are retried; a dropped connection too.
    server.state.lock().unwrap().faults.http_500 = 2;
    let r2 = run(&server, &["services"], &[]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    // The first connection reads /rest/info (an unreadable answer leaves
    // the server's own token endpoint in place), the second is the token.
    server.state.lock().unwrap().faults.drop = 2;
    let r3 = run(&server, &["services"], &[]);
    assert_eq!(r3.code, 2, "generateToken is a POST: not retried");

    // No password in the environment and no terminal: a clear error.
    let out = gpaudit()
        .args(["services"])
        .arg(demo_site())
        .args(["--url", &server.url, "--username", USER])
        .env_remove("GPAUDIT_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GPAUDIT_PASSWORD"));
    assert_no_secret(&server, &[&r, &r2, &r3]);
}

#[test]
fn short_lived_tokens_are_renewed() {
    let server = Server::start(services_from(&demo_store()), false);
    // Tokens that live 1 s: gpaudit renews before each use.
    server.state.lock().unwrap().faults.token_ms = Some(1000);
    let r = run(&server, &["services"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(server.state.lock().unwrap().tokens.len() > 1);
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn audit_over_the_api_finds_what_the_disk_does_plus_the_live_state() {
    let server = Server::start(services_from(&demo_store()), false);
    let (disk, _) = audit_json(&[demo_site().to_str().unwrap()]);
    let with_api = gpaudit()
        .args(["audit", demo_site().to_str().unwrap(), "--format", "json"])
        .args(["--url", &server.url, "--username", USER])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let live: serde_json::Value = serde_json::from_slice(&with_api.stdout).unwrap();
    assert_eq!(codes(&disk), codes(&live), "same site, same findings");

    // Flood stopped behind the config store's back; Ebb edited to run in ml.
    {
        let mut st = server.state.lock().unwrap();
        st.services.get_mut("Hydro/Flood.GPServer").unwrap().real = "STOPPED".into();
        st.services.get_mut("Hydro/Ebb.GPServer").unwrap().json["properties"]
            ["condaEnvironmentPath"] = "ml".into();
    }
    let out = gpaudit()
        .args(["audit", demo_site().to_str().unwrap(), "--format", "json"])
        .args(["--url", &server.url, "--username", USER])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let changed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut extra: Vec<String> = codes(&changed)
        .into_iter()
        .filter(|c| !codes(&disk).contains(c))
        .collect();
    extra.sort();
    assert_eq!(extra.len(), 2, "{extra:#?}");
    assert!(extra[0].starts_with("service-state-mismatch Hydro/Ebb.GPServer's condaEnvironmentPath is (not set: the active env) in the config store but ml"), "{extra:?}");
    assert!(
        extra[1].starts_with("service-stopped Hydro/Flood.GPServer"),
        "{extra:?}"
    );
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains(PASSWORD));
}

#[test]
fn a_site_reachable_only_through_its_api_is_still_audited() {
    let server = Server::start(services_from(&demo_store()), false);
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        format!(
            "name = 'remote'\n[admin]\nurl = '{}'\nusername = '{USER}'\n",
            server.url
        ),
    )
    .unwrap();
    let out = gpaudit()
        .args(["audit", site.to_str().unwrap(), "--format", "json"])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["site"]["version"], "11.1");
    assert_eq!(
        report["site"]["version_source"],
        "reported by the Administrator API"
    );
    // The ArcMap-runtime Geocode service needs no env to be found wrong.
    assert!(!findings(&report, "arcmap-service").is_empty(), "{report}");
    assert!(findings(&report, "service-state-mismatch").is_empty());
}

#[test]
fn an_unreachable_api_is_a_scan_error_and_the_disk_audit_goes_on() {
    let out = gpaudit()
        .args(["audit", demo_site().to_str().unwrap(), "--format", "json"])
        .args(["--url", "http://127.0.0.1:9/arcgis", "--username", USER])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&report, "scan-error").iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .contains("Administrator API could not be read")));
    assert!(!findings(&report, "pin-violation").is_empty());
}

#[test]
fn snapshots_written_with_the_api_hold_no_secret_and_slow_answers_are_waited_for() {
    let server = Server::start(services_from(&demo_store()), false);
    server.state.lock().unwrap().faults.slow = std::time::Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let r = run(&server, &["scan"], &["-o", snap.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(
        text.contains("\"live\""),
        "the snapshot records the API's answers"
    );
    let snapshot_run = Run {
        code: 0,
        stdout: text,
        stderr: String::new(),
    };
    assert_no_secret(&server, &[&r, &snapshot_run]);
}

#[test]
fn a_failed_stop_never_leaves_a_service_down_and_unknown_services_do_not_stop_the_rest() {
    let mut services = services_from(&demo_store());
    // Ebb is bound to hydro on disk but was deleted on the server.
    services.remove("Hydro/Ebb.GPServer");
    let server = Server::start(services, false);
    server.state.lock().unwrap().faults.stop_fails = vec!["Hydro/Flood.GPServer".into()];
    let r = run(
        &server,
        &["restart"],
        &["--env", "hydro", "--execute", "--timeout", "5"],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Hydro/Ebb.GPServer: nothing: its state cannot be read"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("FAILED Hydro/Flood.GPServer: stop failed"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("it is still running"), "{}", r.stdout);
    assert_eq!(
        server.state.lock().unwrap().services["Hydro/Flood.GPServer"].real,
        "STARTED"
    );
    let actions = server.state.lock().unwrap().actions.clone();
    assert!(
        actions.contains(&"start Utilities/PrintingTools.GPServer".to_string()),
        "{actions:?}"
    );
    assert_no_secret(&server, &[&r]);
}

#[test]
fn redirects_are_not_followed_with_a_token_and_plain_http_is_refused_off_this_machine() {
    let server = Server::start(services_from(&demo_store()), false);
    server.state.lock().unwrap().faults.redirect = true;
    let r = run(&server, &["services"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("redirected") && r.stderr.contains("attacker.example.com"),
        "{}",
        r.stderr
    );
    assert_no_secret(&server, &[&r]);

    let out = gpaudit()
        .args(["services"])
        .arg(demo_site())
        .args([
            "--url",
            "http://gis.example.com:6080/arcgis",
            "--username",
            USER,
        ])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clear text"));
    let out = gpaudit()
        .args(["services"])
        .arg(demo_site())
        .args([
            "--url",
            "https://siteadmin:pw@gis.example.com/arcgis",
            "--username",
            USER,
        ])
        .env("GPAUDIT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("must not carry") && !err.contains(":pw@"),
        "{err}"
    );
}

#[test]
fn regression_hostile_service_names_and_states_reach_no_terminal_raw() {
    let mut services = services_from(&demo_store());
    let hostile = |name: &str, state: &str| common::admin_server::Svc {
        json: serde_json::json!({"serviceName": name, "type": "GPServer",
            "folderName": "Hostile", "provider": "ArcObjects11",
            "configuredState": "STARTED", "properties": {}}),
        configured: state.into(),
        real: state.into(),
        failed_on: Default::default(),
    };
    // A name echoing the password, and escape sequences (OSC retitle, CSI
    // colour, a one-byte CSI) in names and states.
    services.insert(
        format!("Hostile/Echo-{PASSWORD}.GPServer"),
        hostile(&format!("Echo-{PASSWORD}"), "STARTED"),
    );
    services.insert(
        "Hostile/Esc\u{1b}]0;pwned\u{7}.GPServer".into(),
        hostile("Esc\u{1b}]0;pwned\u{7}", "STARTED"),
    );
    services.insert(
        "Hostile/Colour.GPServer".into(),
        hostile("Colour", "STAR\u{1b}[31mTED\u{9b}2J"),
    );
    let server = Server::start(services, false);
    let r = run(&server, &["services"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Echo-********"), "{}", r.stdout);
    assert!(r.stdout.contains("Colour"), "{}", r.stdout);
    for text in [&r.stdout, &r.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "raw control characters reached the terminal:\n{text:?}"
        );
    }
    assert!(r.stdout.contains("Esc\\x1b]0;pwned\\x07"), "{}", r.stdout);
    assert_no_secret(&server, &[&r]);
}

#[test]
fn regression_services_reads_states_in_parallel_and_draws_no_bar_off_a_terminal() {
    let server = Server::start(services_from(&demo_store()), false);
    server.state.lock().unwrap().faults.slow = std::time::Duration::from_millis(150);
    let r = run(&server, &["services"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("PrintingTools"), "{}", r.stdout);
    // One at a time before: over 10,000 services that took minutes.
    let most = server.state.lock().unwrap().max_in_flight;
    assert!(
        (2..=8 + 1).contains(&most),
        "{most} requests at once (expected up to 8 state reads in parallel)"
    );
    // stderr is not a terminal here: no progress bar drawn.
    assert!(!r.stderr.contains("reading service states"), "{}", r.stderr);
    let quiet = run(&server, &["services"], &["--quiet"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.stdout, r.stdout);
}
