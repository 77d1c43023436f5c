//! The audit log: who changed what and when, for every administrative change (console or CLI). Each
//! record also bumps the catalog revision, which tells every instance to reload its routing cache.

use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use super::users::User;
use crate::types::AuditEntryView;

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<i64>,
    pub label: String,
}

impl Actor {
    pub fn user(user: &User) -> Self {
        Actor {
            id: Some(user.id),
            label: user.email.clone(),
        }
    }

    /// The ops CLI, run by whoever has the database and the secret.
    pub fn cli() -> Self {
        Actor {
            id: None,
            label: "cli".into(),
        }
    }
}

/// Records a change and bumps the catalog revision. `detail` must never hold a secret.
pub async fn record(
    db: &Db,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor, action, target, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor.id)
    .bind(&actor.label)
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    bump_revision(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Bumps the catalog revision for a change that is not an administrative one (a user revoking a
/// token), so every instance drops what it cached.
pub async fn bump(db: &Db) -> Result<(), StoreError> {
    let mut tx = db.pool().begin().await?;
    bump_revision(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Increments the catalog revision inside `tx`.
pub async fn bump_revision(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'catalog'")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Increments the token revision: every instance empties its token cache, nothing else reloads.
pub async fn bump_tokens(db: &Db) -> Result<(), StoreError> {
    sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'tokens'")
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The catalog and token revisions, in one read.
pub async fn revisions(db: &Db) -> Result<(i64, i64), StoreError> {
    let rows = sqlx::query("SELECT name, value FROM revisions WHERE name IN ('catalog', 'tokens')")
        .fetch_all(db.pool())
        .await?;
    let (mut catalog, mut tokens) = (0, 0);
    for row in rows {
        let name: String = row.try_get("name")?;
        let value: i64 = row.try_get("value")?;
        if name == "catalog" {
            catalog = value;
        } else {
            tokens = value;
        }
    }
    Ok((catalog, tokens))
}

/// The current catalog revision.
pub async fn revision(db: &Db) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT value FROM revisions WHERE name = 'catalog'")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("value")?)
}

/// The newest entries first; `before` pages back from an entry id.
pub async fn list(
    db: &Db,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<AuditEntryView>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, actor, action, target, detail, created_at FROM audit_log \
         WHERE id < $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit.clamp(1, 500))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntryView {
                id: r.try_get("id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
