-- Which clients a token (and, set by an administrator, a user's every token) accepts:
-- client_rule NULL = any client, 'claude-code' = Claude Code only (User-Agent claude-cli/…), at
-- least client_min_version when that is set.
ALTER TABLE tokens ADD COLUMN client_rule TEXT;
ALTER TABLE tokens ADD COLUMN client_min_version TEXT;
ALTER TABLE users ADD COLUMN client_rule TEXT;
ALTER TABLE users ADD COLUMN client_min_version TEXT;
