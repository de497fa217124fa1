//! The JSON Schemas of fields a handler takes as text and parses into a name it knows (a case
//! state, a role), so the OpenAPI document lists the names from the types that own them.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// A string schema whose values are `names`, written inline where a field uses it.
macro_rules! names_schema {
    ($(#[$doc:meta])* $ty:ident, $title:literal, $names:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                $title.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let names: Vec<&str> = $names;
                json_schema!({"type": "string", "enum": names})
            }
        }
    };
}

names_schema!(
    /// A case state's name (`vigil_model::CaseState`).
    CaseStateName,
    "CaseState",
    vigil_model::CaseState::ALL.into_iter().map(|s| s.as_str()).collect()
);

names_schema!(
    /// A role's name (`crate::auth::Role`).
    RoleName,
    "Role",
    crate::auth::Role::ALL.into_iter().map(|r| r.as_str()).collect()
);
