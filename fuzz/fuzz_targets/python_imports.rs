#![no_main]
//! Fuzz target: `gpaudit::fuzzing::python_imports`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpaudit::fuzzing::python_imports(data));
