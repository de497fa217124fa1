#![no_main]
//! Fuzzes the `csv` decoder: arbitrary bytes read as csv.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("csv"), data));
