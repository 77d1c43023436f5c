//! Sign-up, sign-in, sign-out and "who am I".

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::UserView;

/// The signed-in user, or `None`.
#[server(prefix = "/api", endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    Ok(super::ctx::viewer().map(|u| u.view()))
}

/// Whether the sign-up form is open (shown on the login and register pages).
#[server(prefix = "/api", endpoint = "registration_open")]
pub async fn registration_open() -> Result<bool, AppError> {
    use super::ctx::*;
    let state = state()?;
    Ok(crate::core::settings::load(&state.db)
        .await
        .map_err(store_err)?
        .registration_open)
}

/// Creates an account (the first one is the administrator) and signs it in.
#[server(prefix = "/api", endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    #[server(default)] username: Option<String>,
) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::core::{settings, users};
    let state = state()?;
    let first = users::count(&state.db).await.map_err(store_err)? == 0;
    if !first
        && !settings::load(&state.db)
            .await
            .map_err(store_err)?
            .registration_open
    {
        return Err(reject(AppError::Invalid(
            Msg::new("error-registration-closed").say(),
        )));
    }
    let user = users::create(
        &state.db,
        users::NewUser {
            email: &email,
            username: username.as_deref(),
            password: &password,
            role: None,
        },
    )
    .await
    .map_err(store_err)?;
    tracing::info!(
        user_id = user.id,
        role = user.role.as_str(),
        "account registered"
    );
    sign_in(user.id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs in with email and password, then goes to `next` (a local path) or the dashboard. When the
/// account's saved language is not the one the sign-in page is in, answers that address: the page
/// then loads it whole, in the account's language.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<Option<String>, AppError> {
    use super::ctx::*;
    use crate::core::{password, throttle, users};
    use std::time::Instant;
    let state = state()?;
    // Bounded before anything is hashed, stored or used as a key.
    if email.trim().len() > users::MAX_EMAIL_LEN
        || password.chars().count() > password::MAX_PASSWORD_LEN
    {
        return Err(reject(AppError::Invalid(
            Msg::new("error-bad-credentials").say(),
        )));
    }
    let key = email.trim().to_lowercase();
    let address = client_address().map(|a| a.to_string());
    let now = Instant::now();
    if let Some(a) = &address {
        if let Err(wait) = state.throttle.address.check(a, now) {
            return Err(reject(AppError::Throttled(
                throttle::address_wait_message(wait).say(),
            )));
        }
    }
    if let Err(wait) = state.throttle.account.check(&key, now) {
        return Err(reject(AppError::Throttled(
            throttle::wait_message(wait).say(),
        )));
    }
    match users::check_credentials(&state.db, &email, &password)
        .await
        .map_err(store_err)?
    {
        Ok(user) => {
            state.throttle.account.record_success(&key);
            sign_in(user.id).await?;
            let to = safe_next(next.as_deref());
            leptos_axum::redirect(&to);
            let other_language = user.locale.is_some_and(|l| l != crate::i18n::page_locale());
            Ok(other_language.then_some(to))
        }
        Err(users::LoginRefusal::Disabled) => Err(reject(AppError::Invalid(
            Msg::new("error-account-disabled").say(),
        ))),
        Err(users::LoginRefusal::BadCredentials) => {
            let now = Instant::now();
            state.throttle.account.record_failure(&key, now);
            if let Some(a) = &address {
                state.throttle.address.record_failure(a, now);
            }
            Err(reject(AppError::Invalid(
                Msg::new("error-bad-credentials").say(),
            )))
        }
    }
}

/// Ends the session and goes to the sign-in page.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::ctx::*;
    let session = session().await?;
    session.flush().await.map_err(session_err)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Starts a signed-in session under a fresh session id (no fixation).
#[cfg(feature = "ssr")]
async fn sign_in(user_id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::core::state::SESSION_USER_KEY;
    let session = session().await?;
    session.cycle_id().await.map_err(session_err)?;
    session
        .insert(SESSION_USER_KEY, user_id)
        .await
        .map_err(session_err)?;
    Ok(())
}
