#![no_main]
//! Fuzzes the `auditd` decoder: arbitrary bytes read as auditd.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("auditd"), data));
