//! Server fns: thin wrappers that check who is asking, call the domain code and shape the answer.

pub mod account;
pub mod admin;
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod tokens;
