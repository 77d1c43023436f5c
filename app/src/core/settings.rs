//! Site settings stored as key/value rows, with typed accessors.

use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use crate::model::SiteSettings;

const REGISTRATION_OPEN: &str = "registration_open";

async fn get_raw(db: &Db, key: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

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

/// Current settings; missing rows take their defaults (registration open).
pub async fn load(db: &Db) -> Result<SiteSettings, StoreError> {
    let open = get_raw(db, REGISTRATION_OPEN).await?;
    Ok(SiteSettings {
        registration_open: open.as_deref() != Some("false"),
    })
}

pub async fn set_registration_open(db: &Db, open: bool) -> Result<(), StoreError> {
    set_raw(db, REGISTRATION_OPEN, if open { "true" } else { "false" }).await
}
