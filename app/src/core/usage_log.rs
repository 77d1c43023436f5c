//! The usage log: usage events, one per accepted data-plane request, written in batches by the
//! server's books (`relay::books`, off the request path), read by the console and the CLI.

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{self, Db};
use super::error::StoreError;

/// The usage an upstream reported: token counts, and the server-tool uses billed beside them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenCounts {
    pub input: i64,
    pub output: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
    pub cache_read: i64,
    /// Web searches the upstream ran for the request (`server_tool_use.web_search_requests`).
    #[serde(default)]
    pub web_searches: i64,
}

impl TokenCounts {
    pub fn is_zero(&self) -> bool {
        *self == TokenCounts::default()
    }
}

/// One client request, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageEvent {
    pub request_id: String,
    pub created_at: i64,
    pub user_id: i64,
    pub token_id: Option<i64>,
    /// Which API was called: `messages`, `count_tokens`, …
    pub api: String,
    /// The model the client asked for (empty when the request had none).
    pub model: String,
    /// The model an alias in `model` resolved to (none when the client named a model by its id).
    #[serde(default)]
    pub resolved_model: Option<String>,
    pub upstream_model: Option<String>,
    pub channel_id: Option<i64>,
    pub credential_id: Option<i64>,
    /// The HTTP status the client received.
    pub status: u16,
    /// A short class for failures (`invalid_request`, `upstream_5xx`, `client_disconnected`, …).
    pub error_class: Option<String>,
    pub stream: bool,
    pub client_disconnected: bool,
    pub attempts: i64,
    pub tokens: TokenCounts,
    /// True when Realms estimated the output tokens (a stream cut off before the upstream reported
    /// its count); see `README.md`, Billing.
    pub estimated: bool,
    /// Nano-USD.
    pub cost: i64,
    pub ttfb_ms: Option<i64>,
    pub latency_ms: i64,
    /// The upstream refused the signatures of earlier turns' thinking blocks, and the request was
    /// sent again without them.
    #[serde(default)]
    pub thinking_stripped: bool,
    /// A client's probe (not user work): answered by Realms or sent on, per the site's setting.
    #[serde(default)]
    pub probe: bool,
}

/// The longest text stored in an event's `model` and `upstream_model` (characters).
pub const MAX_MODEL_CHARS: usize = 200;
/// The longest text stored in an event's `api` and `error_class` (characters).
const MAX_CLASS_CHARS: usize = 64;

/// `s` in a form every database stores: control characters (NUL among them, which PostgreSQL
/// refuses in text) become `?`, and it is cut to `max` characters. Borrowed when already clean.
pub fn storable(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let clean = s.len() <= max && !s.chars().any(char::is_control);
    if clean {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .take(max)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    )
}

const COLUMNS: &str = "request_id, created_at, user_id, token_id, api, model, upstream_model, \
    channel_id, credential_id, status, error_class, stream, client_disconnected, attempts, \
    input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, \
    cost, ttfb_ms, latency_ms, usage_estimated, resolved_model, web_searches, thinking_stripped, \
    probe";
const COLUMN_COUNT: usize = 27;

/// Writes events in one transaction. An event whose request id is stored already is skipped, so a
/// retried batch never records a request twice.
pub async fn insert_batch(db: &Db, events: &[UsageEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    insert_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes events inside `tx` (see [`insert_batch`]), many rows per statement, and records when
/// each of their tokens was last used.
pub async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    events: &[UsageEvent],
) -> Result<(), StoreError> {
    const ROWS_PER_INSERT: usize = 64;
    let mut rest = events;
    for rows in db::row_chunks(events.len(), ROWS_PER_INSERT) {
        let (chunk, next) = rest.split_at(rows);
        rest = next;
        let sql = format!(
            "INSERT INTO usage_events ({COLUMNS}) VALUES {} ON CONFLICT (request_id) DO NOTHING",
            db::values_placeholders(tx, rows, COLUMN_COUNT)
        );
        // The texts in their stored form, bound by reference: sqlx's `Any` layer copies a bound
        // `String` once more, a `&str` not.
        let texts: Vec<[Option<std::borrow::Cow<'_, str>>; 5]> = chunk
            .iter()
            .map(|e| {
                [
                    Some(storable(&e.api, MAX_CLASS_CHARS)),
                    Some(storable(&e.model, MAX_MODEL_CHARS)),
                    e.upstream_model
                        .as_deref()
                        .map(|m| storable(m, MAX_MODEL_CHARS)),
                    e.error_class
                        .as_deref()
                        .map(|c| storable(c, MAX_CLASS_CHARS)),
                    e.resolved_model
                        .as_deref()
                        .map(|m| storable(m, MAX_MODEL_CHARS)),
                ]
            })
            .collect();
        let mut q = sqlx::query(&sql);
        for (e, [api, model, upstream_model, error_class, resolved_model]) in
            chunk.iter().zip(&texts)
        {
            q = q
                .bind(e.request_id.as_str())
                .bind(e.created_at)
                .bind(e.user_id)
                .bind(e.token_id)
                .bind(api.as_deref())
                .bind(model.as_deref())
                .bind(upstream_model.as_deref())
                .bind(e.channel_id)
                .bind(e.credential_id)
                .bind(i64::from(e.status))
                .bind(error_class.as_deref())
                .bind(i64::from(e.stream))
                .bind(i64::from(e.client_disconnected))
                .bind(e.attempts)
                .bind(e.tokens.input)
                .bind(e.tokens.output)
                .bind(e.tokens.cache_write_5m)
                .bind(e.tokens.cache_write_1h)
                .bind(e.tokens.cache_read)
                .bind(e.cost)
                .bind(e.ttfb_ms)
                .bind(e.latency_ms)
                .bind(i64::from(e.estimated))
                .bind(resolved_model.as_deref())
                .bind(e.tokens.web_searches)
                .bind(i64::from(e.thinking_stripped))
                .bind(i64::from(e.probe));
        }
        q.execute(&mut **tx).await?;
    }
    for (token_id, at) in last_uses(events) {
        sqlx::query(
            "UPDATE tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(at)
        .bind(token_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How many of `request_ids` have a stored event.
pub async fn count_of(db: &Db, request_ids: &[&str]) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in request_ids.chunks(256) {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM usage_events WHERE request_id IN ({})",
            db::in_list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        let found: i64 = q.fetch_one(db.pool()).await?.try_get("n")?;
        n += usize::try_from(found).unwrap_or(0);
    }
    Ok(n)
}

/// The cost of one of `user_id`'s requests, once its event is stored.
pub async fn cost_of(db: &Db, user_id: i64, request_id: &str) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT cost FROM usage_events WHERE request_id = $1 AND user_id = $2")
        .bind(request_id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("cost")?),
        None => None,
    })
}

/// Each token of `events` with the time of its newest event.
pub fn last_uses(events: &[UsageEvent]) -> Vec<(i64, i64)> {
    let mut used: Vec<(i64, i64)> = events
        .iter()
        .filter_map(|e| e.token_id.map(|t| (t, e.created_at)))
        .collect();
    used.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    used.dedup_by_key(|(t, _)| *t);
    used
}

fn from_row(r: &AnyRow) -> Result<UsageEvent, StoreError> {
    let status: i64 = r.try_get("status")?;
    let stream: i64 = r.try_get("stream")?;
    let disconnected: i64 = r.try_get("client_disconnected")?;
    let estimated: i64 = r.try_get("usage_estimated")?;
    let stripped: i64 = r.try_get("thinking_stripped")?;
    let probe: i64 = r.try_get("probe")?;
    Ok(UsageEvent {
        request_id: r.try_get("request_id")?,
        created_at: r.try_get("created_at")?,
        user_id: r.try_get("user_id")?,
        token_id: r.try_get("token_id")?,
        api: r.try_get("api")?,
        model: r.try_get("model")?,
        resolved_model: r.try_get("resolved_model")?,
        upstream_model: r.try_get("upstream_model")?,
        channel_id: r.try_get("channel_id")?,
        credential_id: r.try_get("credential_id")?,
        status: u16::try_from(status).unwrap_or(0),
        error_class: r.try_get("error_class")?,
        stream: stream != 0,
        client_disconnected: disconnected != 0,
        attempts: r.try_get("attempts")?,
        tokens: TokenCounts {
            input: r.try_get("input_tokens")?,
            output: r.try_get("output_tokens")?,
            cache_write_5m: r.try_get("cache_write_5m_tokens")?,
            cache_write_1h: r.try_get("cache_write_1h_tokens")?,
            cache_read: r.try_get("cache_read_tokens")?,
            web_searches: r.try_get("web_searches")?,
        },
        estimated: estimated != 0,
        cost: r.try_get("cost")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        latency_ms: r.try_get("latency_ms")?,
        thinking_stripped: stripped != 0,
        probe: probe != 0,
    })
}

/// The newest events, of one user when `user_id` is set.
pub async fn recent(
    db: &Db,
    user_id: Option<i64>,
    limit: i64,
) -> Result<Vec<UsageEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM usage_events WHERE $1 IS NULL OR user_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit.clamp(1, 10_000))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Which requests a usage query covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// One user, or everyone (administrators).
    pub user_id: Option<i64>,
    /// Unix ms, inclusive.
    pub from: i64,
    /// Unix ms, exclusive.
    pub to: i64,
    pub model: Option<String>,
    pub token_id: Option<i64>,
    pub status: StatusFilter,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Ok,
    Error,
    Code(u16),
}

impl StatusFilter {
    pub fn parse(s: &str) -> StatusFilter {
        match s.trim() {
            "ok" => StatusFilter::Ok,
            "error" => StatusFilter::Error,
            other => other
                .parse::<u16>()
                .map(StatusFilter::Code)
                .unwrap_or(StatusFilter::All),
        }
    }
}

enum Param {
    Int(i64),
    Text(String),
}

/// The WHERE clause of a filter over `usage_events e`, with its parameters from `$1`.
fn where_clause(f: &Filter) -> (String, Vec<Param>) {
    let mut clauses = vec![
        "e.created_at >= $1".to_string(),
        "e.created_at < $2".to_string(),
    ];
    let mut params = vec![Param::Int(f.from), Param::Int(f.to)];
    let mut push = |clause: &str, p: Param, params: &mut Vec<Param>| {
        params.push(p);
        clauses.push(clause.replace('?', &format!("${}", params.len())));
    };
    if let Some(u) = f.user_id {
        push("e.user_id = ?", Param::Int(u), &mut params);
    }
    if let Some(m) = &f.model {
        push("e.model = ?", Param::Text(m.clone()), &mut params);
    }
    if let Some(t) = f.token_id {
        push("e.token_id = ?", Param::Int(t), &mut params);
    }
    match f.status {
        StatusFilter::All => {}
        StatusFilter::Ok => clauses.push("e.status < 400 AND e.error_class IS NULL".into()),
        StatusFilter::Error => {
            clauses.push("(e.status >= 400 OR e.error_class IS NOT NULL)".into())
        }
        StatusFilter::Code(c) => push("e.status = ?", Param::Int(i64::from(c)), &mut params),
    }
    (clauses.join(" AND "), params)
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        q = match p {
            Param::Int(i) => q.bind(*i),
            Param::Text(t) => q.bind(t.as_str()),
        };
    }
    q
}

// Events keep the ids of what they name; a deleted user, token or channel shows by its id.
const ROW_QUERY: &str = "SELECT e.request_id, e.created_at, e.user_id, u.email AS user_email, \
    e.token_id, t.name AS token_name, e.api, e.model, e.channel_id, c.name AS channel_name, \
    e.status, e.error_class, e.stream, e.input_tokens, e.output_tokens, e.cache_write_5m_tokens, \
    e.cache_write_1h_tokens, e.cache_read_tokens, e.cost, e.ttfb_ms, e.latency_ms, e.usage_estimated, \
    e.resolved_model, e.web_searches, e.thinking_stripped, e.probe FROM usage_events e LEFT JOIN users u ON u.id = e.user_id \
    LEFT JOIN tokens t ON t.id = e.token_id LEFT JOIN channels c ON c.id = e.channel_id";

fn usage_row(r: &AnyRow) -> Result<crate::types::UsageRow, StoreError> {
    let status: i64 = r.try_get("status")?;
    let stream: i64 = r.try_get("stream")?;
    let estimated: i64 = r.try_get("usage_estimated")?;
    let stripped: i64 = r.try_get("thinking_stripped")?;
    let probe: i64 = r.try_get("probe")?;
    let user_id: i64 = r.try_get("user_id")?;
    let user: Option<String> = r.try_get("user_email")?;
    let token_id: Option<i64> = r.try_get("token_id")?;
    let token: Option<String> = r.try_get("token_name")?;
    let channel_id: Option<i64> = r.try_get("channel_id")?;
    let channel: Option<String> = r.try_get("channel_name")?;
    Ok(crate::types::UsageRow {
        request_id: r.try_get("request_id")?,
        created_at: r.try_get("created_at")?,
        user: user.unwrap_or_else(|| format!("deleted user #{user_id}")),
        token: token.or_else(|| token_id.map(|id| format!("deleted token #{id}"))),
        api: r.try_get("api")?,
        model: r.try_get("model")?,
        resolved_model: r.try_get("resolved_model")?,
        channel: channel.or_else(|| channel_id.map(|id| format!("deleted channel #{id}"))),
        status: u16::try_from(status).unwrap_or(0),
        error: r.try_get("error_class")?,
        stream: stream != 0,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cache_write_5m_tokens: r.try_get("cache_write_5m_tokens")?,
        cache_write_1h_tokens: r.try_get("cache_write_1h_tokens")?,
        cache_read_tokens: r.try_get("cache_read_tokens")?,
        cost: r.try_get("cost")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        latency_ms: r.try_get("latency_ms")?,
        estimated: estimated != 0,
        web_searches: r.try_get("web_searches")?,
        thinking_stripped: stripped != 0,
        probe: probe != 0,
    })
}

/// A page of matching requests, newest first, and how many match in all.
pub async fn list(
    db: &Db,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<crate::types::UsageRow>, i64), StoreError> {
    let (clause, params) = where_clause(f);
    let n = params.len();
    let sql = format!(
        "{ROW_QUERY} WHERE {clause} ORDER BY e.created_at DESC, e.id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let rows = bind_all(sqlx::query(&sql), &params)
        .bind(limit.clamp(1, 100_000))
        .bind(offset.max(0))
        .fetch_all(db.pool())
        .await?;
    let count_sql = format!("SELECT COUNT(*) AS n FROM usage_events e WHERE {clause}");
    let total: i64 = bind_all(sqlx::query(&count_sql), &params)
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    Ok((rows.iter().map(usage_row).collect::<Result<_, _>>()?, total))
}

/// Cost, tokens and requests per UTC day and model.
pub async fn daily(db: &Db, f: &Filter) -> Result<Vec<crate::types::DailyPoint>, StoreError> {
    let (clause, params) = where_clause(f);
    let sql = format!(
        "SELECT (e.created_at / 86400000) * 86400000 AS day, e.model, \
         CAST(SUM(e.cost) AS BIGINT) AS cost, \
         CAST(SUM(e.input_tokens + e.output_tokens + e.cache_write_5m_tokens + e.cache_write_1h_tokens + e.cache_read_tokens) AS BIGINT) AS tokens, \
         COUNT(*) AS requests FROM usage_events e WHERE {clause} \
         GROUP BY (e.created_at / 86400000) * 86400000, e.model ORDER BY day, e.model"
    );
    let rows = bind_all(sqlx::query(&sql), &params)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::types::DailyPoint {
                day: r.try_get("day")?,
                model: r.try_get("model")?,
                cost: r.try_get("cost")?,
                tokens: r.try_get("tokens")?,
                requests: r.try_get("requests")?,
            })
        })
        .collect()
}

/// Spend per token, highest first.
pub async fn by_token(db: &Db, f: &Filter) -> Result<Vec<crate::types::TokenSpend>, StoreError> {
    let (clause, params) = where_clause(f);
    let sql = format!(
        "SELECT t.id AS token_id, t.name AS token_name, u.email AS user_email, \
         CAST(SUM(e.cost) AS BIGINT) AS cost, COUNT(*) AS requests \
         FROM usage_events e LEFT JOIN users u ON u.id = e.user_id LEFT JOIN tokens t ON t.id = e.token_id \
         WHERE {clause} GROUP BY t.id, t.name, u.email ORDER BY cost DESC"
    );
    let rows = bind_all(sqlx::query(&sql), &params)
        .fetch_all(db.pool())
        .await?;
    let all_users = f.user_id.is_none();
    rows.iter()
        .map(|r| {
            let name: Option<String> = r.try_get("token_name")?;
            let email: Option<String> = r.try_get("user_email")?;
            let email = email.unwrap_or_else(|| "(deleted user)".into());
            let name = name.unwrap_or_else(|| "(deleted token)".into());
            Ok(crate::types::TokenSpend {
                token: if all_users {
                    format!("{email} · {name}")
                } else {
                    name
                },
                cost: r.try_get("cost")?,
                requests: r.try_get("requests")?,
            })
        })
        .collect()
}

/// Requests, errors and average time to first byte per channel.
pub async fn channel_stats(
    db: &Db,
    f: &Filter,
) -> Result<Vec<crate::types::ChannelStat>, StoreError> {
    let (clause, params) = where_clause(f);
    let sql = format!(
        "SELECT e.channel_id, c.name AS channel_name, COUNT(*) AS requests, \
         CAST(SUM(CASE WHEN e.status >= 400 OR e.error_class IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS errors, \
         CAST(AVG(e.ttfb_ms) AS BIGINT) AS avg_ttfb \
         FROM usage_events e LEFT JOIN channels c ON c.id = e.channel_id \
         WHERE {clause} AND e.channel_id IS NOT NULL GROUP BY e.channel_id, c.name ORDER BY requests DESC"
    );
    let rows = bind_all(sqlx::query(&sql), &params)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("channel_id")?;
            let name: Option<String> = r.try_get("channel_name")?;
            Ok(crate::types::ChannelStat {
                channel: name.unwrap_or_else(|| format!("deleted channel #{id}")),
                requests: r.try_get("requests")?,
                errors: r.try_get("errors")?,
                avg_ttfb_ms: r.try_get("avg_ttfb")?,
            })
        })
        .collect()
}

/// The models and tokens that appear in a user's usage (for the filter choices).
pub async fn models_seen(db: &Db, user_id: Option<i64>) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT model FROM usage_events WHERE ($1 IS NULL OR user_id = $1) AND model <> '' ORDER BY model",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok(r.try_get("model")?)).collect()
}

/// Spend and requests of a user since `since`.
pub async fn totals_since(db: &Db, user_id: i64, since: i64) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost, COUNT(*) AS requests \
         FROM usage_events WHERE user_id = $1 AND created_at >= $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("cost")?, row.try_get("requests")?))
}

/// Rows per page of the usage log.
pub const PER_PAGE: u32 = 50;
const DEFAULT_DAYS: i64 = 30;

/// Turns the page's filters into a query for `viewer`: plain users see only their own requests;
/// administrators see everyone's, or one user's by email. The range defaults to the last 30 days.
pub async fn filter_for(
    db: &Db,
    viewer: &super::users::User,
    q: &crate::types::UsageQuery,
    now: i64,
) -> Result<(Filter, String, String), StoreError> {
    use crate::types::{format_day, parse_day};
    const DAY: i64 = 86_400_000;
    let today = now - now.rem_euclid(DAY);
    let to_day = if q.to.trim().is_empty() {
        today
    } else {
        parse_day(&q.to).ok_or_else(|| StoreError::field("to", Msg::new("error-enter-last-day")))?
    };
    let from_day = if q.from.trim().is_empty() {
        to_day - (DEFAULT_DAYS - 1) * DAY
    } else {
        parse_day(&q.from)
            .ok_or_else(|| StoreError::field("from", Msg::new("error-enter-first-day")))?
    };
    if from_day > to_day {
        return Err(StoreError::field("from", Msg::new("error-days-reversed")));
    }
    let user_id = if viewer.is_admin_role() {
        match q.user.trim() {
            "" => None,
            email => Some(
                super::users::find_by_email(db, email)
                    .await?
                    .ok_or_else(|| {
                        StoreError::field(
                            "user",
                            Msg::new("error-no-user-with-email").arg("email", email),
                        )
                    })?
                    .id,
            ),
        }
    } else {
        Some(viewer.id)
    };
    let filter = Filter {
        user_id,
        from: from_day,
        to: to_day + DAY,
        model: Some(q.model.trim().to_string()).filter(|m| !m.is_empty()),
        token_id: q.token.trim().parse().ok(),
        status: StatusFilter::parse(&q.status),
    };
    Ok((filter, format_day(from_day), format_day(to_day)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_uses_keep_each_tokens_newest_time() {
        let event = |token_id, created_at| UsageEvent {
            token_id,
            created_at,
            ..UsageEvent::default()
        };
        let events = [
            event(Some(7), 100),
            event(Some(3), 250),
            event(Some(7), 300),
            event(None, 900),
            event(Some(7), 200),
            event(Some(3), 50),
        ];
        assert_eq!(last_uses(&events), vec![(3, 250), (7, 300)]);
        assert!(last_uses(&[]).is_empty());
    }
}
