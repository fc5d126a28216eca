#![no_main]
//! Fuzz target: `gpaudit::fuzzing::pep508_requirement`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::pep508_requirement(data));
