//! Reading one `conda-meta/<name>-<version>-<build>.json` record. The package
//! fields go through `rattler_conda_types::PackageRecord`; the `files` list
//! (most of the bytes) is streamed past without being kept, looking only for
//! the paths that the pip checks asked about, and `paths_data` is skipped.

use crate::model::{CappedInput, Package, MAX_FIELD_ENTRIES};
use crate::read::{read_capped_into, FileProblem};
use rattler_conda_types::PackageRecord;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// What the record reader should look for in `files`.
#[derive(Debug, Default)]
pub struct OwnershipProbe {
    /// Lower-cased names of the `.dist-info`/`.egg-info` entries in site-packages.
    dist_infos: HashSet<String>,
    /// Lower-cased prefix-relative paths listed by pip `RECORD`s.
    watched: HashSet<String>,
    /// `watched_len[n]`: some watched path is `n` bytes long.
    watched_len: Vec<bool>,
}

impl OwnershipProbe {
    pub fn new(dist_infos: HashSet<String>, watched: HashSet<String>) -> OwnershipProbe {
        let mut watched_len =
            vec![false; watched.iter().map(String::len).max().map_or(0, |m| m + 1)];
        for w in &watched {
            watched_len[w.len()] = true;
        }
        OwnershipProbe {
            dist_infos,
            watched,
            watched_len,
        }
    }

    /// What the probe looks for, as a SHA-256: records read with another
    /// probe say nothing about this one's paths.
    pub fn fingerprint(&self) -> [u8; 32] {
        use rattler_digest::digest::Digest;
        let mut dist_infos: Vec<&String> = self.dist_infos.iter().collect();
        let mut watched: Vec<&String> = self.watched.iter().collect();
        dist_infos.sort();
        watched.sort();
        let mut hash = rattler_digest::Sha256::new();
        for (section, list) in [("dist-infos", dist_infos), ("watched", watched)] {
            hash.update(section.as_bytes());
            hash.update((list.len() as u64).to_le_bytes());
            for item in list {
                hash.update((item.len() as u64).to_le_bytes());
                hash.update(item.as_bytes());
            }
        }
        hash.finalize().into()
    }

    fn is_empty(&self) -> bool {
        self.dist_infos.is_empty() && self.watched.is_empty()
    }

    /// A cheap test run on every path of every record before the costly
    /// one: a path can only matter if it has a watched path's length or
    /// names an `-info` folder.
    fn may_match(&self, path: &str) -> bool {
        self.watched_len.get(path.len()).copied().unwrap_or(false) || names_info(path)
    }
}

/// Whether `path` has `-info` in it, any case (`.dist-info`, `.EGG-INFO`):
/// memchr finds the rare `-`, then four bytes are compared.
fn names_info(path: &str) -> bool {
    let bytes = path.as_bytes();
    memchr::memchr_iter(b'-', bytes).any(|i| {
        bytes
            .get(i + 1..i + 5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"info"))
    })
}

/// A record and what its `files` said about the probe.
#[derive(Debug)]
pub struct RecordScan {
    pub package: Package,
    /// Lower-cased dist-info names this record owns.
    pub owned_dist_infos: Vec<String>,
    /// Watched paths this record owns: lower-cased key → path as recorded.
    pub owned_watched: Vec<(String, String)>,
    /// Top-level extension modules built for one CPython, added to the
    /// package's modules once the env's Python is known.
    pub extensions: Vec<(String, (u32, u32))>,
    /// Fields cut to [`MAX_FIELD_ENTRIES`].
    pub capped: Vec<CappedInput>,
}

/// What a record file says before its env is known, in the form the record
/// cache keeps: the record's own fields (all but the three big lists) as
/// JSON, and what its `files` told. [`finish`] turns it into a
/// [`RecordScan`] the same way whether it was just read or cached.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordParts {
    /// The fields other than `files`, `paths_data` and `link`, as a JSON
    /// object (serde_json writes and reads a `Value` back unchanged).
    pub fields_json: String,
    pub modules: Vec<String>,
    pub dists: Vec<String>,
    pub extensions: Vec<(String, (u32, u32))>,
    pub owned_dist_infos: Vec<String>,
    pub owned_watched: Vec<(String, String)>,
}

thread_local! {
    /// One read buffer per thread: records are read one after another.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer kept between reads up to this size (a rare huge record does
/// not pin its memory for the rest of the run).
const KEPT_BUFFER_BYTES: usize = 16 * 1024 * 1024;

/// Read and parse one record file.
pub fn read_record(path: &Path, probe: &OwnershipProbe) -> Result<RecordScan, FileProblem> {
    read_record_parts(path, probe, false).map(|(scan, _, _)| scan)
}

/// [`read_record`], also giving the file's metadata as it was opened and,
/// when `keep` is set, the parts to cache (their lists left empty: the
/// scan holds them).
pub(crate) fn read_record_parts(
    path: &Path,
    probe: &OwnershipProbe,
    keep: bool,
) -> Result<(RecordScan, std::fs::Metadata, Option<RecordParts>), FileProblem> {
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let result = read_from_buffer(path, probe, keep, &mut buffer);
        if buffer.capacity() > KEPT_BUFFER_BYTES {
            *buffer = Vec::new();
        }
        result
    })
}

fn read_from_buffer(
    path: &Path,
    probe: &OwnershipProbe,
    keep: bool,
    bytes: &mut Vec<u8>,
) -> Result<(RecordScan, std::fs::Metadata, Option<RecordParts>), FileProblem> {
    let meta = read_capped_into(path, bytes)?;
    let mut found = Found::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let fields = RecordSeed {
        probe,
        found: &mut found,
    }
    .deserialize(&mut de)
    .and_then(|fields| de.end().map(|()| fields))
    .map_err(|e| FileProblem::new(format!("malformed JSON: {e}")))?;

    let module_set = std::mem::take(&mut found.modules);
    let dists = module_set.dists().to_vec();
    let (modules, extensions) = module_set.finish();
    let mut parts = RecordParts {
        fields_json: String::new(),
        modules,
        dists,
        extensions,
        owned_dist_infos: found.dist_infos,
        owned_watched: found.watched,
    };
    // The lists are not copied: the cache writes them from the scan.
    let kept = match keep {
        true => serde_json::to_string(&fields)
            .ok()
            .map(|fields_json| RecordParts {
                fields_json,
                ..RecordParts::default()
            }),
        false => None,
    };
    let scan = finish_fields(path, fields, &mut parts)?;
    Ok((scan, meta, kept))
}

/// The record that cached `parts` describe, checked as a fresh read is.
/// The lists are moved out of `parts`; `fields_json` stays.
pub(crate) fn finish(path: &Path, parts: &mut RecordParts) -> Result<RecordScan, FileProblem> {
    let fields: Map<String, Value> = serde_json::from_str(&parts.fields_json)
        .map_err(|e| FileProblem::new(format!("malformed JSON: {e}")))?;
    finish_fields(path, fields, parts)
}

fn finish_fields(
    path: &Path,
    mut fields: Map<String, Value>,
    parts: &mut RecordParts,
) -> Result<RecordScan, FileProblem> {
    let mut capped = Vec::new();
    for field in ["depends", "constrains"] {
        if let Some(Value::Array(list)) = fields.get_mut(field) {
            if list.len() > MAX_FIELD_ENTRIES {
                capped.push(CappedInput {
                    path: crate::paths::display(path),
                    field: field.into(),
                    kept: MAX_FIELD_ENTRIES,
                    total: list.len(),
                });
                list.truncate(MAX_FIELD_ENTRIES);
            }
        }
    }
    let channel = fields
        .get("channel")
        .and_then(Value::as_str)
        .map(str::to_string);
    let record = parse_record(fields)?;

    let expected = format!(
        "{}-{}-{}.json",
        record.name.as_source(),
        record.version.as_str(),
        record.build
    );
    let actual = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if actual.as_deref() != Some(expected.as_str()) {
        return Err(FileProblem::new(format!(
            "record file name disagrees with its content (it describes {expected}); conda ignores such a record"
        )));
    }
    Ok(RecordScan {
        package: Package {
            record,
            channel,
            file: crate::paths::display(path),
            modules: std::mem::take(&mut parts.modules),
            dists: std::mem::take(&mut parts.dists),
            files_missing: false,
        },
        extensions: std::mem::take(&mut parts.extensions),
        owned_dist_infos: std::mem::take(&mut parts.owned_dist_infos),
        owned_watched: std::mem::take(&mut parts.owned_watched),
        capped,
    })
}

/// The fields of a record gpaudit reads; any other field that does not
/// parse (`"md5": ""`, a hash or a license in a shape rattler refuses) is
/// dropped rather than making the record unreadable, as conda reads it.
const NEEDED_FIELDS: &[&str] = &[
    "name",
    "version",
    "build",
    "build_number",
    "depends",
    "constrains",
    "subdir",
    "noarch",
    "track_features",
    "features",
    "arch",
    "platform",
];

fn parse_record(fields: Map<String, Value>) -> Result<PackageRecord, FileProblem> {
    use serde::Deserialize;
    // Read from the map in place: the fallback's copy is made only when
    // the whole record does not parse.
    let fields = Value::Object(fields);
    PackageRecord::deserialize(&fields)
        .or_else(|first| {
            let needed: Map<String, Value> = fields
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| NEEDED_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            PackageRecord::deserialize(&Value::Object(needed)).map_err(|_| first)
        })
        .map_err(|e| FileProblem::new(format!("not a conda package record: {e}")))
}

#[derive(Default)]
struct Found {
    dist_infos: Vec<String>,
    watched: Vec<(String, String)>,
    lower: String,
    modules: super::modules::ModuleSet,
}

impl Found {
    fn see(&mut self, path: &str, probe: &OwnershipProbe) {
        self.modules.see(path);
        if probe.is_empty() || !probe.may_match(path) {
            return;
        }
        // One reused buffer: this runs for every path of every record.
        self.lower.clear();
        self.lower.extend(path.chars().map(|c| match c {
            '\\' => '/',
            c => c.to_ascii_lowercase(),
        }));
        let lower = self.lower.as_str();
        if probe.watched.contains(lower) {
            self.watched.push((lower.to_string(), path.to_string()));
        }
        for segment in lower.split('/') {
            if (segment.ends_with(".dist-info") || segment.ends_with(".egg-info"))
                && probe.dist_infos.contains(segment)
                && !self.dist_infos.iter().any(|d| d == segment)
            {
                self.dist_infos.push(segment.to_string());
            }
        }
    }
}

struct RecordSeed<'a> {
    probe: &'a OwnershipProbe,
    found: &'a mut Found,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a conda-meta record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "files" => map.next_value_seed(FilesSeed {
                    probe: self.probe,
                    found: self.found,
                })?,
                "paths_data" | "link" => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    let value: Value = map.next_value()?;
                    fields.insert(key, value);
                }
            }
        }
        Ok(fields)
    }
}

struct FilesSeed<'a> {
    probe: &'a OwnershipProbe,
    found: &'a mut Found,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of file paths")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(PathSeed {
                probe: self.probe,
                found: self.found,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct PathSeed<'a> {
    probe: &'a OwnershipProbe,
    found: &'a mut Found,
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for PathSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a file path")
    }

    fn visit_str<E>(self, path: &str) -> Result<(), E> {
        self.found.see(path, self.probe);
        Ok(())
    }
}

/// Index watched-path hits by key, for the pip scan.
pub fn owners_by_path(scans: &[RecordScan]) -> HashMap<&str, (&str, &str)> {
    let mut owners = HashMap::new();
    for scan in scans {
        for (key, original) in &scan.owned_watched {
            owners.insert(key.as_str(), (original.as_str(), scan.package.name()));
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    const NUMPY: &str = r#"{"name":"numpy","version":"1.20.1","build":"py39h34a8a5c_0","build_number":0,
        "channel":"https://repo.anaconda.com/pkgs/main","subdir":"win-64","depends":["python >=3.9,<3.10.0a0"],
        "files":["Lib/site-packages/numpy/__init__.py","Lib/site-packages/numpy-1.20.1.dist-info/METADATA"],
        "paths_data":{"paths_version":1,"paths":[{"_path":"Lib/site-packages/numpy/__init__.py","path_type":"hardlink"}]},
        "link":{"source":"x","type":1}}"#;

    #[test]
    fn reads_package_fields_and_probes_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "numpy-1.20.1-py39h34a8a5c_0.json", NUMPY);
        let probe = OwnershipProbe::new(
            ["numpy-1.20.1.dist-info".to_string()].into(),
            ["lib/site-packages/numpy/__init__.py".to_string()].into(),
        );
        let scan = read_record(&p, &probe).unwrap();
        assert_eq!(scan.package.name(), "numpy");
        assert_eq!(scan.package.record.version.as_str(), "1.20.1");
        assert_eq!(scan.package.record.depends, vec!["python >=3.9,<3.10.0a0"]);
        assert_eq!(
            scan.package.channel.as_deref(),
            Some("https://repo.anaconda.com/pkgs/main")
        );
        assert_eq!(scan.owned_dist_infos, vec!["numpy-1.20.1.dist-info"]);
        assert_eq!(
            scan.owned_watched[0].1,
            "Lib/site-packages/numpy/__init__.py"
        );
    }

    #[test]
    fn info_folders_are_found_in_any_case_and_position() {
        assert!(names_info(
            "Lib/site-packages/numpy-1.20.1.dist-info/METADATA"
        ));
        assert!(names_info("lib/site-packages/PyQt5-5.15.EGG-INFO"));
        assert!(names_info("-info"));
        assert!(!names_info(
            "Lib/site-packages/numpy/core/_multi-array-inf.py-"
        ));
        assert!(!names_info("-inf"));
        assert!(!names_info("a-b-c-infx"));
        assert!(!names_info(""));
    }

    #[test]
    fn cached_parts_give_the_record_a_fresh_read_gives() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "numpy-1.20.1-py39h34a8a5c_0.json", NUMPY);
        let probe = OwnershipProbe::new(
            ["numpy-1.20.1.dist-info".to_string()].into(),
            ["lib/site-packages/numpy/__init__.py".to_string()].into(),
        );
        let (fresh, _, parts) = read_record_parts(&p, &probe, true).unwrap();
        let mut parts = parts.unwrap();
        parts.modules.clone_from(&fresh.package.modules);
        parts.dists.clone_from(&fresh.package.dists);
        parts.extensions.clone_from(&fresh.extensions);
        parts.owned_dist_infos.clone_from(&fresh.owned_dist_infos);
        parts.owned_watched.clone_from(&fresh.owned_watched);
        let cached = finish(&p, &mut parts).unwrap();
        assert_eq!(
            serde_json::to_string(&fresh.package).unwrap(),
            serde_json::to_string(&cached.package).unwrap()
        );
        assert_eq!(fresh.owned_watched, cached.owned_watched);
        assert_eq!(fresh.owned_dist_infos, cached.owned_dist_infos);
        assert_eq!(fresh.extensions, cached.extensions);
    }

    #[test]
    fn issue_13_item_15_a_record_with_an_empty_md5_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let body = NUMPY.replacen('{', r#"{"md5": "", "sha256": "zz", "#, 1);
        let p = write(dir.path(), "numpy-1.20.1-py39h34a8a5c_0.json", &body);
        let scan = read_record(&p, &OwnershipProbe::default()).unwrap();
        assert_eq!(scan.package.record.version.as_str(), "1.20.1");
        assert!(!scan.package.record.depends.is_empty());
    }

    #[test]
    fn file_name_must_agree_with_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "numpy-1.24.3-py39_0.json", NUMPY);
        let err = read_record(&p, &OwnershipProbe::default()).unwrap_err();
        assert!(err.message.contains("disagrees"), "{}", err.message);
    }

    #[test]
    fn malformed_and_incomplete_records_are_failures_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("a-1-0.json", "{\"name\": \"a\", "),
            ("b-1-0.json", "[]"),
            ("c-1-0.json", "{\"name\": \"c\"}"),
            ("d-1-0.json", "{\"name\":\"d\",\"version\":\"1\",\"build\":\"0\",\"build_number\":0,\"files\":[1]}"),
            ("e-1-0.json", ""),
        ] {
            let p = write(dir.path(), name, body);
            assert!(read_record(&p, &OwnershipProbe::default()).is_err(), "{name}");
        }
    }
}
