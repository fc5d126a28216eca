//! The solve over a test channel written here: a few dozen records in
//! `repodata.json` form, Windows layout (`esri/win-64`, `main/win-64`,
//! `main/noarch`), with an `arcgispro` 3.3 meta-package whose `depends` are
//! Pro 3.3's stack, and added packages that do and do not solve.

use super::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// `name-version-build.tar.bz2` → record, in a repodata.json of `subdir`.
fn repodata(subdir: &str, records: &[Value]) -> Value {
    let mut packages = serde_json::Map::new();
    for r in records {
        let file = format!(
            "{}-{}-{}.tar.bz2",
            r["name"].as_str().unwrap(),
            r["version"].as_str().unwrap(),
            r["build"].as_str().unwrap()
        );
        let mut r = r.clone();
        r["subdir"] = json!(subdir);
        packages.insert(file, r);
    }
    json!({"info": {"subdir": subdir}, "packages": packages, "packages.conda": {}, "repodata_version": 1})
}

fn rec(name: &str, version: &str, build: &str, depends: &[&str]) -> Value {
    json!({"name": name, "version": version, "build": build, "build_number": 0, "depends": depends, "license": "BSD-3-Clause"})
}

fn write(dir: &Path, subdir: &str, records: &[Value]) {
    let d = dir.join(subdir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("repodata.json"),
        serde_json::to_vec_pretty(&repodata(subdir, records)).unwrap(),
    )
    .unwrap();
}

/// Writes `esri/` and `main/`; returns them in priority order.
pub(crate) fn test_channels(root: &Path) -> Vec<PathBuf> {
    let esri = root.join("esri");
    write(
        &esri,
        "win-64",
        &[
            rec(
                "arcgispro",
                "3.3",
                "0",
                &[
                    "python 3.11.8.*",
                    "numpy 1.24.3.*",
                    "arcpy 3.3.*",
                    "pandas 2.0.2.*",
                ],
            ),
            rec(
                "arcgispro",
                "3.1",
                "0",
                &["python 3.9.16.*", "numpy 1.20.1.*", "arcpy 3.1.*"],
            ),
            rec(
                "arcpy",
                "3.3",
                "py311_arcgispro_52583",
                &["python >=3.11,<3.12.0a0", "numpy >=1.24,<1.25"],
            ),
            rec(
                "arcpy",
                "3.1",
                "py39_arcgispro_41759",
                &["python >=3.9,<3.10.0a0"],
            ),
        ],
    );
    let main = root.join("main");
    write(
        &main,
        "win-64",
        &[
            rec(
                "python",
                "3.11.8",
                "h2628c8c_0",
                &["vs2015_runtime >=14.29"],
            ),
            rec(
                "python",
                "3.9.16",
                "h6244533_2",
                &["vs2015_runtime >=14.29"],
            ),
            rec("vs2015_runtime", "14.29.30133", "h43f2093_0", &["__win"]),
            rec(
                "numpy",
                "1.24.3",
                "py311hdab7c0b_0",
                &["python >=3.11,<3.12.0a0"],
            ),
            rec(
                "numpy",
                "1.20.1",
                "py39h34a8a5c_0",
                &["python >=3.9,<3.10.0a0"],
            ),
            rec(
                "pandas",
                "2.0.2",
                "py311h6c6dc7f_0",
                &["python >=3.11,<3.12.0a0", "numpy >=1.21"],
            ),
            // numba: 0.56 is py39 and needs numpy <1.24; 0.57 fits 3.3.
            rec(
                "numba",
                "0.56.4",
                "py39h4e1a5ee_0",
                &[
                    "python >=3.9,<3.10.0a0",
                    "numpy >=1.18,<1.24.0a0",
                    "llvmlite >=0.39,<0.40",
                ],
            ),
            rec(
                "numba",
                "0.57.1",
                "py311hf62ec03_0",
                &[
                    "python >=3.11,<3.12.0a0",
                    "numpy >=1.21,<1.25",
                    "llvmlite >=0.40,<0.41",
                ],
            ),
            rec(
                "llvmlite",
                "0.39.1",
                "py39h23ce68f_0",
                &["python >=3.9,<3.10.0a0"],
            ),
            rec(
                "llvmlite",
                "0.40.0",
                "py311h3a7b4ae_0",
                &["python >=3.11,<3.12.0a0"],
            ),
            // pyarrow 0.17: every build needs Python 3.9.
            rec(
                "pyarrow",
                "0.17.1",
                "py39h1234567_1",
                &["python >=3.9,<3.10.0a0", "numpy >=1.16"],
            ),
            rec(
                "pyarrow",
                "0.17.1",
                "py38h1234567_1",
                &["python >=3.8,<3.9.0a0", "numpy >=1.16"],
            ),
            rec(
                "pyarrow",
                "11.0.0",
                "py311h9fd0d3e_0",
                &["python >=3.11,<3.12.0a0", "numpy >=1.21"],
            ),
            // oldstats needs numpy <1.22 in every version.
            rec(
                "oldstats",
                "1.0",
                "py311_0",
                &["python >=3.11,<3.12.0a0", "numpy <1.22"],
            ),
            // two packages that each fit, but not together.
            rec(
                "left",
                "1.0",
                "py311_0",
                &["python >=3.11,<3.12.0a0", "shared 1.*"],
            ),
            rec(
                "right",
                "1.0",
                "py311_0",
                &["python >=3.11,<3.12.0a0", "shared 2.*"],
            ),
            rec("shared", "1.0", "0", &[]),
            rec("shared", "2.0", "0", &[]),
        ],
    );
    write(
        &main,
        "noarch",
        &[rec("affine", "2.3.0", "pyhd3eb1b0_0", &["python >=3.6"])],
    );
    vec![esri, main]
}

fn spec(s: &str) -> MatchSpec {
    MatchSpec::from_str(s, rattler_conda_types::ParseStrictness::Lenient).unwrap()
}

fn loaded() -> (tempfile::TempDir, Channels) {
    let dir = tempfile::tempdir().unwrap();
    let args = test_channels(dir.path());
    let channels = Channels::load(&args).unwrap();
    (dir, channels)
}

#[test]
fn the_test_channel_loads_every_windows_record() {
    let (_dir, channels) = loaded();
    assert_eq!(channels.channels.len(), 2);
    assert_eq!(channels.record_count(), 4 + 18 + 1);
    assert!(channels.has_package("arcgispro") && channels.has_package("affine"));
}

#[test]
fn added_packages_that_fit_the_target_solve_and_move() {
    let (_dir, channels) = loaded();
    let verdict = solve_upgrade(
        &channels,
        &spec("arcgispro 3.3.*"),
        &[spec("numba"), spec("affine")],
    );
    let Verdict::Solved(env) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(env["numba"].0, "0.57.1");
    assert_eq!(env["llvmlite"].0, "0.40.0");
    assert_eq!(env["python"].0, "3.11.8");
    assert_eq!(
        env["arcpy"],
        ("3.3".to_string(), "py311_arcgispro_52583".to_string())
    );
    assert!(
        env.contains_key("vs2015_runtime"),
        "__win satisfied the virtual package"
    );
}

#[test]
fn a_package_whose_every_build_needs_the_old_python_is_blocked_by_python() {
    let (_dir, channels) = loaded();
    let verdict = solve_upgrade(
        &channels,
        &spec("arcgispro 3.3.*"),
        &[spec("numba"), spec("pyarrow=0.17")],
    );
    let Verdict::Blocked(blocked) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0].name, "pyarrow");
    assert_eq!(
        blocked[0].blockers,
        ["python 3.11.8"],
        "{}",
        blocked[0].explanation
    );
    assert!(
        blocked[0].explanation.contains("pyarrow"),
        "{}",
        blocked[0].explanation
    );
}

#[test]
fn a_package_that_needs_an_older_numpy_is_blocked_by_numpy() {
    let (_dir, channels) = loaded();
    let verdict = solve_upgrade(&channels, &spec("arcgispro 3.3.*"), &[spec("oldstats")]);
    let Verdict::Blocked(blocked) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(
        blocked[0].blockers,
        ["numpy 1.24.3"],
        "{}",
        blocked[0].explanation
    );
}

#[test]
fn packages_that_fit_alone_but_not_together_conflict() {
    let (_dir, channels) = loaded();
    let verdict = solve_upgrade(
        &channels,
        &spec("arcgispro 3.3.*"),
        &[spec("left"), spec("right")],
    );
    let Verdict::Conflicting(why) = verdict else {
        panic!("{verdict:?}")
    };
    assert!(why.contains("shared"), "{why}");
}

#[test]
fn channels_without_the_target_cannot_solve_it() {
    let (_dir, channels) = loaded();
    let verdict = solve_upgrade(&channels, &spec("arcgispro 3.5.*"), &[spec("numba")]);
    assert!(
        matches!(verdict, Verdict::TargetUnsolvable(_)),
        "{verdict:?}"
    );
}

#[test]
fn channel_arguments_that_cannot_be_read_are_all_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let linux = dir.path().join("linux");
    write(
        &linux,
        "linux-64",
        &[rec("numpy", "1.24.3", "py311_0", &[])],
    );
    let missing = dir.path().join("missing");
    let errors = Channels::load(&[empty, bad, linux.join("linux-64"), missing]).unwrap_err();
    let text: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(text.len(), 4, "{text:?}");
    assert!(
        text[0].ends_with("holds no repodata.json, win-64/repodata.json or noarch/repodata.json"),
        "{text:?}"
    );
    assert!(
        text[1].contains("bad.json: not a conda repodata.json"),
        "{text:?}"
    );
    assert!(
        text[2].contains("none of its 1 records is for win-64 or noarch"),
        "{text:?}"
    );
    assert!(
        text[3].ends_with("missing: no such file or folder"),
        "{text:?}"
    );
}

#[test]
fn a_single_repodata_file_is_a_channel() {
    let dir = tempfile::tempdir().unwrap();
    let args = test_channels(dir.path());
    let file = args[1].join("win-64").join("repodata.json");
    let channels = Channels::load(&[args[0].clone(), file]).unwrap();
    assert_eq!(channels.record_count(), 4 + 18);
}
