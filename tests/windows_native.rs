//! The demo's findings are the same on every OS: the build under test on
//! the demo (a `path_map` copy) and, on Windows, `gpaudit.exe` on a
//! Windows-native copy of it (absolute `C:\` paths in the site file, CRLF
//! text, the config store connection in UTF-16 as PowerShell writes it)
//! both give the findings of the Linux build's golden report
//! (`tests/golden/demo-report.json`, kept by `tests/golden.rs`), compared
//! with the site's folder written `<site>` and `/` separators. CI runs this
//! file natively and under Wine.
#![allow(clippy::unwrap_used)]

mod common;
use serde_json::Value;
use std::path::{Path, PathBuf};

const GOLDEN: &str = "tests/golden/demo-report.json";

/// A path as the normalized findings write it: `/` separators, no `\\?\`.
fn slashed(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("//?/").unwrap_or(&text).to_string()
}

/// Every way the site's folder `dir` can appear in a finding: as given,
/// and canonical (script paths are canonicalized; under Wine a Unix path
/// `/work/...` is `Z:\work\...`).
fn spellings(dir: &Path) -> Vec<String> {
    let mut out = vec![slashed(dir)];
    if let Ok(canonical) = std::fs::canonicalize(dir) {
        out.push(slashed(&canonical));
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn normalize(value: &mut Value, roots: &[String]) {
    match value {
        Value::String(s) => {
            let mut text = s.replace('\\', "/");
            for root in roots {
                text = text.replace(root.as_str(), "<site>");
            }
            *s = text;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, roots)),
        Value::Object(map) => map.values_mut().for_each(|v| normalize(v, roots)),
        _ => {}
    }
}

/// A report's findings, one JSON line each, normalized and sorted.
fn normalized(mut report: Value, roots: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = report["findings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|f| {
            normalize(f, roots);
            f.to_string()
        })
        .collect();
    lines.sort();
    lines
}

/// Audit `site_file` (from `cwd`); `dir` is the site's folder as the
/// report spells it (relative to `cwd`, or absolute).
fn findings_of(cwd: &Path, site_file: &str, dir: &Path) -> Vec<String> {
    let out = common::gpaudit()
        .current_dir(cwd)
        .args(["audit", site_file, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut roots = spellings(&cwd.join(dir));
    roots.push(slashed(dir));
    normalized(report, &roots)
}

/// The Linux build's findings on the demo, from the golden report (run
/// from the repository root; scripts' paths start with `$ROOT`).
fn golden() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let roots = [
        "$ROOT/fixtures/sites/demo".to_string(),
        "fixtures/sites/demo".to_string(),
    ];
    normalized(report, &roots)
}

fn assert_golden(lines: &[String], what: &str) {
    let golden = golden();
    assert!(
        golden.len() > 50,
        "only {} findings in {GOLDEN}",
        golden.len()
    );
    let missing: Vec<&String> = golden.iter().filter(|g| !lines.contains(g)).collect();
    let extra: Vec<&String> = lines.iter().filter(|l| !golden.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && lines.len() == golden.len(),
        "{what}: the findings differ from {GOLDEN}'s ({} vs {})\nmissing:\n{missing:#?}\nextra:\n{extra:#?}",
        lines.len(),
        golden.len()
    );
}

#[test]
fn the_demo_gives_the_golden_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lines = findings_of(
        root,
        "fixtures/sites/demo/site.toml",
        Path::new("fixtures/sites/demo"),
    );
    assert_golden(&lines, "the demo (path_map copy)");
}

/// Copy `from` to `to`, text files with CRLF line ends.
#[cfg_attr(not(windows), allow(dead_code))]
fn copy_as_windows_writes_it(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for entry in entries {
        let target = to.join(entry.file_name().unwrap());
        if entry.is_dir() {
            copy_as_windows_writes_it(&entry, &target);
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        let text_file = ["history", "pinned", "INSTALLER", "METADATA", "RECORD"]
            .contains(&name.as_str())
            || [".py", ".pyt", ".yml", ".txt", ".toml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext));
        match String::from_utf8(bytes) {
            Ok(text) if text_file && !text.contains('\r') => {
                std::fs::write(&target, text.replace('\n', "\r\n")).unwrap()
            }
            Ok(text) => std::fs::write(&target, text).unwrap(),
            Err(e) => std::fs::write(&target, e.into_bytes()).unwrap(),
        }
    }
}

#[cfg(windows)]
#[test]
fn a_windows_native_copy_of_the_demo_gives_the_same_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let root = PathBuf::from(
        root.to_string_lossy()
            .strip_prefix(r"\\?\")
            .unwrap_or(&root.to_string_lossy()),
    )
    .join("demo");
    let demo = common::demo_site();
    copy_as_windows_writes_it(demo.parent().unwrap(), &root);

    // The config store connection as PowerShell's Out-File writes it:
    // UTF-16LE with a BOM, CRLF.
    let xml = r"framework\etc\config-store-connection.xml";
    for machine in ["gis1", "gis2", "gis3"] {
        let path = root.join(machine).join(r"ArcGIS\Server").join(xml);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let text = text.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
            let mut bytes = vec![0xff, 0xfe];
            bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            std::fs::write(&path, bytes).unwrap();
        }
    }

    // The site file a Windows admin writes: absolute Windows paths.
    let at = |rel: &str| root.join(rel).to_string_lossy().to_string();
    let site = format!(
        "name = \"demo\"\r\nversion = \"11.1\"\r\n\r\n\
         [[machine]]\r\nname = \"GIS1.EXAMPLE.COM\"\r\ninstall_dir = '{}'\r\ndefault_env = \"hydro\"\r\n\
         path_map = {{ 'D:\\envs' = '{}', '\\\\FILESERVER\\arcgisserver' = '{}', 'C:\\arcgisserver\\directories' = '{}' }}\r\n\r\n\
         [[machine]]\r\nname = \"GIS2.EXAMPLE.COM\"\r\ninstall_dir = '{}'\r\ndefault_env = \"hydro\"\r\n\
         path_map = {{ 'D:\\envs' = '{}' }}\r\n\r\n\
         [[machine]]\r\nname = \"GIS3.EXAMPLE.COM\"\r\ninstall_dir = '{}'\r\n\r\n\
         [reference]\r\ndefault = 'pro\\arcgispro-py3-clone'\r\n\
         [reference.services]\r\n\"Hydro/Flood.GPServer\" = 'pro\\flood-conda-list.json'\r\n\
         \"Analytics/Cluster.GPServer\" = 'pro\\cluster-environment.yml'\r\n\
         \"Tools/Special.GPServer\" = 'pro\\special-explicit.txt'\r\n",
        at(r"gis1\ArcGIS\Server"),
        at(r"gis1\d-envs"),
        at("arcgisserver"),
        at(r"arcgisserver\directories"),
        at(r"gis2\ArcGIS\Server"),
        at(r"gis2\d-envs"),
        at(r"gis3\ArcGIS\Server"),
    );
    let site_file = root.join("site.toml");
    std::fs::write(&site_file, site).unwrap();
    let lines = findings_of(&root, site_file.to_str().unwrap(), &root);
    assert_golden(&lines, "the Windows-native copy");
}
