//! The little of the W3C WebDriver protocol the browser tests use, spoken to ChromeDriver over
//! HTTP on loopback: a headless Chromium session, navigation, elements, clicks, typing, page
//! text and screenshots.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts `chromedriver` on a free port and waits for the line that says it listens.
    pub fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed: .ci/run installs it");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.expect("chromedriver output").contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let url = format!("{}{path}", self.url);
        let mut answer = match body {
            Some(body) => {
                agent.post(&url).header("Content-Type", "application/json").send(body.to_string().as_bytes())
            }
            None if method == "DELETE" => agent.delete(&url).call(),
            None => agent.get(&url).call(),
        }
        .expect("chromedriver answers");
        let text = answer.body_mut().read_to_string().expect("an answer");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        value["value"].clone()
    }

    /// A headless Chromium at 1280 px wide.
    pub fn session(&self, width: u32) -> Session<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", format!("--window-size={width},1000")],
        }}}});
        let value = self.call("POST", "/session", Some(caps));
        let id = value["sessionId"].as_str().unwrap_or_else(|| panic!("a session: {value}")).to_owned();
        Session { driver: self, id }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body)
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// The elements `css` selects, by their WebDriver ids.
    pub fn all(&self, css: &str) -> Vec<String> {
        let found = self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                e.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).map(str::to_owned)
            })
            .collect()
    }

    pub fn one(&self, css: &str) -> String {
        self.all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css} on {}", self.url()))
    }

    pub fn click(&self, element: &str) {
        self.call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    pub fn type_into(&self, element: &str, text: &str) {
        self.call("POST", &format!("/element/{element}/value"), Some(json!({"text": text})));
    }

    pub fn text_of(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None).as_str().unwrap_or_default().to_owned()
    }

    pub fn attribute(&self, element: &str, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().map(str::to_owned)
    }

    /// The page's visible text, or nothing while a page is between documents (a navigation
    /// in flight has no body yet).
    pub fn text_now(&self) -> String {
        self.all("body").first().map(|body| self.text_of(body)).unwrap_or_default()
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        let body = self.one("body");
        self.text_of(&body)
    }

    /// The page as the browser shows it, written as PNG to `path`.
    pub fn screenshot(&self, path: &std::path::Path) {
        let encoded = self.call("GET", "/screenshot", None);
        let bytes = decode_base64(encoded.as_str().expect("base64"));
        std::fs::write(path, bytes).expect("screenshot written");
    }

    /// The value of a script run by the driver (outside the page's Content-Security-Policy):
    /// how a test reads what the page's own scripts did, such as a payload's hook firing.
    pub fn script(&self, body: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": body, "args": []})))
    }

    /// The value an asynchronous script passes to its callback (the last argument).
    pub fn script_async(&self, body: &str) -> Value {
        self.call("POST", "/execute/async", Some(json!({"script": body, "args": []})))
    }

    /// Messages the browser logged (a Content-Security-Policy violation among them).
    pub fn console(&self) -> Vec<String> {
        let logs = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
        logs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["message"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.call("DELETE", "", None);
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
