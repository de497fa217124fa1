#![no_main]
//! Fuzzes the `nxlog` decoder: arbitrary bytes read as nxlog.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("nxlog"), data));
