//! Data-plane tokens: create (value returned once), list, revoke, and authenticate a presented value.

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use super::token_secret;
use crate::types::{NewToken, TokenStatus, TokenView};

pub const MAX_TOKEN_NAME_LEN: usize = 64;
const DAY_MS: i64 = 86_400_000;

/// A stored token row (no secret: only its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub hint: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub limits: crate::types::Limits,
    /// Which clients it accepts.
    pub clients: crate::clients::ClientRule,
}

impl Token {
    pub fn status(&self, now: i64) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|t| t <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }

    pub fn view(&self, now: i64) -> TokenView {
        TokenView {
            id: self.id,
            name: self.name.clone(),
            hint: self.hint.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            status: self.status(now),
            limits: self.limits,
            clients: self.clients.clone(),
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Token {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            name: row.try_get("name")?,
            hint: row.try_get("hint")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
            limits: super::limits::from_row(row, "")?,
            clients: client_rule_of(row, "")?,
        })
    }
}

const COLUMNS: &str = "id, user_id, name, hint, created_at, expires_at, last_used_at, revoked_at, \
    rpm_limit, concurrency_limit, spend_5h_limit, spend_day_limit, spend_month_limit, client_rule, \
    client_min_version";

/// Trims a token name; empty becomes "default".
pub fn normalize_name(raw: &str) -> Result<String, StoreError> {
    let name = raw.trim();
    if name.chars().count() > MAX_TOKEN_NAME_LEN {
        return Err(StoreError::Invalid(
            Msg::new("error-token-name-too-long").arg("MAX_TOKEN_NAME_LEN", MAX_TOKEN_NAME_LEN),
        ));
    }
    Ok(if name.is_empty() {
        "default".to_string()
    } else {
        name.to_string()
    })
}

/// Creates a token for `user_id`, expiring after `expires_in_days` (None or 0: never). The returned
/// [`NewToken`] holds the only copy of the full value.
pub async fn create(
    db: &Db,
    user_id: i64,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<NewToken, StoreError> {
    create_with_limits(
        db,
        user_id,
        name,
        expires_in_days,
        &crate::types::Limits::default(),
    )
    .await
}

/// Creates a token with limits (see [`create`]).
pub async fn create_with_limits(
    db: &Db,
    user_id: i64,
    name: &str,
    expires_in_days: Option<u32>,
    limits: &crate::types::Limits,
) -> Result<NewToken, StoreError> {
    let name = normalize_name(name)?;
    if expires_in_days.is_some_and(|d| d > 3650) {
        return Err(StoreError::Invalid(Msg::new("error-expiry-too-far")));
    }
    let now = now_ms();
    let expires_at = expires_in_days
        .filter(|d| *d > 0)
        .map(|d| now + i64::from(d) * DAY_MS);
    let generated = token_secret::generate();
    let row = sqlx::query(&format!(
        "INSERT INTO tokens (user_id, name, token_hash, hint, created_at, expires_at, \
         rpm_limit, concurrency_limit, spend_5h_limit, spend_day_limit, spend_month_limit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind(user_id)
    .bind(&name)
    .bind(&generated.hash)
    .bind(&generated.hint)
    .bind(now)
    .bind(expires_at)
    .bind(limits.rpm)
    .bind(limits.concurrency)
    .bind(limits.spend_5h)
    .bind(limits.spend_day)
    .bind(limits.spend_month)
    .fetch_one(db.pool())
    .await?;
    let stored = Token::from_row(&row)?;
    Ok(NewToken {
        secret: generated.secret,
        token: stored.view(now),
    })
}

/// The user's tokens, newest first.
pub async fn list_for_user(db: &Db, user_id: i64) -> Result<Vec<Token>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(Token::from_row).collect()
}

/// Revokes one of the user's tokens. Revoking twice is harmless; another user's token is "not found".
pub async fn revoke(db: &Db, user_id: i64, token_id: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3",
    )
    .bind(now_ms())
    .bind(token_id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-token")));
    }
    Ok(())
}

/// Who a valid token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    pub token_id: i64,
    pub user_id: i64,
    /// When the token stops working (checked again by callers that cache the owner).
    pub expires_at: Option<i64>,
    /// The token's own limits.
    pub token_limits: crate::types::Limits,
    /// The limits an administrator put on the token's user.
    pub user_limits: crate::types::Limits,
    /// Which clients the token accepts.
    pub token_clients: crate::clients::ClientRule,
    /// Which clients an administrator lets the user's tokens accept.
    pub user_clients: crate::clients::ClientRule,
}

/// Why a presented token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    Unknown,
    Revoked,
    Expired,
    UserDisabled,
}

/// The client rule stored in the columns `<prefix>client_rule` and `<prefix>client_min_version`.
pub fn client_rule_of(
    row: &AnyRow,
    prefix: &str,
) -> Result<crate::clients::ClientRule, StoreError> {
    let rule: Option<String> = row.try_get(format!("{prefix}client_rule").as_str())?;
    let min: Option<String> = row.try_get(format!("{prefix}client_min_version").as_str())?;
    Ok(crate::clients::ClientRule::from_stored(
        rule.as_deref(),
        min.as_deref(),
    ))
}

/// Sets which clients one of the user's tokens accepts.
pub async fn set_clients(
    db: &Db,
    user_id: i64,
    token_id: i64,
    rule: &crate::clients::ClientRule,
) -> Result<(), StoreError> {
    let (kind, min) = rule.stored();
    let done = sqlx::query(
        "UPDATE tokens SET client_rule = $1, client_min_version = $2 WHERE id = $3 AND user_id = $4",
    )
    .bind(kind)
    .bind(min)
    .bind(token_id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-token")));
    }
    Ok(())
}

/// Looks a presented token up by its hash and checks it can be used now.
pub async fn authenticate(
    db: &Db,
    presented: &str,
) -> Result<Result<TokenOwner, TokenRefusal>, StoreError> {
    if !token_secret::looks_like_token(presented) {
        return Ok(Err(TokenRefusal::Unknown));
    }
    let row = sqlx::query(
        "SELECT t.id, t.user_id, t.expires_at, t.revoked_at, u.disabled_at, \
         t.rpm_limit AS t_rpm_limit, t.concurrency_limit AS t_concurrency_limit, \
         t.spend_5h_limit AS t_spend_5h_limit, t.spend_day_limit AS t_spend_day_limit, \
         t.spend_month_limit AS t_spend_month_limit, \
         u.rpm_limit AS u_rpm_limit, u.concurrency_limit AS u_concurrency_limit, \
         u.spend_5h_limit AS u_spend_5h_limit, u.spend_day_limit AS u_spend_day_limit, \
         u.spend_month_limit AS u_spend_month_limit, \
         t.client_rule AS t_client_rule, t.client_min_version AS t_client_min_version, \
         u.client_rule AS u_client_rule, u.client_min_version AS u_client_min_version \
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(token_secret::hash(presented))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(if revoked_at.is_some() {
        Err(TokenRefusal::Revoked)
    } else if expires_at.is_some_and(|t| t <= now_ms()) {
        Err(TokenRefusal::Expired)
    } else if disabled_at.is_some() {
        Err(TokenRefusal::UserDisabled)
    } else {
        Ok(TokenOwner {
            token_id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            expires_at,
            token_limits: super::limits::from_row(&row, "t_")?,
            user_limits: super::limits::from_row(&row, "u_")?,
            token_clients: client_rule_of(&row, "t_")?,
            user_clients: client_rule_of(&row, "u_")?,
        })
    })
}

/// Records that a token was used (the data plane batches these).
pub async fn touch(db: &Db, token_id: i64, at: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(token_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Of `token_ids`, those that no longer authenticate: revoked, expired, deleted, or owned by a
/// disabled or deleted user. One query per 256 ids.
pub async fn no_longer_valid(db: &Db, token_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut valid = std::collections::HashSet::new();
    for chunk in token_ids.chunks(256) {
        let sql = format!(
            "SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id IN ({}) AND t.revoked_at IS NULL AND u.disabled_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > ${})",
            super::db::in_list(chunk.len()),
            chunk.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.bind(now_ms()).fetch_all(db.pool()).await? {
            valid.insert(row.try_get::<i64, _>("id")?);
        }
    }
    Ok(token_ids
        .iter()
        .copied()
        .filter(|id| !valid.contains(id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_prefers_revoked_over_expired() {
        let mut t = Token {
            id: 1,
            user_id: 1,
            name: "n".into(),
            hint: "abcd".into(),
            created_at: 0,
            expires_at: Some(10),
            last_used_at: None,
            revoked_at: None,
            limits: Default::default(),
            clients: Default::default(),
        };
        assert_eq!(t.status(5), TokenStatus::Active);
        assert_eq!(t.status(10), TokenStatus::Expired);
        t.revoked_at = Some(3);
        assert_eq!(t.status(5), TokenStatus::Revoked);
    }

    #[test]
    fn names_default_and_are_bounded() {
        assert_eq!(normalize_name("  ").unwrap(), "default");
        assert_eq!(normalize_name(" laptop ").unwrap(), "laptop");
        assert!(normalize_name(&"x".repeat(65)).is_err());
    }
}
