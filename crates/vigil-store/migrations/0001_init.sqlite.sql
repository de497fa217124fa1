-- Vigil store, version 1 (SQLite). Times are UTC RFC 3339 with microseconds, so text order is time order.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,          -- content-derived EventId: a retried batch is not stored twice
    seq         INTEGER NOT NULL UNIQUE,     -- arrival order: the pipeline reads events after its watermark
    received_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    format      TEXT NOT NULL,
    class_uid   INTEGER NOT NULL,
    time        TEXT NOT NULL,
    ocsf        TEXT NOT NULL,
    views       TEXT NOT NULL,             -- the record as Sigma rules read it (source field names)
    raw         BLOB NOT NULL,
    size        INTEGER NOT NULL
);
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_time ON events (time);

-- How far each consumer has read (the pipeline: `pipeline`, by event seq).
CREATE TABLE watermarks (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    locator     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    excerpt     TEXT NOT NULL
);

CREATE TABLE alerts (
    id        TEXT PRIMARY KEY,
    case_id   TEXT,
    rule_id   TEXT NOT NULL,
    title     TEXT NOT NULL,
    severity  INTEGER NOT NULL,
    time      TEXT NOT NULL,
    finding   TEXT NOT NULL
);
CREATE INDEX alerts_case ON alerts (case_id);

CREATE TABLE cases (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    state      TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    assignee   TEXT,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX cases_state ON cases (state, last_seen);

CREATE TABLE case_comments (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    author  TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX case_comments_case ON case_comments (case_id, id);

CREATE TABLE recommendations (
    case_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,     -- SHA-256 of the secret; the secret itself is never stored
    owner      TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Browser sessions; the cookie holds a secret whose SHA-256 is the key here.
CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE evidence (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    content    BLOB NOT NULL
);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    origin    TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    signed_at  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    signature  TEXT NOT NULL
);

-- One row: the chain's head. Every audited write locks it first, which orders writers in both
-- databases (SQLite's write lock, PostgreSQL's row lock).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit trail is append-only in the database itself, not only in the API.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END;
