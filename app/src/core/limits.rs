//! Limits of tokens and users: requests per minute and concurrent requests (counted in memory by the
//! data plane), and spend per 5 hours (rolling), per UTC day and per UTC month (summed from usage).

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::Db;
use super::error::StoreError;
use crate::money::{parse_balance, AmountError};
use crate::types::{Limits, LimitsInput};

pub const FIVE_HOURS_MS: i64 = 5 * 3600 * 1000;
const DAY_MS: i64 = 86_400_000;

/// The limit columns, as stored on `tokens` and `users`.
pub const COLUMNS: &str =
    "rpm_limit, concurrency_limit, spend_5h_limit, spend_day_limit, spend_month_limit";

pub fn from_row(row: &AnyRow, prefix: &str) -> Result<Limits, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Limits {
        rpm: row.try_get(col("rpm_limit").as_str())?,
        concurrency: row.try_get(col("concurrency_limit").as_str())?,
        spend_5h: row.try_get(col("spend_5h_limit").as_str())?,
        spend_day: row.try_get(col("spend_day_limit").as_str())?,
        spend_month: row.try_get(col("spend_month_limit").as_str())?,
    })
}

/// Checks typed limits; errors name their field.
pub fn parse(input: &LimitsInput) -> Result<Limits, StoreError> {
    let count =
        |raw: &str, field: &'static str, what: &'static str| -> Result<Option<i64>, StoreError> {
            let t = raw.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<i64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(Some(n)),
                _ => Err(StoreError::field(
                    field,
                    Msg::new("error-limit-count").phrase("what", what),
                )),
            }
        };
    let usd =
        |raw: &str, field: &'static str, what: &'static str| -> Result<Option<i64>, StoreError> {
            if raw.trim().is_empty() {
                return Ok(None);
            }
            match parse_balance(raw) {
                Ok(n) if n > 0 => Ok(Some(n)),
                Ok(_) => Err(StoreError::field(
                    field,
                    Msg::new("error-limit-positive").phrase("what", what),
                )),
                Err(AmountError::Empty) => Ok(None),
                Err(e) => Err(StoreError::field(field, e.describe_phrase(what))),
            }
        };
    Ok(Limits {
        rpm: count(&input.rpm, "rpm", "what-rpm-limit")?,
        concurrency: count(&input.concurrency, "concurrency", "what-concurrency-limit")?,
        spend_5h: usd(&input.spend_5h, "spend_5h", "what-spend-5h-limit")?,
        spend_day: usd(&input.spend_day, "spend_day", "what-spend-day-limit")?,
        spend_month: usd(&input.spend_month, "spend_month", "what-spend-month-limit")?,
    })
}

/// A limits value for an input field ("" when unset).
pub fn input_of(limits: &Limits) -> LimitsInput {
    let usd = |v: Option<i64>| {
        v.map(|n| crate::money::format_usd(n, crate::money::BALANCE_SCALE))
            .unwrap_or_default()
    };
    LimitsInput {
        rpm: limits.rpm.map(|n| n.to_string()).unwrap_or_default(),
        concurrency: limits
            .concurrency
            .map(|n| n.to_string())
            .unwrap_or_default(),
        spend_5h: usd(limits.spend_5h),
        spend_day: usd(limits.spend_day),
        spend_month: usd(limits.spend_month),
    }
}

async fn store(
    db: &Db,
    table: &str,
    id_clause: &str,
    ids: &[i64],
    limits: &Limits,
) -> Result<u64, StoreError> {
    let sql = format!(
        "UPDATE {table} SET rpm_limit = $1, concurrency_limit = $2, spend_5h_limit = $3, \
         spend_day_limit = $4, spend_month_limit = $5 WHERE {id_clause}"
    );
    let mut q = sqlx::query(&sql)
        .bind(limits.rpm)
        .bind(limits.concurrency)
        .bind(limits.spend_5h)
        .bind(limits.spend_day)
        .bind(limits.spend_month);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.execute(db.pool()).await?.rows_affected())
}

/// Sets the limits of one of the user's tokens.
pub async fn set_token_limits(
    db: &Db,
    user_id: i64,
    token_id: i64,
    limits: &Limits,
) -> Result<(), StoreError> {
    let n = store(
        db,
        "tokens",
        "id = $6 AND user_id = $7",
        &[token_id, user_id],
        limits,
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-token")));
    }
    Ok(())
}

/// Sets the limits an administrator puts on a user (over all the user's tokens).
pub async fn set_user_limits(db: &Db, user_id: i64, limits: &Limits) -> Result<(), StoreError> {
    let n = store(db, "users", "id = $6", &[user_id], limits).await?;
    if n == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-user")));
    }
    Ok(())
}

pub async fn user_limits(db: &Db, user_id: i64) -> Result<Limits, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    let row = row.ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
    from_row(&row, "")
}

/// Whose spend is summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Token(i64),
    User(i64),
}

/// A spend window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    FiveHours,
    Day,
    Month,
}

impl Window {
    pub fn label(self) -> &'static str {
        match self {
            Window::FiveHours => "5-hour",
            Window::Day => "daily",
            Window::Month => "monthly",
        }
    }

    /// When the window that contains `now` began (Unix ms, UTC).
    pub fn start(self, now: i64) -> i64 {
        match self {
            Window::FiveHours => now - FIVE_HOURS_MS,
            Window::Day => now - now.rem_euclid(DAY_MS),
            Window::Month => month_start(now),
        }
    }

    /// When spend in a calendar window resets (Unix ms); for the rolling window, when the oldest
    /// counted request (at `oldest`) leaves it.
    pub fn resets_at(self, now: i64, oldest: Option<i64>) -> i64 {
        match self {
            Window::FiveHours => oldest.unwrap_or(now) + FIVE_HOURS_MS,
            Window::Day => Window::Day.start(now) + DAY_MS,
            Window::Month => next_month_start(now),
        }
    }
}

fn ymd(ms: i64) -> (i32, u8) {
    let days = ms.div_euclid(DAY_MS);
    match time::Date::from_julian_day((days + 2_440_588) as i32) {
        Ok(d) => (d.year(), u8::from(d.month())),
        Err(_) => (1970, 1),
    }
}

fn first_of(year: i32, month: u8) -> i64 {
    let m = time::Month::try_from(month).unwrap_or(time::Month::January);
    match time::Date::from_calendar_date(year, m, 1) {
        Ok(d) => (i64::from(d.to_julian_day()) - 2_440_588) * DAY_MS,
        Err(_) => 0,
    }
}

fn month_start(now: i64) -> i64 {
    let (y, m) = ymd(now);
    first_of(y, m)
}

fn next_month_start(now: i64) -> i64 {
    let (y, m) = ymd(now);
    if m == 12 {
        first_of(y + 1, 1)
    } else {
        first_of(y, m + 1)
    }
}

/// Spend (nano-USD) of `scope` since `since`, and the time of its oldest request in that span.
pub async fn spent_since(
    db: &Db,
    scope: Scope,
    since: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    let (column, id) = match scope {
        Scope::Token(id) => ("token_id", id),
        Scope::User(id) => ("user_id", id),
    };
    let row = sqlx::query(&format!(
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS spent, MIN(created_at) AS oldest \
         FROM usage_events WHERE {column} = $1 AND created_at >= $2"
    ))
    .bind(id)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("spent")?, row.try_get("oldest")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_windows_are_utc() {
        // 2026-11-21 22:31:05 UTC
        let now = 1_795_300_265_000;
        assert_eq!(
            crate::types::format_time(Window::Day.start(now)),
            "2026-11-21 00:00 UTC"
        );
        assert_eq!(
            crate::types::format_time(Window::Day.resets_at(now, None)),
            "2026-11-22 00:00 UTC"
        );
        assert_eq!(
            crate::types::format_time(Window::Month.start(now)),
            "2026-11-01 00:00 UTC"
        );
        assert_eq!(
            crate::types::format_time(Window::Month.resets_at(now, None)),
            "2026-12-01 00:00 UTC"
        );
        // December rolls into January.
        let dec = first_of(2026, 12) + 5 * DAY_MS;
        assert_eq!(
            crate::types::format_time(Window::Month.resets_at(dec, None)),
            "2027-01-01 00:00 UTC"
        );
        assert_eq!(
            Window::FiveHours.resets_at(now, Some(now - 1000)),
            now - 1000 + FIVE_HOURS_MS
        );
    }

    #[test]
    fn typed_limits_are_checked_per_field() {
        let ok = parse(&LimitsInput {
            rpm: "60".into(),
            concurrency: "".into(),
            spend_5h: "".into(),
            spend_day: "5".into(),
            spend_month: " 100.50 ".into(),
        })
        .unwrap();
        assert_eq!(ok.rpm, Some(60));
        assert_eq!(ok.concurrency, None);
        assert_eq!(ok.spend_day, Some(5_000_000_000));
        assert_eq!(ok.spend_month, Some(100_500_000_000));
        assert_eq!(input_of(&ok).spend_day, "5.00");
        let field = |i: LimitsInput| match parse(&i).unwrap_err() {
            StoreError::Field { field, .. } => field,
            e => panic!("{e:?}"),
        };
        assert_eq!(
            field(LimitsInput {
                rpm: "0".into(),
                ..Default::default()
            }),
            "rpm"
        );
        assert_eq!(
            field(LimitsInput {
                concurrency: "two".into(),
                ..Default::default()
            }),
            "concurrency"
        );
        assert_eq!(
            field(LimitsInput {
                spend_day: "-1".into(),
                ..Default::default()
            }),
            "spend_day"
        );
        assert!(parse(&LimitsInput::default()).unwrap().is_empty());
    }
}
