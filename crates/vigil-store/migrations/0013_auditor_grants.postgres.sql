-- What an auditor may read: chosen cases, or the cases of a period, until a date. A grant is
-- never deleted: revoking it stamps revoked_at, and one past expires_at covers nothing.
CREATE TABLE auditor_grants (
    id         TEXT PRIMARY KEY,
    auditor    TEXT NOT NULL,
    case_id    TEXT,
    from_at    TEXT,
    to_at      TEXT,
    expires_at TEXT NOT NULL,
    reason     TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX auditor_grants_auditor ON auditor_grants (auditor, expires_at);
