//! IAM actions: `deactivate_access_key` (rollback: reactivate), `attach_deny_all_policy` (an
//! inline policy that denies everything; rollback: delete it) and `remove_console_login`
//! (deleting the console password, which cannot be put back). Each reads the principal's
//! state from IAM in its precheck and again in verify.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Aws, Node, Service, absent_is_none, last_segment, target_of};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// The inline policy `attach_deny_all_policy` writes: its name says whose it is.
pub const DENY_ALL_POLICY: &str = "VigilDenyAll";

fn deny_all_document() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "VigilContainment", "Effect": "Deny", "Action": "*", "Resource": "*"}
    ]})
}

/// An access key id as IAM writes it.
fn key_id(request: &ActionRequest) -> Result<String> {
    let key = target_of(request)?.to_ascii_uppercase();
    if !(16..=128).contains(&key.len()) || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::Failed(format!("{key:?} is not an AWS access key id")));
    }
    Ok(key)
}

/// An IAM name (user or role): IAM's own character set.
fn iam_name(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok { Ok(name) } else { Err(Error::Failed(format!("{name:?} is not an IAM user or role name"))) }
}

/// A user or a role, as IAM's API names each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Role,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Role => "role",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Role => "Role",
        }
    }
}

/// The principal a cloud_principal target names: an IAM user or role ARN, a role's session
/// (`arn:aws:sts::…:assumed-role/ROLE/SESSION` is the role), or `user/NAME` / `role/NAME`.
pub(crate) fn principal(request: &ActionRequest) -> Result<(Kind, String)> {
    let key = target_of(request)?;
    let resource = match key.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            match parts.as_slice() {
                [_, "iam", "", _, resource] | [_, "sts", "", _, resource] => *resource,
                _ => return Err(Error::Failed(format!("{key:?} is not an IAM user or role ARN"))),
            }
        }
        None => key,
    };
    if let Some(session) = resource.strip_prefix("assumed-role/") {
        let role = session.split('/').next().unwrap_or("");
        return Ok((Kind::Role, iam_name(role)?.to_owned()));
    }
    match resource.split_once('/') {
        Some(("user", path)) => Ok((Kind::User, iam_name(last_segment(path))?.to_owned())),
        Some(("role", path)) => Ok((Kind::Role, iam_name(last_segment(path))?.to_owned())),
        _ => Err(Error::Failed(format!("{key:?} names no IAM user or role"))),
    }
}

/// `deactivate_access_key`: every request signed with the key refused until it is reactivated.
pub struct DeactivateAccessKey {
    aws: Arc<Aws>,
}

impl DeactivateAccessKey {
    pub fn new(aws: Arc<Aws>) -> DeactivateAccessKey {
        DeactivateAccessKey { aws }
    }

    /// The key's user (from the request's `user`, or IAM's record of the key) and its status.
    async fn read(&self, request: &ActionRequest, user: Option<&str>) -> Result<(String, String, String)> {
        let key = key_id(request)?;
        let user = match user.map(str::to_owned).or(text(request, "user")?) {
            Some(user) => iam_name(&user)?.to_owned(),
            None => {
                let doc = self
                    .aws
                    .query(Service::Iam, "GetAccessKeyLastUsed", &[("AccessKeyId", key.clone())])
                    .await?;
                let user = doc.text_of("UserName").filter(|u| !u.is_empty()).ok_or_else(|| {
                    Error::TargetGone(format!(
                        "{}: access key {key} belongs to no IAM user",
                        self.aws.system()
                    ))
                })?;
                iam_name(user)?.to_owned()
            }
        };
        let doc = self.aws.query(Service::Iam, "ListAccessKeys", &[("UserName", user.clone())]).await?;
        let status = doc
            .all("member")
            .into_iter()
            .find(|m| m.child_text("AccessKeyId") == Some(key.as_str()))
            .and_then(|m| m.child_text("Status").map(str::to_owned))
            .ok_or_else(|| {
                Error::TargetGone(format!("{}: IAM user {user} has no access key {key}", self.aws.system()))
            })?;
        Ok((key, user, status))
    }

    async fn set(&self, key: &str, user: &str, status: &str) -> Result<()> {
        let params =
            [("UserName", user.to_owned()), ("AccessKeyId", key.to_owned()), ("Status", status.to_owned())];
        self.aws.query(Service::Iam, "UpdateAccessKey", &params).await.map(drop)
    }
}

fn text(request: &ActionRequest, name: &str) -> Result<Option<String>> {
    crate::builtin::text_parameter(request, name).map(|t| t.map(str::to_owned))
}

fn prior_text<'a>(prior: &'a Value, field: &str) -> Result<&'a str> {
    prior[field]
        .as_str()
        .ok_or_else(|| Error::Failed(format!("the precheck kept no {field}: nothing to act on")))
}

impl Action for DeactivateAccessKey {
    fn name(&self) -> &'static str {
        "deactivate_access_key"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.aws.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (key, user, status) = self.read(request, None).await?;
            let facts = json!({"system": self.aws.system(), "user": user, "access_key": key});
            if status != "Active" {
                return Ok(Plan {
                    changes: vec![format!(
                        "access key {key} of IAM user {user} is {status}: nothing to change"
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "deactivate access key {key} of IAM user {user} in {}: UpdateAccessKey Status=Inactive (every request signed with it refused until the rollback reactivates it)",
                    self.aws.system()
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (key, user, status) = self.read(request, None).await?;
            if status != "Active" {
                return Err(Error::TargetChanged(format!(
                    "access key {key} of IAM user {user} is {status} since the plan was approved; Vigil changed nothing"
                )));
            }
            Ok(json!({"access_key": key, "user": user, "status": status}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let user = prior_text(step.prior, "user")?;
            let (key, user, status) = self.read(step.request, Some(user)).await?;
            if status != "Active" {
                // After a restart the executor verifies before it executes again: a key found
                // inactive here was deactivated by someone else.
                return Err(Error::TargetChanged(format!(
                    "access key {key} of IAM user {user} was made {status} by someone else after the precheck; Vigil changed nothing"
                )));
            }
            self.set(&key, &user, "Inactive").await?;
            Ok(json!({"access_key": key, "user": user, "status": "Inactive"}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (key, user, status) = self.read(step.request, Some(prior_text(step.prior, "user")?)).await?;
            Ok(Probe {
                holds: status == "Inactive",
                observed: json!({"access_key": key, "user": user, "status": status}),
            })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let before = prior_text(step.prior, "status")?;
            let (key, user, status) = self.read(step.request, Some(prior_text(step.prior, "user")?)).await?;
            if status == before {
                return Ok(
                    json!({"access_key": key, "user": user, "status": status, "restored": "already as before"}),
                );
            }
            self.set(&key, &user, before).await?;
            Ok(json!({"access_key": key, "user": user, "status": before}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let before = prior_text(step.prior, "status")?;
            let (key, user, status) = self.read(step.request, Some(prior_text(step.prior, "user")?)).await?;
            Ok(Probe {
                holds: status == before,
                observed: json!({"access_key": key, "user": user, "status": status}),
            })
        })
    }
}

/// `attach_deny_all_policy`: an inline policy that denies every action on every resource,
/// which no allow in any other policy overrides.
pub struct DenyAllPolicy {
    aws: Arc<Aws>,
}

impl DenyAllPolicy {
    pub fn new(aws: Arc<Aws>) -> DenyAllPolicy {
        DenyAllPolicy { aws }
    }

    /// The principal exists (or the error says it does not); returns its ARN.
    async fn principal_arn(&self, kind: Kind, name: &str) -> Result<String> {
        let action = format!("Get{}", kind.noun());
        let doc = self.aws.query(Service::Iam, &action, &[(name_param(kind), name.to_owned())]).await?;
        Ok(doc.text_of("Arn").unwrap_or(name).to_owned())
    }

    /// Vigil's inline policy on the principal, as IAM holds it, if any.
    async fn policy(&self, kind: Kind, name: &str) -> Result<Option<Value>> {
        let action = format!("Get{}Policy", kind.noun());
        let params = [(name_param(kind), name.to_owned()), ("PolicyName", DENY_ALL_POLICY.to_owned())];
        let Some(doc) = absent_is_none(self.aws.query(Service::Iam, &action, &params).await)? else {
            return Ok(None);
        };
        // IAM returns the document URL-encoded; a document that is not reads as itself.
        let encoded = doc.text_of("PolicyDocument").unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned();
        Ok(Some(serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))))
    }

    fn observed(kind: Kind, name: &str, policy: &Option<Value>) -> Value {
        json!({kind.as_str(): name, "policy": DENY_ALL_POLICY, "present": policy.is_some(),
               "denies_everything": policy.as_ref() == Some(&deny_all_document())})
    }
}

fn name_param(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "UserName",
        Kind::Role => "RoleName",
    }
}

fn prior_principal(prior: &Value) -> Result<(Kind, String)> {
    let name = prior_text(prior, "name")?.to_owned();
    match prior_text(prior, "kind")? {
        "user" => Ok((Kind::User, name)),
        "role" => Ok((Kind::Role, name)),
        other => Err(Error::Failed(format!("the precheck kept an unknown principal kind {other:?}"))),
    }
}

impl Action for DenyAllPolicy {
    fn name(&self) -> &'static str {
        "attach_deny_all_policy"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.aws.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (kind, name) = principal(request)?;
            let arn = self.principal_arn(kind, &name).await?;
            let facts = json!({"system": self.aws.system(), "principal": arn, "policy": DENY_ALL_POLICY});
            if self.policy(kind, &name).await?.is_some() {
                return Ok(Plan {
                    changes: vec![format!(
                        "{arn} already has an inline policy {DENY_ALL_POLICY}: nothing to change"
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "attach the inline policy {DENY_ALL_POLICY} (Deny every action on every resource) to IAM {} {arn} in {}: Put{}Policy; every request it makes is refused, whatever its other policies allow, until the rollback deletes the policy",
                    kind.as_str(),
                    self.aws.system(),
                    kind.noun()
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (kind, name) = principal(request)?;
            let arn = self.principal_arn(kind, &name).await?;
            if self.policy(kind, &name).await?.is_some() {
                return Err(Error::TargetChanged(format!(
                    "{arn} has an inline policy {DENY_ALL_POLICY} since the plan was approved; Vigil changed nothing"
                )));
            }
            Ok(json!({"kind": kind.as_str(), "name": name, "arn": arn, "policy_present": false}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (kind, name) = prior_principal(step.prior)?;
            if self.policy(kind, &name).await?.is_some() {
                return Err(Error::TargetChanged(format!(
                    "someone else put an inline policy {DENY_ALL_POLICY} on {} {name} after the precheck; Vigil changed nothing",
                    kind.as_str()
                )));
            }
            let params = [
                (name_param(kind), name.clone()),
                ("PolicyName", DENY_ALL_POLICY.to_owned()),
                ("PolicyDocument", deny_all_document().to_string()),
            ];
            self.aws.query(Service::Iam, &format!("Put{}Policy", kind.noun()), &params).await?;
            Ok(json!({kind.as_str(): name, "attached": DENY_ALL_POLICY}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (kind, name) = prior_principal(step.prior)?;
            let policy = self.policy(kind, &name).await?;
            let holds = policy.as_ref() == Some(&deny_all_document());
            Ok(Probe { holds, observed: Self::observed(kind, &name, &policy) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (kind, name) = prior_principal(step.prior)?;
            if self.policy(kind, &name).await?.is_none() {
                return Ok(json!({kind.as_str(): name, "restored": "already as before"}));
            }
            let params = [(name_param(kind), name.clone()), ("PolicyName", DENY_ALL_POLICY.to_owned())];
            self.aws.query(Service::Iam, &format!("Delete{}Policy", kind.noun()), &params).await?;
            Ok(json!({kind.as_str(): name, "deleted": DENY_ALL_POLICY}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (kind, name) = prior_principal(step.prior)?;
            let policy = self.policy(kind, &name).await?;
            Ok(Probe { holds: policy.is_none(), observed: Self::observed(kind, &name, &policy) })
        })
    }
}

/// `remove_console_login`: the user's console password deleted. Its keys and sessions are
/// untouched; the password cannot be put back (an administrator sets a new one).
pub struct RemoveConsoleLogin {
    aws: Arc<Aws>,
}

impl RemoveConsoleLogin {
    pub fn new(aws: Arc<Aws>) -> RemoveConsoleLogin {
        RemoveConsoleLogin { aws }
    }

    fn user(request: &ActionRequest) -> Result<String> {
        match principal(request)? {
            (Kind::User, name) => Ok(name),
            (Kind::Role, name) => {
                Err(Error::Failed(format!("role {name} has no console password; only an IAM user does")))
            }
        }
    }

    async fn login_profile(&self, user: &str) -> Result<Option<Node>> {
        absent_is_none(
            self.aws.query(Service::Iam, "GetLoginProfile", &[("UserName", user.to_owned())]).await,
        )
    }

    async fn user_exists(&self, user: &str) -> Result<()> {
        self.aws.query(Service::Iam, "GetUser", &[("UserName", user.to_owned())]).await.map(drop)
    }
}

impl Action for RemoveConsoleLogin {
    fn name(&self) -> &'static str {
        "remove_console_login"
    }

    fn undo(&self) -> Undo {
        Undo::Irreversible
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.aws.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let user = Self::user(request)?;
            self.user_exists(&user).await?;
            let facts = json!({"system": self.aws.system(), "user": user});
            if self.login_profile(&user).await?.is_none() {
                return Ok(Plan {
                    changes: vec![format!("IAM user {user} has no console password: nothing to change")],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "delete the console password (login profile) of IAM user {user} in {}: DeleteLoginProfile; console sign-in is refused from then on. IRREVERSIBLE: the password cannot be put back, an administrator sets a new one; the user's access keys are not touched",
                    self.aws.system()
                )],
                runnable: true,
                undo: Undo::Irreversible,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let user = Self::user(request)?;
            self.user_exists(&user).await?;
            let Some(profile) = self.login_profile(&user).await? else {
                return Err(Error::TargetChanged(format!(
                    "IAM user {user} has no console password since the plan was approved; Vigil changed nothing"
                )));
            };
            Ok(json!({"user": user, "login_profile_created": profile.text_of("CreateDate"),
                      "password_reset_required": profile.text_of("PasswordResetRequired")}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let user = prior_text(step.prior, "user")?.to_owned();
            match self.aws.query(Service::Iam, "DeleteLoginProfile", &[("UserName", user.clone())]).await {
                Ok(_) => Ok(json!({"user": user, "login_profile": "deleted"})),
                Err(Error::TargetGone(_)) => Err(Error::TargetChanged(format!(
                    "the console password of IAM user {user} was deleted by someone else after the precheck"
                ))),
                Err(e) => Err(e),
            }
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let user = prior_text(step.prior, "user")?.to_owned();
            let present = self.login_profile(&user).await?.is_some();
            Ok(Probe { holds: !present, observed: json!({"user": user, "login_profile": present}) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{Entity, EntityKind, Requester};

    fn on(key: &str) -> ActionRequest {
        ActionRequest {
            action: "attach_deny_all_policy".into(),
            target: Some(Entity { kind: EntityKind::CloudPrincipal, key: key.into() }),
            parameters: Default::default(),
            case: None,
            requested_by: Requester::Person("rita".into()),
            plan_sha256: None,
        }
    }

    #[test]
    fn a_principal_is_read_from_user_role_and_session_arns_and_nothing_else() {
        let p = |key: &str| principal(&on(key)).ok();
        assert_eq!(p("arn:aws:iam::123456789012:user/dev/mallory"), Some((Kind::User, "mallory".into())));
        assert_eq!(p("arn:aws:iam::123456789012:role/ci-deploy"), Some((Kind::Role, "ci-deploy".into())));
        assert_eq!(
            p("arn:aws:sts::123456789012:assumed-role/ci-deploy/session-1"),
            Some((Kind::Role, "ci-deploy".into()))
        );
        assert_eq!(p("user/mallory"), Some((Kind::User, "mallory".into())));
        assert_eq!(p("arn:aws:s3:::bucket"), None);
        assert_eq!(p("arn:aws:iam::1:user/$(reboot)"), None, "a name outside IAM's characters");
    }

    #[test]
    fn an_access_key_id_is_iams_shape_or_refused() {
        let key = |k: &str| {
            let mut r = on(k);
            r.target = Some(Entity { kind: EntityKind::AccessKey, key: k.into() });
            key_id(&r).ok()
        };
        assert_eq!(key("akiaiosfodnn7example"), Some("AKIAIOSFODNN7EXAMPLE".into()));
        assert_eq!(key("AKIA&Status=Active"), None);
    }
}
