//! The cache folder and the file frame shared by gpaudit's caches (the
//! record cache in `prefix::cache`, the script cache in `scan::script_cache`):
//! where the folder is, the build a cache file belongs to, a frame that says
//! the file is whole, and the atomic write. Everything here only ever saves
//! time: a file that does not check out is ignored, a folder that cannot be
//! written is skipped quietly.

use rattler_digest::digest::Digest;
use rattler_digest::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The environment variable that moves the cache (tests, the benchmark).
pub const DIR_VARIABLE: &str = "GPAUDIT_CACHE_DIR";

/// Magic (16 bytes), format, payload length, SHA-256 of the payload.
const HEADER_LEN: usize = 16 + 4 + 8 + 32;

/// The largest cache file read back.
const MAX_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// A file modified this recently is not cached: a change within the file
/// system's timestamp resolution could keep its size and time.
const SETTLE: Duration = Duration::from_secs(2);

/// The folder the caches live in, once the binary has turned them on.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where the caches live unless told otherwise: `$GPAUDIT_CACHE_DIR`, else
/// `gpaudit` in the user's cache folder (`~/.cache`, `%LOCALAPPDATA%`).
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os(DIR_VARIABLE) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|d| d.join("gpaudit")),
    }
}

/// Turn the caches on for this process, in `dir`. Off until called: the
/// library alone never writes to the user's folders.
pub fn enable(dir: PathBuf) {
    let _ = DIR.set(dir);
}

/// The cache file `{kind}-{sha256(key)[..16]}.bin`, when the caches are on.
pub(crate) fn file_for(kind: &str, key: &str) -> Option<PathBuf> {
    let dir = DIR.get()?;
    let name = hex(&Sha256::digest(key.as_bytes())[..16]);
    Some(dir.join(format!("{kind}-{name}.bin")))
}

/// The gpaudit that is running: its version, and the size and time of its
/// executable, so a rebuilt gpaudit (a fix to how files are read) never
/// trusts what an older one cached.
pub(crate) fn build_id() -> String {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .ok()
            .map(|m| format!("{}:{}", m.len(), modified(&m).unwrap_or(0)))
            .unwrap_or_default();
        format!("{} {exe}", env!("CARGO_PKG_VERSION"))
    })
    .clone()
}

/// Modification time, nanoseconds from the Unix epoch.
pub(crate) fn modified(meta: &std::fs::Metadata) -> Option<i128> {
    modified_at(meta.modified().ok()?)
}

fn modified_at(time: SystemTime) -> Option<i128> {
    Some(match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).ok()?,
        Err(before) => -i128::try_from(before.duration().as_nanos()).ok()?,
    })
}

/// Whether a file modified at `time` (see [`modified`]) is old enough to
/// cache.
pub(crate) fn settled(time: i128) -> bool {
    SystemTime::now()
        .checked_sub(SETTLE)
        .and_then(modified_at)
        .is_some_and(|s| time <= s)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `payload` behind the header that says it is whole.
pub(crate) fn frame(magic: &[u8; 16], format: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a file framed with `magic` and `format`, or `None` when
/// the bytes are not such a file, whole.
pub(crate) fn unframe<'b>(magic: &[u8; 16], format: u32, bytes: &'b [u8]) -> Option<&'b [u8]> {
    let (header, payload) = bytes.split_at_checked(HEADER_LEN)?;
    let (got_magic, rest) = header.split_at(16);
    let (got_format, rest) = rest.split_at(4);
    let (len, sum) = rest.split_at(8);
    if got_magic != magic || got_format != format.to_le_bytes() {
        return None;
    }
    if u64::from_le_bytes(len.try_into().ok()?) != payload.len() as u64 {
        return None;
    }
    (Sha256::digest(payload).as_slice() == sum).then_some(payload)
}

/// `value` in postcard behind the frame.
pub(crate) fn encode(magic: &[u8; 16], format: u32, value: &impl serde::Serialize) -> Vec<u8> {
    frame(
        magic,
        format,
        &postcard::to_stdvec(value).unwrap_or_default(),
    )
}

/// What a file written by [`encode`] with `magic` and `format` holds, or
/// `None` when it is not such a file, whole.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    magic: &[u8; 16],
    format: u32,
    bytes: &[u8],
) -> Option<T> {
    let payload = unframe(magic, format, bytes)?;
    let (value, rest) = postcard::take_from_bytes::<T>(payload).ok()?;
    rest.is_empty().then_some(value)
}

/// A cache file's bytes, if it exists and is not absurdly large.
pub(crate) fn read(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_CACHE_BYTES {
        return None;
    }
    std::fs::read(path)
        .ok()
        .filter(|bytes| bytes.len() as u64 <= MAX_CACHE_BYTES)
}

/// Write `bytes` to `path` whole or not at all: a temp file in the same
/// folder renamed over it, so two runs at once never leave a torn file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 16] = b"gpaudit-testing\n";

    #[test]
    fn a_frame_round_trips_and_refuses_every_cut_and_flip() {
        let bytes = frame(MAGIC, 3, b"payload");
        assert_eq!(unframe(MAGIC, 3, &bytes), Some(&b"payload"[..]));
        assert_eq!(unframe(MAGIC, 4, &bytes), None);
        assert_eq!(unframe(b"gpaudit-records\n", 3, &bytes), None);
        for cut in 0..bytes.len() {
            assert!(unframe(MAGIC, 3, &bytes[..cut]).is_none(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x20;
            assert!(unframe(MAGIC, 3, &flipped).is_none(), "byte {i} flipped");
        }
    }

    #[test]
    fn a_cache_that_cannot_be_written_is_skipped_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a folder").unwrap();
        assert!(write_atomically(&blocker.join("sub/records.bin"), b"x").is_err());
    }
}
