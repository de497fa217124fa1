-- The executor's outbox and what it changed. A request's plan (what will change) is kept with
-- it; a run is an approved request taken to completion, at most one live run per request (a run
-- withdrawn before it acted, when the policy sent the request back, leaves room for the next);
-- the run log keeps every step's start, outcome, timings and state, append-only.
ALTER TABLE action_requests ADD COLUMN plan TEXT NOT NULL DEFAULT '{}';
ALTER TABLE action_requests ADD COLUMN plan_sha256 TEXT NOT NULL DEFAULT '';

CREATE TABLE action_runs (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES action_requests (id),
    case_id         TEXT,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    not_before_ms   BIGINT NOT NULL,
    lease_until_ms  BIGINT NOT NULL DEFAULT 0,
    deadline_ms     BIGINT NOT NULL,
    prior           TEXT,
    outcome         TEXT,
    code            TEXT,
    reason          TEXT,
    evidence_sha256 TEXT,
    queued_by       TEXT NOT NULL,
    queued_at       TEXT NOT NULL,
    finished_at     TEXT
);
CREATE UNIQUE INDEX action_runs_one_live ON action_runs (request_id) WHERE status <> 'withdrawn';
CREATE INDEX action_runs_due ON action_runs (status, not_before_ms);

CREATE TABLE action_run_log (
    run_id     TEXT NOT NULL REFERENCES action_runs (id),
    seq        BIGINT NOT NULL,
    step       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    attempt    BIGINT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms   BIGINT NOT NULL,
    detail     TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- What Vigil's own actions changed, by idempotency key: an action executed again with the same
-- key finds its effect and changes nothing twice.
CREATE TABLE action_effects (
    key        TEXT PRIMARY KEY,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE tickets (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    sla_due_at TEXT NOT NULL,
    playbook   TEXT,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tickets_case ON tickets (case_id);

-- Vigil's blocklist feed: served to firewalls as plain text and as STIX 2.1. An entry is
-- never deleted: taking it off stamps removed_at.
CREATE TABLE blocklist (
    id         TEXT PRIMARY KEY,
    indicator  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    case_id    TEXT,
    reason     TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE INDEX blocklist_live ON blocklist (removed_at, expires_at);
