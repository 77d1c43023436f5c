-- Request reservations were replaced by balance leases (0005): whatever an older release left
-- open goes back to its user, and the table goes.
UPDATE users SET reserved = reserved - (
    SELECT COALESCE(SUM(r.amount), 0) FROM reservations r WHERE r.user_id = users.id
);
DROP TABLE reservations;
