//! The console's one error type: what a server fn returns, rendered as a sentence next to the form.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// Invalid input in one form field: (field name, message). Shown next to the field.
    #[error("{1}")]
    Field(String, String),
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("This page is for administrators only.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Throttled(String),
    /// Something failed on the server; details are in the server log, not here.
    #[error("{0}")]
    Server(String),
    /// The request itself could not be made or read (network, encoding).
    #[error("The request could not be completed: {0}")]
    Transport(String),
}

impl AppError {
    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Field(f, _) => Some(f),
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) | AppError::Field(..) => 400,
            AppError::Unauthenticated => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Throttled(_) => 429,
            AppError::Server(_) | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<crate::core::error::StoreError> for AppError {
    fn from(e: crate::core::error::StoreError) -> Self {
        use crate::core::error::StoreError;
        match &e {
            StoreError::Invalid(m) => AppError::Invalid(m.clone()),
            StoreError::Field { field, message } => {
                AppError::Field((*field).to_string(), message.clone())
            }
            StoreError::Conflict(m) => AppError::Conflict(m.clone()),
            StoreError::NotFound(m) => AppError::NotFound(m.clone()),
            StoreError::Forbidden(_) => AppError::Forbidden,
            StoreError::Busy(m) => AppError::Throttled(m.clone()),
            StoreError::Db(_) | StoreError::Migrate(_) | StoreError::Internal(_) => {
                tracing::error!(error = %e, "console request failed");
                AppError::Server(e.public_message())
            }
        }
    }
}
