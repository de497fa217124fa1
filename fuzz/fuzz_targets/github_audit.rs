#![no_main]
//! Fuzzes the `github_audit` decoder: arbitrary bytes read as github_audit.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("github_audit"), data));
