-- The queue's default order (most severe, then most recently active) read from an index, so a
-- page of a large queue does not sort every open case.
CREATE INDEX cases_queue ON cases (severity, last_seen);
