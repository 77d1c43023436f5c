//! Server-only domain code shared by the console's server fns, the data plane and the CLI:
//! persistence (store), password and token rules, sessions, throttling, the instance secret.

pub mod db;
pub mod error;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod throttle;
pub mod token;
pub mod tokens;
pub mod users;
