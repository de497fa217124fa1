//! `notify_email`: the case mailed to the on-call address and to the owners of its assets (as
//! the site's asset inventory names them) through the site's mail server. STARTTLS is required
//! by default, with the server's certificate checked against the configured CA; `smtps` is TLS
//! from the first byte; `starttls_if_offered` uses it when the server offers it and sends in
//! the clear when not (for relays that cannot); `plain` only when configured by name. The
//! message's `Message-ID` is the run's idempotency key, so a message sent again after a crash
//! cut the run off before its effect was recorded is the same message to every mail client.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};
use vigil_model::{ActionRequest, Entity};
use vigil_store::CaseRow;

use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::builtin::{case_of, text_parameter};
use crate::{Error, Result};

/// Who owns the case's assets, as the site's inventories say: each entity with its owner as
/// the inventory writes it (a mail address, or a name).
pub trait Owners: Send + Sync {
    fn owners(&self, entities: &[Entity]) -> Vec<(Entity, String)>;
}

/// No inventory: nobody owns anything.
pub struct NoOwners;

impl Owners for NoOwners {
    fn owners(&self, _: &[Entity]) -> Vec<(Entity, String)> {
        Vec::new()
    }
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    Smtps,
    StartTls,
    StartTlsIfOffered,
    Plain,
}

impl MailTransport {
    pub fn parse(name: &str) -> Option<MailTransport> {
        match name {
            "smtps" => Some(MailTransport::Smtps),
            "starttls" => Some(MailTransport::StartTls),
            "starttls_if_offered" => Some(MailTransport::StartTlsIfOffered),
            "plain" => Some(MailTransport::Plain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailTransport::Smtps => "smtps",
            MailTransport::StartTls => "starttls",
            MailTransport::StartTlsIfOffered => "starttls_if_offered",
            MailTransport::Plain => "plain",
        }
    }
}

/// What a site configures.
#[derive(Clone)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub transport: MailTransport,
    /// The PEM file of the CA that signed the server's certificate; the system's roots when
    /// `None`.
    pub ca_file: Option<std::path::PathBuf>,
    pub from: String,
    /// Signing in to the server, when it asks: the user and the password.
    pub credentials: Option<(String, String)>,
    /// The on-call addresses every message goes to.
    pub on_call: Vec<String>,
    /// The domain an owner named without one is mailed at (`alice` → `alice@<domain>`).
    pub owner_domain: Option<String>,
    pub timeout: Duration,
}

pub struct NotifyEmail {
    settings: MailSettings,
    from: Mailbox,
    on_call: Vec<Address>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    owners: Arc<dyn Owners>,
}

/// The longest a message parameter may be.
const MAX_MESSAGE: usize = 4_000;

impl NotifyEmail {
    pub fn new(settings: MailSettings, owners: Arc<dyn Owners>) -> Result<NotifyEmail> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| Error::Failed(format!("email from {:?}: {e}", settings.from)))?;
        let on_call = settings
            .on_call
            .iter()
            .map(|a| a.parse::<Address>().map_err(|e| Error::Failed(format!("email on_call {a:?}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        if settings.host.is_empty() {
            return Err(Error::Failed("email: the mail server's host".into()));
        }
        let tls = || -> Result<TlsParameters> {
            let mut params = TlsParameters::builder(settings.host.clone());
            if let Some(path) = &settings.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| Error::Failed(format!("email ca_file {}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| Error::Failed(format!("email ca_file {}: {e}", path.display())))?;
                params = params.certificate_store(CertificateStore::None).add_root_certificate(cert);
            }
            params.build_rustls().map_err(|e| Error::Failed(format!("email TLS: {e}")))
        };
        let tls = match settings.transport {
            MailTransport::Smtps => Tls::Wrapper(tls()?),
            MailTransport::StartTls => Tls::Required(tls()?),
            MailTransport::StartTlsIfOffered => Tls::Opportunistic(tls()?),
            MailTransport::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
            .port(settings.port)
            .timeout(Some(settings.timeout))
            .tls(tls);
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = builder.build();
        Ok(NotifyEmail { settings, from, on_call, transport, owners })
    }

    /// One exchange with the server within the deadline: lettre bounds connecting, not a
    /// server that takes the connection and then says nothing.
    async fn bounded<T>(&self, exchange: impl Future<Output = T>) -> Result<T> {
        tokio::time::timeout(self.settings.timeout, exchange).await.map_err(|_| {
            Error::Transient(format!("{} did not answer within {:?}", self.server(), self.settings.timeout))
        })
    }

    fn server(&self) -> String {
        format!(
            "the mail server at {}:{} ({})",
            self.settings.host,
            self.settings.port,
            self.settings.transport.as_str()
        )
    }

    /// Who gets the case: the on-call addresses, then each asset owner with a mail address;
    /// and the owners who have none, said in words.
    fn recipients(&self, case: &CaseRow) -> (Vec<(Address, String)>, Vec<String>) {
        let mut to: Vec<(Address, String)> =
            self.on_call.iter().map(|a| (a.clone(), "on call".to_owned())).collect();
        let mut unreachable = Vec::new();
        for (entity, owner) in self.owners.owners(&case_entities(case)) {
            let named = format!("{} {}", entity.kind.as_str(), entity.key);
            let address = if owner.contains('@') {
                owner.parse::<Address>().ok()
            } else {
                self.settings
                    .owner_domain
                    .as_ref()
                    .and_then(|d| format!("{owner}@{d}").parse::<Address>().ok())
            };
            match address {
                Some(a) if to.iter().any(|(b, _)| *b == a) => {}
                Some(a) => to.push((a, format!("owner of {named}"))),
                None => unreachable.push(format!(
                    "the owner of {named} ({}) has no mail address Vigil can use",
                    safe_line(&owner, 64)
                )),
            }
        }
        (to, unreachable)
    }

    fn message(&self, case: &CaseRow, to: &[(Address, String)], note: &str, key: &str) -> Result<Message> {
        let severity = vigil_model::Severity::from_id(u8::try_from(case.severity).unwrap_or(0))
            .map_or("Unknown", |s| s.name());
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(format!("[Vigil] [{severity}] case {}: {}", case.id, safe_line(&case.title, 160)))
            .message_id(Some(format!(
                "<{}@vigil>",
                key.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-', "-")
            )))
            .user_agent("vigil".into());
        for (address, _) in to {
            message = message.to(Mailbox::new(None, address.clone()));
        }
        let mut body = format!(
            "Case {} ({severity}, {})\n{}\n\nFirst seen: {}\nLast seen:  {}\n",
            case.id,
            case.state.as_str(),
            case.title,
            case.first_seen,
            case.last_seen
        );
        if !note.is_empty() {
            body.push_str(&format!("\n{note}\n"));
        }
        body.push_str(&format!(
            "\nSent to you as: {}\n",
            to.iter().map(|(a, why)| format!("{a} ({why})")).collect::<Vec<_>>().join(", ")
        ));
        message
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| Error::Failed(format!("the message could not be built: {e}")))
    }

    fn refused(&self, e: &lettre::transport::smtp::Error) -> Error {
        let why = format!("{}: {e}", self.server());
        // A refusal (credentials, TLS, no STARTTLS) is the same on the next try; an
        // unreachable, slow or busy server may not be.
        if e.is_permanent() || e.is_tls() || e.is_client() || tls_refused(e) {
            Error::Failed(why)
        } else {
            Error::Transient(why)
        }
    }
}

/// Whether a connection error is TLS refusing the server (an untrusted or mismatched
/// certificate): lettre reports it as a connection error, with rustls's error inside the IO
/// error of the handshake.
fn tls_refused(e: &lettre::transport::smtp::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && inner.is::<rustls::Error>()
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The case's entities, as its document lists them.
fn case_entities(case: &CaseRow) -> Vec<Entity> {
    case.body["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| serde_json::from_value::<Entity>(e["entity"].clone()).ok())
        .collect()
}

/// Text from a case or an inventory as one header-safe line: no control characters, at most
/// `max` characters.
fn safe_line(text: &str, max: usize) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

fn note_of(request: &ActionRequest) -> Result<String> {
    let note = text_parameter(request, "message")?.unwrap_or("");
    if note.chars().count() > MAX_MESSAGE {
        return Err(Error::Failed(format!("parameter message: at most {MAX_MESSAGE} characters")));
    }
    Ok(note.to_owned())
}

impl Action for NotifyEmail {
    fn name(&self) -> &'static str {
        "notify_email"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            // Connects, says hello, upgrades to TLS and signs in as configured; sends nothing.
            match self.bounded(self.transport.test_connection()).await? {
                Ok(true) => {
                    Ok(Some(json!({"server": format!("{}:{}", self.settings.host, self.settings.port),
                    "transport": self.settings.transport.as_str(), "on_call": self.on_call.len()})))
                }
                Ok(false) => Err(Error::Failed(format!("{} did not answer as a mail server", self.server()))),
                Err(e) => Err(self.refused(&e)),
            }
        })
    }

    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            note_of(request)?;
            let (to, unreachable) = self.recipients(&case);
            let names: Vec<String> = to.iter().map(|(a, why)| format!("{a} ({why})")).collect();
            let mut changes = vec![if to.is_empty() {
                format!(
                    "nobody to mail case {} to: no on-call address and no asset owner with a mail address",
                    case.id
                )
            } else {
                format!(
                    "email case {} (title, severity, state, times, the message) from {} to {} through {}",
                    case.id,
                    self.from,
                    names.join(", "),
                    self.server()
                )
            }];
            changes.extend(unreachable);
            let recipients: Vec<String> = to.iter().map(|(a, _)| a.to_string()).collect();
            Ok(Plan {
                changes,
                runnable: !to.is_empty(),
                undo: Undo::NothingToUndo,
                facts: json!({"case": case.id, "to": recipients, "server": format!("{}:{}", self.settings.host, self.settings.port)}),
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
            let (to, _) = self.recipients(&case);
            if to.is_empty() {
                return Err(Error::TargetChanged("nobody is left to mail the case to".into()));
            }
            let message = self.message(&case, &to, &note_of(step.request)?, step.key)?;
            let message_id = message.headers().get_raw("Message-ID").map(str::to_owned).unwrap_or_default();
            let answer = self.bounded(self.transport.send(message)).await?.map_err(|e| self.refused(&e))?;
            let effect = json!({
                "server": format!("{}:{}", self.settings.host, self.settings.port),
                "to": to.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(),
                "message_id": message_id,
                "code": answer.code().to_string(),
                "answer": answer.first_line().map(|l| safe_line(l, 200)),
            });
            let mut tx = cx.store.write().await?;
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            // What happens after the server took the message is the mail system's: Vigil
            // verifies that its server accepted it for every recipient.
            let effect = cx.store.effect(step.key).await?;
            let taken = effect.as_ref().and_then(|e| e["code"].as_str()).is_some_and(|c| c.starts_with('2'));
            Ok(Probe { holds: taken, observed: effect.unwrap_or(Value::Null) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_from_a_case_is_one_line() {
        assert_eq!(safe_line("evil\r\nBcc: all@corp.example", 100), "evil  Bcc: all@corp.example");
        assert_eq!(safe_line("ééé", 2), "éé");
    }

    #[test]
    fn a_transport_is_named_or_refused() {
        for name in ["smtps", "starttls", "starttls_if_offered", "plain"] {
            assert_eq!(MailTransport::parse(name).map(MailTransport::as_str), Some(name));
        }
        assert_eq!(MailTransport::parse("tls"), None);
    }
}
