#![no_main]
//! Fuzz target: `gpaudit::fuzzing::env_folder`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::env_folder(data));
