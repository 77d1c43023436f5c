-- Control plane: channels with endpoints and credentials, models with prices, bindings, balances with
-- their ledger, the audit log, and the revision counter that tells instances to reload their caches.
-- Money: prices are micro-USD per million tokens; balances and ledger amounts are nano-USD.

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('anthropic', 'openai')),
    priority    INTEGER NOT NULL DEFAULT 0,
    weight      INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),
    disabled_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE channel_endpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    base_url   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (channel_id, base_url)
);

CREATE TABLE channel_credentials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id  INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    secret      TEXT    NOT NULL,            -- AES-256-GCM under the instance secret: v1:base64(nonce || ciphertext)
    hint        TEXT    NOT NULL,            -- last 4 characters, for display
    disabled_at INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE models (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id            TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    disabled_at          INTEGER,
    input_price          INTEGER,            -- micro-USD per million tokens; all five NULL = no prices
    output_price         INTEGER,
    cache_write_5m_price INTEGER,
    cache_write_1h_price INTEGER,
    cache_read_price     INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE bindings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id       INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    channel_id     INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    upstream_model TEXT    NOT NULL,
    disabled_at    INTEGER,
    created_at     INTEGER NOT NULL,
    UNIQUE (model_id, channel_id)
);
CREATE INDEX bindings_channel ON bindings (channel_id);

ALTER TABLE users ADD COLUMN balance INTEGER NOT NULL DEFAULT 0;   -- nano-USD, always the ledger's sum

CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount        INTEGER NOT NULL,          -- nano-USD, positive adds to the balance
    balance_after INTEGER NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('topup', 'adjustment', 'charge')),
    reason        TEXT    NOT NULL,
    actor_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    request_id    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor      TEXT    NOT NULL,             -- the admin's email, or "cli"
    action     TEXT    NOT NULL,             -- e.g. channel.create
    target     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,             -- never holds a secret
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (created_at);

CREATE TABLE revisions (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('catalog', 0);
