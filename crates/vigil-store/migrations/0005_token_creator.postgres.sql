-- Who made each API token (an admin may make one for another user: the token then acts as its
-- owner, and this says who gave it out). Tokens made before this version name no one.
ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
