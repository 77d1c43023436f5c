-- What a channel drops from a request before sending it upstream: anthropic-beta flags (an entry
-- drops every flag that starts with it) and top-level body fields, each a comma-separated list
-- ('' = nothing dropped).
ALTER TABLE channels ADD COLUMN drop_betas TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN drop_fields TEXT NOT NULL DEFAULT '';
