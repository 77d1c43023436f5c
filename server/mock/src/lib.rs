//! A mock upstream provider for tests, the channel Test button in end-to-end runs, and benchmarks:
//! Anthropic `POST /v1/messages` (JSON or SSE) and `count_tokens`, OpenAI `POST /v1/chat/completions`.
//!
//! It checks the API key against the accepted ones (when any are configured) and answers in each
//! provider's error shape. Faults are chosen by the requested model name, so a binding's upstream
//! model selects the behaviour:
//!
//! - `mock-status-<code>`: that status with a provider-shaped error body;
//! - `mock-retry-after-<secs>`: 429 with a `retry-after` header;
//! - `mock-slow-<ms>`: waits before the response headers;
//! - `mock-spaced-<ms>`: a stream whose events are that far apart;
//! - `mock-paced-<n>x<ms>`: a stream of `n` text deltas (and the events around them), each event
//!   `ms` after the one before (the benchmark's per-event delay);
//! - `mock-gated`: a stream that sends `message_start`, then waits until [`MockState::open_gate`];
//! - `mock-reset-mid`: a stream that breaks off (connection reset) after its first events (a whole
//!   answer: after its first bytes);
//! - `mock-stall`: a stream that sends its first events, then nothing, forever (a whole answer:
//!   its first bytes, then nothing);
//! - `mock-output-<n>`: reports `n` output tokens, whatever `max_tokens` allowed;
//! - `mock-stall-late`: a stream that sends its text, then nothing (no `message_delta`), forever;
//! - `mock-error-mid`: a stream that sends its text, then an `overloaded_error` event, and ends;
//! - `mock-error-200`: status 200 with an `overloaded_error` error body (JSON, stream asked or not);
//! - `mock-error-first`: a stream whose first event is an `overloaded_error` event;
//! - `mock-no-stop`: a stream that sends everything but its final `message_stop`, and ends;
//! - `mock-web-search-<n>`: reports `n` web searches (`server_tool_use.web_search_requests`);
//! - `mock-strict`: refuses (400) what some Anthropic-compatible providers refuse: the
//!   `context-1m-…`, `context-management-…` and `fine-grained-tool-streaming-…` betas and the
//!   top-level `context_management` and `metadata` fields;
//! - `mock-signed`: refuses (400, as Anthropic does) a request whose assistant turns carry a
//!   thinking block not signed by this mock (its signatures start with `mock-`).
//!
//! `count_tokens` answers `mock-retry-after-<secs>` with its 429 too.
//!
//! OpenAI's `/v1/chat/completions` and `/v1/responses` answer in OpenAI's shapes (streams too: a chat
//! stream sends its usage chunk only when `stream_options.include_usage` asks for it, never for
//! `mock-no-usage`) and take `mock-status-<code>`, `mock-retry-after-<secs>`, `mock-slow-<ms>`,
//! `mock-output-<n>`, `mock-error-200` and `mock-reset-mid` (streams) like the Anthropic endpoints.
//!
//! [`spawn_resetting`] serves a port that resets every connection before any response.
//! A mock made with [`MockState::new`] records every request for tests to inspect; the standalone
//! `realms-mock` binary ([`MockState::unrecorded`]) keeps nothing, so its memory stays flat under
//! a benchmark's load.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The text every successful answer carries.
pub const ANSWER: &str = "Hello from the mock upstream.";

/// One request as the mock saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone, Default)]
pub struct MockState {
    /// Accepted API keys; empty accepts any key.
    pub keys: Arc<Vec<String>>,
    pub seen: Arc<Mutex<Vec<Recorded>>>,
    /// Whether requests are kept in `seen`.
    recording: bool,
    gate: Arc<Notify>,
    /// Told when a request arrives (tests await it instead of sleeping).
    arrived: Arc<Notify>,
}

impl MockState {
    /// A mock that records every request.
    pub fn new(keys: Vec<String>) -> Self {
        MockState {
            keys: Arc::new(keys),
            recording: true,
            ..MockState::default()
        }
    }

    /// A mock that records nothing (no one could read the record of a standalone process).
    pub fn unrecorded(keys: Vec<String>) -> Self {
        MockState {
            keys: Arc::new(keys),
            ..MockState::default()
        }
    }

    /// Lets one waiting `mock-gated` stream go on.
    pub fn open_gate(&self) {
        self.gate.notify_one();
    }

    /// Waits for the next request to arrive.
    pub async fn next_request(&self) {
        self.arrived.notified().await;
    }

    /// Waits until `n` requests have arrived in all (a recording mock).
    pub async fn received(&self, n: usize) {
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.requests().len() >= n {
                return;
            }
            notified.await;
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn record(&self, uri: &Uri, headers: &HeaderMap, body: &Value) {
        self.arrived.notify_waiters();
        if !self.recording {
            return;
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(Recorded {
                path_and_query: uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                headers: headers.clone(),
                body: body.clone(),
            });
        }
    }

    fn key_ok(&self, presented: Option<&str>) -> bool {
        self.keys.is_empty() || presented.is_some_and(|k| self.keys.iter().any(|a| a == k))
    }
}

pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/responses", post(responses))
        .with_state(state)
}

/// Binds `addr` and serves until the task is dropped; returns the bound address.
pub async fn spawn(addr: SocketAddr, state: MockState) -> std::io::Result<SocketAddr> {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
    Ok(local)
}

fn anthropic_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "type": "error", "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

fn openai_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "message": message, "type": kind, "code": Value::Null } })),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "))
}

/// Serves `addr` by resetting every connection once its request has arrived, before any response.
pub async fn spawn_resetting(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                // A zero linger makes the close a reset and does not block.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                drop(socket);
            });
        }
    });
    Ok(local)
}

/// The number after `prefix` in a fault model name.
fn param(model: &str, prefix: &str) -> Option<u64> {
    model.strip_prefix(prefix).and_then(|n| n.parse().ok())
}

/// The output tokens the answer reports: 7, or what a `mock-output-<n>` model asks for (an upstream
/// reporting more than the request allowed).
fn reported_output(model: &str) -> u64 {
    param(model, "mock-output-").unwrap_or(7)
}

/// Anthropic's 429 with a `retry-after` of `secs`.
fn rate_limited(secs: u64, message: &str) -> Response {
    let mut res = anthropic_error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message);
    if let Ok(v) = secs.to_string().parse() {
        res.headers_mut().insert("retry-after", v);
    }
    res
}

/// The status a `mock-status-<code>` model asks for.
fn fault_status(model: &str) -> Option<StatusCode> {
    model
        .strip_prefix("mock-status-")
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
}

/// How a provider refuses: its error shape, and the type and message of a wrong key.
struct Refusal {
    error: fn(StatusCode, &str, &str) -> Response,
    bad_key: (&'static str, &'static str),
}

const ANTHROPIC: Refusal = Refusal {
    error: anthropic_error,
    bad_key: ("authentication_error", "invalid x-api-key"),
};

const OPENAI: Refusal = Refusal {
    error: openai_error,
    bad_key: ("invalid_request_error", "Incorrect API key provided."),
};

/// Reads and records a request and checks its key, refusing in the provider's shape.
fn accept(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    key: Option<&str>,
    refusal: &Refusal,
) -> Result<Value, Box<Response>> {
    let error = refusal.error;
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "The body is not JSON.",
        )));
    };
    state.record(uri, headers, &body);
    if !state.key_ok(key) {
        let (kind, message) = refusal.bad_key;
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, kind, message)));
    }
    Ok(body)
}

/// [`accept`] for Anthropic's API: the key comes in `x-api-key`.
fn accept_anthropic(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Box<Response>> {
    accept(
        state,
        uri,
        headers,
        body,
        header(headers, "x-api-key"),
        &ANTHROPIC,
    )
}

async fn messages(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match accept_anthropic(&state, &uri, &headers, &body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if let Some(status) = fault_status(&model) {
        let kind = if status.as_u16() == 529 {
            "overloaded_error"
        } else {
            "api_error"
        };
        return anthropic_error(status, kind, &format!("mock fault {status}"));
    }
    if let Some(secs) = param(&model, "mock-retry-after-") {
        return rate_limited(secs, "mock rate limit");
    }
    if model == "mock-error-200" {
        return anthropic_error(StatusCode::OK, "overloaded_error", "mock overload");
    }
    if model == "mock-strict" {
        if let Some(what) = strict_refusal(&headers, &body) {
            return anthropic_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("{what} is not supported"),
            );
        }
    }
    if model == "mock-signed" {
        if let Some(at) = foreign_signature(&body) {
            return anthropic_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("{at}: Invalid `signature` in `thinking` block"),
            );
        }
    }
    if let Some(ms) = param(&model, "mock-slow-") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut usage = json!({
        "input_tokens": 12,
        "output_tokens": reported_output(&model),
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 3,
        "cache_creation": { "ephemeral_5m_input_tokens": 2, "ephemeral_1h_input_tokens": 3 }
    });
    if let Some(n) = param(&model, "mock-web-search-") {
        usage["server_tool_use"] = json!({ "web_search_requests": n });
    }
    if body["stream"].as_bool() == Some(true) {
        return sse(&state, &model);
    }
    if model == "mock-reset-mid" || model == "mock-stall" {
        return broken_whole(model == "mock-stall");
    }
    Json(json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{ "type": "text", "text": ANSWER }],
        "stop_reason": "end_turn",
        "stop_sequence": Value::Null,
        "usage": usage
    }))
    .into_response()
}

/// What a strict Anthropic-compatible provider refuses in a request, if anything.
fn strict_refusal(headers: &HeaderMap, body: &Value) -> Option<String> {
    let betas = header(headers, "anthropic-beta").unwrap_or_default();
    for flag in betas.split(',').map(str::trim) {
        if [
            "context-1m",
            "context-management",
            "fine-grained-tool-streaming",
        ]
        .iter()
        .any(|p| flag.starts_with(p))
        {
            return Some(format!("anthropic-beta {flag}"));
        }
    }
    ["context_management", "metadata"]
        .into_iter()
        .find(|f| body.get(*f).is_some())
        .map(|f| format!("the field {f}"))
}

/// Where the first thinking block of an assistant turn that this mock did not sign sits
/// (`messages.<i>.content.<j>`).
fn foreign_signature(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    messages.iter().enumerate().find_map(|(i, m)| {
        if m["role"] != "assistant" {
            return None;
        }
        m["content"]
            .as_array()?
            .iter()
            .enumerate()
            .find_map(|(j, b)| {
                let thinking = matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking"));
                let ours = b["signature"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("mock-"));
                (thinking && !ours).then(|| format!("messages.{i}.content.{j}"))
            })
    })
}

/// A whole answer that sends its first bytes and then breaks off (or, `stall`, sends nothing more).
fn broken_whole(stall: bool) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let _ = tx
            .send(Ok(Bytes::from_static(
                br#"{"id":"msg_mock","type":"message","#,
            )))
            .await;
        // Give the server a moment to read the first bytes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if stall {
            tx.closed().await;
        } else {
            let _ = tx
                .send(Err(std::io::Error::other("mock reset mid-answer")))
                .await;
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([("content-type", "application/json")], body).into_response()
}

/// The events of a complete Anthropic stream with the answer and usage.
pub fn sse_events(model: &str) -> Vec<String> {
    let events = [
        (
            "message_start",
            json!({ "type": "message_start", "message": {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": Value::Null, "stop_sequence": Value::Null,
                "usage": { "input_tokens": 12, "output_tokens": 1,
                           "cache_creation_input_tokens": 5, "cache_read_input_tokens": 3,
                           "cache_creation": { "ephemeral_5m_input_tokens": 2,
                                               "ephemeral_1h_input_tokens": 3 } } } }),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" } }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": ANSWER } }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        (
            "message_delta",
            json!({ "type": "message_delta",
                    "delta": { "stop_reason": "end_turn", "stop_sequence": Value::Null },
                    "usage": match param(model, "mock-web-search-") {
                        Some(n) => json!({ "output_tokens": reported_output(model),
                                           "server_tool_use": { "web_search_requests": n } }),
                        None => json!({ "output_tokens": reported_output(model) }),
                    } }),
        ),
        ("message_stop", json!({ "type": "message_stop" })),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

/// `mock-paced-<n>x<ms>`: how many text deltas, and the time between events.
fn paced(model: &str) -> Option<(usize, Duration)> {
    let (n, ms) = model.strip_prefix("mock-paced-")?.split_once('x')?;
    Some((n.parse().ok()?, Duration::from_millis(ms.parse().ok()?)))
}

/// The usual events with the one text delta repeated `deltas` times.
fn paced_events(model: &str, deltas: usize) -> Vec<String> {
    let mut events = sse_events(model);
    let delta = events.remove(2);
    let tail = events.split_off(2);
    events.extend(std::iter::repeat_n(delta, deltas));
    events.extend(tail);
    events
}

/// An Anthropic event stream, shaped by the fault the model name asks for.
fn sse(state: &MockState, model: &str) -> Response {
    let (events, spacing) = match paced(model) {
        Some((deltas, spacing)) => (paced_events(model, deltas), Some(spacing)),
        None => (
            sse_events(model),
            param(model, "mock-spaced-").map(Duration::from_millis),
        ),
    };
    let gated = model == "mock-gated";
    let reset_mid = model == "mock-reset-mid";
    let stall = model == "mock-stall";
    let stall_late = model == "mock-stall-late";
    let error_mid = model == "mock-error-mid";
    let mut events = events;
    if model == "mock-no-stop" {
        events.pop();
    }
    if model == "mock-error-first" {
        let error = json!({ "type": "error",
            "error": { "type": "overloaded_error", "message": "mock overload" } });
        events = vec![format!("event: error\ndata: {error}\n\n")];
    }
    let gate = state.gate.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        // Events keep to a schedule from the first (no drift from one sleep to the next).
        let start = tokio::time::Instant::now();
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 {
                if let Some(d) = spacing {
                    let due = d.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
                    tokio::time::sleep_until(start + due).await;
                }
                if gated && i == 1 {
                    gate.notified().await;
                }
                if reset_mid && i == 3 {
                    // Give the server a moment to put the first events on the wire, then break.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = tx
                        .send(Err(std::io::Error::other("mock reset mid-stream")))
                        .await;
                    return;
                }
                if stall && i == 2 {
                    std::future::pending::<()>().await;
                }
                if stall_late && i == 4 {
                    std::future::pending::<()>().await;
                }
                if error_mid && i == 3 {
                    let error = json!({ "type": "error",
                        "error": { "type": "overloaded_error", "message": "mock overload" } });
                    let _ = tx
                        .send(Ok(Bytes::from(format!("event: error\ndata: {error}\n\n"))))
                        .await;
                    return;
                }
            }
            if tx.send(Ok(Bytes::from(event))).await.is_err() {
                return;
            }
        }
    });
    sse_response(rx)
}

async fn count_tokens(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match accept_anthropic(&state, &uri, &headers, &body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    let model = body["model"].as_str().unwrap_or_default();
    if let Some(secs) = param(model, "mock-retry-after-") {
        return rate_limited(secs, "mock count_tokens rate limit");
    }
    Json(json!({ "input_tokens": 12 })).into_response()
}

/// OpenAI's usage of a chat completion: 12 prompt tokens of which 4 cached, 7 (or what
/// `mock-output-<n>` asks for) completion tokens of which 2 reasoning.
fn chat_usage(model: &str) -> Value {
    let output = reported_output(model);
    json!({ "prompt_tokens": 12, "completion_tokens": output, "total_tokens": 12 + output,
            "prompt_tokens_details": { "cached_tokens": 4 },
            "completion_tokens_details": { "reasoning_tokens": 2 } })
}

/// The faults every OpenAI endpoint of the mock answers before its real work, in OpenAI's shape.
async fn openai_fault(model: &str) -> Option<Response> {
    if let Some(status) = fault_status(model) {
        return Some(openai_error(
            status,
            "server_error",
            &format!("mock fault {status}"),
        ));
    }
    if let Some(secs) = param(model, "mock-retry-after-") {
        let mut res = openai_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "mock rate limit",
        );
        if let Ok(v) = secs.to_string().parse() {
            res.headers_mut().insert("retry-after", v);
        }
        return Some(res);
    }
    if model == "mock-error-200" {
        return Some(openai_error(
            StatusCode::OK,
            "server_error",
            "mock error with a success status",
        ));
    }
    if let Some(ms) = param(model, "mock-slow-") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    None
}

/// [`accept`] for OpenAI's APIs (the key comes as a Bearer token), then the faults the model asks
/// for; the body and its model.
async fn accept_openai(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Value, String), Box<Response>> {
    let body = accept(state, uri, headers, body, bearer(headers), &OPENAI)?;
    let model = body["model"].as_str().unwrap_or_default().to_string();
    match openai_fault(&model).await {
        Some(fault) => Err(Box::new(fault)),
        None => Ok((body, model)),
    }
}

async fn chat_completions(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, model) = match accept_openai(&state, &uri, &headers, &body).await {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    if body["stream"].as_bool() == Some(true) {
        let include_usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
        return event_stream(
            chat_events(&model, include_usage),
            model == "mock-reset-mid",
        );
    }
    Json(json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{ "index": 0, "finish_reason": "stop", "logprobs": Value::Null,
                      "message": { "role": "assistant", "content": ANSWER, "refusal": Value::Null } }],
        "usage": chat_usage(&model)
    }))
    .into_response()
}

/// The chunks of a chat completion stream: the role, the answer in two pieces, the finish, then —
/// when asked for, and unless the model is `mock-no-usage` (an upstream that ignores the option) —
/// the usage chunk, and `[DONE]`. Asked for usage, every other chunk carries `"usage": null`, as
/// OpenAI's do.
pub fn chat_events(model: &str, include_usage: bool) -> Vec<String> {
    let usage = include_usage && model != "mock-no-usage";
    let (first, rest) = ANSWER.split_at(ANSWER.len() / 2);
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({ "id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] });
        if usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let mut chunks = vec![
        chunk(json!({ "role": "assistant", "content": "" }), Value::Null),
        chunk(json!({ "content": first }), Value::Null),
        chunk(json!({ "content": rest }), Value::Null),
        chunk(json!({}), json!("stop")),
    ];
    if usage {
        chunks.push(
            json!({ "id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "choices": [], "usage": chat_usage(model) }),
        );
    }
    let mut out: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    out.push("data: [DONE]\n\n".into());
    out
}

/// The response object of `/v1/responses`: the answer as one output message, with usage (12 input
/// tokens of which 4 cached, 7 output of which 2 reasoning).
fn response_object(model: &str, status: &str) -> Value {
    let output = reported_output(model);
    json!({
        "id": "resp_mock", "object": "response", "created_at": 1_700_000_000, "status": status,
        "model": model,
        "output": [{ "type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                     "content": [{ "type": "output_text", "text": ANSWER, "annotations": [] }] }],
        "usage": { "input_tokens": 12, "input_tokens_details": { "cached_tokens": 4 },
                   "output_tokens": output, "output_tokens_details": { "reasoning_tokens": 2 },
                   "total_tokens": 12 + output }
    })
}

async fn responses(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, model) = match accept_openai(&state, &uri, &headers, &body).await {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    if body["stream"].as_bool() == Some(true) {
        return event_stream(response_events(&model), model == "mock-reset-mid");
    }
    Json(response_object(&model, "completed")).into_response()
}

/// The events of a responses stream: created, the answer's text deltas, done, completed (with the
/// usage).
pub fn response_events(model: &str) -> Vec<String> {
    let mut created = response_object(model, "in_progress");
    created["output"] = json!([]);
    created["usage"] = Value::Null;
    let (first, rest) = ANSWER.split_at(ANSWER.len() / 2);
    let events = [
        (
            "response.created",
            json!({ "type": "response.created", "response": created }),
        ),
        (
            "response.output_text.delta",
            json!({ "type": "response.output_text.delta",
            "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": first }),
        ),
        (
            "response.output_text.delta",
            json!({ "type": "response.output_text.delta",
            "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": rest }),
        ),
        (
            "response.output_text.done",
            json!({ "type": "response.output_text.done",
            "item_id": "msg_mock", "output_index": 0, "content_index": 0, "text": ANSWER }),
        ),
        (
            "response.completed",
            json!({ "type": "response.completed",
            "response": response_object(model, "completed") }),
        ),
    ];
    events
        .iter()
        .enumerate()
        .map(|(n, (name, data))| {
            let mut data = data.clone();
            data["sequence_number"] = json!(n);
            format!("event: {name}\ndata: {data}\n\n")
        })
        .collect()
}

/// An event-stream response of what `rx` receives.
fn sse_response(rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response {
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    (
        [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// An event stream of `events`; with `reset_mid` it breaks off after the first two.
fn event_stream(events: Vec<String>, reset_mid: bool) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        for (i, event) in events.into_iter().enumerate() {
            if reset_mid && i == 2 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tx
                    .send(Err(std::io::Error::other("mock reset mid-stream")))
                    .await;
                return;
            }
            if tx.send(Ok(Bytes::from(event))).await.is_err() {
                return;
            }
        }
    });
    sse_response(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends one request to a mock holding `state`; returns the status.
    async fn one_request(state: MockState) -> u16 {
        let addr = spawn(([127, 0, 0, 1], 0).into(), state)
            .await
            .expect("the mock listens");
        reqwest::Client::new()
            .post(format!("http://{addr}/v1/messages"))
            .header("x-api-key", "k")
            .body(r#"{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#)
            .send()
            .await
            .expect("the mock answers")
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn a_recording_mock_keeps_each_request_and_an_unrecorded_one_keeps_none() {
        let recorded = MockState::new(vec!["k".into()]);
        assert_eq!(one_request(recorded.clone()).await, 200);
        assert_eq!(recorded.requests().len(), 1);
        assert_eq!(recorded.requests()[0].body["model"], "claude-x");

        let unrecorded = MockState::unrecorded(vec!["k".into()]);
        assert_eq!(one_request(unrecorded.clone()).await, 200);
        assert!(unrecorded.requests().is_empty());
    }

    #[test]
    fn a_paced_stream_carries_its_deltas_between_the_usual_events() {
        assert_eq!(
            paced("mock-paced-64x20"),
            Some((64, Duration::from_millis(20)))
        );
        assert_eq!(paced("mock-paced-64"), None);
        let events = paced_events("mock-paced-3x1", 3);
        let names: Vec<&str> = events
            .iter()
            .map(|e| e.lines().next().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "event: message_start",
                "event: content_block_start",
                "event: content_block_delta",
                "event: content_block_delta",
                "event: content_block_delta",
                "event: content_block_stop",
                "event: message_delta",
                "event: message_stop",
            ]
        );
    }
}
