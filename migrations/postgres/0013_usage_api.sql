-- The API a usage event was a request to (messages, count_tokens, …) is its `api`: "endpoint" means
-- a channel's base URL.
ALTER TABLE usage_events RENAME COLUMN endpoint TO api;
