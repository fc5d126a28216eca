#![no_main]
//! Fuzz target: `gpaudit::fuzzing::snapshot_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::snapshot_json(data));
