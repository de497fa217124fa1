-- Response action requests and the approvals given them. A request keeps the policy's decision
-- and the hash an approval binds to; an approval names that hash, so one given for another
-- version of the request is kept but never counted. One answer per person per request.
CREATE TABLE action_requests (
    id             TEXT PRIMARY KEY,
    case_id        TEXT,
    action         TEXT NOT NULL,
    request        TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    policy_sha256  TEXT NOT NULL,
    decision       TEXT NOT NULL,
    status         TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX action_requests_status ON action_requests (status, requested_at);
CREATE INDEX action_requests_case ON action_requests (case_id);

CREATE TABLE action_approvals (
    request_id     TEXT NOT NULL REFERENCES action_requests (id),
    approver       TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    rationale      TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    at_ms          INTEGER NOT NULL,
    PRIMARY KEY (request_id, approver)
);
