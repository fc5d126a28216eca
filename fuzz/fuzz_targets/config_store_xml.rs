#![no_main]
//! Fuzz target: `gpaudit::fuzzing::config_store_xml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::config_store_xml(data));
