//! A generated site (the benchmark's generator, small): the report is the
//! same whatever the number of threads, and the generator is deterministic.

#![allow(clippy::unwrap_used)]

mod common;
// The benchmark's own generator; parts only the example uses are unused here.
#[allow(dead_code)]
#[path = "../examples/gensite/generate.rs"]
mod generate;

use common::*;

const SMALL: generate::Shape = generate::Shape {
    machines: 2,
    envs: 3,
    packages: 40,
    services: 12,
    seed: 7,
    code: true,
};

fn audit_with_threads(site: &std::path::Path, threads: &str) -> Vec<u8> {
    let out = gpaudit()
        .env("RAYON_NUM_THREADS", threads)
        .args(["audit", site.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn findings_are_the_same_at_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let written = generate::generate(dir.path(), SMALL).unwrap();
    assert_eq!(written.records, 2 * 3 * 40);
    let one = audit_with_threads(dir.path(), "1");
    let report: serde_json::Value = serde_json::from_slice(&one).unwrap();
    // The planted problems are found: a rebuilt package on the last machine
    // (site-inconsistent) and pip packages.
    assert!(
        !findings(&report, "site-inconsistent").is_empty(),
        "{report}"
    );
    assert!(!findings(&report, "pip-installed").is_empty(), "{report}");
    // Every service's script is read; only the planted optional import fails.
    assert!(
        findings(&report, "service-code-missing").is_empty(),
        "{report}"
    );
    let unresolved = findings(&report, "service-import-unresolved");
    assert!(!unresolved.is_empty());
    assert!(
        unresolved.iter().all(|f| f["severity"] == "warning"),
        "{unresolved:?}"
    );
    for threads in ["2", "3", "8"] {
        assert_eq!(
            one,
            audit_with_threads(dir.path(), threads),
            "{threads} threads"
        );
    }
}

#[test]
fn the_generator_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate::generate(a.path(), SMALL).unwrap();
    generate::generate(b.path(), SMALL).unwrap();
    let rel = "m01/ArcGIS/Server/framework/runtime/ArcGIS/bin/Python/envs/env01/conda-meta";
    let mut names: Vec<_> = std::fs::read_dir(a.path().join(rel))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        assert_eq!(
            std::fs::read(a.path().join(rel).join(&name)).unwrap(),
            std::fs::read(b.path().join(rel).join(&name)).unwrap(),
            "{name:?}"
        );
    }
}
