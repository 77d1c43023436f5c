//! The resolve phase: the model a request names, among the enabled ones in the catalog snapshot.
//! Also what to say when no channel can carry it.

use app::core::catalog::{CatalogModel, Snapshot};

use super::error::RelayError;
use super::protocol::Protocol;

/// The enabled model, or a 404 that never reaches an upstream.
pub(super) fn model<'a>(snapshot: &'a Snapshot, id: &str) -> Result<&'a CatalogModel, RelayError> {
    snapshot.model(id).map(|m| m.as_ref()).ok_or_else(|| {
        RelayError::NotFound(format!(
            "The model {id} is not available on this Realms instance. The Models page of the console lists the ids you can use."
        ))
    })
}

/// Why no attempt could be planned for `model` on `protocol`: every channel of the right type is
/// cooling down, the model is bound only to channels of the other type, or to none.
pub(super) fn no_route(
    snapshot: &Snapshot,
    model: &CatalogModel,
    protocol: Protocol,
) -> RelayError {
    let want = protocol.channel_kind();
    let kinds: Vec<_> = model
        .routes
        .iter()
        .filter_map(|r| snapshot.channel(r.channel_id).map(|c| c.kind))
        .collect();
    if kinds.contains(&want) {
        return RelayError::Unavailable(format!(
            "Every channel for {} is cooling down after upstream errors. Retry in a few seconds.",
            model.public_id
        ));
    }
    if let Some(other) = kinds.first() {
        let path = match other {
            app::types::ChannelKind::Anthropic => Protocol::Messages.path(),
            app::types::ChannelKind::Openai => Protocol::ChatCompletions.path(),
        };
        return RelayError::InvalidRequest(format!(
            "The model {} is served by {} channels only on this Realms instance, and Realms does not translate {} requests for them yet: call it on {path}.",
            model.public_id,
            Protocol::kind_label(*other),
            protocol.path()
        ));
    }
    RelayError::Unavailable(format!(
        "No enabled {} channel serves {}. Ask an administrator to bind it to a channel.",
        Protocol::kind_label(want),
        model.public_id
    ))
}
