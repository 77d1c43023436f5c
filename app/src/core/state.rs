//! What every console request and server fn can reach.

use leptos::config::LeptosOptions;
use std::sync::Arc;

use super::db::Db;
use super::throttle::LoginThrottle;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub throttle: Arc<LoginThrottle>,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    pub fn new(db: Db, leptos_options: LeptosOptions) -> Self {
        AppState {
            db,
            throttle: Arc::new(LoginThrottle::default()),
            leptos_options,
        }
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The signed-in account of a console request (or none), put in the request's extensions by the
/// server's session middleware and read by pages and server fns.
#[derive(Clone, Debug, Default)]
pub struct Viewer(pub Option<super::users::User>);

/// The session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";
/// The session key holding a token created by a no-script form, shown once on the next page load.
pub const SESSION_FRESH_TOKEN_KEY: &str = "fresh_token";

/// A token created by a no-script form, taken out of the session by the server before the tokens page
/// renders and handed to the page in the request's extensions (so it is shown exactly once).
#[derive(Clone, Debug)]
pub struct FreshToken(pub crate::model::NewToken);
