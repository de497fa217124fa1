#![no_main]
//! Fuzzes the `azure_activity` decoder: arbitrary bytes read as azure_activity.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("azure_activity"), data));
