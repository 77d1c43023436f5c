-- Usage events: one row per accepted data-plane request (success, upstream error, client error after
-- authentication, client disconnect). Tokens are counts; cost is nano-USD.

CREATE TABLE usage_events (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id            TEXT    NOT NULL UNIQUE,
    created_at            INTEGER NOT NULL,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_id              INTEGER REFERENCES tokens (id) ON DELETE SET NULL,
    endpoint              TEXT    NOT NULL,             -- messages, count_tokens, …
    model                 TEXT    NOT NULL,             -- the public id the client asked for ('' if none)
    upstream_model        TEXT,
    channel_id            INTEGER REFERENCES channels (id) ON DELETE SET NULL,
    credential_id         INTEGER REFERENCES channel_credentials (id) ON DELETE SET NULL,
    status                INTEGER NOT NULL,             -- HTTP status returned to the client
    error_class           TEXT,                         -- NULL on success
    stream                INTEGER NOT NULL,             -- 0 or 1
    client_disconnected   INTEGER NOT NULL,             -- 0 or 1
    attempts              INTEGER NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost                  INTEGER NOT NULL,
    ttfb_ms               INTEGER,
    latency_ms            INTEGER NOT NULL
);
CREATE INDEX usage_events_user_time ON usage_events (user_id, created_at);
CREATE INDEX usage_events_time ON usage_events (created_at);
