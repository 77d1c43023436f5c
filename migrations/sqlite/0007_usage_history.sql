-- Usage history outlives what it names. A channel, key, token or user deleted while one of its
-- requests runs must not make that request's usage event unstorable, and a delete must not rewrite
-- or remove past events: usage_events keeps their ids as plain numbers, with no foreign keys. The
-- table is rebuilt (SQLite cannot drop a constraint), without AUTOINCREMENT: events are never
-- deleted, so rowids are never reused, and an insert no longer updates sqlite_sequence.
-- usage_estimated marks events whose output tokens Realms estimated (a stream cut before the
-- upstream reported its count).

CREATE TABLE usage_events_v2 (
    id                    INTEGER PRIMARY KEY,
    request_id            TEXT    NOT NULL UNIQUE,
    created_at            INTEGER NOT NULL,
    user_id               INTEGER NOT NULL,
    token_id              INTEGER,
    endpoint              TEXT    NOT NULL,
    model                 TEXT    NOT NULL,
    upstream_model        TEXT,
    channel_id            INTEGER,
    credential_id         INTEGER,
    status                INTEGER NOT NULL,
    error_class           TEXT,
    stream                INTEGER NOT NULL,
    client_disconnected   INTEGER NOT NULL,
    attempts              INTEGER NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost                  INTEGER NOT NULL,
    ttfb_ms               INTEGER,
    latency_ms            INTEGER NOT NULL,
    usage_estimated       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO usage_events_v2 (id, request_id, created_at, user_id, token_id, endpoint, model,
    upstream_model, channel_id, credential_id, status, error_class, stream, client_disconnected,
    attempts, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
    cache_read_tokens, cost, ttfb_ms, latency_ms)
SELECT id, request_id, created_at, user_id, token_id, endpoint, model, upstream_model, channel_id,
    credential_id, status, error_class, stream, client_disconnected, attempts, input_tokens,
    output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost, ttfb_ms,
    latency_ms
FROM usage_events;
DROP TABLE usage_events;
ALTER TABLE usage_events_v2 RENAME TO usage_events;
CREATE INDEX usage_events_user_time ON usage_events (user_id, created_at);
CREATE INDEX usage_events_time ON usage_events (created_at);
CREATE INDEX usage_events_token_time ON usage_events (token_id, created_at);
