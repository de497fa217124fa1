-- Evidence is kept: the database refuses to delete it, as it refuses to change it. (No retention
-- policy covers evidence; one that does will lift this trigger for its own audited deletes.)
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END;
