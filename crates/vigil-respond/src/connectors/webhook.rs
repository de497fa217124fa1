//! `notify_webhook`: the case posted to the team's webhook, as Vigil's signed JSON or as a
//! Slack-compatible incoming-webhook message; `open_external_ticket`: the ticket Vigil would
//! open posted to the site's ticketing system, whose answer names the ticket's id, kept with
//! the case. The JSON body is signed with HMAC-SHA256 over
//! `<timestamp>.<body>` (`X-Vigil-Signature: sha256=<hex>`, `X-Vigil-Timestamp`), so a receiver
//! checks who sent it and refuses replays; `X-Vigil-Delivery` is the run's idempotency key, the
//! same on every retry, so a receiver drops a delivery it already has. A connection failure, a
//! timeout, 408, 429 or a 5xx is tried again by the executor with backoff until the run's
//! deadline; another 4xx fails the run. Only the URL's host is ever shown: a webhook URL often
//! carries its secret in its path.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use vigil_model::ActionRequest;

use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::builtin::{case_of, text_parameter, ticket_for};
use crate::{Error, Result};

/// What the receiver is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Vigil's JSON document, signed.
    Vigil,
    /// `{"text": …}`, as Slack, Mattermost and Teams' incoming webhooks take it (signed too;
    /// they ignore the headers).
    Slack,
}

/// What a webhook is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `notify_webhook`: tell the team.
    Notify,
    /// `open_external_ticket`: open a ticket in the site's ticketing system, whose answer names
    /// the ticket's id, kept with the case.
    Ticket,
}

pub struct Webhook {
    purpose: Purpose,
    url: String,
    secret: Vec<u8>,
    format: WebhookFormat,
    timeout: Duration,
}

/// The longest a message parameter may be.
const MAX_MESSAGE: usize = 2_000;

impl Webhook {
    /// A webhook at `url` (http or https) that tells the team, signing with `secret`.
    pub fn new(url: &str, secret: &[u8], format: WebhookFormat) -> Result<Webhook> {
        Webhook::for_purpose(Purpose::Notify, url, secret, format)
    }

    /// A ticketing system's webhook at `url`, sent Vigil's JSON with the ticket, signed.
    pub fn ticketing(url: &str, secret: &[u8]) -> Result<Webhook> {
        Webhook::for_purpose(Purpose::Ticket, url, secret, WebhookFormat::Vigil)
    }

    fn for_purpose(purpose: Purpose, url: &str, secret: &[u8], format: WebhookFormat) -> Result<Webhook> {
        let host = host_of(url)
            .ok_or_else(|| Error::Failed(format!("webhook url: http(s)://host/…, not {:?}", redact(url))))?;
        if host.is_empty() || secret.len() < 16 {
            return Err(Error::Failed("webhook: a host, and a secret of 16 bytes or more".into()));
        }
        Ok(Webhook {
            purpose,
            url: url.to_owned(),
            secret: secret.to_vec(),
            format,
            timeout: Duration::from_secs(10),
        })
    }

    fn host(&self) -> &str {
        host_of(&self.url).unwrap_or("?")
    }

    /// The body the receiver gets for this case and message.
    fn body(&self, case: &vigil_store::CaseRow, message: &str, delivery: &str) -> Value {
        let severity = vigil_model::Severity::from_id(u8::try_from(case.severity).unwrap_or(0))
            .map_or("Unknown", |s| s.name());
        match self.format {
            WebhookFormat::Vigil => json!({
                "vigil_delivery": delivery,
                "case": {"id": case.id, "title": case.title, "severity": severity, "state": case.state.as_str(),
                         "first_seen": case.first_seen, "last_seen": case.last_seen},
                "message": message,
            }),
            WebhookFormat::Slack => json!({
                "text": format!("[{severity}] case {}: {} ({})\n{message}", case.id, case.title, case.state.as_str()),
            }),
        }
    }
}

/// The host of an http(s) URL.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(authority.rsplit('@').next().unwrap_or(authority))
}

/// A URL as it may be shown: its scheme and host only.
fn redact(url: &str) -> String {
    match host_of(url) {
        Some(host) => format!("{}://{host}/…", if url.starts_with("https") { "https" } else { "http" }),
        None => "(not a URL)".into(),
    }
}

/// `sha256=<hex>` over `<timestamp>.<body>`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn message_of(request: &ActionRequest) -> Result<String> {
    let message = text_parameter(request, "message")?.unwrap_or("");
    if message.chars().count() > MAX_MESSAGE {
        return Err(Error::Failed(format!("parameter message: at most {MAX_MESSAGE} characters")));
    }
    Ok(message.to_owned())
}

/// The ticket id a ticketing system's answer names (`ticket_id`, `id` or `key`, text or a
/// number): 1 to 128 characters, none of them a control character. It is shown to people, so
/// it is held to that even though it is escaped wherever it is shown.
fn ticket_id(answer: &str) -> Result<String> {
    let value: Value = serde_json::from_str(answer)
        .map_err(|_| Error::Failed("the ticketing system's answer is not JSON naming the ticket".into()))?;
    let id = ["ticket_id", "id", "key"].iter().find_map(|k| match &value[*k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    match id {
        Some(id) if (1..=128).contains(&id.chars().count()) && !id.chars().any(char::is_control) => Ok(id),
        _ => Err(Error::Failed(
            "the ticketing system answered without a usable ticket id (ticket_id, id or key)".into(),
        )),
    }
}

/// What a receiver's answer means for the run.
fn outcome(status: u16, answer: &str) -> Result<Value> {
    let excerpt: String = answer.chars().take(256).collect();
    match status {
        200..=299 => Ok(json!({"status": status, "answer": excerpt})),
        408 | 429 | 500..=599 => Err(Error::Transient(format!("the webhook answered {status}"))),
        _ => Err(Error::Failed(format!("the webhook refused the delivery: {status} {excerpt}"))),
    }
}

impl Action for Webhook {
    fn name(&self) -> &'static str {
        match self.purpose {
            Purpose::Notify => "notify_webhook",
            Purpose::Ticket => "open_external_ticket",
        }
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        // A HEAD request: reachable, TLS completes, something answers. Nothing is delivered.
        let (url, timeout, host) = (self.url.clone(), self.timeout, self.host().to_owned());
        Box::pin(async move {
            let status = tokio::task::spawn_blocking(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(timeout))
                    .max_redirects(0)
                    .build()
                    .into();
                agent
                    .head(&url)
                    .header("User-Agent", "vigil")
                    .call()
                    .map(|answer| answer.status().as_u16())
                    .map_err(|e| Error::Failed(format!("the webhook at {host} could not be reached: {e}")))
            })
            .await
            .map_err(|e| Error::Failed(format!("the webhook check stopped: {e}")))??;
            Ok(Some(json!({"host": self.host(), "answered": status})))
        })
    }

    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            message_of(request)?;
            let form = match self.format {
                WebhookFormat::Vigil => "Vigil's JSON",
                WebhookFormat::Slack => "a chat message",
            };
            let change = match self.purpose {
                Purpose::Notify => format!(
                    "post case {} (title, severity, state) to the webhook at {} as {form}, signed with HMAC-SHA256",
                    case.id,
                    self.host()
                ),
                Purpose::Ticket => format!(
                    "open a ticket for case {} (owner, SLA, playbook steps, how to reproduce) in the ticketing system at {}, signed with HMAC-SHA256, and keep the id it gives",
                    case.id,
                    self.host()
                ),
            };
            Ok(Plan {
                changes: vec![change],
                runnable: true,
                undo: self.undo(),
                facts: json!({"case": case.id, "host": self.host()}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            Ok(json!({"case": case.id, "state": case.state.as_str()}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let case = case_of(cx, step.request).await?;
            let mut document = self.body(&case, &message_of(step.request)?, step.key);
            let ticket = match self.purpose {
                Purpose::Notify => None,
                Purpose::Ticket => {
                    let ticket = ticket_for(cx, step.request, step.key).await?;
                    document["ticket"] = json!({"title": ticket.title, "owner": ticket.owner,
                        "sla_due_at": ticket.sla_due_at, "playbook": ticket.playbook, "body": ticket.body});
                    Some(ticket)
                }
            };
            let body = serde_json::to_vec(&document)?;
            let timestamp = cx.store.clock().now().timestamp().to_string();
            let signed = signature(&self.secret, &timestamp, &body);
            let (url, delivery, timeout) = (self.url.clone(), step.key.to_owned(), self.timeout);
            let sent = tokio::task::spawn_blocking(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(timeout))
                    .max_redirects(0)
                    .build()
                    .into();
                let mut answer = agent
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "vigil")
                    .header("X-Vigil-Delivery", &delivery)
                    .header("X-Vigil-Timestamp", &timestamp)
                    .header("X-Vigil-Signature", &signed)
                    .send(&body[..])
                    .map_err(|e| Error::Transient(format!("the webhook could not be reached: {e}")))?;
                let text =
                    answer.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
                Ok::<_, Error>((answer.status().as_u16(), text))
            })
            .await
            .map_err(|e| Error::Transient(format!("the webhook's sender stopped: {e}")))??;
            let mut effect = outcome(sent.0, &sent.1)?;
            effect["host"] = json!(self.host());
            let mut tx = cx.store.write().await?;
            if let Some(mut ticket) = ticket {
                let id = ticket_id(&sent.1)?;
                effect["ticket"] = json!(id);
                ticket.external_id = Some(id);
                ticket.external_host = Some(self.host().to_owned());
                tx.open_ticket(&ticket).await?;
            }
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            // What the receiver does with a delivery is its own; Vigil verifies that it was taken
            // (and, for a ticket, that the id it was given is kept with the case).
            let effect = cx.store.effect(step.key).await?;
            let taken =
                effect.as_ref().and_then(|e| e["status"].as_u64()).is_some_and(|s| (200..300).contains(&s));
            let kept = match self.purpose {
                Purpose::Notify => true,
                Purpose::Ticket => cx.store.ticket(step.key).await?.is_some_and(|t| t.external_id.is_some()),
            };
            Ok(Probe { holds: taken && kept, observed: effect.unwrap_or(Value::Null) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed apart with Python's hmac module.
        assert_eq!(
            signature(b"0123456789abcdef0123", "1700000000", br#"{"case":"c1"}"#),
            "sha256=d09a5cc9738760b11ff05fb6be8b368ffb84a8522729650a46d55cd6e3242aaf"
        );
    }

    #[test]
    fn only_the_host_of_a_webhook_url_is_ever_shown() {
        for (url, host) in [
            ("https://hooks.example.com/services/T000/B000/SECRETPATH", Some("hooks.example.com")),
            ("http://user:pass@127.0.0.1:9000/hook?token=x", Some("127.0.0.1:9000")),
            ("ftp://example.com/x", None),
        ] {
            assert_eq!(host_of(url), host, "{url}");
            assert!(!redact(url).contains("SECRET") && !redact(url).contains("pass"), "{url}");
        }
    }

    #[test]
    fn a_receivers_answer_decides_retry_or_failure() {
        assert!(outcome(204, "").is_ok());
        for status in [408, 429, 500, 503] {
            assert!(outcome(status, "").err().is_some_and(|e| e.is_transient()), "{status}");
        }
        for status in [400, 401, 403, 404] {
            assert!(outcome(status, "").err().is_some_and(|e| !e.is_transient()), "{status}");
        }
    }

    #[test]
    fn a_ticket_id_is_read_from_the_answer_and_held_to_a_shown_form() {
        assert_eq!(ticket_id(r#"{"ticket_id": "INC-0042"}"#).ok().as_deref(), Some("INC-0042"));
        assert_eq!(ticket_id(r#"{"id": 4711}"#).ok().as_deref(), Some("4711"));
        assert_eq!(ticket_id(r#"{"key": "SEC-9", "id": null}"#).ok().as_deref(), Some("SEC-9"));
        for bad in [r#"{"ok": true}"#, r#"{"id": ""}"#, "not json", "{\"id\": \"a\\u0000b\"}"] {
            assert!(ticket_id(bad).is_err(), "{bad}");
        }
        assert!(ticket_id(&format!(r#"{{"id": "{}"}}"#, "x".repeat(129))).is_err());
    }

    #[test]
    fn a_short_secret_or_a_url_that_is_not_http_is_refused() {
        assert!(Webhook::new("https://hooks.example.com/x", b"short", WebhookFormat::Vigil).is_err());
        assert!(Webhook::new("file:///etc/passwd", b"0123456789abcdef", WebhookFormat::Vigil).is_err());
        assert!(
            Webhook::new("https://hooks.example.com/x", b"0123456789abcdef", WebhookFormat::Slack).is_ok()
        );
    }
}
