//! Server fns: thin wrappers that check who is asking, call the domain code and shape the answer.

pub mod account;
pub mod admin;
pub mod channels;
pub mod claude_code;
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod models;
pub mod tokens;
pub mod usage;
pub mod users;
