-- Reports read the audit trail by time (a week's records for the scorecard) and by what it is
-- about (a case's records for its SLA clocks and its incident packet).
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_target ON audit (target, seq);

-- SLA breaches: one per case and clock, written with its audit record when the clock runs out,
-- and how it was escalated.
CREATE TABLE sla_breaches (
    case_id     TEXT NOT NULL,
    clock       TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    due_at      TEXT NOT NULL,
    breached_at TEXT NOT NULL,
    escalation  TEXT,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX sla_breaches_at ON sla_breaches (breached_at);
