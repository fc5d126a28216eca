//! Tests of reading env listings: one per format, on the samples in
//! `fixtures/reference/`, plus the awkward inputs admins produce.

use super::*;
use std::path::PathBuf;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reference")
        .join(name)
}

fn summary(listing: &EnvListing) -> Vec<String> {
    listing
        .packages
        .iter()
        .map(|p| {
            format!(
                "{}{} {}",
                p.name,
                if p.ecosystem == Ecosystem::Pypi {
                    "(pypi)"
                } else {
                    ""
                },
                p.describe()
            )
        })
        .collect()
}

fn read_text(text: &str) -> Result<EnvListing, ReadError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("listing");
    std::fs::write(&path, text).unwrap();
    load(&path, Selection::default(), None)
}

const PRO_31: &[&str] = &[
    "arcgis 2.1.0 py39_3480",
    "arcpy 3.1 py39_arcgispro_41759",
    "ca-certificates 2023.01.10 haa95532_0",
    "gdal 3.4.1 py39_arcgispro_0",
    "numpy 1.20.1 py39h34a8a5c_0",
    "pandas 1.4.4 py39hd77b12b_0",
    "python 3.9.16 h6244533_2",
];

fn pro_31_with(extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = PRO_31.iter().map(|s| s.to_string()).collect();
    all.extend(extra.iter().map(|s| s.to_string()));
    all.sort();
    all
}

#[test]
fn conda_list_json() {
    let l = load(&sample("conda-list.json"), Selection::default(), None).unwrap();
    assert_eq!(l.format, EnvFormat::CondaListJson);
    assert_eq!(summary(&l), pro_31_with(&["requests-toolbelt(pypi) 1.0.0"]));
    let by = l.by_name();
    assert_eq!(by["arcpy"].channel.as_deref(), Some("esri"));
    assert_eq!(by["numpy"].channel.as_deref(), Some("pkgs/main"));
}

#[test]
fn conda_list_explicit_with_hashes_and_crlf() {
    let l = load(
        &sample("conda-list-explicit.txt"),
        Selection::default(),
        None,
    )
    .unwrap();
    assert_eq!(l.format, EnvFormat::CondaListExplicit);
    assert_eq!(summary(&l), pro_31_with(&[]));
    let by = l.by_name();
    assert_eq!(by["arcpy"].channel.as_deref(), Some("esri"));
    assert_eq!(by["python"].channel.as_deref(), Some("pkgs/main"));
}

#[test]
fn conda_list_export_with_bom_crlf_and_blank_lines() {
    let bytes = std::fs::read(sample("conda-list-export.txt")).unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf") && bytes.windows(2).any(|w| w == b"\r\n"));
    let l = load(&sample("conda-list-export.txt"), Selection::default(), None).unwrap();
    assert_eq!(l.format, EnvFormat::CondaListExport);
    assert_eq!(summary(&l), pro_31_with(&["requests-toolbelt(pypi) 1.0.0"]));
}

#[test]
fn environment_yml_with_a_pip_section() {
    let l = load(&sample("environment.yml"), Selection::default(), None).unwrap();
    assert_eq!(l.format, EnvFormat::EnvironmentYml);
    // rattler's EnvironmentYaml keeps parsed specs, not their text, so a
    // version reads back in conda's normal form (equal in conda's order).
    let expected: Vec<String> = pro_31_with(&["requests-toolbelt(pypi) 1.0.0"])
        .into_iter()
        .map(|s| s.replace("2023.01.10", "2023.1.10"))
        .collect();
    assert_eq!(summary(&l), expected);
}

#[test]
fn pip_freeze_with_urls_comments_and_editables() {
    let l = load(&sample("pip-freeze.txt"), Selection::default(), None).unwrap();
    assert_eq!(l.format, EnvFormat::PipFreeze);
    assert_eq!(
        summary(&l),
        [
            "arcgis(pypi) 2.1.0",
            "certifi(pypi) (any version)",
            "floodtools(pypi) (any version)",
            "numpy(pypi) (any version)",
            "pandas(pypi) 1.4.4",
            "python-dateutil(pypi) (any version)",
            "requests-toolbelt(pypi) 1.0.0",
        ]
    );
}

#[test]
fn pip_list_json() {
    let l = load(&sample("pip-list.json"), Selection::default(), None).unwrap();
    assert_eq!(l.format, EnvFormat::PipListJson);
    assert_eq!(summary(&l)[0], "arcgis(pypi) 2.1.0");
    assert_eq!(l.packages.len(), 6);
}

#[test]
fn prefix_folder_or_its_conda_meta() {
    for p in ["arcgispro-py3-clone", "arcgispro-py3-clone/conda-meta"] {
        let l = load(&sample(p), Selection::default(), None).unwrap();
        assert_eq!(l.format, EnvFormat::Prefix);
        assert_eq!(
            summary(&l),
            pro_31_with(&["requests-toolbelt(pypi) 1.0.0"]),
            "{p}"
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }
}

#[test]
fn snapshot_with_a_selector() {
    let path = sample("snapshot.json");
    let l = load(
        &path,
        Selection::inline(Some("PRO-WS1/arcgispro-py3-clone")),
        None,
    )
    .unwrap();
    assert_eq!(l.format, EnvFormat::Snapshot);
    assert!(l
        .source
        .ends_with("snapshot.json#PRO-WS1/arcgispro-py3-clone"));
    assert_eq!(summary(&l), pro_31_with(&["requests-toolbelt(pypi) 1.0.0"]));
    let err = load(&path, Selection::default(), None).unwrap_err();
    assert!(err.message.contains("more than one env"), "{err}");
    let err = load(&path, Selection::inline(Some("nope")), None).unwrap_err();
    assert!(err.message.contains("no env matches `nope`"), "{err}");
}

#[test]
fn utf16_listing_from_powershell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.txt");
    let mut bytes = vec![0xff, 0xfe];
    let text = "# platform: win-64\r\narcpy=3.1=py39_arcgispro_41759\r\n";
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&path, bytes).unwrap();
    let l = load(&path, Selection::default(), None).unwrap();
    assert_eq!(summary(&l), ["arcpy 3.1 py39_arcgispro_41759"]);
}

#[test]
fn a_package_named_twice() {
    let same = read_text("numpy=1.20.1=py39_0\nnumpy=1.20.1=py39_0\n").unwrap();
    assert_eq!(same.packages.len(), 1);
    let err =
        read_text("numpy=1.20.1=py39_0\npandas=1.4.4=py39_0\nnumpy=1.24.3=py39_0\n").unwrap_err();
    assert!(
        err.message
            .contains("names `numpy` twice: 1.20.1 py39_0 (line 1) and 1.24.3 py39_0 (line 3)"),
        "{err}"
    );
    // A conda and a pip package of one name are two packages.
    let both = read_text("requests=2.28.1=py39_0\nrequests=2.31.0=pypi_0\n").unwrap();
    assert_eq!(both.packages.len(), 2);
    assert_eq!(both.by_name()["requests"].ecosystem, Ecosystem::Pypi);
}

#[test]
fn empty_and_unrecognised_listings_name_the_file_and_formats_tried() {
    for empty in ["", "# nothing here\n\n", "[]", "\u{feff}\r\n"] {
        let err = read_text(empty).unwrap_err();
        assert!(err.path.ends_with("listing"), "{err}");
        assert!(
            err.message.contains("lists no packages"),
            "{empty:?}: {err}"
        );
    }
    let err = read_text("<html>not a listing</html>\n").unwrap_err();
    assert!(
        err.message
            .contains("tried: a conda prefix folder, conda list, conda list --json"),
        "{err}"
    );
    let err = read_text("{\"kind\": \"something\"}").unwrap_err();
    assert!(err.message.contains("not a gpaudit snapshot"), "{err}");
}

#[test]
fn forcing_a_format_reports_that_format_s_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.txt");
    std::fs::write(&path, "numpy==1.20.1\n").unwrap();
    let err = load(
        &path,
        Selection::default(),
        Some(EnvFormat::CondaListExplicit),
    )
    .unwrap_err();
    assert!(
        err.message.contains("not valid conda list --explicit"),
        "{err}"
    );
    let ok = load(&path, Selection::default(), Some(EnvFormat::PipFreeze)).unwrap();
    assert_eq!(summary(&ok), ["numpy(pypi) 1.20.1"]);
    let err = load(dir.path(), Selection::default(), Some(EnvFormat::PipFreeze)).unwrap_err();
    assert!(err.message.contains("is a folder"), "{err}");
}

#[test]
fn loose_specs_are_kept_as_requirements() {
    let l = read_text("name: x\ndependencies:\n  - arcpy=3.1\n  - numpy>=1.20\n  - pandas\n  - pip:\n    - requests>=2.28\n").unwrap();
    assert_eq!(
        summary(&l),
        [
            "arcpy arcpy 3.1.*",
            "numpy numpy >=1.20",
            "pandas (any version)",
            "requests(pypi) >=2.28",
        ]
    );
}

#[test]
fn a_bad_line_is_named() {
    let err = read_text("# platform: win-64\nnumpy=1.20.1=py39_0\n==1.0=bad\n").unwrap_err();
    assert!(err.message.contains("line 3"), "{err}");
}

#[test]
fn selectors_split_only_when_the_path_does_not_exist() {
    assert_eq!(
        split_selector("snap.json#GIS1/hydro"),
        (PathBuf::from("snap.json"), Some("GIS1/hydro".into()))
    );
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a#b");
    std::fs::write(&odd, "").unwrap();
    let arg = odd.to_str().unwrap();
    assert_eq!(split_selector(arg), (odd.clone(), None));
}

#[test]
fn plain_conda_list_output() {
    let text = "# packages in environment at C:\\Users\\a\\AppData\\Local\\ESRI\\conda\\envs\\clone:\r\n#\r\n# Name                    Version                   Build  Channel\r\narcpy                     3.1             py39_arcgispro_41759    esri\r\nnumpy                     1.20.1          py39h34a8a5c_0\r\nrequests-toolbelt         1.0.0                    pypi_0    pypi\r\n";
    let l = read_text(text).unwrap();
    assert_eq!(l.format, EnvFormat::CondaList);
    assert_eq!(
        summary(&l),
        [
            "arcpy 3.1 py39_arcgispro_41759",
            "numpy 1.20.1 py39h34a8a5c_0",
            "requests-toolbelt(pypi) 1.0.0"
        ]
    );
    assert_eq!(l.by_name()["arcpy"].channel.as_deref(), Some("esri"));
    assert_eq!(l.by_name()["numpy"].channel, None);
}

#[test]
fn conda_env_export_as_json() {
    let l = read_text(r#"{"name": "clone", "channels": ["esri"], "dependencies": ["arcpy=3.1=py39_arcgispro_41759", {"pip": ["xgboost==1.7.6"]}]}"#).unwrap();
    assert_eq!(l.format, EnvFormat::EnvironmentYml);
    assert_eq!(
        summary(&l),
        ["arcpy 3.1 py39_arcgispro_41759", "xgboost(pypi) 1.7.6"]
    );
}

#[test]
fn regression_pip_name_ending_in_a_separator_does_not_panic() {
    // pep508_rs 0.9 panics on this; gpaudit must report it instead.
    for text in ["nump-==1.0\n", "numpy==1.0\nnump_.==1.0\n"] {
        assert!(read_text(text).is_err(), "{text}");
    }
    let err = read_text("name: x\ndependencies:\n  - pip:\n    - nump-==1.0\n").unwrap_err();
    assert!(err.message.contains("nump-"), "{err}");
}

#[test]
fn regression_pip_extra_ending_in_a_separator_does_not_panic() {
    // pep508_rs 0.9 panics (exit 101) inside its parser on these.
    for text in [
        "requests[socks_]==2.31.0\n",
        "T[bu.1.\n",
        "numpy==1.0\nrequests[socks-, security]==2.31.0\n",
    ] {
        assert!(read_text(text).is_err(), "{text}");
    }
    for line in ["T[bu.1.", "requests[socks_]==2.31.0", "x[a-]>=1"] {
        assert!(super::formats::pip_requirement(line).is_err(), "{line}");
    }
    assert!(read_text("requests[socks]==2.31.0\n").is_ok());
}

#[test]
fn regression_pip_requirement_with_a_multibyte_character_does_not_panic() {
    // Found by the pep508_requirement fuzz target: pep508_rs 0.9 panics
    // while formatting its error ("byte index is not a char boundary").
    let line = "\tc;'\u{fffd};\u{fffd}\0\0+;'<'<<\u{fffd}<\u{fffd}c;'\u{fffd};\u{fffd}\0\0\0\0";
    assert!(super::formats::pip_requirement(line).is_err());
    assert!(super::formats::pip_requirement("numpy==1.2.3 ; python_version < '3.10' é").is_err());
    assert!(read_text("numpy==1.20.1\nc;'é;é+;'<'<<é\n").is_err());
    assert!(read_text("name: x\ndependencies:\n  - pip:\n    - T[bu.1.\n").is_err());
}

#[test]
fn channel_tokens_and_passwords_never_reach_output() {
    let explicit = "@EXPLICIT\nhttps://user:hunter2@conda.example.com/t/tk-SECRET/esri/win-64/arcpy-3.1-py39_arcgispro_41759.tar.bz2\n";
    let l = read_text(explicit).unwrap();
    let json = serde_json::to_string(&l).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("tk-SECRET"),
        "{json}"
    );
    assert_eq!(l.packages[0].channel.as_deref(), Some("esri"));
    let bad =
        "@EXPLICIT\nhttps://user:hunter2@conda.example.com/t/tk-SECRET/esri/win-64/not-a-package\n";
    let err = read_text(bad).unwrap_err().to_string();
    assert!(
        !err.contains("hunter2") && !err.contains("tk-SECRET"),
        "{err}"
    );
    let yml = "dependencies:\n  - https://conda.example.com/t/tk-SECRET/esri::arcpy=3.1=py39_0\n";
    if let Ok(l) = read_text(yml) {
        let json = serde_json::to_string(&l).unwrap();
        assert!(!json.contains("tk-SECRET"), "{json}");
    }
}

#[test]
fn editable_egg_names_are_cut_and_checked() {
    let l = read_text("-e git+https://x/y.git#egg=bad|name\n").unwrap_err();
    // The line names no usable package: the listing is empty.
    assert!(l.message.contains("lists no packages"), "{l}");
    let ok = read_text(
        "-e git+https://example.com/r.git#egg=floodtools&subdirectory=pkgs/a\nnumpy==1.20.1\n",
    )
    .unwrap();
    assert_eq!(
        summary(&ok),
        ["floodtools(pypi) (any version)", "numpy(pypi) 1.20.1"]
    );
}

#[test]
fn a_selector_on_a_plain_listing_is_an_error_unless_it_came_from_flags() {
    let path = sample("conda-list.json");
    let err = load(&path, Selection::inline(Some("GIS1/hydro")), None).unwrap_err();
    assert!(err.message.contains("picks nothing"), "{err}");
    let lenient = Selection {
        machine: Some("GIS1"),
        env: Some("hydro"),
        strict: false,
    };
    assert!(load(&path, lenient, None).is_ok());
    let err = load(&path, Selection::default(), Some(EnvFormat::Prefix)).unwrap_err();
    assert!(err.message.contains("is not a folder"), "{err}");
}

#[test]
fn versions_spelled_two_ways_are_one_package() {
    let l = read_text("ca-certificates=2023.01.10=h_0\nca-certificates=2023.1.10=h_0\n").unwrap();
    assert_eq!(l.packages.len(), 1);
}
