//! The signed-in user's data-plane tokens.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{LimitsInput, NewToken, TokensPage};

/// The user's tokens, and a token just created by a no-script form (taken from the session by the
/// server for this page load only).
#[server(prefix = "/api", endpoint = "tokens")]
pub async fn list_tokens() -> Result<TokensPage, AppError> {
    use super::ctx::*;
    use crate::core::{db::now_ms, state::FreshToken, tokens};
    let user = require_user()?;
    let state = state()?;
    let now = now_ms();
    let list = tokens::list_for_user(&state.db, user.id)
        .await
        .map_err(store_err)?;
    let fresh = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<FreshToken>().map(|f| f.0.clone()));
    Ok(TokensPage {
        tokens: list.iter().map(|t| t.view(now)).collect(),
        fresh,
    })
}

/// Creates a token and returns its full value, which is never shown again.
#[server(prefix = "/api", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    #[server(default)] expires_in_days: Option<u32>,
    #[server(default)] limits: LimitsInput,
) -> Result<NewToken, AppError> {
    use super::ctx::*;
    use crate::core::{limits as token_limits, state::SESSION_FRESH_TOKEN_KEY, tokens};
    let user = require_user()?;
    let state = state()?;
    let limits = token_limits::parse(&limits).map_err(store_err)?;
    let created = tokens::create_with_limits(&state.db, user.id, &name, expires_in_days, &limits)
        .await
        .map_err(store_err)?;
    tracing::info!(
        user_id = user.id,
        token_id = created.token.id,
        "token created"
    );
    if is_plain_form() {
        // The browser reloads the page after a plain form post: hand the value over through the
        // session, encrypted (the session row is stored in the database until that page load).
        let session = session().await?;
        let sealed = crate::types::NewToken {
            secret: state
                .cipher
                .encrypt(
                    crate::core::state::fresh_token_aad(created.token.id),
                    &created.secret,
                )
                .map_err(store_err)?,
            token: created.token.clone(),
        };
        session
            .insert(SESSION_FRESH_TOKEN_KEY, &sealed)
            .await
            .map_err(session_err)?;
    }
    Ok(created)
}

/// Revokes one of the user's tokens; it stops working at once.
#[server(prefix = "/api", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::core::tokens;
    let user = require_user()?;
    let state = state()?;
    tokens::revoke(&state.db, user.id, id)
        .await
        .map_err(store_err)?;
    // Every instance drops its cached copy of the token.
    user_changed(&state).await?;
    tracing::info!(user_id = user.id, token_id = id, "token revoked");
    Ok(())
}

/// A client rule as a form sends it: `any`, or `claude-code` with an optional minimum version.
#[cfg(feature = "ssr")]
pub(super) fn client_rule_from_form(
    clients: &str,
    min_version: &str,
) -> Result<crate::clients::ClientRule, AppError> {
    use super::ctx::reject;
    match clients {
        "any" => Ok(crate::clients::ClientRule::default()),
        "claude-code" => crate::clients::ClientRule::claude_code(Some(min_version))
            .map_err(|m| reject(AppError::Field("min_version".into(), m.say()))),
        _ => Err(reject(AppError::Invalid(Msg::new("error-clients").say()))),
    }
}

/// Sets which clients one of the user's tokens accepts.
#[server(prefix = "/api", endpoint = "set_token_clients")]
pub async fn set_token_clients(
    id: i64,
    clients: String,
    #[server(default)] min_version: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let user = require_user()?;
    let state = state()?;
    let rule = client_rule_from_form(&clients, &min_version)?;
    crate::core::tokens::set_clients(&state.db, user.id, id, &rule)
        .await
        .map_err(store_err)?;
    // Every instance drops its cached copy of the token.
    user_changed(&state).await?;
    tracing::info!(user_id = user.id, token_id = id, clients = %rule.summary(), "token clients changed");
    Ok(())
}

/// Changes the limits of one of the user's tokens (blank fields remove a limit).
#[server(prefix = "/api", endpoint = "set_token_limits")]
pub async fn set_token_limits(
    id: i64,
    #[server(default)] limits: LimitsInput,
) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::core::limits;
    let user = require_user()?;
    let state = state()?;
    let parsed = limits::parse(&limits).map_err(store_err)?;
    limits::set_token_limits(&state.db, user.id, id, &parsed)
        .await
        .map_err(store_err)?;
    // Every instance drops its cached copy of the token.
    user_changed(&state).await?;
    tracing::info!(user_id = user.id, token_id = id, "token limits changed");
    Ok(())
}
