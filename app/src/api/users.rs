//! Administrator server fns for accounts: list, enable/disable, promote/demote, balances.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{AdminUserView, LimitsInput, UserDetail};

#[server(prefix = "/api", endpoint = "admin/users")]
pub async fn list_users() -> Result<Vec<AdminUserView>, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    crate::core::users::list_admin(&state.db)
        .await
        .map_err(store_err)
}

/// One account with its newest ledger rows.
#[server(prefix = "/api", endpoint = "admin/user")]
pub async fn get_user(id: i64) -> Result<UserDetail, AppError> {
    use super::ctx::*;
    use crate::core::{balances, users};
    let (_, state) = admin_ctx()?;
    let user = users::get_admin_view(&state.db, id)
        .await
        .map_err(store_err)?;
    let ledger = balances::ledger(&state.db, id, 100)
        .await
        .map_err(store_err)?;
    let limits = crate::core::limits::user_limits(&state.db, id)
        .await
        .map_err(store_err)?;
    let clients = users::clients(&state.db, id).await.map_err(store_err)?;
    Ok(UserDetail {
        user,
        ledger,
        limits,
        clients,
    })
}

/// Sets which clients a user's tokens accept: `any`, or `claude-code` with an optional minimum
/// version.
#[server(prefix = "/api", endpoint = "admin/set_user_clients")]
pub async fn set_user_clients(
    id: i64,
    clients: String,
    #[server(default)] min_version: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let rule = super::tokens::client_rule_from_form(&clients, &min_version)?;
    applied(&state, ops.set_user_clients(id, &rule).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/set_user_disabled")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.set_user_disabled(id, disabled).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/set_user_role")]
pub async fn set_user_role(id: i64, role: String) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::types::Role;
    let (ops, state) = admin_ops()?;
    let role = Role::parse(&role)
        .ok_or_else(|| reject(AppError::Invalid(Msg::new("error-role").say())))?;
    applied(&state, ops.set_user_role(id, role).await).await?;
    Ok(())
}

/// Adds to (or, with a negative amount, takes from) a user's balance; one ledger row per change.
#[server(prefix = "/api", endpoint = "admin/adjust_balance")]
pub async fn adjust_balance(
    id: i64,
    amount: String,
    #[server(default)] reason: String,
) -> Result<i64, AppError> {
    use super::ctx::*;
    use crate::money::parse_balance;
    let (ops, state) = admin_ops()?;
    let nano = parse_balance(&amount).map_err(|e| {
        reject(AppError::Field(
            "amount".into(),
            e.describe_phrase("what-amount").say(),
        ))
    })?;
    let change = applied(&state, ops.adjust_balance(id, nano, &reason).await).await?;
    Ok(change.balance)
}

/// Sets the limits on all of a user's requests (blank fields remove a limit).
#[server(prefix = "/api", endpoint = "admin/set_user_limits")]
pub async fn set_user_limits(
    id: i64,
    #[server(default)] limits: LimitsInput,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let parsed = crate::core::limits::parse(&limits).map_err(store_err)?;
    applied(&state, ops.set_user_limits(id, &parsed).await).await?;
    Ok(())
}
