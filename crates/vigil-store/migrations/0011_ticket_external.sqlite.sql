-- A ticket opened in the site's ticketing system through its webhook: the id that system gave
-- it and the host it lives on (Vigil's own tickets have neither).
ALTER TABLE tickets ADD COLUMN external_id TEXT;
ALTER TABLE tickets ADD COLUMN external_host TEXT;
