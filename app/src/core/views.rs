//! Assembles what the admin pages show from several tables. Keys stay encrypted here: a credential is
//! only ever described by its hint.

use super::db::Db;
use super::error::StoreError;
use super::{bindings, channels, models};
use crate::types::{ChannelView, ModelView, PublicModel};

/// Channels with their endpoints, masked credentials and bindings; one channel when `only` is set.
pub async fn channels(db: &Db, only: Option<i64>) -> Result<Vec<ChannelView>, StoreError> {
    let list = match only {
        Some(id) => vec![channels::get(db, id).await?],
        None => channels::list(db).await?,
    };
    let endpoints = channels::endpoints(db, only).await?;
    let credentials = channels::credentials(db, only).await?;
    let bindings = bindings::list(db).await?;
    Ok(list
        .into_iter()
        .map(|c| ChannelView {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind,
            priority: c.priority,
            weight: c.weight,
            enabled: c.enabled(),
            created_at: c.created_at,
            filter: c.filter.clone(),
            endpoints: endpoints
                .iter()
                .filter(|e| e.channel_id == c.id)
                .map(|e| e.view())
                .collect(),
            credentials: credentials
                .iter()
                .filter(|k| k.channel_id == c.id)
                .map(|k| k.view())
                .collect(),
            bindings: bindings
                .iter()
                .filter(|b| b.channel_id == c.id)
                .cloned()
                .collect(),
        })
        .collect())
}

/// Models with their bindings; one model when `only` is set.
pub async fn models(db: &Db, only: Option<i64>) -> Result<Vec<ModelView>, StoreError> {
    let list = match only {
        Some(id) => vec![models::get(db, id).await?],
        None => models::list(db).await?,
    };
    let bindings = bindings::list(db).await?;
    Ok(list
        .into_iter()
        .map(|m| ModelView {
            id: m.id,
            public_id: m.public_id.clone(),
            display_name: m.display_name.clone(),
            enabled: m.enabled(),
            prices: m.prices,
            long_context: m.long_context,
            aliases: m.aliases.clone(),
            web_search_price: m.web_search_price,
            bindings: bindings
                .iter()
                .filter(|b| b.model_id == m.id)
                .cloned()
                .collect(),
        })
        .collect())
}

/// The enabled models users can call, from the routing catalog's point of view: enabled and bound to
/// at least one usable channel.
pub fn public_models(snapshot: &super::catalog::Snapshot) -> Vec<PublicModel> {
    let mut out: Vec<PublicModel> = snapshot
        .models
        .values()
        .filter(|m| !m.routes.is_empty())
        .map(|m| PublicModel {
            public_id: m.public_id.clone(),
            display_name: m.display_name.clone(),
            prices: m.prices,
            aliases: m.aliases.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.public_id.cmp(&b.public_id));
    out
}

/// The models Claude Code can use: enabled, bound to a usable Anthropic channel, and priced (or
/// unpriced models run free on this instance). Sorted by id.
pub fn claude_code_models(snapshot: &super::catalog::Snapshot) -> Vec<String> {
    use crate::types::{ChannelKind, UnpricedPolicy};
    let free = snapshot.settings.unpriced_models == UnpricedPolicy::Free;
    let mut out: Vec<String> = snapshot
        .models
        .values()
        .filter(|m| m.prices.is_some() || free)
        .filter(|m| {
            m.routes.iter().any(|r| {
                snapshot
                    .channel(r.channel_id)
                    .is_some_and(|c| c.kind == ChannelKind::Anthropic)
            })
        })
        .map(|m| m.public_id.clone())
        .collect();
    out.sort();
    out
}
