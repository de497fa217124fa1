-- What a closed case teaches: each task a reviewable artefact (a Sigma filter, a draft rule, a
-- playbook diff, a regression test) with its replay against stored events. A task is never
-- deleted; its review stamps who decided, when and why. One that would hide an alert of a case
-- judged malicious needs two people: the first acceptance is kept in first_accepted_by.
CREATE TABLE learning_tasks (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('tuning', 'detection', 'runbook', 'regression')),
    rule_id           TEXT,
    title             TEXT NOT NULL,
    artefact          TEXT NOT NULL,
    replay            TEXT NOT NULL,
    hides_malicious   INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'accepted', 'rejected')),
    created_at        TEXT NOT NULL,
    first_accepted_by TEXT,
    decided_by        TEXT,
    decided_at        TEXT,
    rationale         TEXT
);
CREATE INDEX learning_tasks_case ON learning_tasks (case_id);
CREATE INDEX learning_tasks_status ON learning_tasks (status, created_at);
CREATE INDEX alerts_rule_time ON alerts (rule_id, time);
