//! What every console request and server fn can reach.

use leptos::config::LeptosOptions;
use std::sync::Arc;

use super::catalog::Catalog;
use super::crypto::KeyCipher;
use super::db::Db;
use super::error::StoreError;
use super::secret::InstanceSecret;
use super::site_address::SiteAddress;
use super::throttle::SignInThrottles;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub throttle: Arc<SignInThrottles>,
    pub leptos_options: LeptosOptions,
    /// Encrypts and decrypts upstream keys.
    pub cipher: KeyCipher,
    /// The in-memory routing catalog (models, channels, keys, settings).
    pub catalog: Arc<Catalog>,
    /// The console's HTTP client for upstream requests (the channel test; keep-alive, no
    /// redirects). The data plane has its own, with its own connect timeout.
    pub http: reqwest::Client,
    /// This instance's public base URL rule and its own local address.
    pub address: Arc<SiteAddress>,
    /// The client the console's connection test calls this instance's own data plane with (on
    /// loopback: it goes through the data plane like any client's request).
    pub loopback: reqwest::Client,
}

impl AppState {
    /// Builds the state: derives the key cipher from the secret and loads the catalog.
    pub async fn build(
        db: Db,
        secret: &InstanceSecret,
        leptos_options: LeptosOptions,
        address: SiteAddress,
    ) -> Result<Self, StoreError> {
        let cipher = KeyCipher::new(secret);
        let catalog = Catalog::load(db.clone(), cipher.clone()).await?;
        Ok(AppState {
            db,
            throttle: Arc::new(SignInThrottles::default()),
            leptos_options,
            cipher,
            catalog,
            http: upstream_client()?,
            address: Arc::new(address),
            loopback: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .map_err(|e| {
                    StoreError::Internal(format!("could not build the HTTP client: {e}"))
                })?,
        })
    }
}

/// The console's HTTP client for upstreams (the channel test).
fn upstream_client() -> Result<reqwest::Client, StoreError> {
    super::egress::upstream_client(std::time::Duration::from_secs(10))
        .map_err(|e| StoreError::Internal(format!("could not build the HTTP client: {e}")))
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
/// The session key holding the price file an administrator uploaded, until it is imported.
pub const SESSION_PRICE_UPLOAD_KEY: &str = "price_upload";
/// The session key holding a token created by a no-script form, shown once on the next page load.
/// Its secret is stored encrypted with [`fresh_token_aad`].
pub const SESSION_FRESH_TOKEN_KEY: &str = "fresh_token";

/// The associated data a fresh token's secret is sealed under in the session: the token id,
/// negated so it never equals a channel id (channel keys are sealed under their channel id).
pub fn fresh_token_aad(token_id: i64) -> i64 {
    -token_id.saturating_abs() - 1
}

/// A token created by a no-script form, taken out of the session by the server before the tokens page
/// renders and handed to the page in the request's extensions (so it is shown exactly once).
#[derive(Clone, Debug)]
pub struct FreshToken(pub crate::types::NewToken);
