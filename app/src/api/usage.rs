//! The usage log, its charts, and the dashboard. Plain users see their own requests only.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{DashboardView, UsagePage, UsageQuery};

/// One page of the usage log with the charts and the filter choices.
#[server(prefix = "/api", endpoint = "usage")]
pub async fn get_usage(#[server(default)] query: UsageQuery) -> Result<UsagePage, AppError> {
    use super::ctx::*;
    use crate::core::db::now_ms;
    use crate::core::{tokens, usage_log};
    let viewer = require_user()?;
    let state = state()?;
    let db = &state.db;
    let (filter, from, to) = usage_log::filter_for(db, &viewer, &query, now_ms())
        .await
        .map_err(store_err)?;
    let per_page = usage_log::PER_PAGE;
    let page = query.page.max(1);
    let (rows, total) = usage_log::list(
        db,
        &filter,
        i64::from((page - 1) * per_page),
        i64::from(per_page),
    )
    .await
    .map_err(store_err)?;
    // The charts cover the whole range whatever the page.
    let daily = usage_log::daily(db, &filter).await.map_err(store_err)?;
    let by_token = usage_log::by_token(db, &filter).await.map_err(store_err)?;
    let is_admin = viewer.is_admin_role();
    let channels = if is_admin {
        Some(
            usage_log::channel_stats(db, &filter)
                .await
                .map_err(store_err)?,
        )
    } else {
        None
    };
    let tokens = tokens::list_for_user(db, viewer.id)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let models = usage_log::models_seen(db, filter.user_id)
        .await
        .map_err(store_err)?;
    Ok(UsagePage {
        rows,
        total,
        page,
        per_page,
        daily,
        by_token,
        channels,
        tokens,
        models,
        is_admin,
        from,
        to,
    })
}

/// Balance, today's and this month's spend, today's requests, recent errors.
#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardView, AppError> {
    use super::ctx::*;
    use crate::core::db::now_ms;
    use crate::core::limits::Window;
    use crate::core::{billing, usage_log};
    let viewer = require_user()?;
    let state = state()?;
    let db = &state.db;
    let now = now_ms();
    let (balance, reserved) = billing::holdings(db, viewer.id).await.map_err(store_err)?;
    let (spend_today, requests_today) =
        usage_log::totals_since(db, viewer.id, Window::Day.start(now))
            .await
            .map_err(store_err)?;
    let (spend_month, _) = usage_log::totals_since(db, viewer.id, Window::Month.start(now))
        .await
        .map_err(store_err)?;
    let errors = usage_log::Filter {
        user_id: Some(viewer.id),
        from: now - 7 * 86_400_000,
        to: now + 1,
        status: usage_log::StatusFilter::Error,
        ..usage_log::Filter::default()
    };
    let (recent_errors, _) = usage_log::list(db, &errors, 0, 5)
        .await
        .map_err(store_err)?;
    Ok(DashboardView {
        balance,
        reserved,
        spend_today,
        spend_month,
        requests_today,
        recent_errors,
        billing_enabled: state.catalog.snapshot().settings.billing_enabled,
    })
}
