#![no_main]
//! Fuzzes format recognition plus whichever decoder it picks, gzip included.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(None, data));
