//! The error type of the store and of the domain functions above it.

use crate::i18n::Msg;

/// What went wrong in a store or domain call. `Invalid`, `Conflict`, `NotFound` and `Forbidden` carry a
/// sentence meant for the person who asked; `Db` and `Migrate` are internal and are logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(Msg),
    /// Invalid input in one named form field (shown next to that field).
    #[error("{message}")]
    Field { field: &'static str, message: Msg },
    #[error("{0}")]
    Conflict(Msg),
    #[error("{0}")]
    NotFound(Msg),
    #[error("{0}")]
    Forbidden(Msg),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The server is too busy for this now; the sentence says to try again.
    #[error("{0}")]
    Busy(Msg),
}

impl StoreError {
    pub fn field(field: &'static str, message: Msg) -> Self {
        StoreError::Field { field, message }
    }

    /// True when the cause is a unique-constraint violation (a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// True when the same write may succeed if tried again: the database was unreachable, busy,
    /// locked, out of resources, or chose this transaction as a deadlock or serialization victim.
    /// Anything else (a constraint, a value the database refuses) fails the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(e) => transient_db(e),
            _ => false,
        }
    }

    /// The sentence a person may see, in English: internal causes become a generic message.
    pub fn public_message(&self) -> String {
        self.public_msg().to_string()
    }

    /// The sentence a person may see: internal causes become a generic message.
    pub fn public_msg(&self) -> Msg {
        match self {
            StoreError::Field { message: m, .. }
            | StoreError::Invalid(m)
            | StoreError::Conflict(m)
            | StoreError::NotFound(m)
            | StoreError::Forbidden(m)
            | StoreError::Busy(m) => m.clone(),
            StoreError::Db(_) | StoreError::Migrate(_) | StoreError::Internal(_) => {
                Msg::new("error-server")
            }
        }
    }
}

fn transient_db(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| transient_code(&c)),
        _ => false,
    }
}

/// PostgreSQL reports five-character SQLSTATEs (some all digits), SQLite numeric (extended) result
/// codes of at most four digits.
fn transient_code(code: &str) -> bool {
    if code.len() < 5 {
        let Ok(n) = code.parse::<u32>() else {
            return false;
        };
        // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL.
        return matches!(n & 0xff, 5 | 6 | 10 | 13 | 14 | 15);
    }
    // Connection exceptions, transaction rollbacks (serialization, deadlock), insufficient
    // resources, operator intervention (shutdown), system errors.
    matches!(code.get(..2), Some("08" | "40" | "53" | "57" | "58"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_locked_and_lost_connections_are_transient_constraints_are_not() {
        for code in [
            "5", "517", "6", "262", "10", "13", "40001", "40P01", "08006", "57P01", "53100",
        ] {
            assert!(transient_code(code), "{code}");
        }
        for code in ["19", "787", "2067", "23503", "23505", "22021", "42601"] {
            assert!(!transient_code(code), "{code}");
        }
        assert!(StoreError::Db(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Db(sqlx::Error::RowNotFound).is_transient());
        assert!(!StoreError::Invalid(crate::i18n::Msg::new("error-no-such-user")).is_transient());
    }
}
