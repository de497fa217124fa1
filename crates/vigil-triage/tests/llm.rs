//! The narrator against a real OpenAI-compatible server on loopback: llama.cpp's `llama-server`
//! with SmolLM2-135M (`.ci/llama-server.sh` builds and fetches both; it prints their paths for
//! `VIGIL_LLAMA_SERVER` and `VIGIL_LLAMA_MODEL`). The model is tiny, so these tests check
//! structure, not judgement: a schema-valid answer whose citations are the case's own, or a
//! rejection with the built-in fallback; timeouts and server errors fall back too.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use vigil_correlate::{Alert, Case, ClusterConfig, Evidence, RuleRef, cluster};
use vigil_model::{Entity, EntityKind, Severity};
use vigil_triage::context::Context;
use vigil_triage::model::Model;
use vigil_triage::narrator::{ChatModel, OpenAiClient, OpenAiConfig, narrate};
use vigil_triage::{evidence, playbook, recommend};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts llama-server with one thread and returns once it says it is listening.
fn start() -> Server {
    let server = std::env::var("VIGIL_LLAMA_SERVER").expect("VIGIL_LLAMA_SERVER (run .ci/llama-server.sh)");
    let model = std::env::var("VIGIL_LLAMA_MODEL").expect("VIGIL_LLAMA_MODEL (run .ci/llama-server.sh)");
    let port = free_port();
    let mut child = Command::new(server)
        .args([
            "-m",
            &model,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-t",
            "1",
            "-c",
            "4096",
            "-np",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llama-server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    // The server logs to stderr; it is ready when it says it listens.
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("listening on") || l.contains("server is listening"));
    assert!(ready, "llama-server exited before listening");
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

fn case() -> Case {
    let alert = |id: &str, title: &str, tag: &str, minute: i64| Alert {
        tenant: None,
        id: id.into(),
        rule: std::sync::Arc::new(RuleRef {
            id: format!("rule-{id}"),
            title: title.into(),
            level: Severity::High,
            tags: vec![tag.into()],
            author: Some("tests".into()),
            license: "Apache-2.0".into(),
        }),
        time: minute * 60_000,
        entities: vec![
            Entity::new(EntityKind::Host, "ws-12").expect("host"),
            Entity::new(EntityKind::User, "corp\\alice").expect("user"),
        ],
        aliases: vec![],
        evidence: vec![Evidence {
            event_uid: format!("ev-{id}"),
            time: minute * 60_000,
            source: "windows.json".into(),
            class_name: "Process Activity".into(),
            summary: Some(format!("{title} on ws-12 by corp\\alice")),
        }],
        summary: None,
    };
    let alerts = vec![
        alert("a1", "Brute Force Followed By A Successful Logon", "attack.credential-access", 0),
        alert("a2", "Remote Service Creation After A Network Logon", "attack.lateral-movement", 2),
        alert("a3", "Office Application Starts Encoded PowerShell", "attack.execution", 8),
    ];
    cluster(&alerts, &ClusterConfig::default()).remove(0)
}

fn client(port: u16, timeout_secs: u64) -> OpenAiClient {
    OpenAiClient::new(OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        model: "smollm2-135m".into(),
        api_key_env: None,
        timeout_secs,
        max_tokens: 256,
    })
}

#[test]
fn a_real_server_s_answer_is_schema_valid_and_cites_the_case_or_is_rejected_with_the_fallback() {
    let server = start();
    let case = case();
    let model = Model::builtin().expect("model");
    let builtin = recommend(&case, &Context::default(), &model, &playbook::library().expect("library"), 0);
    let llm = client(server.port, 300);
    assert_eq!(llm.name(), "smollm2-135m");
    let narration = narrate(&llm, &case, &builtin, 256);
    let known: Vec<String> = evidence::items(&case).into_iter().map(|i| i.id).collect();
    match narration.source.as_str() {
        "model" => {
            let r = &narration.recommendation;
            for id in r.supporting.iter().chain(&r.contradicting) {
                assert!(known.contains(id), "{id} is not evidence of the case");
            }
            assert!(r.drafted_by.starts_with("smollm2-135m"));
        }
        _ => {
            let reason = narration.rejected.clone().expect("a fallback says why");
            assert!(!reason.is_empty());
            assert_eq!(narration.recommendation, builtin);
        }
    }
    println!("narrator: source {}, rejected: {:?}", narration.source, narration.rejected);
}

#[test]
fn a_server_that_never_answers_times_out_into_the_fallback() {
    // A listener that accepts and says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let case = case();
    let model = Model::builtin().expect("model");
    let builtin = recommend(&case, &Context::default(), &model, &playbook::library().expect("library"), 0);
    let narration = narrate(&client(port, 1), &case, &builtin, 256);
    drop(listener);
    assert_eq!(narration.source, "built-in");
    assert!(narration.rejected.is_some_and(|r| r.contains("in time")));
}

#[test]
fn a_server_that_is_not_there_falls_back_with_the_error() {
    let port = free_port();
    let case = case();
    let model = Model::builtin().expect("model");
    let builtin = recommend(&case, &Context::default(), &model, &playbook::library().expect("library"), 0);
    let narration = narrate(&client(port, 5), &case, &builtin, 256);
    assert_eq!(narration.source, "built-in");
    assert!(narration.rejected.is_some_and(|r| r.contains("failed")));
}
