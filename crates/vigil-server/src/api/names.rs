//! The JSON Schemas of fields a handler takes as text and parses into a name it knows (a case
//! state, a role), so the OpenAPI document lists the names from the types that own them.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// A case state's name (`vigil_model::CaseState`).
pub struct CaseStateName;

impl JsonSchema for CaseStateName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "CaseState".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = vigil_model::CaseState::ALL.into_iter().map(|s| s.as_str()).collect();
        json_schema!({"type": "string", "enum": names})
    }
}

/// A role's name (`crate::auth::Role`).
pub struct RoleName;

impl JsonSchema for RoleName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Role".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = crate::auth::Role::ALL.into_iter().map(|r| r.as_str()).collect();
        json_schema!({"type": "string", "enum": names})
    }
}
