//! Server-only domain code shared by the console's server fns, the data plane and the CLI:
//! persistence (store), password and token rules, sessions, throttling, the instance secret, and the
//! control plane (channels, models, bindings, balances, audit log, the routing catalog).

pub mod admin;
pub mod audit;
pub mod balances;
pub mod billing;
pub mod bindings;
pub mod cache;
pub mod catalog;
pub mod channels;
pub mod crypto;
pub mod db;
pub mod egress;
pub mod error;
pub mod limits;
pub mod models;
pub mod password;
pub mod price_list;
pub mod probe;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod throttle;
pub mod token;
pub mod tokens;
pub mod upstream_url;
pub mod usage;
pub mod users;
pub mod views;
