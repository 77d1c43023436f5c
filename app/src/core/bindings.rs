//! Bindings: which channels carry a model, and the model name each channel is sent. A model is bound
//! to a channel at most once; the upstream name defaults to the model's public id.

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use super::models::validate_model_id;
use super::{channels, models};
use crate::types::{BindingView, ChannelKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub id: i64,
    pub model_id: i64,
    pub channel_id: i64,
    pub upstream_model: String,
    pub disabled_at: Option<i64>,
}

impl Binding {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// The upstream model name to store: the given one, or the model's public id when blank.
pub fn upstream_name(given: Option<&str>, public_id: &str) -> Result<String, StoreError> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => validate_model_id(name, "upstream_model"),
        None => Ok(public_id.to_string()),
    }
}

/// Binds a model to a channel.
pub async fn create(
    db: &Db,
    model_id: i64,
    channel_id: i64,
    upstream_model: Option<&str>,
) -> Result<BindingView, StoreError> {
    let model = models::get(db, model_id).await?;
    let channel = channels::get(db, channel_id).await?;
    let upstream = upstream_name(upstream_model, &model.public_id)?;
    let row = sqlx::query(
        "INSERT INTO bindings (model_id, channel_id, upstream_model, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(model.id)
    .bind(channel.id)
    .bind(&upstream)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if e.is_unique_violation() {
            StoreError::field(
                "channel_id",
                Msg::new("error-binding-exists")
                    .arg("model", &model.public_id)
                    .arg("channel", &channel.name),
            )
        } else {
            e
        }
    })?;
    let id: i64 = row.try_get("id")?;
    get(db, id).await
}

fn no_binding() -> StoreError {
    StoreError::NotFound(Msg::new("error-no-such-binding"))
}

const VIEW_QUERY: &str =
    "SELECT b.id, b.model_id, m.public_id, b.channel_id, c.name AS channel_name, \
    c.kind AS channel_kind, b.upstream_model, b.disabled_at \
    FROM bindings b JOIN models m ON m.id = b.model_id JOIN channels c ON c.id = b.channel_id";

fn view_from_row(row: &AnyRow) -> Result<BindingView, StoreError> {
    let kind: String = row.try_get("channel_kind")?;
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(BindingView {
        id: row.try_get("id")?,
        model_id: row.try_get("model_id")?,
        model_public_id: row.try_get("public_id")?,
        channel_id: row.try_get("channel_id")?,
        channel_name: row.try_get("channel_name")?,
        channel_kind: ChannelKind::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("unknown channel type {kind:?}")))?,
        upstream_model: row.try_get("upstream_model")?,
        enabled: disabled_at.is_none(),
    })
}

pub async fn get(db: &Db, id: i64) -> Result<BindingView, StoreError> {
    let row = sqlx::query(&format!("{VIEW_QUERY} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    super::db::found(row, view_from_row, no_binding)
}

/// Every binding, by model then channel name.
pub async fn list(db: &Db) -> Result<Vec<BindingView>, StoreError> {
    let rows = sqlx::query(&format!("{VIEW_QUERY} ORDER BY m.public_id, c.name"))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(view_from_row).collect()
}

/// Raw rows for the routing cache.
pub async fn all(db: &Db) -> Result<Vec<Binding>, StoreError> {
    let rows =
        sqlx::query("SELECT id, model_id, channel_id, upstream_model, disabled_at FROM bindings")
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Binding {
                id: r.try_get("id")?,
                model_id: r.try_get("model_id")?,
                channel_id: r.try_get("channel_id")?,
                upstream_model: r.try_get("upstream_model")?,
                disabled_at: r.try_get("disabled_at")?,
            })
        })
        .collect()
}

/// Changes the upstream name and the enabled flag of a binding.
pub async fn update(
    db: &Db,
    id: i64,
    upstream_model: Option<&str>,
    enabled: bool,
) -> Result<BindingView, StoreError> {
    let current = get(db, id).await?;
    let upstream = upstream_name(upstream_model, &current.model_public_id)?;
    sqlx::query(
        "UPDATE bindings SET upstream_model = $1, \
         disabled_at = CASE WHEN $2 = 1 THEN NULL ELSE COALESCE(disabled_at, $3) END WHERE id = $4",
    )
    .bind(&upstream)
    .bind(i64::from(enabled))
    .bind(now_ms())
    .bind(id)
    .execute(db.pool())
    .await?;
    get(db, id).await
}

pub async fn delete(db: &Db, id: i64) -> Result<BindingView, StoreError> {
    let current = get(db, id).await?;
    sqlx::query("DELETE FROM bindings WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_name_defaults_to_the_public_id() {
        assert_eq!(upstream_name(None, "claude-x").unwrap(), "claude-x");
        assert_eq!(upstream_name(Some("  "), "claude-x").unwrap(), "claude-x");
        assert_eq!(
            upstream_name(Some(" anthropic/claude-x "), "claude-x").unwrap(),
            "anthropic/claude-x"
        );
        assert!(upstream_name(Some("two words"), "claude-x").is_err());
    }
}
