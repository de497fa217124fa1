//! What the nodes of a cluster share through the database: who is up and in which roles, which
//! worker holds which partition of the event stream (a lease with a fencing epoch), how far each
//! partition's events are written, and which partition filed each case.
//!
//! A lease is only ever taken by a conditional update, so two nodes asking at once cannot both
//! win. Correctness does not rest on clocks: a worker whose lease lapsed and was taken over
//! finds the epoch moved when it tries to commit (`advance_partition`), and writes nothing.
//! Clocks only decide how soon a silent worker's partitions move.

use serde::Serialize;
use sqlx::Row;
use vigil_model::CaseId;

use crate::{CaseRow, Error, Result, Store, WriteTx};

/// A partition held by a worker: what it may write under, and where its stream stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionLease {
    pub partition: u32,
    /// Grows at every takeover; a commit under an older epoch is refused.
    pub epoch: i64,
    /// The last stream sequence whose events are written (0: none yet).
    pub applied: u64,
}

/// A partition as `vigil cluster status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PartitionRow {
    pub partition: u32,
    pub holder: Option<String>,
    pub epoch: i64,
    pub expires_ms: i64,
    pub applied: u64,
}

/// A node of the cluster, as it last said it was alive.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NodeRow {
    pub name: String,
    /// Comma-separated: `ingest`, `worker`, `api`.
    pub roles: String,
    pub address: String,
    pub started_at: String,
    pub seen_ms: i64,
}

/// What a worker holds after asking for its share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leases {
    pub held: Vec<PartitionLease>,
    /// Partitions it gave back because it held more than its share.
    pub released: Vec<u32>,
}

fn to_u64(value: i64, column: &'static str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt { column, reason: value.to_string() })
}

fn partition_of(row: &sqlx::any::AnyRow) -> Result<u32> {
    let p: i64 = row.try_get("partition")?;
    u32::try_from(p).map_err(|_| Error::Corrupt { column: "partitions.partition", reason: p.to_string() })
}

impl Store {
    /// Records that `name` is alive, in `roles`, answering at `address`.
    pub async fn node_seen(&self, name: &str, roles: &str, address: &str, started_at: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO cluster_nodes (name, roles, address, started_at, seen_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, address = excluded.address, \
             started_at = excluded.started_at, seen_ms = excluded.seen_ms",
        )
        .bind(name)
        .bind(roles)
        .bind(address)
        .bind(started_at)
        .bind(self.clock.now_ms())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// Every node that ever said it was alive, by name.
    pub async fn cluster_nodes(&self) -> Result<Vec<NodeRow>> {
        let rows =
            sqlx::query("SELECT name, roles, address, started_at, seen_ms FROM cluster_nodes ORDER BY name")
                .fetch_all(&self.reader)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(NodeRow {
                    name: row.try_get("name")?,
                    roles: row.try_get("roles")?,
                    address: row.try_get("address")?,
                    started_at: row.try_get("started_at")?,
                    seen_ms: row.try_get("seen_ms")?,
                })
            })
            .collect()
    }

    /// How many nodes in `role` said they were alive within the last `within_ms`.
    pub async fn live_nodes(&self, role: &str, within_ms: i64) -> Result<usize> {
        let since = self.clock.now_ms() - within_ms;
        Ok(self
            .cluster_nodes()
            .await?
            .iter()
            .filter(|n| n.seen_ms >= since && has_role(&n.roles, role))
            .count())
    }

    /// Every partition and who holds it.
    pub async fn partitions(&self) -> Result<Vec<PartitionRow>> {
        let rows = sqlx::query(
            "SELECT partition, holder, epoch, expires_ms, applied FROM partitions ORDER BY partition",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PartitionRow {
                    partition: partition_of(row)?,
                    holder: row.try_get("holder")?,
                    epoch: row.try_get("epoch")?,
                    expires_ms: row.try_get("expires_ms")?,
                    applied: to_u64(row.try_get("applied")?, "partitions.applied")?,
                })
            })
            .collect()
    }

    /// Renews `node`'s leases for `ttl_ms`, gives back any beyond `share`, and takes free or
    /// lapsed partitions of `0..total` until it holds `share`.
    pub async fn lease_partitions(
        &self,
        node: &str,
        total: u32,
        share: usize,
        ttl_ms: i64,
    ) -> Result<Leases> {
        let now = self.clock.now_ms();
        let until = now.saturating_add(ttl_ms);
        let mut tx = self.write().await?;
        for p in 0..total {
            sqlx::query("INSERT INTO partitions (partition) VALUES ($1) ON CONFLICT (partition) DO NOTHING")
                .bind(i64::from(p))
                .execute(&mut *tx.tx)
                .await?;
        }
        sqlx::query("UPDATE partitions SET expires_ms = $1 WHERE holder = $2")
            .bind(until)
            .bind(node)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;

        let mut leases = Leases { held: self.held_by(node).await?, released: Vec::new() };
        while leases.held.len() > share {
            let Some(extra) = leases.held.pop() else { break };
            self.release_partition(node, &extra).await?;
            leases.released.push(extra.partition);
        }
        if leases.held.len() < share {
            let free = sqlx::query(
                "SELECT partition FROM partitions WHERE partition < $1 AND (holder IS NULL OR expires_ms < $2) \
                 ORDER BY partition",
            )
            .bind(i64::from(total))
            .bind(now)
            .fetch_all(&self.reader)
            .await?;
            for row in &free {
                if leases.held.len() >= share {
                    break;
                }
                let p = partition_of(row)?;
                let mut tx = self.write().await?;
                let taken = sqlx::query(
                    "UPDATE partitions SET holder = $1, epoch = epoch + 1, expires_ms = $2 \
                     WHERE partition = $3 AND (holder IS NULL OR expires_ms < $4)",
                )
                .bind(node)
                .bind(until)
                .bind(i64::from(p))
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
                tx.commit().await?;
                if taken.rows_affected() == 1 {
                    leases.held = self.held_by(node).await?;
                }
            }
        }
        Ok(leases)
    }

    async fn held_by(&self, node: &str) -> Result<Vec<PartitionLease>> {
        let rows = sqlx::query(
            "SELECT partition, epoch, applied FROM partitions WHERE holder = $1 ORDER BY partition",
        )
        .bind(node)
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PartitionLease {
                    partition: partition_of(row)?,
                    epoch: row.try_get("epoch")?,
                    applied: to_u64(row.try_get("applied")?, "partitions.applied")?,
                })
            })
            .collect()
    }

    /// Gives a partition back (a node stopping, or holding more than its share); another
    /// worker may take it at once.
    pub async fn release_partition(&self, node: &str, lease: &PartitionLease) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE partitions SET holder = NULL, expires_ms = 0 WHERE partition = $1 AND holder = $2 AND epoch = $3",
        )
        .bind(i64::from(lease.partition))
        .bind(node)
        .bind(lease.epoch)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// The cases a partition's worker holds live: those it filed that are open, or closed but
    /// active within `window_ms` of the partition's newest case (new alerts reopen them).
    pub async fn live_cases_in(&self, partition: u32, window_ms: i64) -> Result<Vec<CaseRow>> {
        let rows = sqlx::query(
            "SELECT cases.* FROM cases JOIN case_partitions ON case_partitions.case_id = cases.id \
             WHERE case_partitions.partition = $1 ORDER BY cases.first_seen, cases.id",
        )
        .bind(i64::from(partition))
        .fetch_all(&self.reader)
        .await?;
        let cases = rows.iter().map(crate::cases::case_from).collect::<Result<Vec<CaseRow>>>()?;
        let Some(newest) = cases.iter().filter_map(|c| crate::time::to_millis(&c.last_seen)).max() else {
            return Ok(Vec::new());
        };
        Ok(cases
            .into_iter()
            .filter(|c| {
                !c.state.is_closed()
                    || crate::time::to_millis(&c.last_seen).is_some_and(|t| t >= newest - window_ms)
            })
            .collect())
    }
}

impl Store {
    /// Whether `node` holds the duty `name` for the next `ttl_ms`: it held it already, or it
    /// was free or lapsed and `node` took it. One node of a cluster does the work a duty names.
    pub async fn hold_duty(&self, name: &str, node: &str, ttl_ms: i64) -> Result<bool> {
        let now = self.clock.now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO duties (name, holder, expires_ms) VALUES ($1, '', 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&mut *tx.tx)
        .await?;
        let taken = sqlx::query(
            "UPDATE duties SET holder = $1, expires_ms = $2 WHERE name = $3 AND (holder = $1 OR expires_ms < $4)",
        )
        .bind(node)
        .bind(now.saturating_add(ttl_ms))
        .bind(name)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() == 1)
    }
}

/// Creates the database `name` on the PostgreSQL server at `server` (`postgres://user@host:port`)
/// and returns its URL: a fresh cluster's state, for `vigil bench serve --cluster`.
pub async fn create_database(server: &str, name: &str) -> Result<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(Error::Conflict(format!(
            "database name {name:?}: lower-case letters, digits and _ only"
        )));
    }
    sqlx::any::install_default_drivers();
    let admin =
        sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&format!("{server}/postgres")).await?;
    // The name is checked above to be letters, digits and underscores.
    let made = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await;
    admin.close().await;
    made?;
    Ok(format!("{server}/{name}"))
}

/// Whether a comma-separated role list names `role`.
pub fn has_role(roles: &str, role: &str) -> bool {
    roles.split(',').any(|r| r.trim() == role)
}

impl WriteTx<'_> {
    /// Moves a partition's applied stream sequence on, in this transaction, if `node` still
    /// holds it under `lease`'s epoch; otherwise [`Error::LeaseLost`], and the caller rolls back.
    /// Taken first in a worker's transaction, it also locks the partition's row, so a takeover
    /// waits for the commit in flight and then reads where it left the stream.
    pub async fn advance_partition(
        &mut self,
        node: &str,
        lease: &PartitionLease,
        applied: u64,
    ) -> Result<()> {
        let applied = i64::try_from(applied)
            .map_err(|_| Error::Corrupt { column: "partitions.applied", reason: applied.to_string() })?;
        let moved = sqlx::query(
            "UPDATE partitions SET applied = $1 WHERE partition = $2 AND holder = $3 AND epoch = $4",
        )
        .bind(applied)
        .bind(i64::from(lease.partition))
        .bind(node)
        .bind(lease.epoch)
        .execute(&mut *self.tx)
        .await?;
        if moved.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Error::LeaseLost { partition: lease.partition, epoch: lease.epoch })
        }
    }

    /// Files a case under the partition that built it.
    pub async fn file_case_partition(&mut self, case: &CaseId, partition: u32) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_partitions (case_id, partition) VALUES ($1, $2) \
             ON CONFLICT (case_id) DO UPDATE SET partition = excluded.partition",
        )
        .bind(case.as_str())
        .bind(i64::from(partition))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
