#![no_main]
//! Fuzz target: `gpaudit::fuzzing::site_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::site_toml(data));
