//! The script cache: what [`super::imports`] made of each GP service script
//! (its imports, or why it is not Python 3 or cannot be parsed), kept
//! between runs in the user's cache folder (never in a site) so that a
//! repeat audit does not parse an unchanged script again. One file per
//! config store, framed and written atomically as the record cache's are
//! ([`crate::cache`]); a script is used from it only when its path, size and
//! modification time and the gpaudit build match what was stored. A file
//! that does not check out is ignored (the scripts are parsed again).

use crate::cache::{build_id, modified, settled, write_atomically};
use crate::model::{Script, ScriptImport};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first bytes of every script cache file.
const MAGIC: &[u8; 16] = b"gpaudit-scripts\n";

/// Bumped whenever [`CacheFile`] or [`Entry`] change shape.
const FORMAT: u32 = 1;

/// Everything one config store's cache file holds.
#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    /// The gpaudit build that wrote it.
    build: String,
    /// The config store's folder, as displayed.
    store: String,
    entries: Vec<Entry>,
}

/// One script as cached: its key and what its content gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The script's path, as displayed.
    file: String,
    size: u64,
    /// Modification time, nanoseconds from the Unix epoch.
    modified: i128,
    imports: Vec<ScriptImport>,
    not_python3: Option<(usize, String)>,
    unreadable: Option<String>,
}

impl Entry {
    /// The cache entry of `script`, read from a file with `meta`, when the
    /// file is settled (not modified in the last moments).
    pub(crate) fn of(script: &Script, meta: &std::fs::Metadata) -> Option<Entry> {
        let time = modified(meta).filter(|t| settled(*t))?;
        Some(Entry {
            file: script.path.clone(),
            size: meta.len(),
            modified: time,
            imports: script.imports.clone(),
            not_python3: script.not_python3.clone(),
            unreadable: script.unreadable.clone(),
        })
    }

    fn script(&self) -> Script {
        Script {
            path: self.file.clone(),
            imports: self.imports.clone(),
            not_python3: self.not_python3.clone(),
            unreadable: self.unreadable.clone(),
        }
    }
}

/// The script cache of one config store during a scan; shared by the
/// threads that read the services' code.
#[derive(Debug)]
pub(crate) struct ScriptCache {
    path: PathBuf,
    store: String,
    entries: HashMap<String, Entry>,
    /// What to write back: every script seen this run that can be cached,
    /// and whether any of them was read afresh.
    kept: Mutex<(Vec<Entry>, bool)>,
}

impl ScriptCache {
    /// The cache of the config store at `store` when the caches are on.
    pub(crate) fn open(store: &Path) -> Option<ScriptCache> {
        let key = crate::paths::display(store);
        let path = crate::cache::file_for("scripts", &key)?;
        let entries = crate::cache::read(&path)
            .and_then(|bytes| decode(&bytes))
            .filter(|file| file.build == build_id() && file.store == key)
            .map(|file| {
                file.entries
                    .into_iter()
                    .map(|e| (e.file.clone(), e))
                    .collect()
            })
            .unwrap_or_default();
        Some(ScriptCache {
            path,
            store: key,
            entries,
            kept: Mutex::new((Vec::new(), false)),
        })
    }

    /// The script at `path` from the cache, when its size and time are the
    /// ones stored.
    pub(crate) fn get(&self, path: &Path) -> Option<Script> {
        let entry = self.entries.get(&crate::paths::display(path))?;
        let meta = std::fs::metadata(path).ok()?;
        if (meta.len(), modified(&meta)?) != (entry.size, entry.modified) {
            return None;
        }
        self.keep(entry.clone(), false);
        Some(entry.script())
    }

    /// Keep `entry`, read afresh, for the next run.
    pub(crate) fn put(&self, entry: Entry) {
        self.keep(entry, true);
    }

    fn keep(&self, entry: Entry, fresh: bool) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.0.push(entry);
            kept.1 |= fresh;
        }
    }

    /// Write the cache when this run changed what it holds (a script read
    /// afresh, or one gone). Failures are quiet.
    pub(crate) fn save(self) {
        let Ok((mut entries, fresh)) = self.kept.into_inner() else {
            return;
        };
        entries.sort_by(|a, b| a.file.cmp(&b.file));
        entries.dedup_by(|a, b| a.file == b.file);
        if !fresh && entries.len() == self.entries.len() {
            return;
        }
        let file = CacheFile {
            build: build_id(),
            store: self.store,
            entries,
        };
        let _ = write_atomically(&self.path, &encode(&file));
    }
}

fn encode(file: &CacheFile) -> Vec<u8> {
    crate::cache::encode(MAGIC, FORMAT, file)
}

/// A cache file's content, or `None` when it is not one this gpaudit
/// wrote whole.
fn decode(bytes: &[u8]) -> Option<CacheFile> {
    crate::cache::decode(MAGIC, FORMAT, bytes)
}

/// The cache reader on raw bytes, for the fuzz target: `bytes` as a cache
/// file, and as the payload of a valid frame (a fuzzer cannot forge the
/// checksum). Returns how many scripts the bytes held as a file, if they
/// decode.
pub(crate) fn decode_for_fuzzing(bytes: &[u8]) -> Option<usize> {
    let framed = crate::cache::frame(MAGIC, FORMAT, bytes);
    if let Some(file) = decode(&framed) {
        file.entries.iter().for_each(|e| drop(e.script()));
    }
    decode(bytes).map(|file| file.entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CacheFile {
        CacheFile {
            build: build_id(),
            store: "store".into(),
            entries: vec![Entry {
                file: "arcgisinput/s.GPServer/extracted/v101/tool.py".into(),
                size: 42,
                modified: 1_700_000_000_000_000_000,
                imports: vec![ScriptImport {
                    module: "arcpy.da".into(),
                    line: 3,
                    optional: false,
                    dynamic: true,
                }],
                not_python3: Some((7, "print x".into())),
                unreadable: None,
            }],
        }
    }

    #[test]
    fn a_script_cache_file_round_trips_exactly() {
        let bytes = encode(&sample());
        let file = decode(&bytes).expect("decodes");
        assert_eq!(file.entries, sample().entries);
        assert_eq!(encode(&file), bytes);
    }

    #[test]
    fn a_truncated_or_flipped_script_cache_file_is_ignored() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x20;
            assert!(decode(&flipped).is_none(), "byte {i} flipped");
        }
        // A record cache's frame is not a script cache's.
        let other = crate::cache::frame(
            b"gpaudit-records\n",
            FORMAT,
            &postcard::to_stdvec(&sample()).unwrap(),
        );
        assert!(decode(&other).is_none());
    }

    /// The fuzz target's seeds (fuzz/seeds/script_cache) are cache files
    /// this gpaudit reads; `GPAUDIT_BLESS=1` writes them again.
    #[test]
    fn script_cache_fuzz_seeds_decode() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/script_cache");
        let path = dir.join("1.bin");
        if std::env::var_os("GPAUDIT_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, encode(&sample())).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(decode_for_fuzzing(&bytes), Some(1));
    }
}
