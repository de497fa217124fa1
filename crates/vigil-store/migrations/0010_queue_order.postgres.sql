-- The queue's default order (most severe, then most recently active) read from an index, so a
-- page of a large queue does not sort every open case.
CREATE INDEX cases_queue ON cases (severity, last_seen);
-- The queue's "recently changed" order, and the live queue's question: when did any case last change.
CREATE INDEX cases_updated ON cases (updated_at);
