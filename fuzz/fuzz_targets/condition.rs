#![no_main]
//! Fuzzes the condition parser: arbitrary text as the condition of an otherwise valid rule.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let condition = String::from_utf8_lossy(data);
    // A YAML block scalar keeps the condition text as it is, whatever characters it holds.
    let indented: String = condition.lines().map(|l| format!("    {l}\n")).collect();
    let rule = format!(
        "title: Fuzz\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  selection: {{Image|endswith: '\\\\cmd.exe'}}\n  filter: {{CommandLine|contains: whoami}}\n  keywords: [evil]\n  condition: |-\n{indented}"
    );
    vigil_fuzz::load_rules(&rule);
});
