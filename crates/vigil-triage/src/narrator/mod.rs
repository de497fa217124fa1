//! The optional LLM narrator: any OpenAI-compatible model drafts the recommendation in the same
//! schema, from the case's evidence passed as delimited, truncated data (never as instructions)
//! and the built-in analysis. Every answer is validated ([`validate`]); a rejected answer falls
//! back to the built-in recommendation, marked with the reason. The model gets no tools and no
//! path to actions: the schema has no place for one, and auto-triage never reads model text.

mod client;
mod prompt;
mod validate;

use serde::Serialize;
use vigil_correlate::Case;

pub use client::{OpenAiClient, OpenAiConfig};
pub use prompt::{Message, messages};
pub use validate::{Draft, validate};

use crate::evidence;
use crate::recommend::Recommendation;

/// One chat request, as the narrator sends it.
#[derive(Clone, Debug, Serialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub max_tokens: u32,
}

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("the model server did not answer in time")]
    Timeout,
    #[error("the model server failed: {0}")]
    Server(String),
}

/// A chat-completion model. The narrator needs nothing else from it.
pub trait ChatModel {
    fn name(&self) -> String;
    fn complete(&self, request: &ChatRequest) -> Result<String, ChatError>;
}

/// What the narrator produced: the recommendation to show, and how it came about.
#[derive(Clone, Debug, Serialize)]
pub struct Narration {
    pub recommendation: Recommendation,
    /// `model`, or `built-in` when the model was not asked or its answer was rejected.
    pub source: String,
    /// Why the model's answer was not used, when it was not.
    pub rejected: Option<String>,
}

/// Asks `model` to draft `case`'s recommendation; falls back to `builtin` on any failure.
pub fn narrate(model: &dyn ChatModel, case: &Case, builtin: &Recommendation, max_tokens: u32) -> Narration {
    let items = evidence::items(case);
    let fallback = |reason: Option<String>| Narration {
        recommendation: builtin.clone(),
        source: "built-in".into(),
        rejected: reason,
    };
    if items.is_empty() {
        // Nothing to read: the model is not called at all.
        return fallback(None);
    }
    let request = ChatRequest { messages: messages(case, builtin, &items, max_tokens), max_tokens };
    let answer = match model.complete(&request) {
        Ok(answer) => answer,
        Err(e) => return fallback(Some(e.to_string())),
    };
    match validate(&answer, &items, builtin) {
        Ok(draft) => {
            let mut r = builtin.clone();
            draft.apply_to(&mut r, &model.name());
            Narration { recommendation: r, source: "model".into(), rejected: None }
        }
        Err(reason) => fallback(Some(format!("the model's answer was rejected: {reason}"))),
    }
}

#[cfg(test)]
mod tests;
