-- A case's lifecycle (its state and every transition, with who caused it) is kept with the case
-- and changed only by the store's one transition path. Cases stored before this version start
-- with their current state and an empty history (the audit trail has the moves they made).
ALTER TABLE cases ADD COLUMN lifecycle TEXT NOT NULL DEFAULT '';
UPDATE cases SET lifecycle = json_build_object('state', state, 'history', json_build_array())::text;
