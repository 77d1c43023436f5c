//! Administrator server fns for site settings and the audit log. Each one checks the role on the
//! server before doing anything.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{AuditEntryView, SiteSettings};

#[server(prefix = "/api", endpoint = "admin/settings")]
pub async fn get_site_settings() -> Result<SiteSettings, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    crate::core::settings::load(&state.db)
        .await
        .map_err(store_err)
}

/// Opens or closes self-service registration.
#[server(prefix = "/api", endpoint = "admin/set_registration")]
pub async fn set_registration_open(open: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.set_registration_open(open).await).await
}

/// Turns billing on (usage is deducted from balances) or off (cost is computed and shown only).
#[server(prefix = "/api", endpoint = "admin/set_billing")]
pub async fn set_billing_enabled(enabled: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.set_billing_enabled(enabled).await).await
}

/// What happens to requests for a model without prices while billing is on: `refuse` or `free`.
#[server(prefix = "/api", endpoint = "admin/set_unpriced_models")]
pub async fn set_unpriced_models(policy: String) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::types::UnpricedPolicy;
    let (ops, state) = admin_ops()?;
    let policy = UnpricedPolicy::parse(&policy)
        .ok_or_else(|| reject(AppError::Invalid(Msg::new("error-unpriced-policy").say())))?;
    applied(&state, ops.set_unpriced_models(policy).await).await
}

/// Sets how far below zero a charge may take a balance, in USD ("0" = never below zero).
#[server(prefix = "/api", endpoint = "admin/set_overdraft_floor")]
pub async fn set_overdraft_floor(floor: String) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let nano =
        crate::money::parse_usd(&floor, crate::money::BALANCE_SCALE, false).map_err(|e| {
            reject(AppError::Invalid(
                e.describe_phrase("what-overdraft-floor").say(),
            ))
        })?;
    applied(&state, ops.set_overdraft_floor(nano).await).await
}

/// Sets the price of 1,000 web searches in USD, for models without their own.
#[server(prefix = "/api", endpoint = "admin/set_web_search_price")]
pub async fn set_web_search_price(price: String) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let micro = crate::money::parse_price(&price).map_err(|e| {
        reject(AppError::Invalid(
            e.describe_phrase("what-web-search-price").say(),
        ))
    })?;
    applied(&state, ops.set_site_web_search_price(micro).await).await
}

/// What happens to a client's probes: `upstream` or `answer`.
#[server(prefix = "/api", endpoint = "admin/set_probes")]
pub async fn set_probes(policy: String) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::types::ProbePolicy;
    let (ops, state) = admin_ops()?;
    let policy = ProbePolicy::parse(&policy)
        .ok_or_else(|| reject(AppError::Invalid(Msg::new("error-probe-policy").say())))?;
    applied(&state, ops.set_probes(policy).await).await
}

/// The newest audit entries (100 per page); `before` pages back.
#[server(prefix = "/api", endpoint = "admin/audit")]
pub async fn audit_log(
    #[server(default)] before: Option<i64>,
) -> Result<Vec<AuditEntryView>, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    crate::core::audit::list(&state.db, 100, before)
        .await
        .map_err(store_err)
}
