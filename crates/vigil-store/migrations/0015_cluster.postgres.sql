-- Scale-out. Events get their arrival number from a sequence, so ingest on several nodes never
-- collides. The event stream is split into partitions; each is processed by the one worker
-- node holding its lease, and `applied` (the last stream sequence whose events, alerts and cases
-- are written) moves in the same transaction as the writes. `epoch` grows at every takeover: a
-- transaction of a previous holder that finds the epoch moved writes nothing. A case is filed
-- under the partition that built it, so a worker taking the partition over restores its cases.
-- An executor's lease on a run names its holder.
CREATE SEQUENCE event_seq;
SELECT setval('event_seq', (SELECT COALESCE(MAX(seq), 0) + 1 FROM events), false);

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
