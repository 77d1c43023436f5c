//! Models with their prices, imports from the built-in price list, and bindings (model × channel).

use super::{state_word, switch_action, Admin};
use crate::core::bindings;
use crate::core::error::StoreError;
use crate::core::models::{self, Model, ModelInput};
use crate::core::price_file::PriceFile;
use crate::core::price_list;
use crate::i18n::Msg;
use crate::money::{format_price, LongContext, Prices};
use crate::types::BindingView;

/// The dated ids of `e` in `file` (`<id>-YYYYMMDD`) with the same prices: the ids clients send for
/// the same model.
fn dated_ids(file: &PriceFile, e: &crate::core::price_file::PriceEntry) -> Vec<String> {
    file.entries
        .iter()
        .filter(|d| {
            d.public_id
                .strip_prefix(e.public_id.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|date| date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
                && d.prices == e.prices
        })
        .map(|d| d.public_id.clone())
        .collect()
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: Vec<String>,
    /// Models that existed and took the file's prices.
    pub repriced: Vec<String>,
}

/// A model's prices in words, as the audit log and the CLI say them.
pub fn price_detail(prices: Option<Prices>) -> String {
    match prices {
        None => "no prices".into(),
        Some(p) => format!(
            "input {}, output {}, cache write 5m {}, cache write 1h {}, cache read {} per million tokens",
            format_price(p.input),
            format_price(p.output),
            format_price(p.cache_write_5m),
            format_price(p.cache_write_1h),
            format_price(p.cache_read)
        ),
    }
}

/// A model's long-context prices in words.
pub fn long_context_detail(long: Option<&LongContext>) -> String {
    match long {
        None => "no long-context prices".into(),
        Some(l) => format!(
            "above {} input tokens: {}",
            l.threshold,
            price_detail(Some(l.prices))
        ),
    }
}

fn model_detail(m: &Model) -> String {
    format!("{}; {}", state_word(m.enabled()), price_detail(m.prices))
}

/// A binding as the audit log names it.
fn binding_target(b: &BindingView) -> String {
    format!("{} → {}", b.model_public_id, b.channel_name)
}

impl Admin {
    pub async fn create_model(&self, input: &ModelInput) -> Result<Model, StoreError> {
        let model = models::create(&self.db, input).await?;
        self.audit("model.create", &model.public_id, &model_detail(&model))
            .await?;
        Ok(model)
    }

    pub async fn update_model(&self, id: i64, input: &ModelInput) -> Result<Model, StoreError> {
        let model = models::update(&self.db, id, input).await?;
        self.audit("model.update", &model.public_id, &model_detail(&model))
            .await?;
        Ok(model)
    }

    /// Sets the other ids a model answers to.
    pub async fn set_aliases(&self, id: i64, aliases: &[String]) -> Result<Model, StoreError> {
        let model = models::set_aliases(&self.db, id, aliases).await?;
        self.audit(
            "model.aliases",
            &model.public_id,
            &if model.aliases.is_empty() {
                "no aliases".to_string()
            } else {
                model.aliases.join(", ")
            },
        )
        .await?;
        Ok(model)
    }

    /// Sets a model's own price of 1,000 web searches (micro-USD), or (`None`) leaves it to the
    /// site's.
    pub async fn set_model_web_search_price(
        &self,
        id: i64,
        price: Option<i64>,
    ) -> Result<Model, StoreError> {
        let model = models::set_web_search_price(&self.db, id, price).await?;
        let detail = match price {
            Some(p) => format!("{} per 1,000 web searches", crate::money::format_price(p)),
            None => "the site's web search price".into(),
        };
        self.audit("model.web_search_price", &model.public_id, &detail)
            .await?;
        Ok(model)
    }

    /// Sets or (with `None`) removes a model's long-context prices.
    pub async fn set_long_context(
        &self,
        id: i64,
        long: Option<&LongContext>,
    ) -> Result<Model, StoreError> {
        let model = models::set_long_context(&self.db, id, long).await?;
        self.audit(
            "model.long_context",
            &model.public_id,
            &long_context_detail(model.long_context.as_ref()),
        )
        .await?;
        Ok(model)
    }

    pub async fn set_model_enabled(&self, id: i64, enabled: bool) -> Result<Model, StoreError> {
        let model = models::set_enabled(&self.db, id, enabled).await?;
        self.audit(&switch_action("model", enabled), &model.public_id, "")
            .await?;
        Ok(model)
    }

    /// Deletes a model and its bindings (usage history keeps its id).
    pub async fn delete_model(&self, id: i64) -> Result<Model, StoreError> {
        let model = models::delete(&self.db, id).await?;
        self.audit("model.delete", &model.public_id, "").await?;
        Ok(model)
    }

    /// Imports the given models of a price file (`from` names it in the audit log): a model that
    /// does not exist is created, enabled, with the file's name and prices; one that exists gets the
    /// file's prices and long-context prices (its name, state and bindings stay). A model created
    /// answers to the file's dated ids of it (`claude-sonnet-4-5-20250929` for `claude-sonnet-4-5`)
    /// that are no model's or alias yet. An id not in the file is refused before
    /// anything is written; a model whose prices are the file's already is left alone.
    pub async fn import_prices(
        &self,
        file: &PriceFile,
        ids: &[String],
        from: &str,
    ) -> Result<Imported, StoreError> {
        if ids.is_empty() {
            return Err(StoreError::Invalid(Msg::new("error-import-none-ticked")));
        }
        let listed = ids
            .iter()
            .map(|id| {
                file.find(id).ok_or_else(|| {
                    StoreError::Invalid(
                        Msg::new("error-not-in-price-file")
                            .arg("id", id)
                            .arg("from", from),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut done = Imported::default();
        for e in listed {
            match models::find_by_public_id(&self.db, &e.public_id).await? {
                None => {
                    let created = models::create(
                        &self.db,
                        &ModelInput {
                            public_id: e.public_id.clone(),
                            display_name: Some(e.display_name.clone()),
                            prices: Some(e.prices),
                            enabled: true,
                        },
                    )
                    .await?;
                    if let Some(long) = e.long_context.as_ref() {
                        models::set_long_context(&self.db, created.id, Some(long)).await?;
                    }
                    let dated = dated_ids(file, e);
                    if !dated.is_empty() {
                        let taken = models::taken_ids(&self.db, &dated).await?;
                        let free: Vec<String> =
                            dated.into_iter().filter(|d| !taken.contains(d)).collect();
                        if !free.is_empty() {
                            models::set_aliases(&self.db, created.id, &free).await?;
                        }
                    }
                    done.created.push(e.public_id.clone());
                }
                Some(m) if m.prices == Some(e.prices) && m.long_context == e.long_context => {}
                Some(m) => {
                    models::update(
                        &self.db,
                        m.id,
                        &ModelInput {
                            public_id: m.public_id.clone(),
                            display_name: Some(m.display_name.clone()),
                            prices: Some(e.prices),
                            enabled: m.enabled(),
                        },
                    )
                    .await?;
                    if m.long_context != e.long_context {
                        models::set_long_context(&self.db, m.id, e.long_context.as_ref()).await?;
                    }
                    done.repriced.push(e.public_id.clone());
                }
            }
        }
        if !done.created.is_empty() || !done.repriced.is_empty() {
            let mut detail = Vec::new();
            if !done.created.is_empty() {
                detail.push(format!("created {}", done.created.join(", ")));
            }
            if !done.repriced.is_empty() {
                detail.push(format!("new prices for {}", done.repriced.join(", ")));
            }
            self.audit(
                "model.import",
                &format!("{} model(s)", done.created.len() + done.repriced.len()),
                &format!("{}; from {from}", detail.join("; ")),
            )
            .await?;
        }
        Ok(done)
    }

    /// [`Admin::import_prices`] from the built-in price list.
    pub async fn import_listed(&self, ids: &[String]) -> Result<Imported, StoreError> {
        let from = format!("the built-in price list dated {}", price_list::dated());
        self.import_prices(price_list::snapshot(), ids, &from).await
    }

    /// Binds a model to a channel; the upstream name defaults to the model's id.
    pub async fn create_binding(
        &self,
        model_id: i64,
        channel_id: i64,
        upstream_model: Option<&str>,
    ) -> Result<BindingView, StoreError> {
        let b = bindings::create(&self.db, model_id, channel_id, upstream_model).await?;
        self.audit(
            "binding.create",
            &binding_target(&b),
            &format!("upstream model {}", b.upstream_model),
        )
        .await?;
        Ok(b)
    }

    pub async fn update_binding(
        &self,
        id: i64,
        upstream_model: Option<&str>,
        enabled: bool,
    ) -> Result<BindingView, StoreError> {
        let b = bindings::update(&self.db, id, upstream_model, enabled).await?;
        self.audit(
            "binding.update",
            &binding_target(&b),
            &format!(
                "upstream model {}, {}",
                b.upstream_model,
                state_word(b.enabled)
            ),
        )
        .await?;
        Ok(b)
    }

    pub async fn delete_binding(&self, id: i64) -> Result<BindingView, StoreError> {
        let b = bindings::delete(&self.db, id).await?;
        self.audit("binding.delete", &binding_target(&b), "")
            .await?;
        Ok(b)
    }
}
