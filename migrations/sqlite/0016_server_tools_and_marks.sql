-- Server-tool uses an upstream reported (web searches), billed per use at the model's price per
-- 1,000 (web_search_price, micro-USD; NULL = the site's price).
ALTER TABLE usage_events ADD COLUMN web_searches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN web_search_price INTEGER;
-- Marks of how a request was handled: thinking blocks of earlier turns were removed after the
-- upstream refused their signatures (0 or 1); the request was a client's probe, not work (0 or 1).
ALTER TABLE usage_events ADD COLUMN thinking_stripped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_events ADD COLUMN probe INTEGER NOT NULL DEFAULT 0;
