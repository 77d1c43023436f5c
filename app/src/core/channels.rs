//! Channels (upstream provider accounts) with their endpoints (base URLs) and credentials (API keys,
//! encrypted at rest). A channel always keeps at least one endpoint and one credential.

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::crypto::{key_hint, KeyCipher};
use super::db::{now_ms, Db};
use super::error::StoreError;
use super::upstream_url::normalize_base_url;
use crate::types::{
    ChannelKind, CredentialView, EndpointView, RequestFilter, MAX_FILTER_ENTRIES,
    MAX_FILTER_ENTRY_CHARS,
};

pub const MAX_NAME_LEN: usize = 64;
pub const MAX_KEY_LEN: usize = 1024;
pub const MAX_WEIGHT: i64 = 1000;
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i64> = -1_000_000..=1_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub priority: i64,
    pub weight: i64,
    pub disabled_at: Option<i64>,
    /// What it drops from requests before sending them upstream.
    pub filter: RequestFilter,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Channel {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let kind: String = row.try_get("kind")?;
        Ok(Channel {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: ChannelKind::parse(&kind)
                .ok_or_else(|| StoreError::Internal(format!("unknown channel type {kind:?}")))?,
            priority: row.try_get("priority")?,
            weight: row.try_get("weight")?,
            disabled_at: row.try_get("disabled_at")?,
            filter: RequestFilter {
                betas: RequestFilter::parse_list(&row.try_get::<String, _>("drop_betas")?),
                fields: RequestFilter::parse_list(&row.try_get::<String, _>("drop_fields")?),
            },
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const COLUMNS: &str =
    "id, name, kind, priority, weight, disabled_at, drop_betas, drop_fields, created_at, updated_at";

/// A stored credential: the encrypted key and its hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: i64,
    pub channel_id: i64,
    pub secret: String,
    pub hint: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

impl Credential {
    pub fn view(&self) -> CredentialView {
        CredentialView {
            id: self.id,
            hint: self.hint.clone(),
            enabled: self.disabled_at.is_none(),
            created_at: self.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: i64,
    pub channel_id: i64,
    pub base_url: String,
}

impl Endpoint {
    pub fn view(&self) -> EndpointView {
        EndpointView {
            id: self.id,
            base_url: self.base_url.clone(),
        }
    }
}

/// The editable settings of a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSettings {
    pub name: String,
    pub kind: ChannelKind,
    pub priority: i64,
    pub weight: i64,
}

/// Checks a channel's settings; errors name the field.
pub fn validate_settings(input: &ChannelSettings) -> Result<ChannelSettings, StoreError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(StoreError::field(
            "name",
            Msg::new("error-enter-channel-name"),
        ));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(StoreError::field(
            "name",
            Msg::new("error-channel-name-too-long").arg("MAX_NAME_LEN", MAX_NAME_LEN),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::field(
            "name",
            Msg::new("error-channel-name-control"),
        ));
    }
    if !PRIORITY_RANGE.contains(&input.priority) {
        return Err(StoreError::field(
            "priority",
            Msg::new("error-priority-range"),
        ));
    }
    if !(1..=MAX_WEIGHT).contains(&input.weight) {
        return Err(StoreError::field(
            "weight",
            Msg::new("error-weight-range").arg("MAX_WEIGHT", MAX_WEIGHT),
        ));
    }
    Ok(ChannelSettings {
        name: name.to_string(),
        ..input.clone()
    })
}

/// Checks an API key: not empty, no spaces inside, bounded length. Returns it trimmed.
pub fn validate_key(raw: &str) -> Result<String, StoreError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(StoreError::field("key", Msg::new("error-enter-api-key")));
    }
    if key.len() > MAX_KEY_LEN || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StoreError::field("key", Msg::new("error-api-key-one-word")));
    }
    Ok(key.to_string())
}

/// Checks a base URL and returns it normalized.
pub fn validate_base_url(raw: &str) -> Result<String, StoreError> {
    normalize_base_url(raw).map_err(|m| StoreError::field("base_url", m))
}

/// A new channel with its first endpoints and keys.
pub struct NewChannel<'a> {
    pub settings: ChannelSettings,
    pub base_urls: &'a [String],
    pub keys: &'a [String],
}

fn name_taken(e: StoreError, name: &str) -> StoreError {
    if e.is_unique_violation() {
        StoreError::field(
            "name",
            Msg::new("error-channel-name-taken").arg("name", name),
        )
    } else {
        e
    }
}

/// Creates a channel with at least one endpoint and one key, in one transaction.
pub async fn create(
    db: &Db,
    cipher: &KeyCipher,
    new: NewChannel<'_>,
) -> Result<Channel, StoreError> {
    let settings = validate_settings(&new.settings)?;
    let urls = new
        .base_urls
        .iter()
        .filter(|u| !u.trim().is_empty())
        .map(|u| validate_base_url(u))
        .collect::<Result<Vec<_>, _>>()?;
    if urls.is_empty() {
        return Err(StoreError::field(
            "base_url",
            Msg::new("error-enter-base-url"),
        ));
    }
    let keys = new
        .keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| validate_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(StoreError::field("key", Msg::new("error-enter-api-key")));
    }
    let now = now_ms();
    let mut tx = db.pool().begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO channels (name, kind, priority, weight, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(&settings.name)
    .bind(settings.kind.as_str())
    .bind(settings.priority)
    .bind(settings.weight)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| name_taken(e.into(), &settings.name))?;
    let channel = Channel::from_row(&row)?;
    let mut seen = std::collections::HashSet::new();
    for url in urls.iter().filter(|u| seen.insert(u.as_str())) {
        sqlx::query(
            "INSERT INTO channel_endpoints (channel_id, base_url, created_at) VALUES ($1, $2, $3)",
        )
        .bind(channel.id)
        .bind(url)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for key in &keys {
        insert_credential(&mut tx, cipher, channel.id, key, now).await?;
    }
    tx.commit().await?;
    Ok(channel)
}

async fn insert_credential(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    cipher: &KeyCipher,
    channel_id: i64,
    key: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let sealed = cipher.encrypt(channel_id, key)?;
    let row = sqlx::query(
        "INSERT INTO channel_credentials (channel_id, secret, hint, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(channel_id)
    .bind(sealed)
    .bind(key_hint(key))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

fn no_channel() -> StoreError {
    StoreError::NotFound(Msg::new("error-no-such-channel"))
}

/// Changes a channel's name, type, priority and weight.
pub async fn update(db: &Db, id: i64, input: &ChannelSettings) -> Result<Channel, StoreError> {
    let settings = validate_settings(input)?;
    let row = sqlx::query(&format!(
        "UPDATE channels SET name = $1, kind = $2, priority = $3, weight = $4, updated_at = $5 \
         WHERE id = $6 RETURNING {COLUMNS}"
    ))
    .bind(&settings.name)
    .bind(settings.kind.as_str())
    .bind(settings.priority)
    .bind(settings.weight)
    .bind(now_ms())
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .map_err(|e| name_taken(e.into(), &settings.name))?;
    super::db::found(row, Channel::from_row, no_channel)
}

/// Checks a filter: bounded lists of entries made of letters, digits, `-` and `_` (beta flags
/// and field names have no other characters).
pub fn validate_filter(filter: &RequestFilter) -> Result<(), StoreError> {
    for (list, field) in [
        (&filter.betas, "drop_betas"),
        (&filter.fields, "drop_fields"),
    ] {
        if list.len() > MAX_FILTER_ENTRIES {
            return Err(StoreError::field(
                field,
                Msg::new("error-filter-too-many").arg("MAX_FILTER_ENTRIES", MAX_FILTER_ENTRIES),
            ));
        }
        if let Some(bad) = list.iter().find(|e| {
            e.chars().count() > MAX_FILTER_ENTRY_CHARS
                || !e
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err(StoreError::field(
                field,
                Msg::new("error-filter-entry")
                    .arg("MAX_FILTER_ENTRY_CHARS", MAX_FILTER_ENTRY_CHARS)
                    .arg("bad", format!("{bad:?}")),
            ));
        }
    }
    Ok(())
}

/// Sets what the channel drops from requests.
pub async fn set_filter(db: &Db, id: i64, filter: &RequestFilter) -> Result<Channel, StoreError> {
    validate_filter(filter)?;
    let row = sqlx::query(&format!(
        "UPDATE channels SET drop_betas = $1, drop_fields = $2, updated_at = $3 WHERE id = $4 \
         RETURNING {COLUMNS}"
    ))
    .bind(filter.betas.join(","))
    .bind(filter.fields.join(","))
    .bind(now_ms())
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Channel::from_row, no_channel)
}

pub async fn set_enabled(db: &Db, id: i64, enabled: bool) -> Result<Channel, StoreError> {
    let now = now_ms();
    let row = sqlx::query(&format!(
        "UPDATE channels SET disabled_at = $1, updated_at = $2 WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind((!enabled).then_some(now))
    .bind(now)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Channel::from_row, no_channel)
}

/// Deletes a channel with its endpoints, credentials and bindings.
pub async fn delete(db: &Db, id: i64) -> Result<Channel, StoreError> {
    let row = sqlx::query(&format!(
        "DELETE FROM channels WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Channel::from_row, no_channel)
}

pub async fn list(db: &Db) -> Result<Vec<Channel>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels ORDER BY priority DESC, name"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(Channel::from_row).collect()
}

pub async fn get(db: &Db, id: i64) -> Result<Channel, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM channels WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    super::db::found(row, Channel::from_row, no_channel)
}

pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Channel>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM channels WHERE name = $1"))
        .bind(name.trim())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(Channel::from_row).transpose()
}

/// Endpoints of one channel, or of all channels when `channel_id` is None.
pub async fn endpoints(db: &Db, channel_id: Option<i64>) -> Result<Vec<Endpoint>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, channel_id, base_url FROM channel_endpoints \
         WHERE $1 IS NULL OR channel_id = $1 ORDER BY channel_id, id",
    )
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Endpoint {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                base_url: r.try_get("base_url")?,
            })
        })
        .collect()
}

/// Credentials of one channel, or of all channels when `channel_id` is None (still encrypted).
pub async fn credentials(db: &Db, channel_id: Option<i64>) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, channel_id, secret, hint, disabled_at, created_at FROM channel_credentials \
         WHERE $1 IS NULL OR channel_id = $1 ORDER BY channel_id, id",
    )
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Credential {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                secret: r.try_get("secret")?,
                hint: r.try_get("hint")?,
                disabled_at: r.try_get("disabled_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn add_endpoint(db: &Db, channel_id: i64, raw_url: &str) -> Result<String, StoreError> {
    let url = validate_base_url(raw_url)?;
    get(db, channel_id).await?;
    sqlx::query(
        "INSERT INTO channel_endpoints (channel_id, base_url, created_at) VALUES ($1, $2, $3)",
    )
    .bind(channel_id)
    .bind(&url)
    .bind(now_ms())
    .execute(db.pool())
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if e.is_unique_violation() {
            StoreError::field("base_url", Msg::new("error-base-url-taken"))
        } else {
            e
        }
    })?;
    Ok(url)
}

/// Removes one of a channel's base URLs (never its last one); returns the URL removed.
pub async fn remove_endpoint(
    db: &Db,
    channel_id: i64,
    endpoint_id: i64,
) -> Result<String, StoreError> {
    remove_part(db, Part::Endpoint, channel_id, endpoint_id).await
}

/// Adds an API key; returns its hint.
pub async fn add_credential(
    db: &Db,
    cipher: &KeyCipher,
    channel_id: i64,
    raw_key: &str,
) -> Result<String, StoreError> {
    let key = validate_key(raw_key)?;
    get(db, channel_id).await?;
    let mut tx = db.pool().begin().await?;
    insert_credential(&mut tx, cipher, channel_id, &key, now_ms()).await?;
    tx.commit().await?;
    Ok(key_hint(&key))
}

pub async fn set_credential_enabled(
    db: &Db,
    channel_id: i64,
    credential_id: i64,
    enabled: bool,
) -> Result<String, StoreError> {
    let row = sqlx::query(
        "UPDATE channel_credentials SET disabled_at = $1 WHERE id = $2 AND channel_id = $3 \
         RETURNING hint",
    )
    .bind((!enabled).then(now_ms))
    .bind(credential_id)
    .bind(channel_id)
    .fetch_optional(db.pool())
    .await?;
    let row = row.ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-credential")))?;
    Ok(row.try_get("hint")?)
}

/// Removes one of a channel's API keys (never its last one); returns the hint of the key removed.
pub async fn remove_credential(
    db: &Db,
    channel_id: i64,
    credential_id: i64,
) -> Result<String, StoreError> {
    remove_part(db, Part::Credential, channel_id, credential_id).await
}

/// The parts of a channel it cannot be left without.
#[derive(Clone, Copy)]
enum Part {
    Endpoint,
    Credential,
}

impl Part {
    /// The table, and the column that names a row to the admin.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Part::Endpoint => ("channel_endpoints", "base_url"),
            Part::Credential => ("channel_credentials", "hint"),
        }
    }

    fn not_found(self) -> StoreError {
        StoreError::NotFound(match self {
            Part::Endpoint => Msg::new("error-no-such-endpoint"),
            Part::Credential => Msg::new("error-no-such-credential"),
        })
    }

    fn last_one(self) -> StoreError {
        StoreError::Invalid(match self {
            Part::Endpoint => Msg::new("error-last-endpoint"),
            Part::Credential => Msg::new("error-last-key"),
        })
    }
}

/// Removes row `id` of `part` from the channel unless it is the channel's last. The channel's row
/// is written first (a no-op update), which locks it until the commit on both databases, so two
/// removals at once are counted one after the other and cannot both pass the check.
async fn remove_part(db: &Db, part: Part, channel_id: i64, id: i64) -> Result<String, StoreError> {
    let (table, label) = part.table();
    let mut tx = db.pool().begin().await?;
    let locked = sqlx::query("UPDATE channels SET id = id WHERE id = $1")
        .bind(channel_id)
        .execute(&mut *tx)
        .await?;
    if locked.rows_affected() == 0 {
        return Err(part.not_found());
    }
    let count: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE channel_id = $1"
    ))
    .bind(channel_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    let removed = sqlx::query(&format!(
        "DELETE FROM {table} WHERE id = $1 AND channel_id = $2 RETURNING {label} AS label"
    ))
    .bind(id)
    .bind(channel_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = removed else {
        return Err(part.not_found());
    };
    if count <= 1 {
        // Dropping the transaction rolls the delete back.
        return Err(part.last_one());
    }
    let label: String = row.try_get("label")?;
    tx.commit().await?;
    Ok(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &str, priority: i64, weight: i64) -> ChannelSettings {
        ChannelSettings {
            name: name.into(),
            kind: ChannelKind::Anthropic,
            priority,
            weight,
        }
    }

    fn field_of(e: StoreError) -> &'static str {
        match e {
            StoreError::Field { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn settings_are_checked_per_field() {
        assert_eq!(
            validate_settings(&settings("  main  ", 0, 1)).unwrap().name,
            "main"
        );
        assert_eq!(
            field_of(validate_settings(&settings(" ", 0, 1)).unwrap_err()),
            "name"
        );
        assert_eq!(
            field_of(validate_settings(&settings(&"x".repeat(65), 0, 1)).unwrap_err()),
            "name"
        );
        assert_eq!(
            field_of(validate_settings(&settings("a", 0, 0)).unwrap_err()),
            "weight"
        );
        assert_eq!(
            field_of(validate_settings(&settings("a", 0, 1001)).unwrap_err()),
            "weight"
        );
        assert_eq!(
            field_of(validate_settings(&settings("a", 2_000_000, 1)).unwrap_err()),
            "priority"
        );
    }

    #[test]
    fn keys_are_single_words() {
        assert_eq!(validate_key("  sk-ant-123 ").unwrap(), "sk-ant-123");
        assert_eq!(field_of(validate_key("").unwrap_err()), "key");
        assert_eq!(field_of(validate_key("sk ant").unwrap_err()), "key");
        assert_eq!(
            field_of(validate_key(&"k".repeat(1025)).unwrap_err()),
            "key"
        );
    }
}
