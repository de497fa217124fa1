#![no_main]
//! Fuzzes the `okta` decoder: arbitrary bytes read as okta.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("okta"), data));
