#![no_main]
//! Fuzzes the `syslog` decoder: arbitrary bytes read as syslog.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("syslog"), data));
