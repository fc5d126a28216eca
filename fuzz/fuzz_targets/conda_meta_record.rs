#![no_main]
//! Fuzz target: `gpaudit::fuzzing::conda_meta_record`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::conda_meta_record(data));
