//! Usage events: one per accepted data-plane request, written in batches by the server's usage
//! writer (off the request path), read by the console and the CLI.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::Db;
use super::error::StoreError;

/// Token counts reported by an upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub output: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
    pub cache_read: i64,
}

impl Tokens {
    pub fn is_zero(&self) -> bool {
        *self == Tokens::default()
    }
}

/// One client request, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    pub request_id: String,
    pub created_at: i64,
    pub user_id: i64,
    pub token_id: Option<i64>,
    /// Which API was called: `messages`, `count_tokens`, …
    pub endpoint: String,
    /// The model the client asked for (empty when the request had none).
    pub model: String,
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
    pub tokens: Tokens,
    /// Nano-USD.
    pub cost: i64,
    pub ttfb_ms: Option<i64>,
    pub latency_ms: i64,
}

const COLUMNS: &str =
    "request_id, created_at, user_id, token_id, endpoint, model, upstream_model, \
    channel_id, credential_id, status, error_class, stream, client_disconnected, attempts, \
    input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, \
    cost, ttfb_ms, latency_ms";
const COLUMN_COUNT: usize = 22;

/// Writes events in one transaction. An event whose request id is stored already is skipped, so a
/// retried batch never records a request twice.
pub async fn insert_batch(db: &Db, events: &[UsageEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=COLUMN_COUNT).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO usage_events ({COLUMNS}) VALUES ({}) ON CONFLICT (request_id) DO NOTHING",
        placeholders.join(", ")
    );
    let mut tx = db.pool().begin().await?;
    for e in events {
        sqlx::query(&sql)
            .bind(&e.request_id)
            .bind(e.created_at)
            .bind(e.user_id)
            .bind(e.token_id)
            .bind(&e.endpoint)
            .bind(&e.model)
            .bind(&e.upstream_model)
            .bind(e.channel_id)
            .bind(e.credential_id)
            .bind(i64::from(e.status))
            .bind(&e.error_class)
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
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn from_row(r: &AnyRow) -> Result<UsageEvent, StoreError> {
    let status: i64 = r.try_get("status")?;
    let stream: i64 = r.try_get("stream")?;
    let disconnected: i64 = r.try_get("client_disconnected")?;
    Ok(UsageEvent {
        request_id: r.try_get("request_id")?,
        created_at: r.try_get("created_at")?,
        user_id: r.try_get("user_id")?,
        token_id: r.try_get("token_id")?,
        endpoint: r.try_get("endpoint")?,
        model: r.try_get("model")?,
        upstream_model: r.try_get("upstream_model")?,
        channel_id: r.try_get("channel_id")?,
        credential_id: r.try_get("credential_id")?,
        status: u16::try_from(status).unwrap_or(0),
        error_class: r.try_get("error_class")?,
        stream: stream != 0,
        client_disconnected: disconnected != 0,
        attempts: r.try_get("attempts")?,
        tokens: Tokens {
            input: r.try_get("input_tokens")?,
            output: r.try_get("output_tokens")?,
            cache_write_5m: r.try_get("cache_write_5m_tokens")?,
            cache_write_1h: r.try_get("cache_write_1h_tokens")?,
            cache_read: r.try_get("cache_read_tokens")?,
        },
        cost: r.try_get("cost")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        latency_ms: r.try_get("latency_ms")?,
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

/// Records when tokens were last used (one statement per token of a batch).
pub async fn touch_tokens(db: &Db, used: &[(i64, i64)]) -> Result<(), StoreError> {
    if used.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    for (token_id, at) in used {
        sqlx::query(
            "UPDATE tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(at)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
