#![no_main]
//! Fuzz target: `gpaudit::fuzzing::apply_journal`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::apply_journal(data));
