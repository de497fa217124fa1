#![no_main]
//! Fuzzes the `ocsf` decoder: arbitrary bytes read as ocsf.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("ocsf"), data));
