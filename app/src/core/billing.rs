//! Billing: an instance holds part of each user's balance as a lease (one atomic conditional
//! update, so leases together never exceed the balance) and serves the holds of running requests
//! from it in memory (`server/src/relay/wallet.rs`). A request's charge is a ledger row (at most
//! one per request), applied by the usage writer with its usage event: it shrinks the lease by
//! what the lease held and takes the balance no lower than the overdraft floor. Leases are
//! released when idle, when their instance restarts, or when they expire (a stopped instance).

use crate::i18n::Msg;
use sqlx::Row;

use super::db::{self, now_ms, Db};
use super::error::StoreError;
use crate::money::{LongContext, Prices};

/// The balance could not cover the estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insufficient {
    pub available: i64,
    pub needed: i64,
}

/// Bytes of request body counted as one input token when estimating (conservative: real text runs
/// about four bytes per token).
pub const BYTES_PER_TOKEN_ESTIMATE: i64 = 2;

/// The amount to reserve: every output token the request allows at the output price, plus the
/// input estimated from the body size and `extra_input_tokens` (what the upstream reads beyond the
/// body: documents by URL, server tool results) at the dearest input-side price (cache writes cost
/// more than plain input); at the long-context prices when that estimate passes their threshold.
/// Nano-USD, rounded up.
pub fn estimate(
    prices: &Prices,
    long: Option<&LongContext>,
    body_bytes: usize,
    max_tokens: Option<u64>,
    extra_input_tokens: u64,
) -> i64 {
    let input_tokens = i128::try_from(body_bytes).unwrap_or(i128::MAX)
        / i128::from(BYTES_PER_TOKEN_ESTIMATE)
        + 1
        + i128::from(extra_input_tokens);
    let prices = match long {
        Some(l) if l.applies(i64::try_from(input_tokens).unwrap_or(i64::MAX)) => &l.prices,
        _ => prices,
    };
    let input_price = prices
        .input
        .max(prices.cache_write_5m)
        .max(prices.cache_write_1h)
        .max(prices.cache_read);
    let output_tokens = i128::from(max_tokens.unwrap_or(4096).min(1_000_000));
    let micro_times_tokens =
        input_tokens * i128::from(input_price) + output_tokens * i128::from(prices.output);
    // micro-USD per million tokens × tokens / 1000 = nano-USD; round up.
    let nano = (micro_times_tokens + 999) / 1000;
    i64::try_from(nano).unwrap_or(i64::MAX)
}

/// Adds `amount` to the user's held total when the available balance (balance − held) covers it,
/// and returns the open transaction to record the lease in; otherwise says what is available.
/// One conditional update: the row lock (PostgreSQL) or the write lock (SQLite) makes the check and
/// the hold a single step, so parallel holds can never overdraw. A non-positive `amount` is refused
/// with `not_positive`.
async fn hold_in_db(
    db: &Db,
    user_id: i64,
    amount: i64,
    not_positive: &str,
) -> Result<Result<sqlx::Transaction<'static, sqlx::Any>, Insufficient>, StoreError> {
    if amount <= 0 {
        return Err(StoreError::Internal(not_positive.into()));
    }
    let mut tx = db.pool().begin().await?;
    let held = sqlx::query(
        "UPDATE users SET reserved = reserved + $1 WHERE id = $2 AND balance - reserved >= $1 \
         RETURNING reserved",
    )
    .bind(amount)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    if held.is_some() {
        return Ok(Ok(tx));
    }
    tx.rollback().await?;
    let row = sqlx::query("SELECT balance - reserved AS available FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    let available: i64 = match row {
        Some(r) => r.try_get("available")?,
        None => return Err(StoreError::NotFound(Msg::new("error-no-such-user"))),
    };
    Ok(Err(Insufficient {
        available,
        needed: amount,
    }))
}

/// How long a lease lives without being refreshed by its instance (a running instance refreshes
/// its leases every few seconds; one that stopped for good frees them after this).
pub const LEASE_TTL_MS: i64 = 2 * 60 * 1000;

/// Grows the lease `lease_id` (or opens one) by `amount` when the user's available balance covers
/// it, in one atomic conditional update; returns the lease id.
pub async fn grow_lease(
    db: &Db,
    instance: &str,
    user_id: i64,
    lease_id: Option<i64>,
    amount: i64,
) -> Result<Result<i64, Insufficient>, StoreError> {
    let now = now_ms();
    let mut tx = match hold_in_db(
        db,
        user_id,
        amount,
        "a lease must grow by a positive amount",
    )
    .await?
    {
        Ok(tx) => tx,
        Err(short) => return Ok(Err(short)),
    };
    let grown = match lease_id {
        Some(id) => sqlx::query(
            "UPDATE leases SET amount = amount + $1, expires_at = $2 WHERE id = $3 RETURNING id",
        )
        .bind(amount)
        .bind(now + LEASE_TTL_MS)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?,
        None => None,
    };
    let id = match grown {
        Some(row) => row.try_get("id")?,
        None => sqlx::query(
            "INSERT INTO leases (user_id, amount, created_at, expires_at, instance) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(amount)
        .bind(now)
        .bind(now + LEASE_TTL_MS)
        .bind(instance)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?,
    };
    tx.commit().await?;
    Ok(Ok(id))
}

/// A request's charge, paid from a lease as far as it goes and from the balance beyond.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseCharge {
    pub user_id: i64,
    pub token_id: Option<i64>,
    pub request_id: String,
    /// Nano-USD, positive.
    pub cost: i64,
    pub lease_id: Option<i64>,
    /// The part of `cost` that was held by the lease.
    pub from_lease: i64,
    pub reason: String,
    /// How far below zero the charge may take the balance (the site's overdraft floor, nano-USD,
    /// not negative). What would go lower is recorded on the ledger row as uncollected.
    #[serde(default)]
    pub floor: i64,
}

/// What the usage writer applies to balances, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerOp {
    Charge(LeaseCharge),
    /// Gives a lease's remainder back to the user's available balance.
    Release {
        lease_id: i64,
    },
}

/// The usage writer's batch in one transaction on `conn`: the balance changes `ops` (see [`apply`])
/// and the usage events. Returns what could not be collected (nano-USD).
pub async fn store_batch(
    conn: &mut sqlx::AnyConnection,
    ops: &[LedgerOp],
    events: &[super::usage_log::UsageEvent],
) -> Result<i64, StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let uncollected = apply(&mut tx, ops).await?;
    super::usage_log::insert_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(uncollected)
}

/// Applies `ops` in order inside `tx`: charges become ledger rows (one per request), leases shrink
/// by what they paid, released leases give back their remainder. Consecutive charges are applied
/// together: one update per lease and per user, and the ledger rows in multi-row inserts. A charge
/// never takes a balance below its floor; returns what could not be collected (nano-USD).
pub async fn apply(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ops: &[LedgerOp],
) -> Result<i64, StoreError> {
    let mut run: Vec<&LeaseCharge> = Vec::new();
    let mut uncollected = 0;
    for op in ops {
        match op {
            LedgerOp::Charge(c) => run.push(c),
            LedgerOp::Release { lease_id } => {
                uncollected += apply_charges(tx, &run).await?;
                run.clear();
                release_lease(tx, *lease_id).await?;
            }
        }
    }
    Ok(uncollected + apply_charges(tx, &run).await?)
}

/// Splits a user's charges, in order, into what each takes from a balance of `before` without
/// going below `-floor`, and what is left uncollected. Returns `(collected, uncollected)` per
/// charge.
pub fn collect(before: i64, floor: i64, costs: &[i64]) -> Vec<(i64, i64)> {
    let lowest = -floor.max(0);
    let mut balance = before;
    costs
        .iter()
        .map(|&cost| {
            let room = balance.saturating_sub(lowest).max(0);
            let collected = cost.min(room);
            balance -= collected;
            (collected, cost - collected)
        })
        .collect()
}

const LEDGER_ROWS_PER_INSERT: usize = 64;

async fn apply_charges(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    charges: &[&LeaseCharge],
) -> Result<i64, StoreError> {
    use std::collections::BTreeMap;
    if charges.is_empty() {
        return Ok(0);
    }
    // Row locks in one order everywhere: the users first (ascending), then their leases, as a
    // hold takes them (`grow_lease`); the other order deadlocks with it on PostgreSQL.
    let users: std::collections::BTreeSet<i64> = charges.iter().map(|c| c.user_id).collect();
    for user in &users {
        lock_user(tx, *user).await?;
    }
    // Shrink each lease once; a lease released or swept meanwhile holds nothing any more.
    let mut by_lease: BTreeMap<i64, i64> = BTreeMap::new();
    for c in charges {
        if let (Some(id), true) = (c.lease_id, c.from_lease > 0) {
            *by_lease.entry(id).or_default() += c.from_lease;
        }
    }
    let mut live_leases = std::collections::HashSet::new();
    for (id, part) in &by_lease {
        let row = sqlx::query("UPDATE leases SET amount = amount - $1 WHERE id = $2 RETURNING id")
            .bind(part)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if row.is_some() {
            live_leases.insert(*id);
        }
    }
    // Charge each user once, then give every request its own ledger row with the balance after it.
    let mut by_user: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for c in charges {
        let held = match c.lease_id {
            Some(id) if live_leases.contains(&id) => c.from_lease,
            _ => 0,
        };
        let e = by_user.entry(c.user_id).or_default();
        e.0 += c.cost;
        e.1 += held;
    }
    // A user's balance before this run is what the update returned plus what it took; the
    // charges then take it no lower than the floor, and what they took beyond is given back.
    let mut before: BTreeMap<i64, i64> = BTreeMap::new();
    for (user, (cost, held)) in &by_user {
        let row = sqlx::query(
            "UPDATE users SET balance = balance - $1, reserved = reserved - $2 WHERE id = $3 \
             RETURNING balance",
        )
        .bind(cost)
        .bind(held)
        .bind(user)
        .fetch_optional(&mut **tx)
        .await?;
        // A deleted user has nothing left to charge.
        if let Some(row) = row {
            let after: i64 = row.try_get("balance")?;
            before.insert(*user, after + cost);
        }
    }
    // Each user's costs in order, and the floor of the newest charge.
    let mut costs: BTreeMap<i64, (Vec<i64>, i64)> = BTreeMap::new();
    for c in charges {
        let e = costs.entry(c.user_id).or_default();
        e.0.push(c.cost);
        e.1 = c.floor;
    }
    let mut split: BTreeMap<i64, std::vec::IntoIter<(i64, i64)>> = BTreeMap::new();
    let mut uncollected_total = 0;
    for (user, start) in &before {
        let (user_costs, floor) = costs.remove(user).unwrap_or_default();
        let parts = collect(*start, floor, &user_costs);
        let short: i64 = parts.iter().map(|(_, u)| u).sum();
        if short > 0 {
            sqlx::query("UPDATE users SET balance = balance + $1 WHERE id = $2")
                .bind(short)
                .bind(user)
                .execute(&mut **tx)
                .await?;
            tracing::warn!(
                user_id = user,
                uncollected = short,
                "charges above the overdraft floor were not collected"
            );
            uncollected_total += short;
        }
        split.insert(*user, parts.into_iter());
    }
    let mut running = before.clone();
    let mut after: Vec<(&LeaseCharge, i64, i64, i64)> = Vec::with_capacity(charges.len());
    for c in charges {
        let (Some(balance), Some(parts)) = (running.get_mut(&c.user_id), split.get_mut(&c.user_id))
        else {
            continue;
        };
        let Some((collected, uncollected)) = parts.next() else {
            continue;
        };
        *balance -= collected;
        after.push((c, collected, uncollected, *balance));
    }
    let now = now_ms();
    let mut rest = &after[..];
    for rows in db::row_chunks(after.len(), LEDGER_ROWS_PER_INSERT) {
        let (chunk, next) = rest.split_at(rows);
        rest = next;
        let sql = format!(
            "INSERT INTO ledger (user_id, amount, balance_after, kind, reason, request_id, token_id, \
             created_at, uncollected) VALUES {}",
            db::values_placeholders(tx, rows, 9)
        );
        let mut q = sqlx::query(&sql);
        for (c, collected, uncollected, balance_after) in chunk {
            q = q
                .bind(c.user_id)
                .bind(-*collected)
                .bind(*balance_after)
                .bind("charge")
                .bind(c.reason.as_str())
                .bind(c.request_id.as_str())
                .bind(c.token_id)
                .bind(now)
                .bind(*uncollected);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(uncollected_total)
}

/// Takes the user's row lock (on PostgreSQL; SQLite's one writer holds everything): an update that
/// changes nothing.
async fn lock_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET reserved = reserved WHERE id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn release_lease(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lease_id: i64,
) -> Result<(), StoreError> {
    // The user's row before the lease's, as everywhere (a lease's user never changes).
    let owner = sqlx::query("SELECT user_id FROM leases WHERE id = $1")
        .bind(lease_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(owner) = owner else {
        return Ok(());
    };
    let user_id: i64 = owner.try_get("user_id")?;
    lock_user(tx, user_id).await?;
    let row = sqlx::query("DELETE FROM leases WHERE id = $1 RETURNING amount")
        .bind(lease_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = row {
        let amount: i64 = row.try_get("amount")?;
        sqlx::query("UPDATE users SET reserved = reserved - $1 WHERE id = $2")
            .bind(amount)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Of `request_ids`, those charged already.
pub async fn charged_already(
    db: &Db,
    request_ids: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut found = std::collections::HashSet::new();
    for chunk in request_ids.chunks(256) {
        let sql = format!(
            "SELECT request_id FROM ledger WHERE request_id IN ({})",
            db::in_list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(db.pool()).await? {
            found.insert(row.try_get::<String, _>("request_id")?);
        }
    }
    Ok(found)
}

/// Keeps an instance's leases alive.
pub async fn refresh_leases(db: &Db, ids: &[i64], now: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    for id in ids {
        sqlx::query("UPDATE leases SET expires_at = $1 WHERE id = $2")
            .bind(now + LEASE_TTL_MS)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Releases leases past their expiry (left by a stopped instance); returns how many.
pub async fn sweep(db: &Db, now: i64) -> Result<u64, StoreError> {
    let expired = sqlx::query("SELECT id FROM leases WHERE expires_at <= $1")
        .bind(now)
        .fetch_all(db.pool())
        .await?;
    release_leases(db, &expired).await
}

/// Releases every lease `instance` holds: called when an instance starts, so the leases of its
/// previous run (which crashed, or was killed) go back to their users at once. Returns how many.
pub async fn release_instance(db: &Db, instance: &str) -> Result<u64, StoreError> {
    let held = sqlx::query("SELECT id FROM leases WHERE instance = $1")
        .bind(instance)
        .fetch_all(db.pool())
        .await?;
    release_leases(db, &held).await
}

async fn release_leases(db: &Db, rows: &[sqlx::any::AnyRow]) -> Result<u64, StoreError> {
    let mut released = 0;
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let mut tx = db.pool().begin().await?;
        release_lease(&mut tx, id).await?;
        tx.commit().await?;
        released += 1;
    }
    Ok(released)
}

/// Balance, and the part held by leases.
pub async fn holdings(db: &Db, user_id: i64) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query("SELECT balance, reserved FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    let row = row.ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
    Ok((row.try_get("balance")?, row.try_get("reserved")?))
}

/// The sum of the user's leases, from their rows (what `users.reserved` must equal).
pub async fn leased(db: &Db, user_id: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM leases WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("total")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_take_a_balance_down_to_the_floor_and_no_further() {
        // Enough for all: everything collected.
        assert_eq!(collect(100, 0, &[30, 40]), vec![(30, 0), (40, 0)]);
        // The second charge passes zero: it takes what is left, the third takes nothing.
        assert_eq!(
            collect(100, 0, &[60, 60, 10]),
            vec![(60, 0), (40, 20), (0, 10)]
        );
        // A floor of 50 lets the balance reach -50.
        assert_eq!(collect(100, 50, &[120, 40]), vec![(120, 0), (30, 10)]);
        // A balance already below the floor (an adjustment) collects nothing; a negative floor
        // counts as zero.
        assert_eq!(collect(-80, 50, &[10]), vec![(0, 10)]);
        assert_eq!(collect(5, -100, &[10]), vec![(5, 5)]);
    }

    #[test]
    fn estimates_cover_the_worst_case_and_round_up() {
        let sonnet = Prices::with_derived_cache(3_000_000, 15_000_000);
        // 2000 bytes → 1001 tokens at the 1 h write price ($6/M) + 1000 output tokens at $15/M.
        assert_eq!(
            estimate(&sonnet, None, 2000, Some(1000), 0),
            1001 * 6_000 + 1000 * 15_000
        );
        // Without max_tokens a default of 4096 output tokens is assumed.
        assert_eq!(estimate(&sonnet, None, 0, None, 0), 6_000 + 4096 * 15_000);
        let tiny = Prices {
            input: 1,
            output: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 0,
        };
        assert_eq!(
            estimate(&tiny, None, 0, Some(0), 0),
            1,
            "rounded up, never zero for a priced model"
        );
        // A document by URL: 100k more input tokens at $6/M.
        assert_eq!(
            estimate(&sonnet, None, 0, Some(1), 100_000) - estimate(&sonnet, None, 0, Some(1), 0),
            100_000 * 6_000
        );
        // A body that may pass a long-context threshold is held at the dearer prices.
        let long = LongContext {
            threshold: 1000,
            prices: Prices::with_derived_cache(6_000_000, 22_500_000),
        };
        assert_eq!(
            estimate(&sonnet, Some(&long), 1998, Some(0), 0),
            1000 * 6_000
        );
        assert_eq!(
            estimate(&sonnet, Some(&long), 2000, Some(0), 0),
            1001 * 12_000,
            "1001 estimated input tokens pass 1000: the long-context 1 h write price"
        );
    }
}
