#![no_main]
//! Fuzz target: `gpaudit::fuzzing::record_cache`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::record_cache(data));
