#![no_main]
//! Fuzz target: `gpaudit::fuzzing::migration_plan`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::migration_plan(data));
