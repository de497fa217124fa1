#![no_main]
//! Fuzzes the `gcp_audit` decoder: arbitrary bytes read as gcp_audit.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("gcp_audit"), data));
