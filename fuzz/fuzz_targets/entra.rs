#![no_main]
//! Fuzzes the `entra` decoder: arbitrary bytes read as entra.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("entra"), data));
