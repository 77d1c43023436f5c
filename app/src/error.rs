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

    /// The sentence to show next to the form, in the page's language (server-made sentences come
    /// in the request's language already).
    pub fn say(&self) -> String {
        use crate::i18n::Msg;
        match self {
            AppError::Unauthenticated => Msg::new("error-sign-in").say(),
            AppError::Forbidden => Msg::new("forbidden-text").say(),
            AppError::Transport(detail) => Msg::new("error-transport").arg("detail", detail).say(),
            other => other.to_string(),
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
        // The sentence is put into the language of the console request being served.
        match &e {
            StoreError::Invalid(m) => AppError::Invalid(m.say()),
            StoreError::Field { field, message } => {
                AppError::Field((*field).to_string(), message.say())
            }
            StoreError::Conflict(m) => AppError::Conflict(m.say()),
            StoreError::NotFound(m) => AppError::NotFound(m.say()),
            StoreError::Forbidden(_) => AppError::Forbidden,
            StoreError::Busy(m) => AppError::Throttled(m.say()),
            StoreError::Db(_) | StoreError::Migrate(_) | StoreError::Internal(_) => {
                tracing::error!(error = %e, "console request failed");
                AppError::Server(e.public_msg().say())
            }
        }
    }
}
