//! Golden files: the demo's reports, byte for byte. A change to a report is
//! deliberate: rerun with `GPAUDIT_BLESS=1 cargo test --test golden` and say
//! in the commit why the report changed.

mod common;
use common::*;

/// Run the demo audit from the repository root (so paths are relative, as
/// the README's command prints them) and put `$ROOT` for the absolute
/// checkout path that scripts' paths carry.
fn demo_report(format: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = gpaudit()
        .current_dir(root)
        .args(["audit", "fixtures/sites/demo/site.toml", "--format", format])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 report")
        .replace(root, "$ROOT")
}

fn check_golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("GPAUDIT_BLESS").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("golden file exists");
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  now:    {:?}\n(rerun with GPAUDIT_BLESS=1 if the change is deliberate)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

// On Windows paths are displayed the Windows way; the findings themselves
// are compared with the Linux build's by the Windows tests.
#[cfg_attr(windows, ignore = "golden paths are Unix-style")]
#[test]
fn demo_json_report_is_byte_identical_to_the_golden_file() {
    check_golden("demo-report.json", &demo_report("json"));
}
