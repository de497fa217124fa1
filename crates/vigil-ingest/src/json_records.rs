//! Splits a JSON stream into records without holding more than one record in memory: JSON
//! lines, pretty-printed objects one after another, a top-level array, or CloudTrail's
//! `{"Records": [...]}`. Records over the size or depth limit are skipped and reported.

use std::io::BufRead;

use serde_json::Value;
use vigil_model::Locator;

use crate::error::Reject;

/// Records larger than this are rejected (and skipped without being buffered).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// JSON nested deeper than this is rejected.
pub const MAX_DEPTH: usize = 64;

/// One record's bytes, with where it started.
#[derive(Debug)]
pub struct JsonRecord {
    pub locator: Locator,
    pub text: String,
    pub value: Value,
    /// Whether `value` lacks fields the reader was asked to leave unparsed
    /// ([`JsonRecords::without`]); `text` still holds them.
    pub partial: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// One value per line.
    Lines,
    /// Values one after another, each possibly spanning lines.
    Concatenated,
    /// Elements of an array whose elements start at this nesting depth.
    Array { depth: usize },
}

/// Chooses the layout from the first bytes of the stream.
fn layout(head: &[u8]) -> Option<Layout> {
    let start = skip_ws(head, 0);
    match head.get(start)? {
        b'[' => Some(Layout::Array { depth: 1 }),
        b'{' => {
            let i = skip_ws(head, start + 1);
            let key = b"\"Records\"";
            if head[i..].starts_with(key) {
                let j = skip_ws(head, i + key.len());
                if head.get(j) == Some(&b':') && head.get(skip_ws(head, j + 1)) == Some(&b'[') {
                    return Some(Layout::Array { depth: 2 });
                }
            }
            // JSON lines when the first line is a complete value on its own.
            let line_end = head[start..].iter().position(|&b| b == b'\n').map(|p| start + p);
            match line_end {
                Some(end) if serde_json::from_slice::<serde::de::IgnoredAny>(&head[start..end]).is_ok() => {
                    Some(Layout::Lines)
                }
                None if head.len() < crate::input::HEAD_BYTES => Some(Layout::Lines),
                _ => Some(Layout::Concatenated),
            }
        }
        _ => None,
    }
}

/// Whether the head of a stream looks like JSON this splitter can read.
pub fn looks_like_json(head: &[u8]) -> bool {
    layout(head).is_some()
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    // A UTF-8 byte-order mark counts as white space here.
    if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) {
        i += 3;
    }
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The deepest nesting in a JSON text, ignoring brackets inside strings.
pub fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Most of a record is strings: jump through them to the closing quote.
                i += 1;
                loop {
                    let Some(at) = bytes.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) else {
                        return max;
                    };
                    i += at;
                    if bytes[i] == b'"' {
                        break;
                    }
                    i += 2;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// A record parsed: its text, its value, and whether fields were left out of the value.
type Parsed = (String, Value, bool);

/// Parses one record's bytes, enforcing the depth limit and UTF-8, leaving the values of the
/// top-level fields named in `without` unparsed (their text is scanned, not decoded or kept).
/// The bytes become the record's text without a copy; on failure they are handed back for the
/// excerpt.
pub fn parse_record(bytes: Vec<u8>, without: &[&str]) -> Result<Parsed, (Reject, Vec<u8>)> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err((Reject::TooLarge { limit: MAX_RECORD_BYTES }, bytes));
    }
    if depth(&bytes) > MAX_DEPTH {
        return Err((Reject::TooDeep { limit: MAX_DEPTH }, bytes));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Err((Reject::Utf8 { at: e.utf8_error().valid_up_to() }, e.into_bytes())),
    };
    let parsed = if without.is_empty() || !text.starts_with('{') {
        serde_json::from_str(&text).map(|value| (value, false))
    } else {
        parse_without(&text, without)
    };
    match parsed {
        Ok((value, partial)) => Ok((text, value, partial)),
        Err(e) => Err((Reject::Json(e), text.into_bytes())),
    }
}

/// A JSON object parsed as `serde_json` parses it, but for the values of `without`'s keys,
/// which are skipped; also says whether any was.
fn parse_without(text: &str, without: &[&str]) -> serde_json::Result<(Value, bool)> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Without<'k> {
        keys: &'k [&'k str],
    }
    impl<'de> Visitor<'de> for Without<'_> {
        type Value = (Value, bool);
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut out, mut skipped) = (serde_json::Map::new(), false);
            while let Some(key) = map.next_key::<String>()? {
                if self.keys.contains(&key.as_str()) {
                    map.next_value::<IgnoredAny>()?;
                    // A later duplicate of a kept key would replace it; of a skipped one, it
                    // is skipped too.
                    out.shift_remove(&key);
                    skipped = true;
                } else {
                    out.insert(key, map.next_value::<Value>()?);
                }
            }
            Ok((Value::Object(out), skipped))
        }
    }
    impl<'de> DeserializeSeed<'de> for Without<'_> {
        type Value = (Value, bool);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Without { keys: without }.deserialize(&mut de)?;
    de.end()?;
    Ok(parsed)
}

/// A record that failed, with where it stood and its first bytes.
#[derive(Debug)]
pub struct Failed {
    pub locator: Locator,
    pub reject: Reject,
    pub excerpt: Vec<u8>,
}

/// Iterator over the records of a JSON stream.
pub struct JsonRecords<R> {
    reader: R,
    layout: Option<Layout>,
    offset: u64,
    line: u64,
    index: u64,
    done: bool,
    /// Bytes to reserve for the next line (the last line's length).
    line_capacity: usize,
    /// Top-level fields left unparsed ([`JsonRecords::without`]).
    without: &'static [&'static str],
    /// Scanner state for the non-line layouts.
    depth: usize,
    in_str: bool,
    esc: bool,
    array_closed: bool,
}

impl<R: BufRead> JsonRecords<R> {
    /// `head` is the first bytes of the stream (as [`crate::input::open_stream`] returns them);
    /// `reader` yields the whole stream from its start.
    pub fn new(head: &[u8], reader: R) -> Self {
        JsonRecords {
            reader,
            layout: layout(head),
            offset: 0,
            line: 0,
            index: 0,
            done: false,
            line_capacity: 64,
            without: &[],
            depth: 0,
            in_str: false,
            esc: false,
            array_closed: false,
        }
    }

    /// Leaves the values of these top-level fields unparsed: each record's `value` lacks them
    /// (and says so in `partial`), its `text` keeps them. For readers that never look at them.
    pub fn without(mut self, keys: &'static [&'static str]) -> Self {
        self.without = keys;
        self
    }

    fn next_line(&mut self) -> Option<Result<JsonRecord, Failed>> {
        loop {
            let start = self.offset;
            self.line += 1;
            // Sized like the line before it: a record's line is then read without regrowing.
            let mut buf = Vec::with_capacity(self.line_capacity);
            let (read, overflow) = match read_line_limited(&mut self.reader, &mut buf, MAX_RECORD_BYTES) {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Failed {
                        locator: Locator::Offset(start),
                        reject: read_reject(e),
                        excerpt: buf,
                    }));
                }
            };
            if read == 0 {
                self.done = true;
                return None;
            }
            self.offset += read as u64;
            self.line_capacity = read.clamp(64, 64 * 1024);
            let locator = Locator::Line { line: self.line, offset: start };
            if overflow {
                return Some(Err(Failed {
                    locator,
                    reject: Reject::TooLarge { limit: MAX_RECORD_BYTES },
                    excerpt: buf,
                }));
            }
            let trimmed = trim_owned(buf);
            if trimmed.is_empty() {
                continue;
            }
            return Some(match parse_record(trimmed, self.without) {
                Ok((text, value, partial)) => Ok(JsonRecord { locator, text, value, partial }),
                Err((reject, excerpt)) => Err(Failed { locator, reject, excerpt }),
            });
        }
    }

    /// Scans to the end of the next value at the record depth.
    fn next_scanned(&mut self, record_depth: usize) -> Option<Result<JsonRecord, Failed>> {
        let mut record: Vec<u8> = Vec::new();
        let mut start: Option<u64> = None;
        let mut too_large = false;
        let mut too_deep = false;
        // A scalar record (a string or number directly in the array) ends at a delimiter.
        let mut scalar = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) => {
                    self.done = true;
                    let locator = Locator::Offset(start.unwrap_or(self.offset));
                    return Some(Err(Failed { locator, reject: read_reject(e), excerpt: record }));
                }
            };
            if buf.is_empty() {
                self.done = true;
                return start.map(|s| {
                    if scalar && !self.in_str {
                        self.finish_record(s, record, too_large, too_deep)
                    } else {
                        Err(Failed {
                            locator: Locator::Offset(s),
                            reject: Reject::Truncated,
                            excerpt: record,
                        })
                    }
                });
            }
            let mut consumed = 0;
            let mut finished = false;
            for &b in buf {
                consumed += 1;
                let pos = self.offset + consumed as u64 - 1;
                if self.in_str {
                    match (self.esc, b) {
                        (true, _) => self.esc = false,
                        (false, b'\\') => self.esc = true,
                        (false, b'"') => {
                            self.in_str = false;
                            if scalar && self.depth == record_depth {
                                push(&mut record, b, &mut too_large);
                                finished = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                    if start.is_some() {
                        push(&mut record, b, &mut too_large);
                    }
                    continue;
                }
                let at_record_level = self.depth == record_depth;
                match b {
                    b'{' | b'[' => {
                        if at_record_level && start.is_none() {
                            start = Some(pos);
                        }
                        self.depth += 1;
                        if self.depth - record_depth.min(self.depth) > MAX_DEPTH {
                            too_deep = true;
                        }
                    }
                    b'}' | b']' => {
                        if scalar && at_record_level {
                            finished = true;
                            consumed -= 1;
                            break;
                        }
                        if self.depth == 0 {
                            // Unbalanced close at top level: report and skip the byte.
                            continue;
                        }
                        self.depth -= 1;
                        if self.depth < record_depth {
                            self.array_closed = true;
                        }
                        if start.is_some() {
                            push(&mut record, b, &mut too_large);
                        }
                        if start.is_some() && self.depth == record_depth {
                            finished = true;
                            break;
                        }
                        continue;
                    }
                    b'"' => {
                        if at_record_level && start.is_none() {
                            start = Some(pos);
                            scalar = true;
                        }
                        self.in_str = true;
                    }
                    b',' | b' ' | b'\t' | b'\r' | b'\n' if at_record_level => {
                        if scalar && start.is_some() {
                            finished = true;
                            break;
                        }
                        if b == b'\n' {
                            self.line += 1;
                        }
                        continue;
                    }
                    _ => {
                        if at_record_level && start.is_none() {
                            if self.array_closed {
                                continue;
                            }
                            start = Some(pos);
                            scalar = true;
                        }
                    }
                }
                if start.is_some() {
                    push(&mut record, b, &mut too_large);
                }
            }
            self.reader.consume(consumed);
            self.offset += consumed as u64;
            if finished && let Some(s) = start {
                return Some(self.finish_record(s, record, too_large, too_deep));
            }
        }
    }

    fn finish_record(
        &mut self,
        start: u64,
        record: Vec<u8>,
        too_large: bool,
        too_deep: bool,
    ) -> Result<JsonRecord, Failed> {
        self.index += 1;
        let locator = match self.layout {
            Some(Layout::Array { .. }) => Locator::Record(self.index),
            _ => Locator::Offset(start),
        };
        let reject = if too_large {
            Some(Reject::TooLarge { limit: MAX_RECORD_BYTES })
        } else if too_deep {
            Some(Reject::TooDeep { limit: MAX_DEPTH })
        } else {
            None
        };
        if let Some(reject) = reject {
            return Err(Failed { locator, reject, excerpt: record });
        }
        match parse_record(record, self.without) {
            Ok((text, value, partial)) => Ok(JsonRecord { locator, text, value, partial }),
            Err((reject, excerpt)) => Err(Failed { locator, reject, excerpt }),
        }
    }
}

fn push(record: &mut Vec<u8>, b: u8, too_large: &mut bool) {
    if record.len() < MAX_RECORD_BYTES {
        record.push(b);
    } else {
        *too_large = true;
    }
}

fn read_reject(e: std::io::Error) -> Reject {
    // flate2 reports corrupt gzip data as InvalidInput/InvalidData and truncation as UnexpectedEof.
    match e.kind() {
        std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::UnexpectedEof => Reject::Gzip(e),
        _ => Reject::Read(e),
    }
}

/// The bytes without a byte-order mark and surrounding ASCII whitespace, trimmed in place.
fn trim_owned(mut bytes: Vec<u8>) -> Vec<u8> {
    let bom = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    let start = bom + bytes[bom..].iter().take_while(|b| b.is_ascii_whitespace()).count();
    let end = bytes.len() - bytes[start..].iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.truncate(end);
    bytes.drain(..start);
    bytes
}

/// Reads one line into `buf`, keeping at most `limit` bytes of it; the rest of an overlong
/// line is read and dropped. Returns the bytes consumed and whether the line overflowed.
pub fn read_line_limited<R: BufRead + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(usize, bool)> {
    let mut total = 0;
    let mut overflow = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok((total, overflow));
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = limit.saturating_sub(buf.len());
        if chunk.len() > room {
            overflow = true;
            buf.extend_from_slice(&chunk[..room]);
        } else {
            buf.extend_from_slice(chunk);
        }
        let n = chunk.len();
        reader.consume(n);
        total += n;
        if done {
            return Ok((total, overflow));
        }
    }
}

impl<R: BufRead> Iterator for JsonRecords<R> {
    type Item = Result<JsonRecord, Failed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.layout? {
            Layout::Lines => self.next_line(),
            Layout::Concatenated => self.next_scanned(0),
            Layout::Array { depth } => self.next_scanned(depth),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_skips_brackets_and_escaped_quotes_inside_strings() {
        for (text, expected) in [
            (r#"{"a": "[[[{{{"}"#, 1),
            (r#"{"a": "x\"[[[", "b": [1, [2]]}"#, 3),
            (r#"{"a": "ends with backslash\\", "b": {"c": []}}"#, 3),
            (r#"[[["#, 3),
            (r#"{"unterminated": "[[[["#, 1),
            (r#"{"a": "\"#, 1),
            ("", 0),
        ] {
            assert_eq!(depth(text.as_bytes()), expected, "{text}");
        }
    }

    fn split(input: &[u8]) -> Vec<Result<String, String>> {
        JsonRecords::new(input, input)
            .map(|r| r.map(|r| r.value.to_string()).map_err(|f| format!("{:?}: {}", f.locator, f.reject)))
            .collect()
    }

    #[test]
    fn fields_left_unparsed_are_missing_from_the_value_and_kept_in_the_text() {
        let text = br#"{"a":1,"Message":"x\r\n\"y\"","b":{"c":[1,2]},"Message":{"deep":[{}]}}"#;
        let (kept, value, partial) = parse_record(text.to_vec(), &["Message"]).expect("parses");
        assert!(partial);
        assert_eq!(kept.as_bytes(), text);
        assert_eq!(value, serde_json::json!({"a": 1, "b": {"c": [1, 2]}}));
        let (_, whole, partial) = parse_record(text.to_vec(), &[]).expect("parses");
        assert!(!partial);
        assert_eq!(whole["Message"], serde_json::json!({"deep": [{}]}));
        // Nothing to leave out, or not an object: the value is whole.
        let (_, value, partial) = parse_record(br#"{"a":1}"#.to_vec(), &["Message"]).expect("parses");
        assert_eq!((value, partial), (serde_json::json!({"a": 1}), false));
        let (_, value, _) = parse_record(b"[1]".to_vec(), &["Message"]).expect("parses");
        assert_eq!(value, serde_json::json!([1]));
        // A record that is not valid JSON is still rejected, wherever the fault is.
        assert!(parse_record(br#"{"Message":"unterminated}"#.to_vec(), &["Message"]).is_err());
        assert!(parse_record(br#"{"a":1,"Message":"x"} trailing"#.to_vec(), &["Message"]).is_err());
    }

    #[test]
    fn a_line_is_trimmed_in_place_of_its_mark_and_whitespace() {
        for (line, want) in [
            (&b"\xEF\xBB\xBF {\"a\":1}\r\n"[..], &b"{\"a\":1}"[..]),
            (b"\t{\"a\":1}  ", b"{\"a\":1}"),
            (b"{}", b"{}"),
            (b" \r\n", b""),
            (b"\xEF\xBB\xBF", b""),
        ] {
            assert_eq!(trim_owned(line.to_vec()), want);
        }
    }

    #[test]
    fn json_lines_with_crlf_blank_lines_and_a_bad_line() {
        let out = split(b"{\"a\":1}\r\n\r\n{\"a\":\n{\"a\":3}");
        assert_eq!(out[0], Ok("{\"a\":1}".into()));
        assert!(out[1].as_ref().is_err_and(|e| e.starts_with("Line { line: 3, offset: 11 }: invalid JSON")));
        assert_eq!(out[2], Ok("{\"a\":3}".into()));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn concatenated_pretty_objects() {
        let out = split(b"{\n  \"a\": \"}\"\n}\n{\n  \"b\": [1, {\"c\": 2}]\n}\n");
        assert_eq!(out, vec![Ok("{\"a\":\"}\"}".into()), Ok("{\"b\":[1,{\"c\":2}]}".into())]);
    }

    #[test]
    fn arrays_and_cloudtrail_records_wrapper() {
        let out = split(b"[ {\"a\":1}, {\"a\":2} ]");
        assert_eq!(out, vec![Ok("{\"a\":1}".into()), Ok("{\"a\":2}".into())]);
        let out = split(b"{\"Records\": [{\"a\":1},\n{\"a\":[2]}]}");
        assert_eq!(out, vec![Ok("{\"a\":1}".into()), Ok("{\"a\":[2]}".into())]);
        let out = split(b"[1, \"x,]\", {\"a\":2}]");
        assert_eq!(out, vec![Ok("1".into()), Ok("\"x,]\"".into()), Ok("{\"a\":2}".into())]);
    }

    #[test]
    fn truncated_array_reports_the_partial_record() {
        let out = split(b"[{\"a\":1}, {\"a\":");
        assert_eq!(out[0], Ok("{\"a\":1}".into()));
        assert_eq!(out[1], Err("Offset(10): record ends before it is complete (truncated input)".into()));
    }

    #[test]
    fn deep_and_huge_records_are_rejected_and_the_rest_still_read() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let input = format!("{{\"a\":1}}\n{{\"d\":{deep}}}\n{{\"a\":2}}\n");
        let out = split(input.as_bytes());
        assert!(out[1].as_ref().is_err_and(|e| e.contains("deeper than 64")));
        assert_eq!(out[2], Ok("{\"a\":2}".into()));

        let huge =
            format!("{{\"a\":1}}\n{{\"big\":\"{}\"}}\n{{\"a\":2}}\n", "x".repeat(MAX_RECORD_BYTES + 10));
        let out = split(huge.as_bytes());
        assert!(out[1].as_ref().is_err_and(|e| e.contains("larger than")));
        assert_eq!(out[2], Ok("{\"a\":2}".into()));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn invalid_utf8_is_rejected_with_its_position() {
        let out = split(b"{\"a\":\"\xff\"}\n{\"a\":2}\n");
        assert!(out[0].as_ref().is_err_and(|e| e.contains("not valid UTF-8 (first bad byte at 6)")));
        assert_eq!(out[1], Ok("{\"a\":2}".into()));
    }
}
