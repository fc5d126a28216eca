#![no_main]
//! Fuzz target: `gpaudit::fuzzing::pth_files`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::pth_files(data));
