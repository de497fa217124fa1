//! The evidence vault: immutable blobs addressed by their SHA-256, each with a media type, the
//! name it arrived with, and a scope tag (`case:<id>`, `global`). Adding the same bytes again
//! returns the same address and stores nothing new.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::By;
use crate::{Result, Store, WriteTx};
use vigil_model::AuditAction;

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EvidenceMeta {
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub name: String,
    pub scope: String,
    pub created_at: String,
}

impl WriteTx<'_> {
    /// Stores a blob; returns its address and whether it was new.
    pub async fn add_evidence(
        &mut self,
        content: &[u8],
        media_type: &str,
        name: &str,
        scope: &str,
        by: &By,
    ) -> Result<(String, bool)> {
        let sha256 = hex::encode(Sha256::digest(content));
        let done = sqlx::query(
            "INSERT INTO evidence (sha256, size, media_type, name, scope, created_at, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&sha256)
        .bind(content.len() as i64)
        .bind(media_type)
        .bind(name)
        .bind(scope)
        .bind(self.store.clock.stamp())
        .bind(content)
        .execute(&mut *self.tx)
        .await?;
        let new = done.rows_affected() == 1;
        if new {
            self.audit(by.entry_for(
                AuditAction::EvidenceAdd,
                format!("evidence:{sha256}"),
                json!({"size": content.len(), "media_type": media_type, "name": name, "scope": scope}),
            ))
            .await?;
        }
        Ok((sha256, new))
    }
}

fn meta_from(row: &sqlx::any::AnyRow) -> Result<EvidenceMeta> {
    Ok(EvidenceMeta {
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        media_type: row.try_get("media_type")?,
        name: row.try_get("name")?,
        scope: row.try_get("scope")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn evidence_meta(&self, sha256: &str) -> Result<Option<EvidenceMeta>> {
        let row = sqlx::query(
            "SELECT sha256, size, media_type, name, scope, created_at FROM evidence WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(meta_from).transpose()
    }

    /// The blobs the vault holds for the case, oldest first.
    pub async fn case_evidence(&self, case: &vigil_model::CaseId) -> Result<Vec<EvidenceMeta>> {
        let rows = sqlx::query(
            "SELECT sha256, size, media_type, name, scope, created_at FROM evidence WHERE scope = $1 \
             ORDER BY created_at, sha256",
        )
        .bind(format!("case:{case}"))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(meta_from).collect()
    }

    /// How many blobs the vault holds for the case.
    pub async fn case_evidence_count(&self, case: &vigil_model::CaseId) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM evidence WHERE scope = $1")
            .bind(format!("case:{case}"))
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The blob's bytes, checked against its address on the way out.
    pub async fn evidence_content(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT content FROM evidence WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let content: Vec<u8> = row.try_get(0)?;
        if hex::encode(Sha256::digest(&content)) != sha256 {
            return Err(crate::Error::Corrupt {
                column: "evidence.content",
                reason: format!("the bytes stored under {sha256} no longer hash to it"),
            });
        }
        Ok(Some(content))
    }
}
