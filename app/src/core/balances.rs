//! Balances and their ledger. Every change of a balance is one ledger row written in the same
//! transaction, so a balance always equals the sum of its ledger. Amounts are nano-USD.

use crate::i18n::Msg;
use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use crate::types::LedgerEntryView;

pub const MAX_REASON_LEN: usize = 200;

/// Why a balance changed (the kinds an administrator can make; charges come from usage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentKind {
    /// Money added (a payment, a grant).
    Topup,
    /// A correction in either direction.
    Adjustment,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::Topup => "topup",
            AdjustmentKind::Adjustment => "adjustment",
        }
    }
}

/// Adds `amount` (negative takes money off) to a user's balance with a reason, and returns the new
/// balance. The balance may not go below zero through an adjustment.
pub async fn adjust(
    db: &Db,
    user_id: i64,
    amount: i64,
    kind: AdjustmentKind,
    reason: &str,
    actor_id: Option<i64>,
) -> Result<i64, StoreError> {
    if amount == 0 {
        return Err(StoreError::field("amount", Msg::new("error-amount-zero")));
    }
    if kind == AdjustmentKind::Topup && amount < 0 {
        return Err(StoreError::field(
            "amount",
            Msg::new("error-top-up-negative"),
        ));
    }
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_LEN {
        return Err(StoreError::field(
            "reason",
            Msg::new("error-reason-too-long").arg("MAX_REASON_LEN", MAX_REASON_LEN),
        ));
    }
    let reason = if reason.is_empty() {
        match kind {
            AdjustmentKind::Topup => "Top-up",
            AdjustmentKind::Adjustment => "Adjustment",
        }
    } else {
        reason
    };
    let mut tx = db.pool().begin().await?;
    let row =
        sqlx::query("UPDATE users SET balance = balance + $1 WHERE id = $2 RETURNING balance")
            .bind(amount)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(Msg::new("error-no-such-user")));
    };
    let balance: i64 = row.try_get("balance")?;
    if balance < 0 && amount < 0 {
        tx.rollback().await?;
        return Err(StoreError::field(
            "amount",
            Msg::new("error-adjustment-below-zero")
                .arg("balance", crate::money::format_balance(balance)),
        ));
    }
    sqlx::query(
        "INSERT INTO ledger (user_id, amount, balance_after, kind, reason, actor_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user_id)
    .bind(amount)
    .bind(balance)
    .bind(kind.as_str())
    .bind(reason)
    .bind(actor_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(balance)
}

pub async fn balance(db: &Db, user_id: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT balance FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    let row = row.ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
    Ok(row.try_get("balance")?)
}

/// The sum of a user's ledger (equal to the balance; used to check that it is).
pub async fn ledger_sum(db: &Db, user_id: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM ledger WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("total")?)
}

/// The newest ledger rows of a user.
pub async fn ledger(db: &Db, user_id: i64, limit: i64) -> Result<Vec<LedgerEntryView>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.id, l.amount, l.balance_after, l.kind, l.reason, u.email AS actor, l.created_at, \
         l.uncollected \
         FROM ledger l LEFT JOIN users u ON u.id = l.actor_id \
         WHERE l.user_id = $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LedgerEntryView {
                id: r.try_get("id")?,
                amount: r.try_get("amount")?,
                balance_after: r.try_get("balance_after")?,
                kind: r.try_get("kind")?,
                reason: r.try_get("reason")?,
                actor: r.try_get("actor")?,
                created_at: r.try_get("created_at")?,
                uncollected: r.try_get("uncollected")?,
            })
        })
        .collect()
}
