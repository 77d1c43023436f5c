//! The channel test: one minimal real request per endpoint and key, reporting status, latency and a
//! short reason: the upstream's error type when it sent one in Anthropic's or OpenAI's shape, never
//! its free text (a test must not become a way to read what some host answers to a key). Hosts
//! that `egress` refuses are not contacted.

use crate::i18n::Msg;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::upstream_url::join;
use crate::types::{ChannelKind, ChannelTestResult};

pub const CHANNEL_TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer read to find its error type.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

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
pub async fn test_one(
    client: &reqwest::Client,
    kind: ChannelKind,
    base_url: &str,
    key: &str,
    hint: &str,
    model: &str,
) -> ChannelTestResult {
    let (path, body) = request_for(kind, model);
    let url = join(base_url, path);
    let refused = reqwest::Url::parse(&url)
        .map_err(|e| Msg::new("chtest-bad-url").arg("detail", e).say())
        .and_then(|u| super::egress::check_url(&u));
    let mut req = client
        .post(&url)
        .timeout(CHANNEL_TEST_TIMEOUT)
        .header("authorization", format!("Bearer {key}"))
        .json(&body);
    if kind == ChannelKind::Anthropic {
        req = req
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01");
    }
    let mut result = ChannelTestResult {
        endpoint: base_url.to_string(),
        credential: format!("••••{hint}"),
        model: model.to_string(),
        ok: false,
        status: None,
        latency_ms: 0,
        message: String::new(),
    };
    if let Err(why) = refused {
        result.message = why;
        return result;
    }
    let started = Instant::now();
    let outcome = req.send().await;
    match outcome {
        Err(e) => {
            result.latency_ms = elapsed_ms(started);
            result.message = describe_transport_error(&e);
        }
        Ok(mut res) => {
            let status = res.status();
            let mut answer = Vec::new();
            while answer.len() < MAX_ANSWER_BYTES {
                match res.chunk().await {
                    Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            result.latency_ms = elapsed_ms(started);
            result.status = Some(status.as_u16());
            result.ok = status.is_success();
            result.message = match (result.ok, upstream_error_type(&answer)) {
                (true, _) | (false, None) => Msg::new("chtest-answered"),
                (false, Some(kind)) => Msg::new("chtest-answered-kind").arg("kind", kind),
            }
            .arg("status", status.as_u16())
            .say();
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
        Msg::new("chtest-timeout")
            .arg("seconds", CHANNEL_TEST_TIMEOUT.as_secs())
            .say()
    } else if e.is_connect() {
        Msg::new("chtest-connect").say()
    } else {
        Msg::new("chtest-failed").arg("detail", e).say()
    }
}

/// The `error.type` (or `error.code`) of an Anthropic or OpenAI error body, when it is a short
/// identifier; nothing else of the answer is shown.
pub fn upstream_error_type(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let kind = v
        .pointer("/error/type")
        .or_else(|| v.pointer("/error/code"))
        .and_then(Value::as_str)?;
    let short = kind.len() <= 48
        && !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    short.then(|| kind.to_string())
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
    fn only_a_short_error_type_comes_back() {
        assert_eq!(
            upstream_error_type(
                br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            )
            .as_deref(),
            Some("authentication_error")
        );
        assert_eq!(
            upstream_error_type(
                br#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#
            )
            .as_deref(),
            Some("invalid_api_key")
        );
        for body in [
            &b"  Bad Gateway "[..],
            b"",
            br#"{"error":{"type":"<script>alert(1)</script>"}}"#,
            br#"{"error":{"type":"ami-id: i-0abc secret text that goes on and on and on"}}"#,
            br#"{"Code":"Success","AccessKeyId":"ASIA..."}"#,
        ] {
            assert_eq!(upstream_error_type(body), None, "{body:?}");
        }
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
