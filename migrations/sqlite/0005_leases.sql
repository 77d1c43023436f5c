-- Balance leases: an instance holds part of a user's available balance and serves that user's
-- request reservations from it in memory; charges are written in batches and shrink the lease.
-- users.reserved = open reservations + leases. Expired leases (a stopped instance) are released.

CREATE TABLE leases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX leases_user ON leases (user_id);
CREATE INDEX leases_expiry ON leases (expires_at);
