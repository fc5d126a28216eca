#![no_main]
//! Fuzz target: `gpaudit::fuzzing::pip_dist`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::pip_dist(data));
