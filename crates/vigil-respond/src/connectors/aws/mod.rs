//! AWS connector: IAM, S3 and EC2 actions over their HTTP APIs, each request signed with
//! Signature Version 4 (the `aws-sigv4` crate) and sent over ureq, the HTTP client Vigil
//! already has. Credentials come from the standard chain; an endpoint override points every
//! service at one URL (a private endpoint, or moto in tests). Errors are read from AWS's own
//! answers: a missing target is `TargetGone`, throttling and 5xx are worth retrying, a refusal
//! is a failure naming AWS's error code.

mod credentials;
mod ec2;
mod iam;
mod s3;
mod xml;

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

pub use credentials::{AwsCredentials, CredentialSource, chain};
pub use ec2::{QuarantineInstance, SnapshotVolumes};
pub use iam::{DeactivateAccessKey, DenyAllPolicy, RemoveConsoleLogin};
pub use s3::BlockBucketPublicAccess;
pub(crate) use xml::Node;

use crate::{Error, Result};

/// What a site configures.
#[derive(Clone, Debug)]
pub struct AwsSettings {
    pub region: String,
    /// One URL for every service instead of AWS's public endpoints.
    pub endpoint: Option<String>,
    pub credentials: CredentialSource,
    /// The security group `quarantine_instance` puts an instance in alone.
    pub quarantine_group: Option<String>,
    pub timeout: Duration,
}

/// The AWS services Vigil calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Iam,
    Ec2,
    S3,
    Sts,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Ec2 => "ec2",
            Service::S3 => "s3",
            Service::Sts => "sts",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Service::Iam => "2010-05-08",
            Service::Ec2 => "2016-11-15",
            Service::Sts => "2011-06-15",
            Service::S3 => "",
        }
    }
}

/// AWS error codes that mean the target is not there.
const GONE: &[&str] = &[
    "NoSuchEntity",
    "NoSuchBucket",
    "InvalidInstanceID.NotFound",
    "InvalidVolume.NotFound",
    "InvalidGroup.NotFound",
];
/// AWS error codes worth another attempt.
const RETRY: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "SlowDown",
    "RequestTimeout",
];

/// An AWS account as Vigil reaches it.
pub struct Aws {
    settings: AwsSettings,
}

impl Aws {
    pub fn new(settings: AwsSettings) -> Result<Aws> {
        if settings.region.is_empty()
            || !settings.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::Failed(format!("aws region {:?}: like eu-west-1", settings.region)));
        }
        if let Some(url) = &settings.endpoint
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Error::Failed(format!("aws endpoint {url:?}: an http:// or https:// URL")));
        }
        if let Some(group) = &settings.quarantine_group
            && !ec2::is_group_id(group)
        {
            return Err(Error::Failed(format!("aws quarantine_group {group:?}: a security group id (sg-…)")));
        }
        Ok(Aws { settings })
    }

    pub fn region(&self) -> &str {
        &self.settings.region
    }

    pub(crate) fn quarantine_group(&self) -> Option<&str> {
        self.settings.quarantine_group.as_deref()
    }

    /// The AWS account in words, as plans and errors name it.
    pub fn system(&self) -> String {
        match &self.settings.endpoint {
            Some(url) => format!("AWS ({}, endpoint {})", self.settings.region, host_of(url)),
            None => format!("AWS ({})", self.settings.region),
        }
    }

    fn base(&self, service: Service) -> String {
        if let Some(url) = &self.settings.endpoint {
            return url.trim_end_matches('/').to_owned();
        }
        match service {
            Service::Iam => "https://iam.amazonaws.com".to_owned(),
            Service::Sts => format!("https://sts.{}.amazonaws.com", self.settings.region),
            Service::Ec2 => format!("https://ec2.{}.amazonaws.com", self.settings.region),
            Service::S3 => format!("https://s3.{}.amazonaws.com", self.settings.region),
        }
    }

    fn signing_region(&self, service: Service) -> &str {
        // IAM is global, signed for us-east-1 whatever the account's region.
        if service == Service::Iam { "us-east-1" } else { &self.settings.region }
    }

    /// One Query API call (IAM, EC2, STS): `Action` with `params`, the answer's document.
    pub(crate) async fn query(
        &self,
        service: Service,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<Node> {
        let mut pairs = vec![("Action", action), ("Version", service.api_version())];
        pairs.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let body = form(&pairs).into_bytes();
        let url = format!("{}/", self.base(service));
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let (status, answer) = self.send(service, "POST", &url, &headers, body).await?;
        self.document(action, status, &answer)
    }

    /// One S3 call on `bucket`'s `subresource` (`publicAccessBlock`): the status and the
    /// answer's document, if it had one. A 404 is returned to the caller, which knows what a
    /// missing configuration means.
    pub(crate) async fn s3(
        &self,
        method: &str,
        bucket: &str,
        subresource: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Option<Node>)> {
        // Path-style: one URL shape for AWS and for an endpoint override, and bucket names with
        // dots keep a certificate that matches.
        let url = format!("{}/{bucket}?{subresource}", self.base(Service::S3));
        let body = body.unwrap_or_default();
        let checksum = base64_sha256(&body);
        let mut headers = vec![("x-amz-checksum-sha256", checksum.as_str())];
        if !body.is_empty() {
            headers.push(("content-type", "application/xml"));
        }
        let (status, answer) = self.send(Service::S3, method, &url, &headers, body).await?;
        let doc = if answer.is_empty() { None } else { xml::parse(&answer) };
        if (200..300).contains(&status) || status == 404 {
            return Ok((status, doc));
        }
        Err(self.refusal(&format!("S3 {method} {subresource}"), status, doc.as_ref()))
    }

    fn document(&self, action: &str, status: u16, answer: &[u8]) -> Result<Node> {
        let doc = xml::parse(answer);
        if (200..300).contains(&status) {
            return doc.ok_or_else(|| {
                Error::Failed(format!(
                    "{}: {action} answered {status} with a document Vigil cannot read",
                    self.system()
                ))
            });
        }
        Err(self.refusal(action, status, doc.as_ref()))
    }

    /// What an error answer means for a run.
    fn refusal(&self, action: &str, status: u16, doc: Option<&Node>) -> Error {
        let code = doc.and_then(|d| d.text_of("Code")).unwrap_or("").to_owned();
        let message = doc.and_then(|d| d.text_of("Message")).unwrap_or("");
        let why = format!(
            "{}: {action} refused with {status} {}: {}",
            self.system(),
            if code.is_empty() { "(no error code)" } else { &code },
            one_line(message, 300)
        );
        if GONE.contains(&code.as_str()) {
            Error::TargetGone(why)
        } else if RETRY.contains(&code.as_str()) || status >= 500 || status == 429 {
            Error::Transient(why)
        } else {
            Error::Failed(why)
        }
    }

    async fn send(
        &self,
        service: Service,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>)> {
        let creds = self.settings.credentials.resolve()?;
        let identity = aws_credential_types::Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            creds.session_token,
            None,
            "vigil",
        )
        .into();
        let mut settings = SigningSettings::default();
        if service == Service::S3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.signing_region(service))
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| Error::Failed(format!("signing for {}: {e}", self.system())))?
            .into();
        let signable = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(&body))
            .map_err(|e| Error::Failed(format!("signing for {}: {e}", self.system())))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::Failed(format!("signing for {}: {e}", self.system())))?
            .into_parts();
        let mut all: Vec<(String, String)> =
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all.extend(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())));
        let (method, url, timeout, system) =
            (method.to_owned(), url.to_owned(), self.settings.timeout, self.system());
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .max_redirects(0)
                .build()
                .into();
            let mut request = ureq::http::Request::builder().method(method.as_str()).uri(&url);
            for (k, v) in &all {
                request = request.header(k, v);
            }
            request = request.header("user-agent", "vigil");
            let request = request.body(body).map_err(|e| Error::Failed(format!("{system}: {e}")))?;
            match agent.run(request) {
                Ok(mut answer) => {
                    let status = answer.status().as_u16();
                    let bytes = answer
                        .body_mut()
                        .with_config()
                        .limit(4 << 20)
                        .read_to_vec()
                        .map_err(|e| Error::Transient(format!("{system}: reading the answer: {e}")))?;
                    Ok((status, bytes))
                }
                Err(e) => Err(unreachable(&system, &e)),
            }
        })
        .await
        .map_err(|e| Error::Failed(format!("the AWS request stopped: {e}")))?
    }

    /// Who Vigil is in this account (STS GetCallerIdentity): what `vigil connectors check`
    /// reports. Reads nothing else and changes nothing.
    pub async fn check(&self) -> Result<Value> {
        let doc = self.query(Service::Sts, "GetCallerIdentity", &[]).await?;
        Ok(json!({
            "system": self.system(),
            "account": doc.text_of("Account"),
            "arn": doc.text_of("Arn"),
        }))
    }
}

/// A transport failure: a server that is down or slow may answer next time; a certificate
/// Vigil does not trust will not change.
fn unreachable(system: &str, e: &ureq::Error) -> Error {
    let why = format!("{system} could not be reached: {e}");
    match e {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound => Error::Transient(why),
        _ => Error::Failed(why),
    }
}

/// `application/x-www-form-urlencoded` with everything but RFC 3986's unreserved characters
/// percent-encoded and a space as `+`: one exact encoding, the one Python's `urlencode` writes,
/// so a server that re-encodes the parameters to check the signature (moto does) arrives at
/// the same bytes AWS itself checks.
const NOT_UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, NOT_UNRESERVED).to_string().replace("%20", "+"),
                percent_encoding::utf8_percent_encode(v, NOT_UNRESERVED).to_string().replace("%20", "+")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

fn one_line(text: &str, max: usize) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

fn base64_sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The name at the end of an IAM ARN or path: `arn:aws:iam::1:user/team/alice` → `alice`.
pub(crate) fn last_segment(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// The request's target key, which every AWS action but the bucket's needs.
pub(crate) fn target_of(request: &vigil_model::ActionRequest) -> Result<&str> {
    request
        .target
        .as_ref()
        .map(|t| &*t.key)
        .ok_or_else(|| Error::Failed(format!("{} needs a target", request.action)))
}

/// A lookup whose `NoSuchEntity` means "there is none": `None`, not an error.
pub(crate) fn absent_is_none(found: Result<Node>) -> Result<Option<Node>> {
    match found {
        Ok(doc) => Ok(Some(doc)),
        Err(Error::TargetGone(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws() -> Aws {
        Aws::new(AwsSettings {
            region: "eu-west-1".into(),
            endpoint: None,
            credentials: CredentialSource::Chain,
            quarantine_group: None,
            timeout: Duration::from_secs(1),
        })
        .expect("settings")
    }

    #[test]
    fn an_answer_is_sorted_into_gone_retry_and_refused_by_its_error_code() {
        let aws = aws();
        let doc = |code: &str| {
            xml::parse(
                format!(
                    "<ErrorResponse><Error><Code>{code}</Code><Message>m</Message></Error></ErrorResponse>"
                )
                .as_bytes(),
            )
        };
        assert!(matches!(aws.refusal("GetUser", 404, doc("NoSuchEntity").as_ref()), Error::TargetGone(_)));
        assert!(aws.refusal("GetUser", 400, doc("Throttling").as_ref()).is_transient());
        assert!(aws.refusal("GetUser", 503, None).is_transient());
        let refused = aws.refusal("GetUser", 403, doc("InvalidClientTokenId").as_ref());
        assert!(matches!(&refused, Error::Failed(m) if m.contains("InvalidClientTokenId")), "{refused}");
    }

    #[test]
    fn a_query_is_form_encoded_as_the_sdks_do_it() {
        assert_eq!(
            form(&[("Action", "PutUserPolicy"), ("PolicyDocument", r#"{"Effect": "Deny+*~"}"#)]),
            "Action=PutUserPolicy&PolicyDocument=%7B%22Effect%22%3A+%22Deny%2B%2A~%22%7D"
        );
    }

    #[test]
    fn settings_that_cannot_work_are_refused_at_start() {
        let bad = |f: &dyn Fn(&mut AwsSettings)| {
            let mut s = AwsSettings {
                region: "eu-west-1".into(),
                endpoint: None,
                credentials: CredentialSource::Chain,
                quarantine_group: None,
                timeout: Duration::from_secs(1),
            };
            f(&mut s);
            Aws::new(s).is_err()
        };
        assert!(bad(&|s| s.region = "eu west".into()));
        assert!(bad(&|s| s.endpoint = Some("127.0.0.1:5000".into())));
        assert!(bad(&|s| s.quarantine_group = Some("quarantine".into())));
        assert!(!bad(&|s| s.endpoint = Some("http://127.0.0.1:5000".into())));
        assert_eq!(host_of("https://vpce-1.iam.example:443/x"), "vpce-1.iam.example:443");
    }
}
