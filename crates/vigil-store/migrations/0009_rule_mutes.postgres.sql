-- Rules muted for one entity for a time, by the response action that muted them. A mute is
-- never deleted: unmuting stamps unmuted_at.
CREATE TABLE rule_mutes (
    id         TEXT PRIMARY KEY,
    rule_id    TEXT NOT NULL,
    entity     TEXT NOT NULL,
    case_id    TEXT,
    reason     TEXT NOT NULL,
    muted_at   TEXT NOT NULL,
    until      TEXT NOT NULL,
    unmuted_at TEXT
);
CREATE INDEX rule_mutes_live ON rule_mutes (unmuted_at, until);
