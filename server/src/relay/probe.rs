//! Probes: requests a client sends that are not work (Claude Code's `Warmup` prompt, a quota check
//! with `max_tokens` 1; see [`super::request::is_probe`]). The site's setting sends them upstream
//! (one attempt, never failing over through every key) or has Realms answer them itself with a
//! minimal, well-formed message at no cost. Either way a probe is one usage event marked as such.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use app::core::usage_log::TokenCounts;

use super::context::{Ctx, Outcome};
use super::error::REQUEST_ID_HEADER;
use super::{Relay, Reply};

/// The text of Realms' own answer to a probe.
pub const PROBE_ANSWER: &str = "OK";

/// Realms' own answer to a probe: a message (or its event stream) with one short text block and
/// no usage.
pub(super) fn answer(model: &str, stream: bool, request_id: &str) -> Response {
    let id = format!("msg_{request_id}");
    let usage = json!({ "input_tokens": 0, "output_tokens": 0 });
    let (content_type, body) = if stream {
        let events = [
            (
                "message_start",
                json!({ "type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": usage } }),
            ),
            (
                "content_block_start",
                json!({ "type": "content_block_start", "index": 0,
                "content_block": { "type": "text", "text": "" } }),
            ),
            (
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 0,
                "delta": { "type": "text_delta", "text": PROBE_ANSWER } }),
            ),
            (
                "content_block_stop",
                json!({ "type": "content_block_stop", "index": 0 }),
            ),
            (
                "message_delta",
                json!({ "type": "message_delta",
                "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                "usage": { "output_tokens": 0 } }),
            ),
            ("message_stop", json!({ "type": "message_stop" })),
        ];
        let text: String = events
            .iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect();
        ("text/event-stream", text)
    } else {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{ "type": "text", "text": PROBE_ANSWER }],
            "stop_reason": "end_turn", "stop_sequence": null, "usage": usage,
        });
        ("application/json", message.to_string())
    };
    let mut res = Response::new(Body::from(body));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, v);
    }
    res
}

impl Relay {
    /// Answers a probe here: nothing goes upstream and nothing is charged.
    pub(super) fn answer_probe(&self, ctx: &Ctx, reply: &mut Reply) -> Outcome {
        let delivered = reply.send(answer(ctx.model(), ctx.stream(), &ctx.who.request_id));
        Outcome {
            status: StatusCode::OK,
            error_class: (!delivered).then_some(super::context::ErrorClass::ClientDisconnected),
            tokens: TokenCounts::default(),
            estimated: false,
            disconnected: !delivered,
        }
    }
}
