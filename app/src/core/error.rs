//! The error type of the store and of the domain functions above it.

/// What went wrong in a store or domain call. `Invalid`, `Conflict`, `NotFound` and `Forbidden` carry a
/// sentence meant for the person who asked; `Db` and `Migrate` are internal and are logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(String),
    /// Invalid input in one named form field (shown next to that field).
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Field {
            field,
            message: message.into(),
        }
    }

    /// True when the cause is a unique-constraint violation (a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// The sentence a person may see: internal causes become a generic message.
    pub fn public_message(&self) -> String {
        match self {
            StoreError::Field { message: m, .. }
            | StoreError::Invalid(m)
            | StoreError::Conflict(m)
            | StoreError::NotFound(m)
            | StoreError::Forbidden(m) => m.clone(),
            StoreError::Db(_) | StoreError::Migrate(_) | StoreError::Internal(_) => {
                "Something went wrong on the server. Try again; if it persists, ask your administrator to check the logs.".into()
            }
        }
    }
}
