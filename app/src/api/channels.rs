//! Administrator server fns for channels, their endpoints and credentials, and the channel test.
//! Every one checks the admin role on the server first; saved keys never leave the server.

#[cfg(feature = "ssr")]
use crate::i18n::Msg;
use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{ChannelTestResult, ChannelView};

#[server(prefix = "/api", endpoint = "admin/channels")]
pub async fn list_channels() -> Result<Vec<ChannelView>, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    crate::core::views::channels(&state.db, None)
        .await
        .map_err(store_err)
}

#[server(prefix = "/api", endpoint = "admin/channel")]
pub async fn get_channel(id: i64) -> Result<ChannelView, AppError> {
    use super::ctx::*;
    let (_, state) = admin_ctx()?;
    let mut list = crate::core::views::channels(&state.db, Some(id))
        .await
        .map_err(store_err)?;
    list.pop()
        .ok_or_else(|| reject(AppError::NotFound(Msg::new("error-no-such-channel").say())))
}

#[cfg(feature = "ssr")]
fn settings_from_form(
    name: String,
    kind: &str,
    priority: &str,
    weight: &str,
) -> Result<crate::core::channels::ChannelSettings, AppError> {
    use super::ctx::*;
    use crate::types::ChannelKind;
    let kind = ChannelKind::parse(kind).ok_or_else(|| {
        reject(AppError::Field(
            "kind".into(),
            Msg::new("error-channel-kind").say(),
        ))
    })?;
    let priority = if priority.trim().is_empty() {
        0
    } else {
        parse_int(priority, "priority", "what-priority")?
    };
    let weight = if weight.trim().is_empty() {
        1
    } else {
        parse_int(weight, "weight", "what-weight")?
    };
    Ok(crate::core::channels::ChannelSettings {
        name,
        kind,
        priority,
        weight,
    })
}

/// Creates a channel with one endpoint and one key, then opens its page.
#[server(prefix = "/api", endpoint = "admin/create_channel")]
pub async fn create_channel(
    name: String,
    kind: String,
    base_url: String,
    key: String,
    #[server(default)] priority: String,
    #[server(default)] weight: String,
) -> Result<i64, AppError> {
    use super::ctx::*;
    use crate::core::channels::NewChannel;
    let (ops, state) = admin_ops()?;
    let settings = settings_from_form(name, &kind, &priority, &weight)?;
    let new = NewChannel {
        settings,
        base_urls: &[base_url],
        keys: &[key],
    };
    let channel = applied(&state, ops.create_channel(&state.cipher, new).await).await?;
    leptos_axum::redirect(&format!("/admin/channels/{}", channel.id));
    Ok(channel.id)
}

#[server(prefix = "/api", endpoint = "admin/update_channel")]
pub async fn update_channel(
    id: i64,
    name: String,
    kind: String,
    #[server(default)] priority: String,
    #[server(default)] weight: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let settings = settings_from_form(name, &kind, &priority, &weight)?;
    applied(&state, ops.update_channel(id, &settings).await).await?;
    Ok(())
}

/// Sets what a channel drops from requests: beta flags and top-level fields (comma-separated);
/// `preset` = `anthropic-compatible` sets the preset for an Anthropic-compatible provider instead.
#[server(prefix = "/api", endpoint = "admin/set_channel_filter")]
pub async fn set_channel_filter(
    id: i64,
    #[server(default)] drop_betas: String,
    #[server(default)] drop_fields: String,
    #[server(default)] preset: String,
) -> Result<(), AppError> {
    use super::ctx::*;
    use crate::types::RequestFilter;
    let (ops, state) = admin_ops()?;
    let filter = match preset.as_str() {
        "" => RequestFilter {
            betas: RequestFilter::parse_list(&drop_betas),
            fields: RequestFilter::parse_list(&drop_fields),
        },
        "anthropic-compatible" => RequestFilter::anthropic_compatible(),
        _ => {
            return Err(reject(AppError::Invalid(
                Msg::new("error-unknown-preset").say(),
            )))
        }
    };
    applied(&state, ops.set_channel_filter(id, &filter).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/set_channel_enabled")]
pub async fn set_channel_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.set_channel_enabled(id, enabled).await).await?;
    Ok(())
}

/// Deletes a channel with its endpoints, keys and bindings, then goes back to the list.
#[server(prefix = "/api", endpoint = "admin/delete_channel")]
pub async fn delete_channel(id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.delete_channel(id).await).await?;
    leptos_axum::redirect("/admin/channels");
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/add_endpoint")]
pub async fn add_endpoint(channel_id: i64, base_url: String) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.add_endpoint(channel_id, &base_url).await).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/remove_endpoint")]
pub async fn remove_endpoint(channel_id: i64, endpoint_id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(&state, ops.remove_endpoint(channel_id, endpoint_id).await).await?;
    Ok(())
}

/// Adds an API key to a channel. The answer carries only its masked form.
#[server(prefix = "/api", endpoint = "admin/add_credential")]
pub async fn add_credential(channel_id: i64, key: String) -> Result<String, AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let hint = applied(
        &state,
        ops.add_credential(&state.cipher, channel_id, &key).await,
    )
    .await?;
    Ok(format!("••••{hint}"))
}

#[server(prefix = "/api", endpoint = "admin/set_credential_enabled")]
pub async fn set_credential_enabled(
    channel_id: i64,
    credential_id: i64,
    enabled: bool,
) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    let outcome = ops
        .set_credential_enabled(channel_id, credential_id, enabled)
        .await;
    applied(&state, outcome).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/remove_credential")]
pub async fn remove_credential(channel_id: i64, credential_id: i64) -> Result<(), AppError> {
    use super::ctx::*;
    let (ops, state) = admin_ops()?;
    applied(
        &state,
        ops.remove_credential(channel_id, credential_id).await,
    )
    .await?;
    Ok(())
}

/// Sends one minimal request per endpoint and key (at most eight) and reports each outcome. Without
/// a model, the channel's first binding is used, else a small model of the channel's type.
#[server(prefix = "/api", endpoint = "admin/test_channel")]
pub async fn test_channel(
    id: i64,
    #[server(default)] model: Option<String>,
) -> Result<Vec<ChannelTestResult>, AppError> {
    use super::ctx::*;
    use crate::core::{bindings, channel_test, channels};
    let (admin, state) = admin_ctx()?;
    let channel = channels::get(&state.db, id).await.map_err(store_err)?;
    let model = match model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => bindings::list(&state.db)
            .await
            .map_err(store_err)?
            .into_iter()
            .find(|b| b.channel_id == id)
            .map(|b| b.upstream_model)
            .unwrap_or_else(|| channel.kind.default_test_model().to_string()),
    };
    let endpoints = channels::endpoints(&state.db, Some(id))
        .await
        .map_err(store_err)?;
    let all_keys = channels::credentials(&state.db, Some(id))
        .await
        .map_err(store_err)?;
    let enabled: Vec<_> = all_keys
        .iter()
        .filter(|k| k.disabled_at.is_none())
        .cloned()
        .collect();
    let keys = if enabled.is_empty() {
        all_keys
    } else {
        enabled
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (endpoint, cred)) in endpoints
        .iter()
        .flat_map(|e| keys.iter().map(move |k| (e, k)))
        .take(8)
        .enumerate()
    {
        let key = state
            .cipher
            .decrypt(cred.channel_id, &cred.secret)
            .map_err(store_err)?;
        let (client, kind, url, hint, model) = (
            state.http.clone(),
            channel.kind,
            endpoint.base_url.clone(),
            cred.hint.clone(),
            model.clone(),
        );
        tasks.spawn(async move {
            (
                n,
                channel_test::test_one(&client, kind, &url, &key, &hint, &model).await,
            )
        });
    }
    let mut results: Vec<(usize, ChannelTestResult)> = tasks.join_all().await;
    results.sort_by_key(|(n, _)| *n);
    let results: Vec<ChannelTestResult> = results.into_iter().map(|(_, r)| r).collect();
    let passed = results.iter().filter(|r| r.ok).count();
    tracing::info!(
        admin_id = admin.id,
        channel = %channel.name,
        passed,
        total = results.len(),
        "channel tested"
    );
    Ok(results)
}
