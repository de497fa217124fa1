//! `block_bucket_public_access`: S3's Block Public Access turned fully on for one bucket. The
//! precheck keeps the bucket's configuration exactly (or that it had none), and the rollback
//! puts back exactly that: the same four settings, or no configuration at all.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Aws, Node};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// The four settings of a public access block, in S3's order.
const SETTINGS: [&str; 4] =
    ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

/// A bucket's public access block: `None` when it has none.
type Config = Option<[bool; 4]>;

pub struct BlockBucketPublicAccess {
    aws: Arc<Aws>,
}

/// A bucket name by S3's rules (3–63 of a–z, 0–9, `.` and `-`, starting and ending with a
/// letter or digit): nothing else reaches a URL.
fn bucket(request: &ActionRequest) -> Result<String> {
    let name = crate::builtin::text_parameter(request, "bucket")?
        .ok_or_else(|| Error::Failed("block_bucket_public_access needs the parameter bucket".into()))?;
    let ok = (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..");
    if ok { Ok(name.to_owned()) } else { Err(Error::Failed(format!("{name:?} is not an S3 bucket name"))) }
}

fn from_doc(doc: &Node) -> [bool; 4] {
    SETTINGS.map(|s| doc.text_of(s).is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

fn to_json(config: &Config) -> Value {
    match config {
        None => Value::Null,
        Some(values) => Value::Object(
            SETTINGS.iter().zip(values).map(|(k, v)| ((*k).to_owned(), Value::Bool(*v))).collect(),
        ),
    }
}

fn from_json(value: &Value) -> Result<Config> {
    if value.is_null() {
        return Ok(None);
    }
    let mut out = [false; 4];
    for (i, s) in SETTINGS.iter().enumerate() {
        out[i] = value[s]
            .as_bool()
            .ok_or_else(|| Error::Failed(format!("the precheck kept no {s}: nothing to restore")))?;
    }
    Ok(Some(out))
}

fn document(values: [bool; 4]) -> Vec<u8> {
    let mut xml =
        String::from(r#"<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#);
    for (k, v) in SETTINGS.iter().zip(values) {
        xml.push_str(&format!("<{k}>{v}</{k}>"));
    }
    xml.push_str("</PublicAccessBlockConfiguration>");
    xml.into_bytes()
}

fn words(config: &Config) -> String {
    match config {
        None => "no public access block".to_owned(),
        Some(values) => {
            SETTINGS.iter().zip(values).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
        }
    }
}

const ALL_ON: [bool; 4] = [true; 4];

impl BlockBucketPublicAccess {
    pub fn new(aws: Arc<Aws>) -> BlockBucketPublicAccess {
        BlockBucketPublicAccess { aws }
    }

    async fn read(&self, bucket: &str) -> Result<Config> {
        let (status, doc) = self.aws.s3("GET", bucket, "publicAccessBlock", None).await?;
        match (status, doc) {
            (200..300, Some(doc)) => Ok(Some(from_doc(&doc))),
            (404, doc) => match doc.as_ref().and_then(|d| d.text_of("Code")) {
                Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
                _ => Err(Error::TargetGone(format!("{}: there is no bucket {bucket}", self.aws.system()))),
            },
            (status, _) => Err(Error::Failed(format!(
                "{}: reading the public access block of {bucket} answered {status} with nothing Vigil can read",
                self.aws.system()
            ))),
        }
    }

    async fn write(&self, bucket: &str, config: &Config) -> Result<()> {
        match config {
            Some(values) => self.aws.s3("PUT", bucket, "publicAccessBlock", Some(document(*values))).await?,
            None => self.aws.s3("DELETE", bucket, "publicAccessBlock", None).await?,
        };
        Ok(())
    }

    fn observed(bucket: &str, config: &Config) -> Value {
        json!({"bucket": bucket, "public_access_block": to_json(config)})
    }
}

impl Action for BlockBucketPublicAccess {
    fn name(&self) -> &'static str {
        "block_bucket_public_access"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.aws.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let bucket = bucket(request)?;
            let now = self.read(&bucket).await?;
            let facts = json!({"system": self.aws.system(), "bucket": bucket, "now": to_json(&now)});
            if now == Some(ALL_ON) {
                return Ok(Plan {
                    changes: vec![format!(
                        "S3 bucket {bucket} already blocks all public access: nothing to change"
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "block all public access to S3 bucket {bucket} in {}: PutPublicAccessBlock with {} all true (now: {}); the rollback puts back exactly the configuration the precheck reads",
                    self.aws.system(),
                    SETTINGS.join(", "),
                    words(&now)
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let bucket = bucket(request)?;
            let now = self.read(&bucket).await?;
            if now == Some(ALL_ON) {
                return Err(Error::TargetChanged(format!(
                    "S3 bucket {bucket} blocks all public access since the plan was approved; Vigil changed nothing"
                )));
            }
            Ok(json!({"bucket": bucket, "public_access_block": to_json(&now)}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let bucket = bucket(step.request)?;
            if self.read(&bucket).await? == Some(ALL_ON) {
                return Err(Error::TargetChanged(format!(
                    "S3 bucket {bucket} was made to block all public access by someone else after the precheck; Vigil changed nothing"
                )));
            }
            self.write(&bucket, &Some(ALL_ON)).await?;
            Ok(Self::observed(&bucket, &Some(ALL_ON)))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let bucket = bucket(step.request)?;
            let now = self.read(&bucket).await?;
            Ok(Probe { holds: now == Some(ALL_ON), observed: Self::observed(&bucket, &now) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let bucket = bucket(step.request)?;
            let before = from_json(&step.prior["public_access_block"])?;
            if self.read(&bucket).await? == before {
                return Ok(json!({"bucket": bucket, "restored": "already as before"}));
            }
            self.write(&bucket, &before).await?;
            Ok(json!({"bucket": bucket, "restored": to_json(&before)}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let bucket = bucket(step.request)?;
            let before = from_json(&step.prior["public_access_block"])?;
            let now = self.read(&bucket).await?;
            Ok(Probe { holds: now == before, observed: Self::observed(&bucket, &now) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::Requester;

    #[test]
    fn only_an_s3_bucket_name_reaches_the_url() {
        let named = |b: &str| {
            let request = ActionRequest {
                action: "block_bucket_public_access".into(),
                target: None,
                parameters: [("bucket".to_owned(), json!(b))].into(),
                case: None,
                requested_by: Requester::Person("rita".into()),
                plan_sha256: None,
            };
            bucket(&request).ok()
        };
        assert_eq!(named("evidence.corp-1"), Some("evidence.corp-1".into()));
        for bad in ["ab", "Evidence", "a/../b", "b?x=1", "-lead", "a..b"] {
            assert_eq!(named(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_configuration_round_trips_through_what_the_precheck_keeps() {
        for config in [None, Some([true, false, true, false]), Some(ALL_ON)] {
            assert_eq!(from_json(&to_json(&config)).expect("config"), config);
        }
        let doc = super::super::xml::parse(&document([true, false, false, true])).expect("xml");
        assert_eq!(from_doc(&doc), [true, false, false, true]);
    }
}
