//! The ids that cross Vigil's boundaries, each its own type so one cannot stand in for another:
//! a case's id is not an alert's, a user's name is not a token's id. On the wire and in the
//! store each is its text (serde `transparent`). [`crate::EventId`] is content-derived and has
//! its own constructor.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id!(
    /// A case: derived from its first alerts' ids, then kept as alerts join.
    CaseId
);
id!(
    /// An alert: the Detection Finding's uid (content-derived from its rule and events).
    AlertId
);
id!(
    /// A user, by the account name they sign in with.
    UserId
);
id!(
    /// An API token's public id (the part of the secret that is not secret).
    TokenId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text_on_the_wire_and_in_maps() {
        let id = CaseId::new("5f3e");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"5f3e\"");
        assert_eq!(serde_json::from_str::<CaseId>("\"5f3e\"").expect("json"), id);
        let mut homes = std::collections::HashMap::new();
        homes.insert(AlertId::new("a1"), id.clone());
        assert_eq!(homes.get("a1"), Some(&id));
        assert_eq!(id, "5f3e");
    }
}
