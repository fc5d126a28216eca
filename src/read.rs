//! The one way gpaudit reads a file from a site or an input: size-capped,
//! text decoded the way Windows tools write it (UTF-8 with or without BOM,
//! UTF-16 with a BOM). Only regular files are opened: a FIFO, a device or a
//! socket in place of a file would block `open` or never end, so the type is
//! checked first and the open is non-blocking where the OS allows. It only
//! reads; the caller decides what a failure means.

use std::io::Read;
use std::path::Path;

/// The largest file gpaudit reads. Real conda-meta records reach a few MB
/// (their `files` lists); anything past this is not a file we understand.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why one file could not be used; becomes a scan error with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub message: String,
    /// The OS error behind it, if there is one.
    pub kind: Option<std::io::ErrorKind>,
}

impl FileProblem {
    pub fn new(message: impl Into<String>) -> FileProblem {
        FileProblem {
            message: message.into(),
            kind: None,
        }
    }

    pub fn io(e: &std::io::Error) -> FileProblem {
        FileProblem {
            message: format!("cannot read: {e}"),
            kind: Some(e.kind()),
        }
    }

    /// As an `io::Error`, for the callers whose errors carry one.
    pub fn to_io(&self) -> std::io::Error {
        let text = self
            .message
            .strip_prefix("cannot read: ")
            .unwrap_or(&self.message);
        std::io::Error::new(
            self.kind.unwrap_or(std::io::ErrorKind::Other),
            text.to_string(),
        )
    }
}

/// [`read_capped_text`] with an `io::Error`, for our own inputs (site
/// files, snapshots, plans, policies).
pub fn read_text_io(path: &Path) -> std::io::Result<String> {
    read_capped_text(path).map_err(|p| p.to_io())
}

/// Read a file whole, refusing one over [`MAX_FILE_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, FileProblem> {
    read_capped_with(path, MAX_FILE_BYTES)
}

/// Read a file whole, `Ok(None)` when it does not exist.
pub fn read_capped_if_exists(path: &Path) -> Result<Option<Vec<u8>>, FileProblem> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read_capped(path).map(Some),
    }
}

/// [`read_capped_if_exists`] for text.
pub fn read_capped_text_if_exists(path: &Path) -> Result<Option<String>, FileProblem> {
    Ok(read_capped_if_exists(path)?.map(|b| decode_text(&b)))
}

/// Why `file_type` is not something gpaudit reads, if it is not.
fn not_regular(file_type: std::fs::FileType) -> Option<FileProblem> {
    if file_type.is_file() {
        return None;
    }
    let what = if file_type.is_dir() {
        "a folder"
    } else {
        special_kind(file_type)
    };
    Some(FileProblem::new(format!(
        "not a regular file ({what}); not read"
    )))
}

#[cfg(unix)]
fn special_kind(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: std::fs::FileType) -> &'static str {
    "a special file"
}

/// Refuse `path` when it, or the folder it is in, is a symlink that leads
/// out of `root` (given canonical): a site's files must not make gpaudit
/// read elsewhere (`conda-meta/x.json -> /etc/shadow`).
pub fn check_within(path: &Path, root: &Path) -> Result<(), FileProblem> {
    check_listed_within(
        path,
        is_symlink(path),
        path.parent().is_some_and(is_symlink),
        root,
    )
}

/// Whether `path` itself is a symlink (not followed).
pub fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// [`check_within`] for an entry of a folder listed with `read_dir`, one
/// `lstat` cheaper per entry: `linked` is the type the listing gave the
/// entry (a symlink, or unknown), `folder_linked` the folder's, checked
/// once for all its entries.
pub fn check_listed_within(
    path: &Path,
    linked: bool,
    folder_linked: bool,
    root: &Path,
) -> Result<(), FileProblem> {
    if !linked && !folder_linked {
        return Ok(());
    }
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(root) => Ok(()),
        Ok(real) => Err(FileProblem::new(format!(
            "a symlink to {}, outside the env; not read",
            real.display()
        ))),
        Err(e) => Err(FileProblem::io(&e)),
    }
}

/// Open `path` for reading only if it is a regular file, without blocking
/// on a FIFO that was swapped in between the check and the open.
pub fn open_regular(path: &Path) -> Result<std::fs::File, FileProblem> {
    open_regular_meta(path).map(|(file, _)| file)
}

/// [`open_regular`], with the metadata of the file opened.
fn open_regular_meta(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), FileProblem> {
    let meta = std::fs::metadata(path).map_err(|e| FileProblem::io(&e))?;
    if let Some(problem) = not_regular(meta.file_type()) {
        return Err(problem);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Ignored by regular files; makes `open` of a FIFO return at once.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| FileProblem::io(&e))?;
    let meta = file.metadata().map_err(|e| FileProblem::io(&e))?;
    if let Some(problem) = not_regular(meta.file_type()) {
        return Err(problem);
    }
    Ok((file, meta))
}

pub(crate) fn read_capped_with(path: &Path, limit: u64) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::new();
    read_capped_into_with(path, limit, &mut bytes)?;
    Ok(bytes)
}

/// [`read_capped_with`], with the metadata of the file as it was opened:
/// what a cache keys on.
pub fn read_capped_meta_with(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), FileProblem> {
    let mut bytes = Vec::new();
    let meta = read_capped_into_with(path, limit, &mut bytes)?;
    Ok((bytes, meta))
}

/// [`read_capped`] into a buffer the caller reuses (its old content is
/// dropped), giving the metadata of the file as it was opened: what a
/// cache keys on.
pub fn read_capped_into(
    path: &Path,
    bytes: &mut Vec<u8>,
) -> Result<std::fs::Metadata, FileProblem> {
    read_capped_into_with(path, MAX_FILE_BYTES, bytes)
}

fn read_capped_into_with(
    path: &Path,
    limit: u64,
    bytes: &mut Vec<u8>,
) -> Result<std::fs::Metadata, FileProblem> {
    bytes.clear();
    let (file, meta) = open_regular_meta(path)?;
    let len = meta.len();
    if len > limit {
        return Err(FileProblem::new(format!(
            "file is too large ({len} bytes; gpaudit reads files up to {limit} bytes)"
        )));
    }
    bytes.reserve(usize::try_from(len).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(limit + 1)
        .read_to_end(bytes)
        .map_err(|e| FileProblem::io(&e))?;
    if bytes.len() as u64 > limit {
        return Err(FileProblem::new(
            "file grew past the size limit while being read",
        ));
    }
    Ok(meta)
}

/// Read a text file: UTF-8 (BOM stripped), or UTF-16 with a BOM, which is
/// what Windows PowerShell 5's `conda list > file` writes. Invalid bytes are
/// replaced, never fatal.
pub fn read_capped_text(path: &Path) -> Result<String, FileProblem> {
    Ok(decode_text(&read_capped(path)?))
}

pub(crate) fn decode_text(bytes: &[u8]) -> String {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        let units = rest.chunks_exact(2).map(|c| from([c[0], c[1]]));
        let mut text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if rest.len() % 2 == 1 {
            text.push(char::REPLACEMENT_CHARACTER);
        }
        text
    };
    match bytes {
        [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => {
            let text = String::from_utf8_lossy(bytes);
            text.strip_prefix('\u{feff}').unwrap_or(&text).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; 100]).unwrap();
        let err = read_capped_with(&p, 10).unwrap_err();
        assert!(err.message.contains("too large"), "{}", err.message);
        assert!(read_capped_with(&p, 100).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn regression_fifo_in_place_of_a_file_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pinned");
        let status = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(status.success());
        // Before the fix this blocked forever in `open`.
        let (tx, rx) = std::sync::mpsc::channel();
        let q = p.clone();
        std::thread::spawn(move || tx.send(read_capped_text(&q)).unwrap());
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("reading a FIFO must not block");
        let err = result.unwrap_err();
        assert!(err.message.contains("FIFO"), "{}", err.message);
        assert!(read_capped(dir.path())
            .unwrap_err()
            .message
            .contains("folder"));
        assert!(read_capped(Path::new("/dev/zero")).is_err());
        assert_eq!(
            read_capped_if_exists(&dir.path().join("none")).unwrap(),
            None
        );
    }

    #[test]
    fn text_reads_strip_bom_and_survive_bad_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, b"\xef\xbb\xbfnumpy 1.20.*\n\xff\n").unwrap();
        let text = read_capped_text(&p).unwrap();
        assert!(text.starts_with("numpy"));
    }

    #[test]
    fn utf16_text_with_a_bom_is_decoded() {
        let mut le = vec![0xff, 0xfe];
        le.extend(
            "numpy=1.20.1=py39_0\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert_eq!(decode_text(&le), "numpy=1.20.1=py39_0\r\n");
        let mut be = vec![0xfe, 0xff];
        be.extend("arcpy".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_text(&be), "arcpy");
        // An odd trailing byte does not panic.
        assert_eq!(decode_text(&[0xff, 0xfe, b'a', 0, b'b']), "a\u{fffd}");
    }
}
