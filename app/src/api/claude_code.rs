//! Server fns of the Claude Code setup page: what it shows, and the connection test.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{ClaudeCodeSetup, ConnectionTest};

/// The base URL to show, the user's active tokens, the models Claude Code can use here, and what the
/// prerequisites need.
#[server(prefix = "/api", endpoint = "claude_code")]
pub async fn load_claude_code_setup() -> Result<ClaudeCodeSetup, AppError> {
    use super::ctx::*;
    use crate::core::{billing, db::now_ms, state::FreshToken, tokens, views};
    use crate::types::{Role, TokenChoice, TokenStatus};
    let user = require_user()?;
    let state = state()?;
    let parts = use_context::<http::request::Parts>();
    let base_url = match &parts {
        Some(p) => state.address.base_url(client_address(), &p.headers),
        None => state.address.base_url(None, &http::HeaderMap::new()),
    };
    let fresh = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<FreshToken>().map(|f| f.0.clone()));
    let now = now_ms();
    let tokens = tokens::list_for_user(&state.db, user.id)
        .await
        .map_err(store_err)?
        .iter()
        .map(|t| t.view(now))
        .filter(|t| t.status == TokenStatus::Active)
        .map(|t| TokenChoice {
            id: t.id,
            name: t.name,
            hint: t.hint,
        })
        .collect();
    let snapshot = state.catalog.snapshot();
    let (balance, _) = billing::holdings(&state.db, user.id)
        .await
        .map_err(store_err)?;
    Ok(ClaudeCodeSetup {
        base_url,
        tokens,
        models: views::claude_code_models(&snapshot),
        is_admin: user.role == Role::Admin,
        billing_enabled: snapshot.settings.billing_enabled,
        balance,
        fresh,
    })
}

/// Sends one small, real request through this instance's data plane with `token` and `model`, and
/// says how it went.
#[server(prefix = "/api", endpoint = "test_connection")]
pub async fn test_connection(token: String, model: String) -> Result<ConnectionTest, AppError> {
    use super::ctx::*;
    use crate::types::Role;
    let user = require_user()?;
    let state = state()?;
    let token = token.trim();
    let model = model.trim();
    if token.is_empty() {
        return Err(AppError::Field(
            "token".into(),
            Msg::new("error-test-token").say(),
        ));
    }
    if token.len() > 512 {
        return Err(AppError::Field(
            "token".into(),
            Msg::new("error-not-a-token").say(),
        ));
    }
    if model.is_empty() || model.len() > 256 {
        return Err(AppError::Field(
            "model".into(),
            Msg::new("error-test-model").say(),
        ));
    }
    let outcome =
        crate::core::connection_test::run(&state, user.id, user.role == Role::Admin, token, model)
            .await
            .map_err(AppError::Server)?;
    tracing::info!(
        user_id = user.id,
        model,
        status = outcome.status,
        request_id = outcome.request_id.as_deref().unwrap_or(""),
        "connection test"
    );
    Ok(outcome)
}
