//! Server fns for models, prices, the built-in price list and bindings. `available_models` is for
//! every signed-in user; the others check the admin role on the server first.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{ModelView, PriceList, PublicModel};

/// The models a signed-in user can call, with prices.
#[server(prefix = "/api", endpoint = "models")]
pub async fn available_models() -> Result<Vec<PublicModel>, AppError> {
    use super::ctx::*;
    require_user()?;
    let state = state()?;
    Ok(crate::core::views::public_models(&state.catalog.snapshot()))
}

#[server(prefix = "/api", endpoint = "admin/models")]
pub async fn list_models() -> Result<Vec<ModelView>, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    crate::core::views::models(&state.db, None)
        .await
        .map_err(store_err)
}

#[server(prefix = "/api", endpoint = "admin/model")]
pub async fn get_model(id: i64) -> Result<ModelView, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    let mut list = crate::core::views::models(&state.db, Some(id))
        .await
        .map_err(store_err)?;
    list.pop()
        .ok_or_else(|| reject(AppError::NotFound(Msg::new("error-no-such-model").say())))
}

/// The form fields of a model, as typed.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ModelForm {
    pub public_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub input_price: String,
    #[serde(default)]
    pub output_price: String,
    #[serde(default)]
    pub cache_write_5m_price: String,
    #[serde(default)]
    pub cache_write_1h_price: String,
    #[serde(default)]
    pub cache_read_price: String,
    /// A checkbox: present when checked.
    #[serde(default)]
    pub enabled: Option<String>,
}

#[cfg(feature = "ssr")]
impl ModelForm {
    fn to_input(&self) -> Result<crate::core::models::ModelInput, AppError> {
        use crate::core::models::{parse_prices, ModelInput, PriceInput};
        let prices = parse_prices(&PriceInput {
            input: self.input_price.clone(),
            output: self.output_price.clone(),
            cache_write_5m: self.cache_write_5m_price.clone(),
            cache_write_1h: self.cache_write_1h_price.clone(),
            cache_read: self.cache_read_price.clone(),
        })
        .map_err(super::ctx::store_err)?;
        Ok(ModelInput {
            public_id: self.public_id.clone(),
            display_name: Some(self.display_name.clone()),
            prices,
            enabled: super::ctx::checked(&self.enabled),
        })
    }
}

/// Creates a model, then opens its page.
#[server(prefix = "/api", endpoint = "admin/create_model")]
pub async fn create_model(form: ModelForm) -> Result<i64, AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let input = form.to_input()?;
    let model = applied(&state, ops.create_model(&input).await).await?;
    leptos_axum::redirect(&format!("/admin/models/{}", model.id));
    Ok(model.id)
}

#[server(prefix = "/api", endpoint = "admin/update_model")]
pub async fn update_model(id: i64, form: ModelForm) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let input = form.to_input()?;
    applied(&state, ops.update_model(id, &input).await).await?;
    Ok(())
}

/// Sets the other ids a model answers to: `aliases` separated by commas, spaces or lines (empty: none).
#[server(prefix = "/api", endpoint = "admin/set_model_aliases")]
pub async fn set_model_aliases(
    id: i64,
    #[server(default)] aliases: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let list: Vec<String> = aliases
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    applied(&state, ops.set_aliases(id, &list).await).await?;
    Ok(())
}

/// Sets a model's long-context prices: above `threshold` input tokens a request pays these prices
/// (blank cache prices are derived from the input price). Everything blank removes them.
/// Sets a model's price of 1,000 web searches in USD; empty leaves it to the site's price.
#[server(prefix = "/api", endpoint = "admin/set_model_web_search_price")]
pub async fn set_model_web_search_price(
    id: i64,
    #[server(default)] price: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let price = match price.trim() {
        "" => None,
        raw => Some(crate::money::parse_price(raw).map_err(|e| {
            reject(AppError::Field(
                "price".into(),
                e.describe_phrase("what-web-search-price").say(),
            ))
        })?),
    };
    applied(&state, ops.set_model_web_search_price(id, price).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/set_model_long_context")]
pub async fn set_model_long_context(
    id: i64,
    #[server(default)] threshold: String,
    #[server(default)] input_price: String,
    #[server(default)] output_price: String,
    #[server(default)] cache_write_5m_price: String,
    #[server(default)] cache_write_1h_price: String,
    #[server(default)] cache_read_price: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::core::models::{parse_long_context, PriceInput};
    let (ops, state) = admin_ops()?;
    let long = parse_long_context(
        &threshold,
        &PriceInput {
            input: input_price,
            output: output_price,
            cache_write_5m: cache_write_5m_price,
            cache_write_1h: cache_write_1h_price,
            cache_read: cache_read_price,
        },
    )
    .map_err(store_err)?;
    applied(&state, ops.set_long_context(id, long.as_ref()).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/set_model_enabled")]
pub async fn set_model_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.set_model_enabled(id, enabled).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/delete_model")]
pub async fn delete_model(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.delete_model(id).await).await?;
    leptos_axum::redirect("/admin/models");
    Ok(())
}

/// The price file uploaded in this session, if any.
#[cfg(feature = "ssr")]
async fn uploaded_prices() -> Result<Option<crate::core::price_file::Uploaded>, AppError> {
    use super::ctx::*;
    session()
        .await?
        .get::<crate::core::price_file::Uploaded>(crate::core::state::SESSION_PRICE_UPLOAD_KEY)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the session could not be read");
            AppError::Server(Msg::new("error-session-read").say())
        })
}

/// A price list — the built-in one, or (`source` = `upload`) the file uploaded in this session —,
/// marking the models that exist already and those whose prices differ.
#[server(prefix = "/api", endpoint = "admin/price_list")]
pub async fn get_price_list(#[server(default)] source: String) -> Result<PriceList, AppError> {
    use super::ctx::*;
    use crate::core::{models, price_list};
    use crate::types::PriceListEntry;
    let (_, state) = admin_ctx()?;
    let uploaded = match source.as_str() {
        "upload" => uploaded_prices().await?,
        _ => None,
    };
    let (file, label, from_upload) = match &uploaded {
        Some(u) => (
            &u.file,
            Msg::new("price-source-upload").arg("name", &u.name).say(),
            true,
        ),
        None => (
            price_list::snapshot(),
            Msg::new("price-source-builtin")
                .arg("dated", price_list::dated())
                .say(),
            false,
        ),
    };
    let existing: std::collections::HashMap<String, crate::core::models::Model> =
        models::list(&state.db)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|m| (m.public_id.clone(), m))
            .collect();
    Ok(PriceList {
        dated: price_list::dated().to_string(),
        source: label,
        uploaded: from_upload,
        entries: file
            .entries
            .iter()
            .map(|l| {
                let current = existing.get(&l.public_id);
                PriceListEntry {
                    public_id: l.public_id.clone(),
                    display_name: l.display_name.clone(),
                    vendor: l.vendor.clone(),
                    prices: l.prices,
                    exists: current.is_some(),
                    repriced_from: current
                        .filter(|m| m.prices != Some(l.prices) || m.long_context != l.long_context)
                        .map(|m| m.prices),
                    deprecated_on: l.deprecated_on.clone(),
                }
            })
            .collect(),
    })
}

/// Imports the chosen models of the built-in price list: new ones are created (enabled, with list
/// prices), existing ones take the list's prices. Returns how many were created or repriced.
#[server(prefix = "/api", endpoint = "admin/import_prices")]
pub async fn import_prices(
    #[server(default)] ids: Vec<String>,
    #[server(default)] source: String,
) -> Result<usize, AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let done = if source == "upload" {
        let uploaded = uploaded_prices()
            .await?
            .ok_or_else(|| reject(AppError::Invalid(Msg::new("error-no-upload-waiting").say())))?;
        let from = format!("the uploaded file {}", uploaded.name);
        applied(&state, ops.import_prices(&uploaded.file, &ids, &from).await).await?
    } else {
        applied(&state, ops.import_listed(&ids).await).await?
    };
    Ok(done.created.len() + done.repriced.len())
}

/// Binds a model to a channel (upstream name defaults to the model's id).
#[server(prefix = "/api", endpoint = "admin/create_binding")]
pub async fn create_binding(
    model_id: i64,
    channel_id: String,
    #[server(default)] upstream_model: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let channel_id = parse_int(&channel_id, "channel_id", "what-channel")?;
    let outcome = ops
        .create_binding(model_id, channel_id, Some(&upstream_model))
        .await;
    applied(&state, outcome).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/update_binding")]
pub async fn update_binding(
    id: i64,
    #[server(default)] upstream_model: String,
    #[server(default)] enabled: Option<String>,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let outcome = ops
        .update_binding(id, Some(&upstream_model), checked(&enabled))
        .await;
    applied(&state, outcome).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/delete_binding")]
pub async fn delete_binding(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.delete_binding(id).await).await?;
    Ok(())
}
