#![no_main]
//! Fuzz target: `gpaudit::fuzzing::gpaudit_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::gpaudit_toml(data));
