-- Closings that wait for a second person: a high or critical case, or one the built-in analyst
-- judged malicious, closed as benign or a false positive. One waiting request a case, bound to
-- how many moves the case had made when it was asked for (a later move makes it stale).
CREATE TABLE close_requests (
    case_id      TEXT PRIMARY KEY,
    to_state     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    bound_moves  BIGINT NOT NULL,
    at           TEXT NOT NULL
);
