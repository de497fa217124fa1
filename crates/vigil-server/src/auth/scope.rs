//! What an API token may be used for, beyond its owner's role: everything the role allows
//! (`*`), one permission (`case_read`), or posting to one source's webhook (`webhook:okta`).
//! Stored as that text; parsed once, here.

use std::fmt;

use super::Permission;
use crate::params::valid_name;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Permission(Permission),
    Webhook(String),
}

impl Scope {
    /// `None` for text that names no scope.
    pub fn parse(text: &str) -> Option<Scope> {
        if text == "*" {
            return Some(Scope::All);
        }
        if let Some(source) = text.strip_prefix("webhook:") {
            return valid_name(source).then(|| Scope::Webhook(source.to_owned()));
        }
        Permission::parse(text).map(Scope::Permission)
    }

    /// Whether this scope lets a token use `permission` (posting to any webhook counts as
    /// using `webhook`; which one is [`Scope::may_post_to`]'s to say).
    pub fn allows(&self, permission: Permission) -> bool {
        match self {
            Scope::All => true,
            Scope::Permission(p) => {
                *p == permission || (permission == Permission::Webhook && *p == Permission::Ingest)
            }
            Scope::Webhook(_) => permission == Permission::Webhook,
        }
    }

    /// Whether this scope lets a token post to the webhook of `source`.
    pub fn may_post_to(&self, source: &str) -> bool {
        match self {
            Scope::All | Scope::Permission(Permission::Ingest) => true,
            Scope::Permission(_) => false,
            Scope::Webhook(own) => own == source,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Permission(p) => f.write_str(p.as_str()),
            Scope::Webhook(source) => write!(f, "webhook:{source}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_from_their_text_and_back() {
        for text in ["*", "case_read", "ingest", "webhook:okta"] {
            assert_eq!(Scope::parse(text).map(|s| s.to_string()).as_deref(), Some(text));
        }
        for bad in ["", "root", "webhook:", "webhook:../x", "webhook:OKTA"] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_webhook_scope_posts_to_its_own_source_only() {
        let okta = Scope::Webhook("okta".into());
        assert!(okta.allows(Permission::Webhook) && !okta.allows(Permission::Ingest));
        assert!(okta.may_post_to("okta") && !okta.may_post_to("cloudtrail"));
        let ingest = Scope::Permission(Permission::Ingest);
        assert!(ingest.allows(Permission::Webhook) && ingest.may_post_to("cloudtrail"));
        assert!(!Scope::Permission(Permission::CaseRead).allows(Permission::Webhook));
    }
}
