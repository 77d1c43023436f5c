-- Administrators, guarded by the database itself.
-- first_admin has room for one row: the account that became administrator by registering first. Two
-- first registrations at once both try to take it, and the database lets only one of them.
-- The last enabled administrator cannot be demoted, disabled or deleted. Changes that could remove
-- an administrator take one transaction-level advisory lock before counting the others, so two
-- administrators demoting each other at once are checked one after the other (under READ
-- COMMITTED the second check sees the first change once it is committed).

CREATE TABLE first_admin (
    slot    BIGINT PRIMARY KEY CHECK (slot = 1),
    user_id BIGINT NOT NULL
);
INSERT INTO first_admin (slot, user_id)
SELECT 1, MIN(id) FROM users WHERE role = 'admin' HAVING COUNT(*) > 0;

CREATE FUNCTION realms_keep_an_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role = 'admin' AND OLD.disabled_at IS NULL
       AND (TG_OP = 'DELETE' OR NEW.role <> 'admin' OR NEW.disabled_at IS NOT NULL) THEN
        PERFORM pg_advisory_xact_lock(7266657201);
        IF NOT EXISTS (SELECT 1 FROM users
                       WHERE role = 'admin' AND disabled_at IS NULL AND id <> OLD.id) THEN
            RAISE EXCEPTION 'realms: the last administrator must stay an enabled administrator'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_keep_an_admin BEFORE UPDATE OF role, disabled_at OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION realms_keep_an_admin();
