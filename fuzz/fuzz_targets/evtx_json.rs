#![no_main]
//! Fuzzes the `evtx_json` decoder: arbitrary bytes read as evtx_json.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::read_as(Some("evtx_json"), data));
