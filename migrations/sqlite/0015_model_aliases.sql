-- Other ids a model answers to (e.g. the dated id claude-sonnet-4-5-20250929 for claude-sonnet-4-5):
-- a request for an alias is a request for its model. An alias is unique, and never a model's id.
CREATE TABLE model_aliases (
    alias      TEXT PRIMARY KEY,
    model_id   INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX model_aliases_model ON model_aliases (model_id);

-- The model an alias resolved to, when a request named one (its `model` is what was asked).
ALTER TABLE usage_events ADD COLUMN resolved_model TEXT;
