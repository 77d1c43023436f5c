-- Each balance lease names the instance that holds it, so an instance that restarts after a crash
-- gives back its own leases at once instead of leaving them held until they expire.
ALTER TABLE leases ADD COLUMN instance TEXT NOT NULL DEFAULT '';
CREATE INDEX leases_instance ON leases (instance);
