//! `GET /v1/realms/me`: what a token's owner has and has spent — balance, spend today and this
//! month (UTC), and the limits on the token and the account with their windows — for Claude Code's
//! status line and scripts. Authenticated by the same token as every data-plane request; shows the
//! token owner's own account only. `?format=text` answers one line for a status line. Answers are
//! cached per token for two seconds (and dropped when the catalog or token revision moves), so
//! calling it every few seconds costs next to nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use app::core::cache::Cache;
use app::core::db::now_ms;
use app::core::limits::{spent_since, Scope, Window};
use app::core::{balances, users};
use app::money::{format_usd, BALANCE_SCALE};
use app::types::Limits;

use super::error::{RelayError, Shape};
use super::Relay;

/// How long an answer is reused.
pub const TTL: Duration = Duration::from_secs(2);

/// Answers by token id, at the catalog and token revisions they were read at.
pub type MeCache = Cache<i64, Arc<Value>, (i64, i64)>;

pub fn cache() -> MeCache {
    Cache::new(TTL, 10_000)
}

#[derive(serde::Deserialize)]
pub(super) struct Params {
    #[serde(default)]
    format: Option<String>,
}

fn usd(nano: i64) -> Value {
    // An exact decimal string: no float on the way out either.
    Value::String(format_usd(nano, BALANCE_SCALE))
}

fn limits_json(l: &Limits) -> Value {
    json!({
        "requests_per_minute": l.rpm,
        "concurrent_requests": l.concurrency,
        "spend_5h_usd": l.spend_5h.map(usd),
        "spend_day_usd": l.spend_day.map(usd),
        "spend_month_usd": l.spend_month.map(usd),
    })
}

fn internal(e: impl std::fmt::Display) -> RelayError {
    tracing::error!(error = %e, "could not read the account status");
    RelayError::Internal("Realms could not read your account. Retry shortly.".into())
}

/// The status of the token's owner, read from the database.
async fn read(relay: &Relay, owner: &app::core::tokens::TokenOwner) -> Result<Value, RelayError> {
    let db = &relay.db;
    let user = users::get(db, owner.user_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("the token's user is gone"))?;
    let balance = balances::balance(db, owner.user_id)
        .await
        .map_err(internal)?;
    let now = now_ms();
    let mut spend = serde_json::Map::new();
    for window in [Window::FiveHours, Window::Day, Window::Month] {
        let (spent, oldest) = spent_since(db, Scope::User(owner.user_id), window.start(now))
            .await
            .map_err(internal)?;
        let name = match window {
            Window::FiveHours => "last_5h",
            Window::Day => "today",
            Window::Month => "this_month",
        };
        spend.insert(
            name.into(),
            json!({ "usd": usd(spent), "resets_at_ms": window.resets_at(now, oldest) }),
        );
    }
    let billing = relay.catalog.snapshot().settings.billing_enabled;
    Ok(json!({
        "user": { "email": user.email, "username": user.username },
        "billing": billing,
        "balance_usd": usd(balance),
        "spend": spend,
        "limits": { "token": limits_json(&owner.token_limits), "user": limits_json(&owner.user_limits) },
    }))
}

/// One line for a status line: `Realms · $12.34 left · today $0.56`.
fn line(v: &Value) -> String {
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("0.00")
            .to_string()
    };
    let today = format!("today ${}", text("/spend/today/usd"));
    if v["billing"].as_bool() == Some(true) {
        format!("Realms · ${} left · {today}", text("/balance_usd"))
    } else {
        format!("Realms · {today}")
    }
}

pub(super) async fn me(
    State(relay): State<Arc<Relay>>,
    Query(params): Query<Params>,
    req: Request,
) -> Response {
    let snapshot = relay.catalog.snapshot();
    let revision = (snapshot.revision, snapshot.token_revision);
    let owner = match relay
        .tokens
        .authenticate(&relay.db, revision, req.headers())
        .await
    {
        Ok(owner) => owner,
        Err(e) => return e.response_in(Shape::OpenAi, None),
    };
    let now = Instant::now();
    let value = match relay.me.get(&owner.token_id, revision, now) {
        Some(v) => v,
        None => match read(&relay, &owner).await {
            Ok(v) => {
                let v = Arc::new(v);
                relay.me.insert(owner.token_id, v.clone(), revision, now);
                v
            }
            Err(e) => return e.response_in(Shape::OpenAi, None),
        },
    };
    let cache = (header::CACHE_CONTROL, "private, max-age=2");
    if params.format.as_deref() == Some("text") {
        let body = line(&value) + "\n";
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), cache],
            body,
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json"), cache],
        value.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_says_balance_and_spend_today() {
        let v = json!({ "billing": true, "balance_usd": "12.34", "spend": { "today": { "usd": "0.56" } } });
        assert_eq!(line(&v), "Realms · $12.34 left · today $0.56");
        let off = json!({ "billing": false, "balance_usd": "0.00", "spend": { "today": { "usd": "1.00" } } });
        assert_eq!(line(&off), "Realms · today $1.00");
    }
}
