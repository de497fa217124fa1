//! `disable_account` and `force_password_reset` on a directory account, in each dialect:
//! OpenLDAP's ppolicy (`pwdAccountLockedTime`, `pwdReset`) and Active Directory's
//! `userAccountControl` and `pwdLastSet`. The precheck keeps the account's DN and the
//! attributes as they were; a rollback puts back only what the action changed, and a target
//! found already changed by someone else is reported, not taken over.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use ldap3::Mod;
use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{ACCOUNT_STATE, Account, Dialect, Directory};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// ppolicy's value for "locked until an administrator unlocks it".
const LOCKED_FOR_GOOD: &str = "000001010000Z";
/// userAccountControl's ACCOUNTDISABLE bit.
const ACCOUNTDISABLE: i64 = 0x2;

/// What the action turns on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Disabled,
    MustChangePassword,
}

/// An account action of the directory: one flag set, and put back on rollback.
pub struct AccountAction {
    dir: Arc<Directory>,
    flag: Flag,
}

impl AccountAction {
    /// `disable_account`: binds refused until the rollback.
    pub fn disable(dir: Arc<Directory>) -> AccountAction {
        AccountAction { dir, flag: Flag::Disabled }
    }

    /// `force_password_reset`: a new password at the next sign-in.
    pub fn force_password_reset(dir: Arc<Directory>) -> AccountAction {
        AccountAction { dir, flag: Flag::MustChangePassword }
    }

    fn dialect(&self) -> Dialect {
        self.dir.dialect()
    }

    /// Whether the flag is on in `account`.
    fn holds(&self, account: &Account) -> bool {
        match (self.flag, self.dialect()) {
            (Flag::Disabled, Dialect::OpenLdap) => account.first("pwdAccountLockedTime").is_some(),
            (Flag::Disabled, Dialect::ActiveDirectory) => {
                uac(account).is_some_and(|u| u & ACCOUNTDISABLE != 0)
            }
            (Flag::MustChangePassword, Dialect::OpenLdap) => {
                account.first("pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
            }
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => account.first("pwdLastSet") == Some("0"),
        }
    }

    /// The attribute the flag lives in, in this dialect.
    fn attribute(&self) -> &'static str {
        match (self.flag, self.dialect()) {
            (Flag::Disabled, Dialect::OpenLdap) => "pwdAccountLockedTime",
            (Flag::Disabled, Dialect::ActiveDirectory) => "userAccountControl",
            (Flag::MustChangePassword, Dialect::OpenLdap) => "pwdReset",
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => "pwdLastSet",
        }
    }

    fn observed(&self, account: &Account) -> Value {
        json!({"dn": account.dn, self.attribute(): account.first(self.attribute())})
    }

    /// The change that turns the flag on.
    fn set(&self, account: &Account) -> Result<Mod<String>> {
        let attribute = self.attribute().to_owned();
        let value = match (self.flag, self.dialect()) {
            (Flag::Disabled, Dialect::OpenLdap) => LOCKED_FOR_GOOD.to_owned(),
            (Flag::Disabled, Dialect::ActiveDirectory) => {
                let now = uac(account).ok_or_else(|| {
                    Error::Failed(format!(
                        "{} has no userAccountControl to set ACCOUNTDISABLE in",
                        account.dn
                    ))
                })?;
                (now | ACCOUNTDISABLE).to_string()
            }
            (Flag::MustChangePassword, Dialect::OpenLdap) => "TRUE".to_owned(),
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => "0".to_owned(),
        };
        Ok(Mod::Replace(attribute, HashSet::from([value])))
    }

    /// The change that puts back what `prior` held, given the account as it is now.
    fn restore(&self, now: &Account, prior: &Account) -> Result<Mod<String>> {
        let attribute = self.attribute().to_owned();
        let values: HashSet<String> = match (self.flag, self.dialect()) {
            (Flag::Disabled, Dialect::ActiveDirectory) => {
                // Only the ACCOUNTDISABLE bit goes back; other bits changed since stay as they are.
                let now = uac(now).unwrap_or(0);
                let before = uac(prior).unwrap_or(0);
                HashSet::from([((now & !ACCOUNTDISABLE) | (before & ACCOUNTDISABLE)).to_string()])
            }
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => match prior.first("pwdLastSet") {
                Some("0") => HashSet::from(["0".to_owned()]),
                // Active Directory takes only 0 or -1 (now): the earlier time cannot be written back.
                _ => HashSet::from(["-1".to_owned()]),
            },
            _ => prior.first(&attribute).map(|v| HashSet::from([v.to_owned()])).unwrap_or_default(),
        };
        // An empty Replace removes the attribute, as it was absent before.
        Ok(Mod::Replace(attribute, values))
    }

    /// Whether `now` is back to `prior` in what the action changed.
    fn restored(&self, now: &Account, prior: &Account) -> bool {
        match (self.flag, self.dialect()) {
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => {
                (prior.first("pwdLastSet") == Some("0")) == (now.first("pwdLastSet") == Some("0"))
            }
            _ => {
                self.holds(now) == self.holds(prior) && {
                    self.dialect() == Dialect::ActiveDirectory
                        || now.first(self.attribute()) == prior.first(self.attribute())
                }
            }
        }
    }

    fn what(&self, dn: &str) -> String {
        let system = self.dir.system();
        match (self.flag, self.dialect()) {
            (Flag::Disabled, Dialect::OpenLdap) => format!(
                "lock the account {dn} in {system}: set pwdAccountLockedTime to {LOCKED_FOR_GOOD} (every sign-in refused until it is unlocked)"
            ),
            (Flag::Disabled, Dialect::ActiveDirectory) => format!(
                "disable the account {dn} in {system}: set ACCOUNTDISABLE (0x2) in userAccountControl"
            ),
            (Flag::MustChangePassword, Dialect::OpenLdap) => format!(
                "require a new password for {dn} at its next sign-in in {system}: set pwdReset to TRUE (until then the directory allows only a password change)"
            ),
            (Flag::MustChangePassword, Dialect::ActiveDirectory) => format!(
                "require a new password for {dn} at its next sign-in in {system}: set pwdLastSet to 0 (a rollback sets it to -1, now: Active Directory does not take the earlier time back)"
            ),
        }
    }

    fn already(&self) -> &'static str {
        match self.flag {
            Flag::Disabled => "already disabled",
            Flag::MustChangePassword => "already required to change its password",
        }
    }
}

/// The account state a precheck keeps.
fn snapshot(account: &Account) -> Value {
    let attrs: BTreeMap<&str, &Vec<String>> = account
        .attrs
        .iter()
        .filter(|(k, _)| ACCOUNT_STATE.iter().any(|a| a.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    json!({"dn": account.dn, "attrs": attrs})
}

/// The account a precheck kept.
fn from_snapshot(prior: &Value) -> Result<Account> {
    let dn = prior["dn"]
        .as_str()
        .ok_or_else(|| Error::Failed("the precheck kept no account DN: nothing to act on".into()))?;
    let attrs = prior["attrs"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let values =
                        v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned));
                    (k.clone(), values.collect())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Account { dn: dn.to_owned(), attrs })
}

fn uac(account: &Account) -> Option<i64> {
    account.first("userAccountControl").and_then(|v| v.trim().parse().ok())
}

impl Action for AccountAction {
    fn name(&self) -> &'static str {
        match self.flag {
            Flag::Disabled => "disable_account",
            Flag::MustChangePassword => "force_password_reset",
        }
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.dir.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let account = self.dir.account(request).await?;
            let facts =
                json!({"host": self.dir.host(), "dialect": self.dialect().as_str(), "dn": account.dn});
            if self.holds(&account) {
                return Ok(Plan {
                    changes: vec![format!("{} is {}: nothing to change", account.dn, self.already())],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan { changes: vec![self.what(&account.dn)], runnable: true, undo: Undo::Rollback, facts })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let account = self.dir.account(request).await?;
            if self.holds(&account) {
                return Err(Error::TargetChanged(format!(
                    "{} is {} since the plan was approved; Vigil changed nothing",
                    account.dn,
                    self.already()
                )));
            }
            Ok(snapshot(&account))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let prior = from_snapshot(step.prior)?;
            let now = self.dir.read(&prior.dn).await?;
            if self.holds(&now) {
                // The executor verifies before acting again after a restart, so a flag that is on
                // here was set by someone else after the precheck.
                return Err(Error::TargetChanged(format!(
                    "{} was {} by someone else after the precheck; Vigil changed nothing",
                    now.dn,
                    self.already()
                )));
            }
            let change = self.set(&now)?;
            let set = describe(&change);
            self.dir.modify(&now.dn, vec![change]).await?;
            Ok(json!({"dn": now.dn, "set": set}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let prior = from_snapshot(step.prior)?;
            let now = self.dir.read(&prior.dn).await?;
            Ok(Probe { holds: self.holds(&now), observed: self.observed(&now) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let prior = from_snapshot(step.prior)?;
            let now = self.dir.read(&prior.dn).await?;
            if self.restored(&now, &prior) {
                return Ok(json!({"dn": now.dn, "restored": "already as before"}));
            }
            let change = self.restore(&now, &prior)?;
            let set = describe(&change);
            self.dir.modify(&now.dn, vec![change]).await?;
            Ok(json!({"dn": now.dn, "restored": set}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let prior = from_snapshot(step.prior)?;
            let now = self.dir.read(&prior.dn).await?;
            Ok(Probe { holds: self.restored(&now, &prior), observed: self.observed(&now) })
        })
    }
}

/// A modification as the run log shows it.
fn describe(change: &Mod<String>) -> Value {
    match change {
        Mod::Replace(attribute, values) | Mod::Add(attribute, values) | Mod::Delete(attribute, values) => {
            let mut values: Vec<&String> = values.iter().collect();
            values.sort();
            json!({attribute: values})
        }
        Mod::Increment(attribute, by) => json!({attribute: format!("+{by}")}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::directory::{DirectorySettings, Transport};

    fn action(flag: Flag, dialect: Dialect) -> AccountAction {
        let dir = tempfile::tempdir().expect("dir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, TEST_CA).expect("write");
        let dir = Directory::new(DirectorySettings {
            url: "ldap://dc1:389".into(),
            transport: Transport::StartTls,
            ca_file: Some(ca),
            bind_dn: "cn=vigil".into(),
            password: "pw".into(),
            base_dn: "dc=x".into(),
            dialect,
            privileged_groups: vec![],
            timeout: std::time::Duration::from_secs(1),
        })
        .expect("directory");
        AccountAction { dir: Arc::new(dir), flag }
    }

    fn account(attrs: &[(&str, &str)]) -> Account {
        Account {
            dn: "uid=alice,dc=x".into(),
            attrs: attrs.iter().map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()])).collect(),
        }
    }

    /// A self-signed certificate, only parsed here.
    const TEST_CA: &str = include_str!("../../../tests/fixtures/slapd/parse-only-ca.pem");

    #[test]
    fn disabling_in_active_directory_sets_only_the_disable_bit_and_its_rollback_clears_only_it() {
        let disable = action(Flag::Disabled, Dialect::ActiveDirectory);
        let before = account(&[("userAccountControl", "512")]);
        assert!(!disable.holds(&before));
        assert_eq!(describe(&disable.set(&before).expect("set")), json!({"userAccountControl": ["514"]}));
        // Someone sets DONT_EXPIRE_PASSWORD (0x10000) while the account is disabled: it stays.
        let now = account(&[("userAccountControl", "66050")]);
        assert!(disable.holds(&now));
        assert_eq!(
            describe(&disable.restore(&now, &before).expect("restore")),
            json!({"userAccountControl": ["66048"]})
        );
        assert!(disable.restored(&account(&[("userAccountControl", "66048")]), &before));
    }

    #[test]
    fn unlocking_in_openldap_removes_the_lock_when_there_was_none_and_keeps_an_earlier_one() {
        let disable = action(Flag::Disabled, Dialect::OpenLdap);
        let locked = account(&[("pwdAccountLockedTime", LOCKED_FOR_GOOD)]);
        assert_eq!(
            describe(&disable.restore(&locked, &account(&[])).expect("restore")),
            json!({"pwdAccountLockedTime": []})
        );
        assert!(disable.restored(&account(&[]), &account(&[])));
        assert!(!disable.restored(&locked, &account(&[])));
    }

    #[test]
    fn a_forced_reset_in_active_directory_rolls_back_to_now_not_to_the_old_time() {
        let reset = action(Flag::MustChangePassword, Dialect::ActiveDirectory);
        let before = account(&[("pwdLastSet", "133000000000000000")]);
        let now = account(&[("pwdLastSet", "0")]);
        assert!(reset.holds(&now) && !reset.holds(&before));
        assert_eq!(describe(&reset.restore(&now, &before).expect("restore")), json!({"pwdLastSet": ["-1"]}));
        assert!(reset.restored(&account(&[("pwdLastSet", "134000000000000000")]), &before));
        assert!(reset.what("uid=alice,dc=x").contains("does not take the earlier time back"));
    }

    #[test]
    fn a_precheck_snapshot_reads_back_as_the_same_account() {
        let before = account(&[("pwdReset", "TRUE"), ("userAccountControl", "512")]);
        assert_eq!(from_snapshot(&snapshot(&before)).expect("account"), before);
        assert!(from_snapshot(&json!({"attrs": {}})).is_err());
    }
}
