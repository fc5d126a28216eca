#![no_main]
//! Fuzz target: `gpaudit::fuzzing::reference`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::reference(data));
