#![no_main]
//! Fuzzes the `sentinel` decoder: arbitrary bytes read as sentinel.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("sentinel"), data));
