//! The gather phase: reads a site from disk into a [`Snapshot`], in parallel
//! across machines, envs, records and services. It only reads; it never writes
//! inside the site and never runs anything in it. Every file that cannot be
//! read or parsed becomes a [`ScanError`] and the scan goes on.

mod config_store;
mod env;
mod history;
pub mod imports;
mod machine;
pub mod modules;
pub(crate) mod pip;
mod records;
mod references;
mod service_code;
mod services;

pub use config_store::read_connection_string;
pub use env::scan_env;
pub use history::parse_history;
pub use pip::normalize_dist_name;

use crate::paths;
use crate::site::Site;
use crate::snapshot::{ScanError, SiteInfo, Snapshot, ToolInfo, KIND, SCHEMA};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest file gpaudit reads. Real conda-meta records reach a few MB
/// (their `files` lists); anything past this is not a file we understand.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why one file could not be used; becomes a [`ScanError`] with its path.
#[derive(Debug, Clone)]
pub struct ScanFailure {
    pub message: String,
}

impl ScanFailure {
    pub fn new(message: impl Into<String>) -> ScanFailure {
        ScanFailure {
            message: message.into(),
        }
    }

    pub fn io(e: &std::io::Error) -> ScanFailure {
        ScanFailure::new(format!("cannot read: {e}"))
    }
}

/// Read a file whole, refusing one over [`MAX_FILE_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, ScanFailure> {
    read_capped_with(path, MAX_FILE_BYTES)
}

pub(crate) fn read_capped_with(path: &Path, limit: u64) -> Result<Vec<u8>, ScanFailure> {
    let file = std::fs::File::open(path).map_err(|e| ScanFailure::io(&e))?;
    let len = file.metadata().map_err(|e| ScanFailure::io(&e))?.len();
    if len > limit {
        return Err(ScanFailure::new(format!(
            "file is too large ({len} bytes; gpaudit reads files up to {limit} bytes)"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ScanFailure::io(&e))?;
    if bytes.len() as u64 > limit {
        return Err(ScanFailure::new(
            "file grew past the size limit while being read",
        ));
    }
    Ok(bytes)
}

/// Read a text file: UTF-8 (BOM stripped), or UTF-16 with a BOM, which is
/// what Windows PowerShell 5's `conda list > file` writes. Invalid bytes are
/// replaced, never fatal.
pub fn read_capped_text(path: &Path) -> Result<String, ScanFailure> {
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

/// Scan a whole site into a snapshot.
pub fn scan_site(site: &Site) -> Snapshot {
    let mut errors = Vec::new();
    let config_store = locate_config_store(site, &mut errors);
    let services = match &config_store {
        Some(store) => services::scan_services(store, &mut errors),
        None => Vec::new(),
    };
    let machines: Vec<_> = site
        .machines
        .par_iter()
        .map(|m| machine::scan_machine(m, &services))
        .collect();
    let references = references::gather_references(site, &services, &mut errors);
    let service_code = service_code::gather_service_code(site, config_store.as_deref(), &services);
    let mut out_machines = Vec::with_capacity(machines.len());
    for (machine, machine_errors) in machines {
        out_machines.push(machine);
        errors.extend(machine_errors);
    }
    errors.sort();
    Snapshot {
        schema: SCHEMA,
        kind: KIND.into(),
        tool: ToolInfo::current(),
        site: SiteInfo {
            name: site.name.clone(),
            version: site.version.as_ref().map(ToString::to_string),
            config_store: config_store.as_deref().map(paths::display),
        },
        machines: out_machines,
        services,
        references,
        service_code,
        live: None,
        scan_errors: errors,
    }
}

/// The config store: from site.toml, else from the first machine's
/// `config-store-connection.xml`, mapped through its `path_map`.
pub fn locate_config_store(site: &Site, errors: &mut Vec<ScanError>) -> Option<PathBuf> {
    if let Some(store) = &site.config_store {
        return Some(store.clone());
    }
    let first = site.machines.first()?;
    let xml = first.install_dir.join(crate::site::CONFIG_STORE_CONNECTION);
    let fail = |message: String| ScanError {
        machine: Some(first.name.clone()),
        env: None,
        env_path: None,
        path: paths::display(&xml),
        message,
    };
    match read_connection_string(&xml) {
        Ok(conn) => match paths::resolve(&conn, &first.path_map, &site.dir) {
            Some(p) => Some(p),
            None => {
                errors.push(fail(format!(
                    "the config store `{conn}` is a Windows path no path_map entry of machine `{}` covers; services were not read (set config_store in the site file)",
                    first.name
                )));
                None
            }
        },
        Err(e) => {
            errors.push(fail(format!(
                "{}; services were not read (set config_store in the site file)",
                e.message
            )));
            None
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
