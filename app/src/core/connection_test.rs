//! The console's connection test: one real, small `POST /v1/messages` (streamed, as Claude Code
//! sends it) through this instance's own data plane on its local address, with the token and model
//! the user chose. It is a request like any other: authenticated, limited, routed, billed and in the
//! usage log. The outcome carries the answer, the time to its first byte and in total, the cost the
//! usage log recorded and, on failure, a diagnosis.

use crate::i18n::Msg;
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::state::AppState;
use super::usage_log;
use crate::claude_code::{diagnose, ERROR_CLASS_HEADER, REQUEST_ID_HEADER};
use crate::types::ConnectionTest;

/// What the test asks for: a one-word answer, within a few tokens.
const PROMPT: &str = "Reply with one word: ready";
const MAX_TOKENS: u32 = 16;
/// How much of an error body is read, and of its message shown.
const MAX_ERROR_BODY: usize = 64 * 1024;
const MAX_MESSAGE: usize = 300;
/// The usage event is written off the request path, within a batch's linger; it is looked for
/// this long before the outcome goes without its cost.
const COST_WAIT: Duration = Duration::from_secs(3);

/// Runs the test for `user_id` (the console's user; the token may be any token they hold).
pub async fn run(
    state: &AppState,
    user_id: i64,
    is_admin: bool,
    token: &str,
    model: &str,
) -> Result<ConnectionTest, String> {
    let local = state
        .address
        .local_url()
        .ok_or_else(|| Msg::new("conntest-no-address").say())?;
    let body = serde_json::json!({
        "model": model,
        "max_tokens": MAX_TOKENS,
        "stream": true,
        "messages": [{ "role": "user", "content": PROMPT }],
    });
    let started = Instant::now();
    let res = state
        .loopback
        .post(format!("{local}/v1/messages"))
        .bearer_auth(token)
        .header("anthropic-version", "2023-06-01")
        .header("user-agent", "realms-console-connection-test")
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            Msg::new("conntest-unreachable")
                .arg("address", local)
                .arg("detail", e)
                .say()
        })?;
    let mut out = ConnectionTest {
        model: model.to_string(),
        status: res.status().as_u16(),
        request_id: header(&res, REQUEST_ID_HEADER),
        ..ConnectionTest::default()
    };
    let class = header(&res, ERROR_CLASS_HEADER);
    if res.status().is_success() {
        read_stream(res, started, &mut out).await;
    } else {
        let message = read_error(res).await;
        out.ttfb_ms = elapsed_ms(started);
        out.error = Some(message);
    }
    out.total_ms = elapsed_ms(started);
    if let Some(message) = &out.error {
        // An error event inside a stream came from the upstream, after the answer had begun.
        let status = if out.status < 300 { 502 } else { out.status };
        out.diagnosis = Some(diagnose(status, class.as_deref(), message, is_admin));
    }
    if let Some(id) = out.request_id.clone() {
        out.cost = stored_cost(state, user_id, &id).await;
    }
    Ok(out)
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Reads the answer's events: the text, the token counts, an in-stream error.
async fn read_stream(res: reqwest::Response, started: Instant, out: &mut ConnectionTest) {
    let mut events = res.bytes_stream().eventsource();
    let mut first = true;
    while let Some(event) = events.next().await {
        if first {
            out.ttfb_ms = elapsed_ms(started);
            first = false;
        }
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                out.error = Some(shorten(
                    &Msg::new("conntest-broke-off").arg("detail", e).say(),
                ));
                return;
            }
        };
        let Ok(data) = serde_json::from_str::<serde_json::Value>(&event.data) else {
            continue;
        };
        match data["type"].as_str() {
            Some("message_start") => {
                let usage = &data["message"]["usage"];
                out.input_tokens = usage["input_tokens"].as_u64().unwrap_or(0)
                    + usage["cache_creation_input_tokens"].as_u64().unwrap_or(0)
                    + usage["cache_read_input_tokens"].as_u64().unwrap_or(0);
                out.output_tokens = usage["output_tokens"].as_u64().unwrap_or(0);
            }
            Some("content_block_delta") => {
                if let Some(text) = data["delta"]["text"].as_str() {
                    out.answer.push_str(text);
                }
            }
            Some("message_delta") => {
                if let Some(n) = data["usage"]["output_tokens"].as_u64() {
                    out.output_tokens = n;
                }
            }
            Some("error") => {
                let message = data["error"]["message"].as_str().unwrap_or("unknown error");
                out.error = Some(shorten(message));
                return;
            }
            _ => {}
        }
    }
}

/// The message of an error answer (Anthropic's shape), or the start of its body.
async fn read_error(mut res: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["message"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.trim().to_string());
    if message.is_empty() {
        return Msg::new("conntest-no-message").say();
    }
    shorten(&message)
}

/// At most [`MAX_MESSAGE`] characters, control characters dropped.
fn shorten(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= MAX_MESSAGE {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    cut
}

/// The cost the usage log recorded for the request, once the writer has stored it.
async fn stored_cost(state: &AppState, user_id: i64, request_id: &str) -> Option<i64> {
    let until = Instant::now() + COST_WAIT;
    loop {
        match usage_log::cost_of(&state.db, user_id, request_id).await {
            Ok(Some(cost)) => return Some(cost),
            Ok(None) if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the connection test's cost");
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn messages_are_shortened_and_cleaned() {
        assert_eq!(shorten("a\nb\tc"), "abc");
        let long = "x".repeat(1000);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), 301);
        assert!(s.ends_with('…'));
    }
}
