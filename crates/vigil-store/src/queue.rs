//! The case queue as people page through it: open cases (or one state), filtered by severity and
//! owner, in a chosen order, a page at a time with the count of all that match. The order is
//! one of a fixed set, so the query text is never built from what a person sent.

use sqlx::Row;
use vigil_model::{CaseState, UserId};

use crate::cases::case_from;
use crate::{CaseRow, Result, Store};

/// Whose cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Owner {
    #[default]
    Anyone,
    Unassigned,
    Is(UserId),
}

/// The orders the queue offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueOrder {
    /// Most severe first, then most recently active.
    #[default]
    Severity,
    /// Most recently active first.
    Newest,
    /// Longest open first (first seen earliest).
    Oldest,
    /// Most recently changed first.
    Updated,
}

impl QueueOrder {
    pub const ALL: [QueueOrder; 4] =
        [QueueOrder::Severity, QueueOrder::Newest, QueueOrder::Oldest, QueueOrder::Updated];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueOrder::Severity => "severity",
            QueueOrder::Newest => "newest",
            QueueOrder::Oldest => "oldest",
            QueueOrder::Updated => "updated",
        }
    }

    pub fn parse(name: &str) -> Option<QueueOrder> {
        QueueOrder::ALL.into_iter().find(|o| o.as_str() == name)
    }

    fn sql(self) -> &'static str {
        match self {
            QueueOrder::Severity => "severity DESC, last_seen DESC, id",
            QueueOrder::Newest => "last_seen DESC, id",
            QueueOrder::Oldest => "first_seen, id",
            QueueOrder::Updated => "updated_at DESC, id",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    /// One state; every state before closing when absent.
    pub state: Option<CaseState>,
    pub min_severity: i64,
    pub owner: Owner,
    pub order: QueueOrder,
    pub offset: i64,
    pub limit: i64,
}

/// One page of the queue, and how many cases match in all.
#[derive(Clone, Debug)]
pub struct QueuePage {
    pub cases: Vec<CaseRow>,
    pub total: i64,
}

impl Store {
    /// When any case last changed (a save, a move, an assignment), or nothing without cases.
    pub async fn cases_changed_at(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT MAX(updated_at) AS at FROM cases").fetch_one(&self.reader).await?;
        Ok(row.try_get("at")?)
    }

    pub async fn queue(&self, filter: &QueueFilter) -> Result<QueuePage> {
        let closed: Vec<&str> =
            CaseState::ALL.into_iter().filter(|s| s.is_closed()).map(CaseState::as_str).collect();
        // $1 state, $2 severity, $3 owner kind, $4 owner, then the closed states; only
        // placeholders and the fixed order text are built into the query.
        let closed_list: Vec<String> = (5..closed.len() + 5).map(|i| format!("${i}")).collect();
        let filter_sql = format!(
            "FROM cases WHERE (($1 IS NULL AND state NOT IN ({closed})) OR state = $1) AND severity >= $2 \
             AND ($3 = 'anyone' OR ($3 = 'unassigned' AND assignee IS NULL) OR ($3 = 'is' AND assignee = $4))",
            closed = closed_list.join(", ")
        );
        let (owner_kind, owner) = match &filter.owner {
            Owner::Anyone => ("anyone", None),
            Owner::Unassigned => ("unassigned", None),
            Owner::Is(name) => ("is", Some(name.as_str())),
        };
        let n = closed.len() + 5;
        let page_sql =
            format!("SELECT * {filter_sql} ORDER BY {} LIMIT ${n} OFFSET ${}", filter.order.sql(), n + 1);
        let count_sql = format!("SELECT COUNT(*) AS total {filter_sql}");
        let bind = |sql: String| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(filter.state.map(CaseState::as_str))
                .bind(filter.min_severity)
                .bind(owner_kind)
                .bind(owner);
            for state in &closed {
                q = q.bind(*state);
            }
            q
        };
        let limit = if filter.limit > 0 { filter.limit } else { 50 };
        let rows = bind(page_sql).bind(limit).bind(filter.offset.max(0)).fetch_all(&self.reader).await?;
        let total: i64 = bind(count_sql).fetch_one(&self.reader).await?.try_get("total")?;
        Ok(QueuePage { cases: rows.iter().map(case_from).collect::<Result<_>>()?, total })
    }
}
