//! Managed models: the public id clients send, a display name, enabled, and prices in micro-USD per
//! million tokens (all five, or none).

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use crate::money::{parse_price, LongContext, Prices};

pub const MAX_ID_LEN: usize = 128;
pub const MAX_DISPLAY_NAME_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub id: i64,
    pub public_id: String,
    pub display_name: String,
    pub disabled_at: Option<i64>,
    pub prices: Option<Prices>,
    /// The dearer prices above a threshold of input tokens, if the model has them.
    pub long_context: Option<LongContext>,
    /// Other ids the model answers to, sorted.
    pub aliases: Vec<String>,
    /// Its price of 1,000 web searches (micro-USD), when it has its own (else the site's).
    pub web_search_price: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Model {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let input: Option<i64> = row.try_get("input_price")?;
        let prices = match input {
            Some(input) => Some(Prices {
                input,
                output: row.try_get("output_price")?,
                cache_write_5m: row.try_get("cache_write_5m_price")?,
                cache_write_1h: row.try_get("cache_write_1h_price")?,
                cache_read: row.try_get("cache_read_price")?,
            }),
            None => None,
        };
        let threshold: Option<i64> = row.try_get("long_context_threshold")?;
        let long_context = match threshold {
            Some(threshold) => Some(LongContext {
                threshold,
                prices: Prices {
                    input: row.try_get("lc_input_price")?,
                    output: row.try_get("lc_output_price")?,
                    cache_write_5m: row.try_get("lc_cache_write_5m_price")?,
                    cache_write_1h: row.try_get("lc_cache_write_1h_price")?,
                    cache_read: row.try_get("lc_cache_read_price")?,
                },
            }),
            None => None,
        };
        Ok(Model {
            id: row.try_get("id")?,
            public_id: row.try_get("public_id")?,
            display_name: row.try_get("display_name")?,
            disabled_at: row.try_get("disabled_at")?,
            prices,
            long_context,
            aliases: Vec::new(),
            web_search_price: row.try_get("web_search_price")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const COLUMNS: &str = "id, public_id, display_name, disabled_at, input_price, output_price, \
    cache_write_5m_price, cache_write_1h_price, cache_read_price, long_context_threshold, \
    lc_input_price, lc_output_price, lc_cache_write_5m_price, lc_cache_write_1h_price, \
    lc_cache_read_price, web_search_price, created_at, updated_at";

/// Checks a model id (public or upstream): no spaces, a bounded set of characters.
pub fn validate_model_id(raw: &str, field: &'static str) -> Result<String, StoreError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(StoreError::field(field, Msg::new("error-enter-model-id")));
    }
    if id.len() > MAX_ID_LEN {
        return Err(StoreError::field(
            field,
            Msg::new("error-model-id-too-long").arg("MAX_ID_LEN", MAX_ID_LEN),
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+".contains(c))
    {
        return Err(StoreError::field(field, Msg::new("error-model-id-chars")));
    }
    Ok(id.to_string())
}

fn display_name_or(raw: Option<&str>, public_id: &str) -> Result<String, StoreError> {
    let name = raw
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(public_id);
    if name.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(StoreError::field(
            "display_name",
            Msg::new("error-display-name-too-long")
                .arg("MAX_DISPLAY_NAME_LEN", MAX_DISPLAY_NAME_LEN),
        ));
    }
    Ok(name.to_string())
}

/// Prices as typed in a form or on the command line (USD per million tokens, blank = not given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceInput {
    pub input: String,
    pub output: String,
    pub cache_write_5m: String,
    pub cache_write_1h: String,
    pub cache_read: String,
}

impl PriceInput {
    pub fn is_blank(&self) -> bool {
        [
            &self.input,
            &self.output,
            &self.cache_write_5m,
            &self.cache_write_1h,
            &self.cache_read,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// Turns typed prices into [`Prices`]: all blank means "no prices"; otherwise input and output are
/// required and blank cache prices are derived from the input price (1.25 ×, 2 ×, 0.1 ×).
/// Long-context prices from a form: a threshold (input tokens) and five prices, parsed as
/// [`parse_prices`] does (blank cache prices derived from the input price). Both blank: none.
pub fn parse_long_context(
    threshold: &str,
    prices: &PriceInput,
) -> Result<Option<LongContext>, StoreError> {
    let threshold = threshold.trim().replace(['_', ','], "");
    match (threshold.is_empty(), prices.is_blank()) {
        (true, true) => return Ok(None),
        (true, false) => {
            return Err(StoreError::field(
                "threshold",
                Msg::new("error-enter-threshold"),
            ))
        }
        (false, true) => {
            return Err(StoreError::field(
                "input_price",
                Msg::new("error-long-context-prices"),
            ))
        }
        (false, false) => {}
    }
    let threshold: i64 = threshold
        .parse()
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| StoreError::field("threshold", Msg::new("error-threshold-whole")))?;
    let prices = parse_prices(prices)?.unwrap_or_default();
    Ok(Some(LongContext { threshold, prices }))
}

pub fn parse_prices(input: &PriceInput) -> Result<Option<Prices>, StoreError> {
    if input.is_blank() {
        return Ok(None);
    }
    let required = |raw: &str, field: &'static str, what: &'static str| {
        parse_price(raw).map_err(|e| StoreError::field(field, e.describe_phrase(what)))
    };
    let optional = |raw: &str, field: &'static str, what: &'static str, derived: i64| {
        if raw.trim().is_empty() {
            Ok(derived)
        } else {
            parse_price(raw).map_err(|e| StoreError::field(field, e.describe_phrase(what)))
        }
    };
    let base = Prices::with_derived_cache(
        required(&input.input, "input_price", "what-input-price")?,
        required(&input.output, "output_price", "what-output-price")?,
    );
    Ok(Some(Prices {
        cache_write_5m: optional(
            &input.cache_write_5m,
            "cache_write_5m_price",
            "what-cache-write-5m-price",
            base.cache_write_5m,
        )?,
        cache_write_1h: optional(
            &input.cache_write_1h,
            "cache_write_1h_price",
            "what-cache-write-1h-price",
            base.cache_write_1h,
        )?,
        cache_read: optional(
            &input.cache_read,
            "cache_read_price",
            "what-cache-read-price",
            base.cache_read,
        )?,
        ..base
    }))
}

/// The editable fields of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInput {
    pub public_id: String,
    pub display_name: Option<String>,
    pub prices: Option<Prices>,
    pub enabled: bool,
}

fn id_taken(e: StoreError, id: &str) -> StoreError {
    if e.is_unique_violation() {
        StoreError::field("public_id", Msg::new("error-model-id-taken").arg("id", id))
    } else {
        e
    }
}

fn no_model() -> StoreError {
    StoreError::NotFound(Msg::new("error-no-such-model"))
}

/// Refuses a model id that is another model's alias.
async fn not_an_alias(db: &Db, public_id: &str, model_id: Option<i64>) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT model_id FROM model_aliases WHERE alias = $1")
        .bind(public_id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) if Some(r.try_get::<i64, _>("model_id")?) != model_id => Err(StoreError::field(
            "public_id",
            Msg::new("error-id-is-alias").arg("public_id", public_id),
        )),
        _ => Ok(()),
    }
}

pub async fn create(db: &Db, input: &ModelInput) -> Result<Model, StoreError> {
    let public_id = validate_model_id(&input.public_id, "public_id")?;
    not_an_alias(db, &public_id, None).await?;
    let display_name = display_name_or(input.display_name.as_deref(), &public_id)?;
    let p = input.prices;
    let now = now_ms();
    let row = sqlx::query(&format!(
        "INSERT INTO models (public_id, display_name, disabled_at, input_price, output_price, \
         cache_write_5m_price, cache_write_1h_price, cache_read_price, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(&public_id)
    .bind(&display_name)
    .bind((!input.enabled).then_some(now))
    .bind(p.map(|p| p.input))
    .bind(p.map(|p| p.output))
    .bind(p.map(|p| p.cache_write_5m))
    .bind(p.map(|p| p.cache_write_1h))
    .bind(p.map(|p| p.cache_read))
    .bind(now)
    .fetch_one(db.pool())
    .await
    .map_err(|e| id_taken(e.into(), &public_id))?;
    Model::from_row(&row)
}

/// Changes a model's id, name, prices and enabled flag.
pub async fn update(db: &Db, id: i64, input: &ModelInput) -> Result<Model, StoreError> {
    let public_id = validate_model_id(&input.public_id, "public_id")?;
    let display_name = display_name_or(input.display_name.as_deref(), &public_id)?;
    let current = get(db, id).await?;
    not_an_alias(db, &public_id, Some(id)).await?;
    let now = now_ms();
    let disabled_at = match (input.enabled, current.disabled_at) {
        (true, _) => None,
        (false, Some(at)) => Some(at),
        (false, None) => Some(now),
    };
    let p = input.prices;
    let row = sqlx::query(&format!(
        "UPDATE models SET public_id = $1, display_name = $2, disabled_at = $3, input_price = $4, \
         output_price = $5, cache_write_5m_price = $6, cache_write_1h_price = $7, \
         cache_read_price = $8, updated_at = $9 WHERE id = $10 RETURNING {COLUMNS}"
    ))
    .bind(&public_id)
    .bind(&display_name)
    .bind(disabled_at)
    .bind(p.map(|p| p.input))
    .bind(p.map(|p| p.output))
    .bind(p.map(|p| p.cache_write_5m))
    .bind(p.map(|p| p.cache_write_1h))
    .bind(p.map(|p| p.cache_read))
    .bind(now)
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .map_err(|e| id_taken(e.into(), &public_id))?;
    super::db::found(row, Model::from_row, no_model)
}

/// Sets (or, with `None`, removes) a model's long-context prices. The threshold must be positive.
pub async fn set_long_context(
    db: &Db,
    id: i64,
    long: Option<&LongContext>,
) -> Result<Model, StoreError> {
    if let Some(l) = long {
        if l.threshold <= 0 {
            return Err(StoreError::Field {
                field: "threshold",
                message: Msg::new("error-threshold-positive"),
            });
        }
    }
    let p = long.map(|l| l.prices);
    let row = sqlx::query(&format!(
        "UPDATE models SET long_context_threshold = $1, lc_input_price = $2, lc_output_price = $3, \
         lc_cache_write_5m_price = $4, lc_cache_write_1h_price = $5, lc_cache_read_price = $6, \
         updated_at = $7 WHERE id = $8 RETURNING {COLUMNS}"
    ))
    .bind(long.map(|l| l.threshold))
    .bind(p.map(|p| p.input))
    .bind(p.map(|p| p.output))
    .bind(p.map(|p| p.cache_write_5m))
    .bind(p.map(|p| p.cache_write_1h))
    .bind(p.map(|p| p.cache_read))
    .bind(now_ms())
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Model::from_row, no_model)
}

/// Sets the model's own price of 1,000 web searches (micro-USD), or (`None`) leaves it to the
/// site's.
pub async fn set_web_search_price(
    db: &Db,
    id: i64,
    price: Option<i64>,
) -> Result<Model, StoreError> {
    if price.is_some_and(|p| p < 0) {
        return Err(StoreError::field(
            "web_search_price",
            Msg::new("error-price-negative"),
        ));
    }
    let row = sqlx::query(&format!(
        "UPDATE models SET web_search_price = $1, updated_at = $2 WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind(price)
    .bind(now_ms())
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Model::from_row, no_model)
}

pub async fn set_enabled(db: &Db, id: i64, enabled: bool) -> Result<Model, StoreError> {
    let now = now_ms();
    let row = sqlx::query(&format!(
        "UPDATE models SET disabled_at = $1, updated_at = $2 WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind((!enabled).then_some(now))
    .bind(now)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Model::from_row, no_model)
}

/// Deletes a model and its bindings.
pub async fn delete(db: &Db, id: i64) -> Result<Model, StoreError> {
    let row = sqlx::query(&format!(
        "DELETE FROM models WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, Model::from_row, no_model)
}

pub async fn list(db: &Db) -> Result<Vec<Model>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM models ORDER BY public_id"))
        .fetch_all(db.pool())
        .await?;
    let mut list = rows
        .iter()
        .map(Model::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let aliases = sqlx::query("SELECT alias, model_id FROM model_aliases ORDER BY alias")
        .fetch_all(db.pool())
        .await?;
    let mut by_model: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for r in &aliases {
        by_model
            .entry(r.try_get("model_id")?)
            .or_default()
            .push(r.try_get("alias")?);
    }
    for m in &mut list {
        m.aliases = by_model.remove(&m.id).unwrap_or_default();
    }
    Ok(list)
}

/// Which of `ids` are a model's id or alias already.
pub async fn taken_ids(db: &Db, ids: &[String]) -> Result<Vec<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::db::in_list(ids.len());
    let sql = format!(
        "SELECT public_id AS id FROM models WHERE public_id IN ({list}) \
         UNION SELECT alias AS id FROM model_aliases WHERE alias IN ({list})"
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("id").map_err(StoreError::from))
        .collect()
}

/// `model` with its aliases.
async fn with_aliases(db: &Db, mut model: Model) -> Result<Model, StoreError> {
    let rows = sqlx::query("SELECT alias FROM model_aliases WHERE model_id = $1 ORDER BY alias")
        .bind(model.id)
        .fetch_all(db.pool())
        .await?;
    model.aliases = rows
        .iter()
        .map(|r| r.try_get("alias"))
        .collect::<Result<_, _>>()?;
    Ok(model)
}

/// Sets the other ids a model answers to (replacing the ones it had). Each must be a valid model id,
/// not a model's own id, and not another model's alias.
pub async fn set_aliases(db: &Db, id: i64, aliases: &[String]) -> Result<Model, StoreError> {
    let model = get(db, id).await?;
    let mut wanted: Vec<String> = Vec::new();
    for a in aliases {
        let a = validate_model_id(a, "aliases")?;
        if a == model.public_id {
            return Err(StoreError::field(
                "aliases",
                Msg::new("error-alias-is-own-id").arg("a", a),
            ));
        }
        if !wanted.contains(&a) {
            wanted.push(a);
        }
    }
    if wanted.len() > 64 {
        return Err(StoreError::field(
            "aliases",
            Msg::new("error-too-many-aliases"),
        ));
    }
    if !wanted.is_empty() {
        let sql = format!(
            "SELECT public_id FROM models WHERE public_id IN ({})",
            super::db::in_list(wanted.len())
        );
        let mut q = sqlx::query(&sql);
        for a in &wanted {
            q = q.bind(a.as_str());
        }
        if let Some(r) = q.fetch_optional(db.pool()).await? {
            let taken: String = r.try_get("public_id")?;
            return Err(StoreError::field(
                "aliases",
                Msg::new("error-alias-is-model-id").arg("taken", taken),
            ));
        }
    }
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM model_aliases WHERE model_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    for a in &wanted {
        sqlx::query("INSERT INTO model_aliases (alias, model_id, created_at) VALUES ($1, $2, $3)")
            .bind(a.as_str())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                let e: StoreError = e.into();
                if e.is_unique_violation() {
                    StoreError::field("aliases", Msg::new("error-alias-taken").arg("a", a))
                } else {
                    e
                }
            })?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn get(db: &Db, id: i64) -> Result<Model, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM models WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    with_aliases(db, super::db::found(row, Model::from_row, no_model)?).await
}

pub async fn find_by_public_id(db: &Db, public_id: &str) -> Result<Option<Model>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM models WHERE public_id = $1"
    ))
    .bind(public_id.trim())
    .fetch_optional(db.pool())
    .await?;
    match row.as_ref().map(Model::from_row).transpose()? {
        Some(m) => Ok(Some(with_aliases(db, m).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(i: &str, o: &str, w5: &str, w1: &str, r: &str) -> PriceInput {
        PriceInput {
            input: i.into(),
            output: o.into(),
            cache_write_5m: w5.into(),
            cache_write_1h: w1.into(),
            cache_read: r.into(),
        }
    }

    #[test]
    fn blank_prices_mean_none() {
        assert_eq!(parse_prices(&typed("", " ", "", "", "")).unwrap(), None);
    }

    #[test]
    fn cache_prices_are_derived_when_blank() {
        let p = parse_prices(&typed("3", "15", "", "", ""))
            .unwrap()
            .unwrap();
        assert_eq!(p, Prices::with_derived_cache(3_000_000, 15_000_000));
        let p = parse_prices(&typed("3", "15", "4", "", "0.25"))
            .unwrap()
            .unwrap();
        assert_eq!(p.cache_write_5m, 4_000_000);
        assert_eq!(p.cache_write_1h, 6_000_000);
        assert_eq!(p.cache_read, 250_000);
    }

    #[test]
    fn price_errors_name_their_field() {
        let field = |i: PriceInput| match parse_prices(&i).unwrap_err() {
            StoreError::Field { field, .. } => field,
            e => panic!("{e:?}"),
        };
        assert_eq!(field(typed("", "15", "", "", "")), "input_price");
        assert_eq!(field(typed("3", "x", "", "", "")), "output_price");
        assert_eq!(
            field(typed("3", "15", "-1", "", "")),
            "cache_write_5m_price"
        );
        assert_eq!(
            field(typed("3", "15", "", "0.0000001", "")),
            "cache_write_1h_price"
        );
        assert_eq!(field(typed("3", "15", "", "", "a")), "cache_read_price");
    }

    #[test]
    fn model_ids_have_no_spaces() {
        assert_eq!(
            validate_model_id(" claude-sonnet-4-5 ", "public_id").unwrap(),
            "claude-sonnet-4-5"
        );
        assert!(validate_model_id("openai/gpt-4o:free", "public_id").is_ok());
        assert!(validate_model_id("bad id", "public_id").is_err());
        assert!(validate_model_id("", "public_id").is_err());
        assert!(validate_model_id(&"m".repeat(129), "public_id").is_err());
    }
}
