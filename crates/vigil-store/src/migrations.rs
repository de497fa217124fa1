//! Schema versions, applied in order inside one transaction each and recorded in
//! `vigil_schema`. Each version has a SQLite and a PostgreSQL file with the same tables.

use sqlx::{AnyPool, Executor, Row};

use crate::store::Backend;
use crate::{Error, Result};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/0001_init.sqlite.sql"),
        postgres: include_str!("../migrations/0001_init.postgres.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/0002_verdicts.sqlite.sql"),
        postgres: include_str!("../migrations/0002_verdicts.postgres.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/0003_lifecycle.sqlite.sql"),
        postgres: include_str!("../migrations/0003_lifecycle.postgres.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/0004_evidence_no_delete.sqlite.sql"),
        postgres: include_str!("../migrations/0004_evidence_no_delete.postgres.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/0005_token_creator.sqlite.sql"),
        postgres: include_str!("../migrations/0005_token_creator.postgres.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/0006_close_requests.sqlite.sql"),
        postgres: include_str!("../migrations/0006_close_requests.postgres.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../migrations/0007_action_requests.sqlite.sql"),
        postgres: include_str!("../migrations/0007_action_requests.postgres.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/0008_action_runs.sqlite.sql"),
        postgres: include_str!("../migrations/0008_action_runs.postgres.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/0009_rule_mutes.sqlite.sql"),
        postgres: include_str!("../migrations/0009_rule_mutes.postgres.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../migrations/0010_queue_order.sqlite.sql"),
        postgres: include_str!("../migrations/0010_queue_order.postgres.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../migrations/0011_ticket_external.sqlite.sql"),
        postgres: include_str!("../migrations/0011_ticket_external.postgres.sql"),
    },
    Migration {
        version: 12,
        sqlite: include_str!("../migrations/0012_sla.sqlite.sql"),
        postgres: include_str!("../migrations/0012_sla.postgres.sql"),
    },
    Migration {
        version: 13,
        sqlite: include_str!("../migrations/0013_auditor_grants.sqlite.sql"),
        postgres: include_str!("../migrations/0013_auditor_grants.postgres.sql"),
    },
    Migration {
        version: 14,
        sqlite: include_str!("../migrations/0014_learning_tasks.sqlite.sql"),
        postgres: include_str!("../migrations/0014_learning_tasks.postgres.sql"),
    },
    Migration {
        version: 15,
        sqlite: include_str!("../migrations/0015_cluster.sqlite.sql"),
        postgres: include_str!("../migrations/0015_cluster.postgres.sql"),
    },
];

/// The newest schema version this build knows: the last migration's, so adding one cannot
/// leave it behind.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The advisory lock nodes of a cluster starting together take, so one of them migrates and
/// the others find the schema up to date ("vigl").
const MIGRATION_LOCK: i64 = 0x7669_676c;

/// Brings the schema up to date. `pool` has one connection (the writer's), so on PostgreSQL the
/// advisory lock it takes holds for every statement until it is let go.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(pool).await?;
        let done = apply(pool, backend).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(pool).await;
        done?;
        unlocked?;
        return Ok(());
    }
    apply(pool, backend).await
}

async fn apply(pool: &AnyPool, backend: Backend) -> Result<()> {
    pool.execute(
        "CREATE TABLE IF NOT EXISTS vigil_schema (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .await?;
    let row = sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM vigil_schema")
        .fetch_one(pool)
        .await?;
    let current: i64 = row.try_get(0)?;
    if current > LATEST {
        return Err(Error::Conflict(format!(
            "the database has schema version {current}, newer than this build's {LATEST}"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let failed = |source| Error::Migration { version: migration.version, source };
        let mut tx = pool.begin().await.map_err(failed)?;
        tx.execute(sql).await.map_err(failed)?;
        sqlx::query("INSERT INTO vigil_schema (version, applied_at) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(crate::time::now())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration added without raising the schema version made every store it opened refuse
    /// to open again ("schema version 10, newer than this build's 9").
    #[test]
    fn the_schema_version_is_the_last_migration_and_versions_have_no_gap() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migrations are numbered 1, 2, 3, … in order");
        }
        assert_eq!(LATEST, MIGRATIONS.len() as i64);
    }
}
