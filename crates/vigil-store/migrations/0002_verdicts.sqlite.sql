-- What analysts concluded about closed cases: each rule of the case on each entity it named,
-- judged benign or malicious. Rewritten with the case's state in the same transaction; the
-- audit trail keeps every change.
CREATE TABLE verdicts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    entity  TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('benign', 'malicious')),
    actor   TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX verdicts_case ON verdicts (case_id);
