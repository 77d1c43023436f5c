-- Administrators, guarded by the database itself.
-- first_admin has room for one row: the account that became administrator by registering first. Two
-- first registrations at once both try to take it, and the database lets only one of them.
-- The last enabled administrator cannot be demoted, disabled or deleted (SQLite runs one writer at
-- a time, so the check cannot race).

CREATE TABLE first_admin (
    slot    INTEGER PRIMARY KEY CHECK (slot = 1),
    user_id INTEGER NOT NULL
);
INSERT INTO first_admin (slot, user_id)
SELECT 1, MIN(id) FROM users WHERE role = 'admin' HAVING COUNT(*) > 0;

CREATE TRIGGER users_keep_an_admin_update BEFORE UPDATE OF role, disabled_at ON users
WHEN OLD.role = 'admin' AND OLD.disabled_at IS NULL
     AND (NEW.role <> 'admin' OR NEW.disabled_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM users
                     WHERE role = 'admin' AND disabled_at IS NULL AND id <> OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'realms: the last administrator must stay an enabled administrator');
END;

CREATE TRIGGER users_keep_an_admin_delete BEFORE DELETE ON users
WHEN OLD.role = 'admin' AND OLD.disabled_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM users
                     WHERE role = 'admin' AND disabled_at IS NULL AND id <> OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'realms: the last administrator must stay an enabled administrator');
END;
