#![no_main]
//! Fuzzes the `cloudtrail` decoder: arbitrary bytes read as cloudtrail.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("cloudtrail"), data));
