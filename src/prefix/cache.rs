//! The record cache: what [`super::records`] made of each conda-meta record,
//! kept between runs in the user's cache folder (never in a site) so that a
//! repeat audit does not parse an unchanged record again. One file per env,
//! written whole and atomically (a temp file renamed over the old one), so
//! two runs at once never leave a torn file: the last one wins. A record is
//! used from the cache only when its path, size and modification time, the
//! env's ownership probe and the gpaudit build all match what was stored.
//!
//! Reading the cache is reading outside input: a file that is missing,
//! truncated, corrupt, from another gpaudit or for another env is ignored
//! (the records are parsed again), never a panic or a wrong answer. The
//! frame is `MAGIC`, the format number, the payload's length and its
//! SHA-256, then the payload (postcard). A cache that cannot be written (a
//! read-only folder) is skipped quietly: it only ever saves time.

use super::records::{self, OwnershipProbe, RecordParts, RecordScan};
use crate::cache::{build_id, modified, settled, write_atomically};
use crate::read::FileProblem;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The first bytes of every record cache file.
const MAGIC: &[u8; 16] = b"gpaudit-records\n";

/// Bumped whenever [`CacheFile`] or [`RecordParts`] change shape.
const FORMAT: u32 = 1;

/// Everything one env's cache file holds.
#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    /// The gpaudit build that wrote it (kept first: see [`build_id`]).
    build: String,
    /// The env's folder, as displayed.
    env: String,
    /// [`OwnershipProbe::fingerprint`] of the probe the records were read with.
    probe: [u8; 32],
    entries: Vec<Entry>,
}

/// One record as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The record file's path, as displayed.
    file: String,
    size: u64,
    /// Modification time, nanoseconds from the Unix epoch.
    modified: i128,
    parts: RecordParts,
}

/// The cache of one env during a scan.
#[derive(Debug)]
pub(crate) struct EnvCache {
    path: PathBuf,
    env: String,
    probe: [u8; 32],
    entries: HashMap<String, Entry>,
    /// How many entries the file held.
    loaded: usize,
}

/// Where a record's scan came from.
#[derive(Debug)]
pub(crate) enum Source {
    /// The cache, unchanged. Its lists were moved into the scan (a repeat
    /// run copies nothing); a save writes them from there.
    Cached(Box<Entry>),
    /// The file, with what to cache for next time (lists in the scan).
    Read(Option<Box<Entry>>),
}

impl EnvCache {
    /// The cache of the env at `root` (its canonical folder) when the cache
    /// is on; empty when its file is missing or unusable.
    pub(crate) fn open(root: &Path, probe: &OwnershipProbe) -> Option<EnvCache> {
        let env = crate::paths::display(root);
        let path = crate::cache::file_for("records", &env)?;
        let probe = probe.fingerprint();
        let entries: HashMap<String, Entry> = crate::cache::read(&path)
            .and_then(|bytes| decode(&bytes))
            .filter(|file| file.build == build_id() && file.env == env && file.probe == probe)
            .map(|file| {
                file.entries
                    .into_iter()
                    .map(|e| (e.file.clone(), e))
                    .collect()
            })
            .unwrap_or_default();
        Some(EnvCache {
            path,
            env,
            probe,
            loaded: entries.len(),
            entries,
        })
    }

    /// The cached entry of the record at `file`, if any, taken out.
    pub(crate) fn take(&mut self, file: &Path) -> Option<Entry> {
        self.entries.remove(&crate::paths::display(file))
    }

    /// The record at `file`: from `cached` when its size and time are the
    /// ones stored, else read (and kept for the cache).
    pub(crate) fn read(
        file: &Path,
        cached: Option<Entry>,
        probe: &OwnershipProbe,
    ) -> (Result<RecordScan, FileProblem>, Source) {
        if let Some(mut entry) = cached {
            let same = std::fs::metadata(file)
                .ok()
                .and_then(|m| Some((m.len(), modified(&m)?)))
                == Some((entry.size, entry.modified));
            if same {
                if let Ok(scan) = records::finish(file, &mut entry.parts) {
                    return (Ok(scan), Source::Cached(Box::new(entry)));
                }
            }
        }
        match records::read_record_parts(file, probe, true) {
            Ok((scan, meta, parts)) => {
                let entry = parts.zip(modified(&meta)).and_then(|(parts, time)| {
                    settled(time).then(|| {
                        Box::new(Entry {
                            file: crate::paths::display(file),
                            size: meta.len(),
                            modified: time,
                            parts,
                        })
                    })
                });
                (Ok(scan), Source::Read(entry))
            }
            Err(e) => (Err(e), Source::Read(None)),
        }
    }

    /// Whether a scan that got `sources` changes what the file holds (a
    /// record read afresh, or one gone).
    pub(crate) fn changed<'s>(&self, sources: impl Iterator<Item = &'s Source>) -> bool {
        let mut cached = 0;
        for source in sources {
            match source {
                Source::Cached(_) => cached += 1,
                Source::Read(_) => return true,
            }
        }
        cached != self.loaded
    }

    /// Write the cache: each kept entry's key and fields, with the lists
    /// from its scan (written from where they are, not copied). Failures
    /// are quiet.
    pub(crate) fn save(self, kept: &[(Box<Entry>, &RecordScan)]) {
        let file = CacheFileOut {
            build: build_id(),
            env: &self.env,
            probe: self.probe,
            entries: kept
                .iter()
                .map(|(entry, scan)| EntryOut {
                    file: &entry.file,
                    size: entry.size,
                    modified: entry.modified,
                    parts: PartsOut {
                        fields_json: &entry.parts.fields_json,
                        modules: &scan.package.modules,
                        dists: &scan.package.dists,
                        extensions: &scan.extensions,
                        owned_dist_infos: &scan.owned_dist_infos,
                        owned_watched: &scan.owned_watched,
                    },
                })
                .collect(),
        };
        let _ = write_atomically(&self.path, &encode(&file));
    }
}

impl Source {
    /// The entry to write for this record, if it is cached.
    pub(crate) fn into_entry(self) -> Option<Box<Entry>> {
        match self {
            Source::Cached(entry) | Source::Read(Some(entry)) => Some(entry),
            Source::Read(None) => None,
        }
    }
}

/// [`CacheFile`] as written, borrowing what it holds: the same fields in
/// the same order, so postcard writes the same bytes (a test holds that).
#[derive(Serialize)]
struct CacheFileOut<'a> {
    build: String,
    env: &'a str,
    probe: [u8; 32],
    entries: Vec<EntryOut<'a>>,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    file: &'a str,
    size: u64,
    modified: i128,
    parts: PartsOut<'a>,
}

#[derive(Serialize)]
struct PartsOut<'a> {
    fields_json: &'a str,
    modules: &'a [String],
    dists: &'a [String],
    extensions: &'a [(String, (u32, u32))],
    owned_dist_infos: &'a [String],
    owned_watched: &'a [(String, String)],
}

fn encode(file: &impl Serialize) -> Vec<u8> {
    crate::cache::encode(MAGIC, FORMAT, file)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    crate::cache::frame(MAGIC, FORMAT, payload)
}

/// A cache file's content, or `None` when it is not one this gpaudit
/// wrote whole.
fn decode(bytes: &[u8]) -> Option<CacheFile> {
    crate::cache::decode(MAGIC, FORMAT, bytes)
}

/// The cache reader on raw bytes, for the fuzz target: `bytes` as a cache
/// file, and as the payload of a valid frame (a fuzzer cannot forge the
/// checksum), each record then finished as a cached one is. Returns how
/// many records the bytes held as a file, if they decode.
#[doc(hidden)]
pub fn decode_for_fuzzing(bytes: &[u8]) -> Option<usize> {
    if let Some(file) = decode(&frame(bytes)) {
        finish_all(file);
    }
    let file = decode(bytes)?;
    Some(finish_all(file))
}

fn finish_all(file: CacheFile) -> usize {
    let count = file.entries.len();
    for mut entry in file.entries {
        let _ = records::finish(Path::new(&entry.file), &mut entry.parts);
    }
    count
}

/// A valid cache file holding `records` (path, record JSON), for the fuzz
/// seeds and the tests.
#[doc(hidden)]
pub fn encode_for_fuzzing(records: &[(&str, &str)]) -> Vec<u8> {
    encode(&CacheFile {
        build: build_id(),
        env: "env".into(),
        probe: [0; 32],
        entries: records
            .iter()
            .map(|(file, json)| Entry {
                file: (*file).into(),
                size: json.len() as u64,
                modified: 0,
                parts: RecordParts {
                    fields_json: (*json).into(),
                    modules: vec!["pkg".into()],
                    dists: vec![],
                    extensions: vec![("ext".into(), (3, 9))],
                    owned_dist_infos: vec![],
                    owned_watched: vec![],
                },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str =
        r#"{"name":"pkg","version":"1.0","build":"0","build_number":0,"depends":["python >=3.9"]}"#;

    #[test]
    fn a_cache_file_round_trips_exactly() {
        let bytes = encode_for_fuzzing(&[("conda-meta/pkg-1.0-0.json", RECORD)]);
        let file = decode(&bytes).expect("decodes");
        assert_eq!(file.build, build_id());
        assert_eq!(file.entries.len(), 1);
        assert_eq!(file.entries[0].parts.fields_json, RECORD);
        assert_eq!(encode(&file), bytes);
        assert_eq!(decode_for_fuzzing(&bytes), Some(1));
    }

    #[test]
    fn the_borrowed_writer_writes_what_the_reader_reads() {
        let bytes = encode_for_fuzzing(&[("conda-meta/pkg-1.0-0.json", RECORD)]);
        let file = decode(&bytes).expect("decodes");
        let parts = &file.entries[0].parts;
        let out = CacheFileOut {
            build: file.build.clone(),
            env: &file.env,
            probe: file.probe,
            entries: vec![EntryOut {
                file: &file.entries[0].file,
                size: file.entries[0].size,
                modified: file.entries[0].modified,
                parts: PartsOut {
                    fields_json: &parts.fields_json,
                    modules: &parts.modules,
                    dists: &parts.dists,
                    extensions: &parts.extensions,
                    owned_dist_infos: &parts.owned_dist_infos,
                    owned_watched: &parts.owned_watched,
                },
            }],
        };
        assert_eq!(encode(&out), bytes);
    }

    #[test]
    fn a_truncated_or_flipped_cache_file_is_ignored() {
        let bytes = encode_for_fuzzing(&[("conda-meta/pkg-1.0-0.json", RECORD)]);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x20;
            assert!(decode(&flipped).is_none(), "byte {i} flipped");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        assert!(decode(b"").is_none());
    }

    /// The fuzz target's seeds (fuzz/seeds/record_cache) are cache files
    /// this gpaudit reads; `GPAUDIT_BLESS=1` writes them again.
    #[test]
    fn record_cache_fuzz_seeds_decode() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/record_cache");
        let seeds: [&[(&str, &str)]; 3] = [
            &[],
            &[("conda-meta/pkg-1.0-0.json", RECORD)],
            &[
                ("env/conda-meta/pkg-1.0-0.json", RECORD),
                (
                    "env/conda-meta/b-2-1.json",
                    r#"{"name":"b","version":"2","build":"1","constrains":["pkg <2"],"channel":"defaults"}"#,
                ),
            ],
        ];
        for (i, records) in seeds.iter().enumerate() {
            let path = dir.join(format!("{}.bin", i + 1));
            if std::env::var_os("GPAUDIT_BLESS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, encode_for_fuzzing(records)).unwrap();
            }
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                decode_for_fuzzing(&bytes),
                Some(records.len()),
                "{}",
                path.display()
            );
        }
    }
}
