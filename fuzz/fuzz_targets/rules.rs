#![no_main]
//! Fuzzes the rule loader: arbitrary bytes as a (multi-document) Sigma rule file.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::load_rules(&String::from_utf8_lossy(data)));
