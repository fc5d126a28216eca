#![no_main]
//! Fuzz target: `gpaudit::fuzzing::service_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::service_json(data));
