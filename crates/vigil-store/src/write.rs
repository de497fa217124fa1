//! A write transaction. Whatever a transaction changes and the audit records describing the
//! change commit together or not at all; the first audited write locks the chain's head, and
//! commit seals the records with a signed checkpoint.

use sqlx::{Any, Row, Transaction};

use crate::audit::chain::{self, AuditEntry, AuditRecord};
use crate::{Result, Store};

pub struct WriteTx<'s> {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) store: &'s Store,
    /// The chain's head, once this transaction holds its lock.
    head: Option<(i64, String)>,
    appended: bool,
    /// The next event's arrival number, once this transaction has read it.
    pub(crate) next_event_seq: Option<i64>,
}

impl Store {
    /// Begins a write transaction.
    pub async fn write(&self) -> Result<WriteTx<'_>> {
        Ok(WriteTx {
            tx: self.writer.begin().await?,
            store: self,
            head: None,
            appended: false,
            next_event_seq: None,
        })
    }
}

impl WriteTx<'_> {
    /// Appends an audit record describing a change made in this transaction.
    pub async fn audit(&mut self, entry: AuditEntry) -> Result<AuditRecord> {
        let (seq, prev_hash) = match self.head.take() {
            Some(head) => head,
            None => self.lock_head().await?,
        };
        let mut record = AuditRecord {
            seq: seq + 1,
            at: self.store.clock.stamp(),
            actor: entry.actor.to_string(),
            origin: entry.origin,
            action: entry.action.as_str().to_owned(),
            target: entry.target,
            outcome: entry.outcome.as_str().to_owned(),
            detail: entry.detail.to_string(),
            prev_hash,
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, origin, action, target, outcome, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(record.seq)
        .bind(&record.at)
        .bind(&record.actor)
        .bind(&record.origin)
        .bind(&record.action)
        .bind(&record.target)
        .bind(&record.outcome)
        .bind(&record.detail)
        .bind(&record.prev_hash)
        .bind(&record.hash)
        .execute(&mut *self.tx)
        .await?;
        self.head = Some((record.seq, record.hash.clone()));
        self.appended = true;
        Ok(record)
    }

    /// Takes the chain's lock (the write on `audit_head` orders concurrent writers in both
    /// databases) and reads where the chain ends.
    async fn lock_head(&mut self) -> Result<(i64, String)> {
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *self.tx).await?;
        let row =
            sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *self.tx).await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Commits; then sends the signed checkpoint, if any, to the store's witnesses. A witness
    /// that cannot be reached fails the commit's answer though the change is durable, so the
    /// operator hears of it at once.
    pub async fn commit(mut self) -> Result<()> {
        let mut signed = None;
        if self.appended
            && let Some((seq, hash)) = self.head.take()
        {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(&hash)
                .execute(&mut *self.tx)
                .await?;
            let cp = chain::sign_checkpoint(&self.store.signing_key, seq, &hash, &self.store.clock.stamp());
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(cp.seq)
            .bind(&cp.hash)
            .bind(&cp.signed_at)
            .bind(&cp.key_id)
            .bind(&cp.signature)
            .execute(&mut *self.tx)
            .await?;
            signed = Some(cp);
        }
        self.tx.commit().await?;
        if let Some(cp) = signed {
            for witness in self.store.witnesses.iter() {
                witness.send(&cp)?;
            }
        }
        Ok(())
    }
}
