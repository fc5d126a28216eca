//! The one way gpaudit reads a file from a site or an input: size-capped,
//! text decoded the way Windows tools write it (UTF-8 with or without BOM,
//! UTF-16 with a BOM). It only reads; the caller decides what a failure means.

use std::io::Read;
use std::path::Path;

/// The largest file gpaudit reads. Real conda-meta records reach a few MB
/// (their `files` lists); anything past this is not a file we understand.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why one file could not be used; becomes a scan error with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub message: String,
}

impl FileProblem {
    pub fn new(message: impl Into<String>) -> FileProblem {
        FileProblem {
            message: message.into(),
        }
    }

    pub fn io(e: &std::io::Error) -> FileProblem {
        FileProblem::new(format!("cannot read: {e}"))
    }
}

/// Read a file whole, refusing one over [`MAX_FILE_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, FileProblem> {
    read_capped_with(path, MAX_FILE_BYTES)
}

pub(crate) fn read_capped_with(path: &Path, limit: u64) -> Result<Vec<u8>, FileProblem> {
    let file = std::fs::File::open(path).map_err(|e| FileProblem::io(&e))?;
    let len = file.metadata().map_err(|e| FileProblem::io(&e))?.len();
    if len > limit {
        return Err(FileProblem::new(format!(
            "file is too large ({len} bytes; gpaudit reads files up to {limit} bytes)"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileProblem::io(&e))?;
    if bytes.len() as u64 > limit {
        return Err(FileProblem::new(
            "file grew past the size limit while being read",
        ));
    }
    Ok(bytes)
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
