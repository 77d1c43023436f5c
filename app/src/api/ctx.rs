//! Server-side helpers for server fns: the state, the viewer, the session, role checks. Every
//! rejection also sets the HTTP status so callers of the URL see 401/403/400, not 200 or 500.

use crate::i18n::Msg;
use http::request::Parts;
use http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use crate::core::state::{AppState, Viewer};
use crate::core::users::User;
use crate::error::AppError;

/// Sets the response status for `e` and hands it back. A plain form post keeps its redirect back to
/// the form (the error travels in the address), so the browser shows the page with the error.
pub fn reject(e: AppError) -> AppError {
    if is_plain_form() {
        return e;
    }
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    e
}

/// Converts a store error into a console error with its status set.
pub fn store_err(e: crate::core::error::StoreError) -> AppError {
    reject(AppError::from(e))
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| reject(AppError::Server(Msg::new("error-state-missing").say())))
}

/// The signed-in user of this request, if any (loaded once per request by the session middleware).
pub fn viewer() -> Option<User> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<Viewer>().and_then(|v| v.0.clone()))
}

pub fn require_user() -> Result<User, AppError> {
    viewer().ok_or_else(|| reject(AppError::Unauthenticated))
}

pub fn require_admin() -> Result<User, AppError> {
    let user = require_user()?;
    if user.is_admin_role() {
        Ok(user)
    } else {
        Err(reject(AppError::Forbidden))
    }
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|_| reject(AppError::Server(Msg::new("error-session-layer").say())))
}

pub fn session_err(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store failed");
    reject(AppError::Server(Msg::new("error-session-save").say()))
}

/// The signed-in administrator and the state, or a 401/403 rejection.
pub fn admin_ctx() -> Result<(User, AppState), AppError> {
    let admin = require_admin()?;
    Ok((admin, state()?))
}

/// The signed-in administrator's operations and the state, or a 401/403 rejection.
pub fn admin_ops() -> Result<(crate::core::admin::Admin, AppState), AppError> {
    use crate::core::admin::Admin;
    use crate::core::audit::Actor;
    let admin = require_admin()?;
    let state = state()?;
    Ok((Admin::new(state.db.clone(), Actor::user(&admin)), state))
}

/// Hands back what an admin operation did. After a change this instance reloads its routing
/// catalog at once; the others follow the catalog revision the change bumped.
pub async fn applied<T>(
    state: &AppState,
    outcome: Result<T, crate::core::error::StoreError>,
) -> Result<T, AppError> {
    let done = outcome.map_err(store_err)?;
    reload_catalog(state).await;
    Ok(done)
}

/// Reloads this instance's routing catalog (and so drops cached tokens). On failure the watcher
/// retries on its next tick.
pub async fn reload_catalog(state: &AppState) {
    if let Err(e) = state.catalog.refresh().await {
        tracing::error!(error = %e, "could not reload the routing catalog");
    }
}

/// Records a change to a user's own tokens so that every instance empties its token cache (and
/// only that: a user cannot make the fleet reload its routing catalog), and takes it here at once.
pub async fn user_changed(state: &AppState) -> Result<(), AppError> {
    crate::core::audit::bump_tokens(&state.db)
        .await
        .map_err(store_err)?;
    if let Err(e) = state.catalog.refresh_if_changed().await {
        tracing::error!(error = %e, "could not take the new token revision");
    }
    Ok(())
}

/// Parses a whole number typed into the form field `field`.
/// `what` is the locale file's id of the field's name.
pub fn parse_int(raw: &str, field: &str, what: &'static str) -> Result<i64, AppError> {
    use crate::i18n::Msg;
    let t = raw.trim();
    if t.is_empty() {
        return Err(reject(AppError::Field(
            field.into(),
            Msg::new("error-required").phrase("what", what).say(),
        )));
    }
    t.parse::<i64>().map_err(|_| {
        reject(AppError::Field(
            field.into(),
            Msg::new("error-whole-number").phrase("what", what).say(),
        ))
    })
}

/// A checkbox value: present and not "false"/"off" means checked.
pub fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !matches!(v, "" | "false" | "off" | "0"))
}

/// True when the request is a plain HTML form post (no script): the browser wants a page back.
pub fn is_plain_form() -> bool {
    use_context::<Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Only same-site relative paths may be redirect targets after sign-in: visible ASCII only (browsers
/// drop tabs and newlines, so `/\t/evil.example` would become `//evil.example`; other bytes cannot go
/// in a `Location` header), one leading slash, no backslash, not a server fn, and not huge.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.len() <= 2048
                && n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic())
                && !n.starts_with("/api/") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The client's network address, when the server was started with it (`realms serve` is).
pub fn client_address() -> Option<std::net::IpAddr> {
    use_context::<Parts>().and_then(|p| {
        p.extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(safe_next(Some("/tokens")), "/tokens");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /x",
            "/caf\u{e9}",
            "/a\\b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(4096)))), "/");
        assert_eq!(
            safe_next(Some("/usage?from=2026-01-01&model=x")),
            "/usage?from=2026-01-01&model=x"
        );
    }
}
