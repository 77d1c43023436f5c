//! Site settings stored as key/value rows, with typed accessors.

use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use crate::types::{ProbePolicy, SiteSettings, UnpricedPolicy};

const REGISTRATION_OPEN: &str = "registration_open";
const BILLING_ENABLED: &str = "billing_enabled";
const UNPRICED_MODELS: &str = "unpriced_models";
const OVERDRAFT_FLOOR: &str = "overdraft_floor";
const WEB_SEARCH_PRICE: &str = "web_search_price";
const PROBES: &str = "probes";

async fn set_raw(db: &Db, key: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Current settings; missing rows take their defaults (registration open, billing on, models
/// without prices refused).
pub async fn load(db: &Db) -> Result<SiteSettings, StoreError> {
    let rows = sqlx::query("SELECT key, value FROM settings")
        .fetch_all(db.pool())
        .await?;
    let mut settings = SiteSettings::default();
    for row in rows {
        let key: String = row.try_get("key")?;
        let value: String = row.try_get("value")?;
        match key.as_str() {
            REGISTRATION_OPEN => settings.registration_open = value != "false",
            BILLING_ENABLED => settings.billing_enabled = value != "false",
            UNPRICED_MODELS => {
                settings.unpriced_models =
                    UnpricedPolicy::parse(&value).unwrap_or(UnpricedPolicy::Refuse)
            }
            OVERDRAFT_FLOOR => settings.overdraft_floor = value.parse::<i64>().unwrap_or(0).max(0),
            WEB_SEARCH_PRICE => {
                if let Some(p) = value.parse::<i64>().ok().filter(|p| *p >= 0) {
                    settings.web_search_price = p;
                }
            }
            PROBES => settings.probes = ProbePolicy::parse(&value).unwrap_or_default(),
            _ => {}
        }
    }
    Ok(settings)
}

pub async fn set_billing_enabled(db: &Db, on: bool) -> Result<(), StoreError> {
    set_raw(db, BILLING_ENABLED, if on { "true" } else { "false" }).await
}

pub async fn set_unpriced_models(db: &Db, policy: UnpricedPolicy) -> Result<(), StoreError> {
    set_raw(db, UNPRICED_MODELS, policy.as_str()).await
}

pub async fn set_registration_open(db: &Db, open: bool) -> Result<(), StoreError> {
    set_raw(db, REGISTRATION_OPEN, if open { "true" } else { "false" }).await
}

/// Sets how far below zero a charge may take a balance (nano-USD, not negative).
pub async fn set_overdraft_floor(db: &Db, floor: i64) -> Result<(), StoreError> {
    set_raw(db, OVERDRAFT_FLOOR, &floor.max(0).to_string()).await
}

/// Sets the price of 1,000 web searches (micro-USD, not negative) for models without their own.
pub async fn set_web_search_price(db: &Db, price: i64) -> Result<(), StoreError> {
    set_raw(db, WEB_SEARCH_PRICE, &price.max(0).to_string()).await
}

/// Sets what happens to a client's probes.
pub async fn set_probes(db: &Db, policy: ProbePolicy) -> Result<(), StoreError> {
    set_raw(db, PROBES, policy.as_str()).await
}
