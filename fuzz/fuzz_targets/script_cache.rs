#![no_main]
//! Fuzz target: `gpaudit::fuzzing::script_cache`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::script_cache(data));
