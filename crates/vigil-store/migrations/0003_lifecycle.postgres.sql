-- A case's lifecycle: every transition, with who made it, in order, beside the case's state.
-- Appended by the store's one transition path, in the transaction that changes the state.
-- Cases stored before this version keep their state with no moves recorded here (the audit
-- trail has them).
CREATE TABLE case_transitions (
    case_id    TEXT NOT NULL,
    n          BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,   -- vigil_model::Actor as JSON
    at         BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (case_id, n)
);
