-- Scale-out (PostgreSQL only; the tables are here so both schemas stay the same). See the
-- PostgreSQL file for what each holds. SQLite numbers events itself (one writer).
CREATE TABLE partitions (
    partition  INTEGER PRIMARY KEY,
    holder     TEXT,
    epoch      BIGINT NOT NULL DEFAULT 0,
    expires_ms BIGINT NOT NULL DEFAULT 0,
    applied    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE case_partitions (
    case_id   TEXT PRIMARY KEY,
    partition INTEGER NOT NULL
);
CREATE INDEX case_partitions_partition ON case_partitions (partition);

CREATE TABLE cluster_nodes (
    name       TEXT PRIMARY KEY,
    roles      TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    seen_ms    BIGINT NOT NULL
);

ALTER TABLE action_runs ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';

-- Work one node of the cluster does at a time (the SLA sweep, which escalates), by lease.
CREATE TABLE duties (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
