-- The overdraft floor: a charge takes a balance no lower than the site's floor (setting
-- `overdraft_floor`, nano-USD, 0 by default), and what it could not take is kept on the charge's
-- ledger row, so the ledger still accounts for the whole cost of the request.
ALTER TABLE ledger ADD COLUMN uncollected BIGINT NOT NULL DEFAULT 0;
