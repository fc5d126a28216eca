//! Reports an admin reads: services at risk first, groups, narrowing, a
//! table that fits, colours on request only, a closed pipe, `-o` messages.

mod common;
use common::*;
use std::io::Read;
use std::process::{Command as Process, Stdio};

fn demo() -> String {
    demo_site().display().to_string()
}

#[test]
fn the_table_fits_120_columns_in_120_lines_and_opens_with_services_at_risk() {
    let out = gpaudit().args(["audit", &demo()]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 120, "{} lines", lines.len());
    for l in &lines {
        assert!(l.chars().count() <= 120, "too wide: {l}");
    }
    assert!(lines[2].starts_with("GP services at risk"), "{text}");
    assert!(text.contains("Hydro/Flood.GPServer"));
    let numpy = lines
        .iter()
        .position(|l| l.contains("numpy in env hydro"))
        .expect("the numpy group");
    for code in [
        "pin-violation",
        "dependency-unsatisfied",
        "site-inconsistent",
    ] {
        assert!(lines[numpy].contains(code), "{}", lines[numpy]);
    }
    assert!(!text.contains('\u{1b}'), "no colour into a pipe");
}

#[test]
fn audit_piped_into_head_no_longer_panics_with_exit_101() {
    // `gpaudit audit site | head -1`: the pipe closes after one line.
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("gpaudit"))
        .args(["audit", &demo(), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {err}");
    assert!(err.is_empty(), "nothing on stderr, got: {err}");
}

#[test]
fn narrowing_applies_to_every_format_and_the_exit_code() {
    let (json, code) = audit_json(&[&demo(), "--machine", "gis3.example.com"]);
    assert_eq!(code, 1);
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["machine"] == "GIS3.EXAMPLE.COM"));
    assert_eq!(json["filter"]["machine"], "gis3.example.com");
    let (json, _) = audit_json(&[&demo(), "--service", "Hydro/Flood.GPServer"]);
    let findings = json["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .all(|f| f["service"] == "Hydro/Flood.GPServer"
            || f["services"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "Hydro/Flood.GPServer")));
    let (json, code) = audit_json(&[&demo(), "--min-severity", "error", "--env", "ml"]);
    assert_eq!(code, 1);
    let findings = json["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .all(|f| f["severity"] == "error" && f["env"] == "ml"));
    assert_eq!(json["summary"]["warning"], 0);
    let md = gpaudit()
        .args(["audit", &demo(), "--format", "markdown", "--env", "ml"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("arcpy in env ml") && !md.contains("numpy in env hydro"),
        "{md}"
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_without_no_color() {
    let always = gpaudit()
        .args(["audit", &demo(), "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&always.stdout).contains("\u{1b}[31merror"));
    let never = gpaudit()
        .args(["audit", &demo(), "--color", "never"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains('\u{1b}'));
}

#[test]
fn writing_to_a_file_says_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let run = gpaudit()
        .args([
            "audit",
            &demo(),
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8(run.stderr).unwrap();
    assert!(
        err.contains("wrote the report (93 findings, 7 services at risk) to"),
        "{err}"
    );
    assert!(out.is_file());
}

#[test]
fn the_json_report_groups_without_dropping_a_finding() {
    let (json, _) = audit_json(&[&demo()]);
    assert_eq!(json["schema"], 2);
    let findings = json["findings"].as_array().unwrap();
    let groups = json["groups"].as_array().unwrap();
    let in_groups: usize = groups
        .iter()
        .flat_map(|g| g["entries"].as_array().unwrap())
        .map(|e| e["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(in_groups, findings.len());
    for f in findings {
        let id = f["group"].as_str().expect("every finding names its group");
        assert!(groups.iter().any(|g| g["id"] == id));
    }
    let flood = json["services_at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "Hydro/Flood.GPServer")
        .expect("Flood is at risk");
    assert_eq!(flood["severity"], "error");
    assert!(flood["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("imports `rasterstats`")));
}

#[test]
fn the_html_report_is_self_contained_and_has_the_forecast_tab_with_target() {
    let out = gpaudit()
        .args(["audit", &demo(), "--format", "html", "--target", "11.3"])
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"id="forecast""#) && html.contains(r#"id="forecast-envs""#));
    assert!(html.contains(r#"data-service="Hydro/Flood.GPServer""#));
    // Nothing is fetched: no external script, style or image.
    for needle in ["<script src", "<link", "http://", "https://"] {
        let outside_svg = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
        assert!(!outside_svg.contains(needle), "{needle} in the page");
    }
    let plain = gpaudit()
        .args(["audit", &demo(), "--format", "html"])
        .output()
        .unwrap();
    assert!(!String::from_utf8(plain.stdout)
        .unwrap()
        .contains(r#"id="forecast""#));
}
