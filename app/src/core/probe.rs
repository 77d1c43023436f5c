//! The channel test: one minimal real request per endpoint and key, reporting status, latency and the
//! upstream's own error text. The key is never part of the report, even when an upstream echoes it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::upstream_url::join;
use crate::model::{ChannelKind, ProbeResult};

pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_MESSAGE_LEN: usize = 400;

/// The path and body of the smallest useful request of each channel type.
pub fn request_for(kind: ChannelKind, model: &str) -> (&'static str, Value) {
    let messages = json!([{ "role": "user", "content": "ping" }]);
    match kind {
        ChannelKind::Anthropic => (
            "/v1/messages",
            json!({ "model": model, "max_tokens": 1, "messages": messages }),
        ),
        ChannelKind::Openai => (
            "/v1/chat/completions",
            json!({ "model": model, "max_tokens": 1, "messages": messages }),
        ),
    }
}

/// Sends the test request to `base_url` with `key` and describes the outcome.
pub async fn probe(
    client: &reqwest::Client,
    kind: ChannelKind,
    base_url: &str,
    key: &str,
    hint: &str,
    model: &str,
) -> ProbeResult {
    let (path, body) = request_for(kind, model);
    let url = join(base_url, path);
    let mut req = client
        .post(&url)
        .timeout(PROBE_TIMEOUT)
        .header("authorization", format!("Bearer {key}"))
        .json(&body);
    if kind == ChannelKind::Anthropic {
        req = req
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01");
    }
    let started = Instant::now();
    let outcome = req.send().await;
    let mut result = ProbeResult {
        endpoint: base_url.to_string(),
        credential: format!("••••{hint}"),
        model: model.to_string(),
        ok: false,
        status: None,
        latency_ms: 0,
        message: String::new(),
    };
    match outcome {
        Err(e) => {
            result.latency_ms = elapsed_ms(started);
            result.message = describe_transport_error(&e);
        }
        Ok(res) => {
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            result.latency_ms = elapsed_ms(started);
            result.status = Some(status.as_u16());
            result.ok = status.is_success();
            result.message = if result.ok {
                format!("The upstream answered {}.", status.as_u16())
            } else {
                upstream_error_text(&text)
            };
        }
    }
    result.message = redact(&result.message, key);
    result
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("No answer within {} seconds.", PROBE_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "Could not connect to the upstream (check the base URL and that it is reachable from this server).".into()
    } else {
        format!("The request failed: {e}")
    }
}

/// The error text of an upstream answer: the `message` of an Anthropic or OpenAI error body when
/// there is one, else the start of the body.
pub fn upstream_error_text(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    if text.is_empty() {
        return "The upstream sent no error text.".into();
    }
    truncate(&text, MAX_MESSAGE_LEN)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Replaces every occurrence of the key (and of its longer prefixes) with a mask.
pub fn redact(text: &str, key: &str) -> String {
    if key.len() < 8 {
        return text.replace(key, "••••");
    }
    let mut out = text.replace(key, "••••");
    // Upstreams sometimes echo a shortened key ("sk-ant-api03-AbC…xyz").
    let prefix: String = key.chars().take(12).collect();
    if prefix.chars().count() >= 12 {
        out = out.replace(&prefix, "••••");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_comes_from_either_error_shape() {
        assert_eq!(
            upstream_error_text(
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            ),
            "invalid x-api-key"
        );
        assert_eq!(
            upstream_error_text(
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#
            ),
            "Incorrect API key provided"
        );
        assert_eq!(upstream_error_text("  Bad Gateway "), "Bad Gateway");
        assert_eq!(upstream_error_text(""), "The upstream sent no error text.");
        assert!(upstream_error_text(&"x".repeat(1000)).ends_with('…'));
    }

    #[test]
    fn keys_are_redacted_from_messages() {
        let key = "sk-ant-api03-ABCDEFGHIJKLMNOP";
        let msg = format!("invalid key {key} and sk-ant-api03-ABC…NOP");
        let out = redact(&msg, key);
        assert!(!out.contains("ABCDEFGHIJ"), "{out}");
        assert!(!out.contains("sk-ant-api03-A"), "{out}");
    }

    #[test]
    fn requests_are_minimal() {
        let (path, body) = request_for(ChannelKind::Anthropic, "claude-x");
        assert_eq!(path, "/v1/messages");
        assert_eq!(body["max_tokens"], 1);
        assert_eq!(body["model"], "claude-x");
        let (path, _) = request_for(ChannelKind::Openai, "gpt-x");
        assert_eq!(path, "/v1/chat/completions");
    }
}
