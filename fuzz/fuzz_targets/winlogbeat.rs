#![no_main]
//! Fuzzes the `winlogbeat` decoder: arbitrary bytes read as winlogbeat.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("winlogbeat"), data));
