#![no_main]
//! Fuzzes the `evtx` decoder: arbitrary bytes read as evtx.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("evtx"), data));
