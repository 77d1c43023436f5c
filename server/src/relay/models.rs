//! `GET /v1/models` and `GET /v1/models/{id}`: the enabled models a token may call (those with a
//! usable channel), in OpenAI's list shape, or in Anthropic's when the request carries
//! `anthropic-version` (the Anthropic SDKs and Claude Code's gateway model discovery read that
//! shape). Authenticated like every data-plane request; a list is not a usage event.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use app::core::catalog::{CatalogModel, Snapshot};

use super::error::{RelayError, Shape};
use super::Relay;

fn shape(headers: &HeaderMap) -> Shape {
    if headers.contains_key("anthropic-version") {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    }
}

/// The ids a client can call, each with its model: enabled, with at least one route to a usable
/// channel; a model's aliases are listed as ids of their own. By id.
fn callable(snapshot: &Snapshot) -> Vec<(&str, &CatalogModel)> {
    let mut list: Vec<(&str, &CatalogModel)> = snapshot
        .models
        .values()
        .map(|m| m.as_ref())
        .filter(|m| {
            m.routes
                .iter()
                .any(|r| snapshot.channel(r.channel_id).is_some())
        })
        .flat_map(|m| {
            std::iter::once(m.public_id.as_str())
                .chain(m.aliases.iter().map(String::as_str))
                .map(move |id| (id, m))
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    list
}

/// A time in whole seconds, as Anthropic's API writes `created_at`.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

fn entry(id: &str, m: &CatalogModel, shape: Shape) -> Value {
    match shape {
        Shape::Anthropic => json!({
            "type": "model",
            "id": id,
            "display_name": m.display_name,
            "created_at": rfc3339(m.created_at),
        }),
        Shape::OpenAi => json!({
            "id": id,
            "object": "model",
            "created": m.created_at.div_euclid(1000),
            "owned_by": "realms",
        }),
    }
}

fn json_response(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// Authenticates the request's token; the snapshot it was checked against.
async fn authenticated(relay: &Relay, headers: &HeaderMap) -> Result<Arc<Snapshot>, RelayError> {
    let snapshot = relay.catalog.snapshot();
    relay
        .tokens
        .authenticate(
            &relay.db,
            (snapshot.revision, snapshot.token_revision),
            headers,
        )
        .await?;
    Ok(snapshot)
}

pub(super) async fn list(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    let shape = shape(req.headers());
    let snapshot = match authenticated(&relay, req.headers()).await {
        Ok(s) => s,
        Err(e) => return e.response_in(shape, None),
    };
    let models = callable(&snapshot);
    tracing::debug!(?shape, listed = models.len(), "models listed");
    let data: Vec<Value> = models.iter().map(|(id, m)| entry(id, m, shape)).collect();
    json_response(match shape {
        Shape::Anthropic => json!({
            "data": data,
            "has_more": false,
            "first_id": models.first().map(|(id, _)| *id),
            "last_id": models.last().map(|(id, _)| *id),
        }),
        Shape::OpenAi => json!({ "object": "list", "data": data }),
    })
}

pub(super) async fn one(
    State(relay): State<Arc<Relay>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let shape = shape(req.headers());
    let snapshot = match authenticated(&relay, req.headers()).await {
        Ok(s) => s,
        Err(e) => return e.response_in(shape, None),
    };
    match callable(&snapshot).into_iter().find(|(known, _)| *known == id) {
        Some((known, m)) => json_response(entry(known, m, shape)),
        None => RelayError::NotFound(format!(
            "The model {id} is not available on this Realms instance. GET /v1/models lists the ids you can use."
        ))
        .response_in(shape, None),
    }
}
