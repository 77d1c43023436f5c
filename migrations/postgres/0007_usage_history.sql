-- Usage history outlives what it names. A channel, key, token or user deleted while one of its
-- requests runs must not make that request's usage event unstorable, and a delete must not rewrite
-- or remove past events: usage_events keeps their ids as plain numbers, with no foreign keys.
-- usage_estimated marks events whose output tokens Realms estimated (a stream cut before the
-- upstream reported its count).

ALTER TABLE usage_events
    DROP CONSTRAINT IF EXISTS usage_events_user_id_fkey,
    DROP CONSTRAINT IF EXISTS usage_events_token_id_fkey,
    DROP CONSTRAINT IF EXISTS usage_events_channel_id_fkey,
    DROP CONSTRAINT IF EXISTS usage_events_credential_id_fkey,
    ADD COLUMN usage_estimated BIGINT NOT NULL DEFAULT 0;
