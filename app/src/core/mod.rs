//! Server-only domain code shared by the console's server fns, the data plane and the CLI: the
//! admin operations (`admin`, the one writer of control-plane changes), persistence (the store: one
//! module per table group), password and token rules, sessions, throttling, the instance secret,
//! the in-memory cache rule (`cache`), and the routing catalog.

pub mod admin;
pub mod audit;
pub mod balances;
pub mod billing;
pub mod bindings;
pub mod cache;
pub mod catalog;
pub mod channel_test;
pub mod channels;
pub mod connection_test;
pub mod crypto;
pub mod db;
pub mod egress;
pub mod error;
pub mod limits;
pub mod models;
pub mod password;
pub mod price_file;
pub mod price_list;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod site_address;
pub mod state;
pub mod throttle;
pub mod token_secret;
pub mod tokens;
pub mod upstream_url;
pub mod usage_log;
pub mod users;
pub mod views;
