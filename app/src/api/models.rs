//! Server fns for models, prices, the built-in price list and bindings. `available_models` is for
//! every signed-in user; the others check the admin role on the server first.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ModelView, PriceList, PublicModel};

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
        .ok_or_else(|| reject(AppError::NotFound("No such model.".into())))
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

#[cfg(feature = "ssr")]
fn price_detail(prices: Option<crate::money::Prices>) -> String {
    use crate::money::format_price;
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

/// Creates a model, then opens its page.
#[server(prefix = "/api", endpoint = "admin/create_model")]
pub async fn create_model(form: ModelForm) -> Result<i64, AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let input = form.to_input()?;
    let model = crate::core::models::create(&state.db, &input)
        .await
        .map_err(store_err)?;
    changed(
        &state,
        &admin,
        "model.create",
        &model.public_id,
        &price_detail(model.prices),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/models/{}", model.id));
    Ok(model.id)
}

#[server(prefix = "/api", endpoint = "admin/update_model")]
pub async fn update_model(id: i64, form: ModelForm) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let input = form.to_input()?;
    let model = crate::core::models::update(&state.db, id, &input)
        .await
        .map_err(store_err)?;
    let detail = format!(
        "{}; {}",
        if model.enabled() {
            "enabled"
        } else {
            "disabled"
        },
        price_detail(model.prices)
    );
    changed(&state, &admin, "model.update", &model.public_id, &detail).await
}

#[server(prefix = "/api", endpoint = "admin/set_model_enabled")]
pub async fn set_model_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let model = crate::core::models::set_enabled(&state.db, id, enabled)
        .await
        .map_err(store_err)?;
    let action = if enabled {
        "model.enable"
    } else {
        "model.disable"
    };
    changed(&state, &admin, action, &model.public_id, "").await
}

#[server(prefix = "/api", endpoint = "admin/delete_model")]
pub async fn delete_model(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let model = crate::core::models::delete(&state.db, id)
        .await
        .map_err(store_err)?;
    changed(&state, &admin, "model.delete", &model.public_id, "").await?;
    leptos_axum::redirect("/admin/models");
    Ok(())
}

/// The built-in price list, marking the models that exist already.
#[server(prefix = "/api", endpoint = "admin/price_list")]
pub async fn get_price_list() -> Result<PriceList, AppError> {
    use super::ctx::*;
    use crate::core::{models, price_list};
    use crate::model::PriceListEntry;
    let (_, state) = admin_ctx()?;
    let existing: std::collections::HashSet<String> = models::list(&state.db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|m| m.public_id)
        .collect();
    Ok(PriceList {
        dated: price_list::DATED.to_string(),
        entries: price_list::LIST
            .iter()
            .map(|l| PriceListEntry {
                public_id: l.public_id.to_string(),
                display_name: l.display_name.to_string(),
                vendor: l.vendor.to_string(),
                prices: l.prices,
                exists: existing.contains(l.public_id),
            })
            .collect(),
    })
}

/// Creates the chosen models of the built-in price list (enabled, with list prices). Models that
/// exist already are left as they are. Returns how many were created.
#[server(prefix = "/api", endpoint = "admin/import_prices")]
pub async fn import_prices(#[server(default)] ids: Vec<String>) -> Result<usize, AppError> {
    use super::ctx::*;
    use crate::core::{models, price_list};
    let (admin, state) = admin_ctx()?;
    if ids.is_empty() {
        return Err(reject(AppError::Invalid(
            "Tick at least one model to import.".into(),
        )));
    }
    let mut created = Vec::new();
    for id in &ids {
        let listed = price_list::find(id).ok_or_else(|| {
            reject(AppError::Invalid(format!(
                "{id} is not on the built-in price list."
            )))
        })?;
        if models::find_by_public_id(&state.db, listed.public_id)
            .await
            .map_err(store_err)?
            .is_some()
        {
            continue;
        }
        models::create(
            &state.db,
            &models::ModelInput {
                public_id: listed.public_id.to_string(),
                display_name: Some(listed.display_name.to_string()),
                prices: Some(listed.prices),
                enabled: true,
            },
        )
        .await
        .map_err(store_err)?;
        created.push(listed.public_id);
    }
    if !created.is_empty() {
        changed(
            &state,
            &admin,
            "model.import",
            &created.join(", "),
            &format!("from the built-in price list dated {}", price_list::DATED),
        )
        .await?;
    }
    Ok(created.len())
}

/// Binds a model to a channel (upstream name defaults to the model's id).
#[server(prefix = "/api", endpoint = "admin/create_binding")]
pub async fn create_binding(
    model_id: i64,
    channel_id: String,
    #[server(default)] upstream_model: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let channel_id = parse_int(&channel_id, "channel_id", "The channel")?;
    let b = crate::core::bindings::create(&state.db, model_id, channel_id, Some(&upstream_model))
        .await
        .map_err(store_err)?;
    changed(
        &state,
        &admin,
        "binding.create",
        &format!("{} → {}", b.model_public_id, b.channel_name),
        &format!("upstream model {}", b.upstream_model),
    )
    .await
}

#[server(prefix = "/api", endpoint = "admin/update_binding")]
pub async fn update_binding(
    id: i64,
    #[server(default)] upstream_model: String,
    #[server(default)] enabled: Option<String>,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let b = crate::core::bindings::update(&state.db, id, Some(&upstream_model), checked(&enabled))
        .await
        .map_err(store_err)?;
    changed(
        &state,
        &admin,
        "binding.update",
        &format!("{} → {}", b.model_public_id, b.channel_name),
        &format!(
            "upstream model {}, {}",
            b.upstream_model,
            if b.enabled { "enabled" } else { "disabled" }
        ),
    )
    .await
}

#[server(prefix = "/api", endpoint = "admin/delete_binding")]
pub async fn delete_binding(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (admin, state) = admin_ctx()?;
    let b = crate::core::bindings::delete(&state.db, id)
        .await
        .map_err(store_err)?;
    changed(
        &state,
        &admin,
        "binding.delete",
        &format!("{} → {}", b.model_public_id, b.channel_name),
        "",
    )
    .await
}
