-- Billing: reservations held while a request runs, charges as ledger rows (one per request at most),
-- and optional limits on tokens and users. Amounts are nano-USD.

ALTER TABLE users ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;   -- sum of the user's open reservations

CREATE TABLE reservations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id TEXT    NOT NULL UNIQUE,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX reservations_expiry ON reservations (expires_at);

ALTER TABLE ledger ADD COLUMN token_id INTEGER REFERENCES tokens (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX ledger_one_charge_per_request ON ledger (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX ledger_token_time ON ledger (token_id, created_at);

-- Limits (NULL = none): requests per minute, concurrent requests, spend per 5 hours / day / month.
ALTER TABLE tokens ADD COLUMN rpm_limit INTEGER;
ALTER TABLE tokens ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE tokens ADD COLUMN spend_5h_limit INTEGER;
ALTER TABLE tokens ADD COLUMN spend_day_limit INTEGER;
ALTER TABLE tokens ADD COLUMN spend_month_limit INTEGER;
ALTER TABLE users ADD COLUMN rpm_limit INTEGER;
ALTER TABLE users ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE users ADD COLUMN spend_5h_limit INTEGER;
ALTER TABLE users ADD COLUMN spend_day_limit INTEGER;
ALTER TABLE users ADD COLUMN spend_month_limit INTEGER;

CREATE INDEX usage_events_token_time ON usage_events (token_id, created_at);
