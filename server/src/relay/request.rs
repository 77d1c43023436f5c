//! Reading a client request: only what routing needs (`model`, `stream`, `max_tokens`, the session in
//! `metadata.user_id`) is parsed, in one pass over the body without copying it; every other field is
//! skipped. The body goes upstream byte for byte as the client sent it, with only the `model` value
//! replaced.

use std::ops::Range;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::error::RelayError;

/// The longest model id a request may name (the usage log stores no more).
pub use app::core::usage_log::MAX_MODEL_CHARS;

/// The largest `max_tokens` accepted: above every model's output limit, so it refuses only nonsense
/// (and keeps the balance hold of a request finite).
pub const MAX_TOKENS_ACCEPTED: u64 = 1_000_000;

/// A parsed request body.
#[derive(Debug)]
pub struct ClientRequest {
    body: Bytes,
    /// Where the `model` value (with its quotes) sits in `body`.
    model_at: Range<usize>,
    pub model: String,
    pub stream: bool,
    pub max_tokens: Option<u64>,
    /// The `session_id` found in `metadata.user_id`, if any.
    pub metadata_session: Option<String>,
}

/// The top-level fields routing reads, borrowed from the body.
#[derive(Default)]
struct Fields<'a> {
    model: Option<&'a RawValue>,
    models: usize,
    stream: Option<&'a RawValue>,
    max_tokens: Option<&'a RawValue>,
    metadata: Option<&'a RawValue>,
}

enum Key {
    Model,
    Stream,
    MaxTokens,
    Metadata,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "model" => Key::Model,
                    "stream" => Key::Stream,
                    "max_tokens" => Key::MaxTokens,
                    "metadata" => Key::Metadata,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(Name)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Fields::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let slot = match key {
                        Key::Model => {
                            fields.models += 1;
                            &mut fields.model
                        }
                        Key::Stream => &mut fields.stream,
                        Key::MaxTokens => &mut fields.max_tokens,
                        Key::Metadata => &mut fields.metadata,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(fields)
            }
        }
        d.deserialize_map(Object)
    }
}

/// Parses a JSON object body. `model` must be a non-empty string, given once.
pub fn parse(body: &Bytes) -> Result<ClientRequest, RelayError> {
    let fields: Fields = serde_json::from_slice(body).map_err(|e| {
        RelayError::InvalidRequest(format!("The request body is not a valid JSON object: {e}."))
    })?;
    let raw_model = match (fields.model, fields.models) {
        (None, _) => {
            return Err(RelayError::InvalidRequest(
                "The request has no model: add a \"model\" field, like \"claude-sonnet-4-5\"."
                    .into(),
            ))
        }
        (Some(_), 2..) => {
            return Err(RelayError::InvalidRequest(
                "The request has more than one \"model\" field.".into(),
            ))
        }
        (Some(raw), _) => raw,
    };
    let model = match serde_json::from_str::<String>(raw_model.get()) {
        Ok(m) if !m.trim().is_empty() => m,
        _ => {
            return Err(RelayError::InvalidRequest(
                "The \"model\" field must be a non-empty string.".into(),
            ))
        }
    };
    if model.chars().count() > MAX_MODEL_CHARS || model.chars().any(char::is_control) {
        return Err(RelayError::InvalidRequest(format!(
            "The \"model\" field must be a model id of at most {MAX_MODEL_CHARS} characters, without control characters."
        )));
    }
    // The raw value borrows from the body: its offset there is the distance between the two.
    let start = (raw_model.get().as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let model_at = start..start + raw_model.get().len();
    if body.get(model_at.clone()) != Some(raw_model.get().as_bytes()) {
        return Err(RelayError::Internal(
            "Realms could not place the model in the request body.".into(),
        ));
    }
    let stream = match fields.stream {
        None => false,
        Some(raw) => serde_json::from_str::<Option<bool>>(raw.get())
            .map_err(|_| {
                RelayError::InvalidRequest("The \"stream\" field must be true or false.".into())
            })?
            .unwrap_or(false),
    };
    let max_tokens = match fields.max_tokens {
        None => None,
        Some(raw) => match serde_json::from_str::<u64>(raw.get()) {
            Ok(n) if (1..=MAX_TOKENS_ACCEPTED).contains(&n) => Some(n),
            _ => {
                return Err(RelayError::InvalidRequest(format!(
                "The \"max_tokens\" field must be a whole number from 1 to {MAX_TOKENS_ACCEPTED}."
            )))
            }
        },
    };
    let metadata_session = fields
        .metadata
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .and_then(|m| {
            m.get("user_id")
                .and_then(|u| u.as_str().map(str::to_string))
        })
        .and_then(|u| session_from_user_id(&u));
    Ok(ClientRequest {
        body: body.clone(),
        model_at,
        model,
        stream,
        max_tokens,
        metadata_session,
    })
}

impl ClientRequest {
    /// The body to send upstream: the client's bytes with the `model` value replaced (the same
    /// bytes, not copied, when the upstream name is the same).
    pub fn body_for(&self, upstream_model: &str) -> Bytes {
        if upstream_model == self.model {
            return self.body.clone();
        }
        let mut out = Vec::with_capacity(self.body.len() + upstream_model.len() + 2);
        out.extend_from_slice(&self.body[..self.model_at.start]);
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, upstream_model);
        out.extend_from_slice(&self.body[self.model_at.end..]);
        Bytes::from(out)
    }
}

/// Input tokens allowed for in a request's hold for each document or image given by URL (the upstream
/// fetches it: a long PDF runs to about this), and for each server tool it declares (web search,
/// web fetch, code execution: their results come back as input).
pub const EXTRA_INPUT_TOKENS_EACH: u64 = 100_000;

/// Input the upstream will read beyond the body's own bytes: content blocks whose `source` is a
/// URL, and declared server tools. Found by a scan of the raw body for those JSON values (a quoted
/// value can only stand unescaped in the JSON structure, never inside a string).
pub fn extra_input_tokens(body: &[u8]) -> u64 {
    let mut n: u64 = 0;
    for value in [
        &b"\"url\""[..],
        b"\"web_search_",
        b"\"web_fetch_",
        b"\"code_execution_",
    ] {
        for at in memchr::memmem::find_iter(body, value) {
            if follows_type_key(&body[..at]) {
                n += 1;
            }
        }
    }
    n.saturating_mul(EXTRA_INPUT_TOKENS_EACH)
}

/// True when `before` ends with `"type"` and a colon (spacing allowed).
fn follows_type_key(before: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    let Some(rest) = trimmed.strip_suffix(b":") else {
        return false;
    };
    rest.trim_ascii_end().ends_with(b"\"type\"")
}

/// The session a request belongs to: `X-Claude-Code-Session-Id`, else the one in `metadata.user_id`.
pub fn session_id(headers: &HeaderMap, req: &ClientRequest) -> Option<String> {
    headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_string)
        .or_else(|| req.metadata_session.clone().filter(|s| s.len() <= 200))
}

/// Claude Code's `metadata.user_id` is a JSON string holding `session_id` (older versions wrote
/// `user_<hash>_account_<uuid>_session_<uuid>`).
fn session_from_user_id(user_id: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(user_id) {
        return v
            .get("session_id")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    user_id
        .rsplit_once("_session_")
        .map(|(_, s)| s.to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_model_is_rewritten_and_everything_else_kept_in_order() {
        let body = br#"{"model":"claude-x","max_tokens":32000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"future_field":[1,2.50,{"a":null}],"system":[{"type":"text","text":"caf\u00e9 \"q\""}]}"#;
        let req = parse(&Bytes::from_static(body)).unwrap();
        assert_eq!(req.model, "claude-x");
        assert!(req.stream);
        assert_eq!(req.max_tokens, Some(32000));
        let out = req.body_for("claude-x-20250929");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"claude-x-20250929","max_tokens":32000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"future_field":[1,2.50,{"a":null}],"system":[{"type":"text","text":"caf\u00e9 \"q\""}]}"#
        );
        assert_eq!(req.body_for("claude-x"), &body[..]);
    }

    #[test]
    fn the_body_keeps_its_spacing_and_escapes_with_only_the_model_value_replaced() {
        let body = b" {\n  \"max_tokens\" : 5,\n  \"mod\\u0065l\" :\t\"claude-\\u0078\" ,\"messages\":[{\"model\":\"inner\"}]\n} ";
        let req = parse(&Bytes::from_static(body)).unwrap();
        assert_eq!(req.model, "claude-x");
        assert_eq!(req.max_tokens, Some(5));
        assert_eq!(
            std::str::from_utf8(&req.body_for("up \"1\"")).unwrap(),
            " {\n  \"max_tokens\" : 5,\n  \"mod\\u0065l\" :\t\"up \\\"1\\\"\" ,\"messages\":[{\"model\":\"inner\"}]\n} "
        );
    }

    #[test]
    fn documents_by_url_and_server_tools_are_allowed_for() {
        let each = EXTRA_INPUT_TOKENS_EACH;
        let body = br#"{"messages":[{"role":"user","content":[
            {"type":"document","source":{"type":"url","url":"https://x/a.pdf"}},
            {"type":"image","source":{"type" : "url", "url":"https://x/b.png"}},
            {"type":"text","text":"the JSON {\"type\":\"url\"} in a string counts for nothing"}]}],
          "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5},
                   {"name":"get_weather","input_schema":{"type":"object"}}]}"#;
        assert_eq!(extra_input_tokens(body), 3 * each);
        assert_eq!(extra_input_tokens(br#"{"model":"m","url":"x"}"#), 0);
    }

    #[test]
    fn bad_bodies_are_invalid_requests() {
        for body in [
            &b"not json"[..],
            b"[1,2]",
            b"{}",
            br#"{"model":""}"#,
            br#"{"model":7}"#,
            b"",
            br#"{"model":"a","stream":true,"model":"b"}"#,
            br#"{"model":"claude\u0000x"}"#,
            br#"{"model":"line\nbreak"}"#,
            br#"{"model":"m","max_tokens":"4096"}"#,
            br#"{"model":"m","max_tokens":-1}"#,
            br#"{"model":"m","max_tokens":0}"#,
            br#"{"model":"m","max_tokens":1.5}"#,
            br#"{"model":"m","max_tokens":1000001}"#,
            br#"{"model":"m","max_tokens":null}"#,
            br#"{"model":"m","stream":"yes"}"#,
        ] {
            let err = parse(&Bytes::from_static(body)).unwrap_err();
            assert!(matches!(err, RelayError::InvalidRequest(_)), "{body:?}");
        }
        let long = format!(r#"{{"model":"{}"}}"#, "m".repeat(MAX_MODEL_CHARS + 1));
        assert!(parse(&Bytes::from(long)).is_err());
        let longest = format!(r#"{{"model":"{}"}}"#, "é".repeat(MAX_MODEL_CHARS));
        assert!(parse(&Bytes::from(longest)).is_ok());
        let ok = parse(&Bytes::from_static(
            br#"{"model":"m","max_tokens":64000,"stream":null}"#,
        ))
        .unwrap();
        assert_eq!((ok.max_tokens, ok.stream), (Some(64000), false));
        let parse = |b: &'static [u8]| parse(&Bytes::from_static(b));
        assert!(parse(b"{}").unwrap_err().message().contains("no model"));
        assert!(parse(br#"{"model":"a","model":"b"}"#)
            .unwrap_err()
            .message()
            .contains("more than one"));
    }

    #[test]
    fn sessions_come_from_the_header_or_metadata() {
        let parse = |b: &'static [u8]| parse(&Bytes::from_static(b));
        let body = br#"{"model":"m","metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s-json\"}"}}"#;
        let req = parse(body).unwrap();
        assert_eq!(
            session_id(&HeaderMap::new(), &req).as_deref(),
            Some("s-json")
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-claude-code-session-id", "s-header".parse().unwrap());
        assert_eq!(session_id(&headers, &req).as_deref(), Some("s-header"));

        let legacy =
            br#"{"model":"m","metadata":{"user_id":"user_abc_account_123_session_s-legacy"}}"#;
        assert_eq!(
            parse(legacy).unwrap().metadata_session.as_deref(),
            Some("s-legacy")
        );
        assert_eq!(parse(br#"{"model":"m"}"#).unwrap().metadata_session, None);
    }
}
