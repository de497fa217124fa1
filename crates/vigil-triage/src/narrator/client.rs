//! One client for any OpenAI-compatible chat-completion endpoint (OpenAI, vLLM, Ollama,
//! llama.cpp's server): base URL, model, API key from an environment variable, timeout and
//! token budget from configuration. It asks for the answer schema as `json_schema` first and
//! falls back to `json_object` where the server refuses that.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ChatError, ChatModel, ChatRequest};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// `https://api.openai.com`, `http://127.0.0.1:8080`, … (the client adds `/v1/chat/completions`).
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key, if the server needs one.
    pub api_key_env: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

fn default_timeout() -> u64 {
    60
}

fn default_max_tokens() -> u32 {
    1024
}

pub struct OpenAiClient {
    config: OpenAiConfig,
    agent: ureq::Agent,
}

fn schema() -> Value {
    let ids = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["verdict", "severity", "confidence", "hypothesis", "claims", "supporting", "contradicting", "unknowns"],
        "properties": {
            "verdict": {"type": "string", "enum": ["malicious", "suspicious", "benign", "insufficient_evidence"]},
            "severity": {"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "hypothesis": {"type": "string"},
            "claims": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["text", "cites"],
                "properties": {"text": {"type": "string"}, "cites": ids}}},
            "supporting": ids,
            "contradicting": ids,
            "unknowns": {"type": "array", "items": {"type": "string"}},
        }
    })
}

impl OpenAiClient {
    pub fn new(config: OpenAiConfig) -> OpenAiClient {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(config.timeout_secs.max(1))))
            .http_status_as_error(false)
            .build()
            .into();
        OpenAiClient { config, agent }
    }

    fn post(&self, body: &Value) -> Result<(u16, String), ChatError> {
        let url = format!("{}/v1/chat/completions", self.config.base_url.trim_end_matches('/'));
        let mut request = self.agent.post(&url).header("Content-Type", "application/json");
        if let Some(var) = &self.config.api_key_env {
            let key = std::env::var(var)
                .map_err(|_| ChatError::Server(format!("the environment variable {var} is not set")))?;
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body.to_string()).map_err(|e| match e {
            ureq::Error::Timeout(_) => ChatError::Timeout,
            other => ChatError::Server(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| match e {
            ureq::Error::Timeout(_) => ChatError::Timeout,
            other => ChatError::Server(other.to_string()),
        })?;
        Ok((status, text))
    }
}

impl ChatModel for OpenAiClient {
    fn name(&self) -> String {
        self.config.model.clone()
    }

    fn complete(&self, request: &ChatRequest) -> Result<String, ChatError> {
        let base = json!({
            "model": self.config.model,
            "messages": request.messages,
            "temperature": 0,
            "max_tokens": request.max_tokens.min(self.config.max_tokens),
        });
        let formats = [
            json!({"type": "json_schema", "json_schema": {"name": "vigil_recommendation", "strict": true, "schema": schema()}}),
            json!({"type": "json_object"}),
        ];
        let mut last = String::new();
        for format in formats {
            let mut body = base.clone();
            body["response_format"] = format;
            let (status, text) = self.post(&body)?;
            if status == 200 {
                let value: Value =
                    serde_json::from_str(&text).map_err(|e| ChatError::Server(format!("not JSON: {e}")))?;
                return value["choices"][0]["message"]["content"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ChatError::Server("no message in the answer".into()));
            }
            // A server that does not know a response format answers 400; try the next one.
            last = format!("HTTP {status}: {}", text.chars().take(200).collect::<String>());
            if status != 400 && status != 422 {
                break;
            }
        }
        Err(ChatError::Server(last))
    }
}
