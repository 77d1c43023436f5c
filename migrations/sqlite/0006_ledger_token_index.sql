-- No query reads the ledger by token, and tokens are revoked, never deleted, so the index on
-- (token_id, created_at) only cost every charge one more b-tree entry. Per-token spending is read
-- from usage_events (usage_events_token_time).
DROP INDEX IF EXISTS ledger_token_time;
