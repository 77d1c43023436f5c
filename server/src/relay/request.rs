//! Reading a client request: only what routing needs (`model`, `stream`, `max_tokens`, the session in
//! `metadata.user_id`) is parsed; every other top-level field is kept as raw JSON text and written
//! back unchanged, in order. Only `model` is replaced.

use axum::http::HeaderMap;
use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::error::RelayError;

/// A parsed request body.
#[derive(Debug)]
pub struct ClientRequest {
    fields: IndexMap<String, Box<RawValue>>,
    pub model: String,
    pub stream: bool,
    pub max_tokens: Option<u64>,
    /// The `session_id` found in `metadata.user_id`, if any.
    pub metadata_session: Option<String>,
}

/// Parses a JSON object body. `model` must be a non-empty string.
pub fn parse(body: &[u8]) -> Result<ClientRequest, RelayError> {
    let fields: IndexMap<String, Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        RelayError::InvalidRequest(format!("The request body is not a valid JSON object: {e}."))
    })?;
    let model = match fields.get("model") {
        None => {
            return Err(RelayError::InvalidRequest(
                "The request has no model: add a \"model\" field, like \"claude-sonnet-4-5\"."
                    .into(),
            ))
        }
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(m) if !m.trim().is_empty() => m,
            _ => {
                return Err(RelayError::InvalidRequest(
                    "The \"model\" field must be a non-empty string.".into(),
                ))
            }
        },
    };
    let stream = fields
        .get("stream")
        .and_then(|raw| serde_json::from_str::<bool>(raw.get()).ok())
        .unwrap_or(false);
    let max_tokens = fields
        .get("max_tokens")
        .and_then(|raw| serde_json::from_str::<u64>(raw.get()).ok());
    let metadata_session = fields
        .get("metadata")
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .and_then(|m| {
            m.get("user_id")
                .and_then(|u| u.as_str().map(str::to_string))
        })
        .and_then(|u| session_from_user_id(&u));
    Ok(ClientRequest {
        fields,
        model,
        stream,
        max_tokens,
        metadata_session,
    })
}

impl ClientRequest {
    /// The body to send upstream: the same fields in the same order, `model` replaced.
    pub fn body_for(&self, upstream_model: &str) -> Bytes {
        let mut out = Vec::with_capacity(self.fields.values().map(|v| v.get().len() + 16).sum());
        out.push(b'{');
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            if key == "model" {
                let _ = serde_json::to_writer(&mut out, upstream_model);
            } else {
                out.extend_from_slice(value.get().as_bytes());
            }
        }
        out.push(b'}');
        Bytes::from(out)
    }
}

/// The session a request belongs to: `X-Claude-Code-Session-Id`, else the one in `metadata.user_id`.
pub fn session_id(headers: &HeaderMap, req: &ClientRequest) -> Option<String> {
    headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_string)
        .or_else(|| req.metadata_session.clone())
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
        let req = parse(body).unwrap();
        assert_eq!(req.model, "claude-x");
        assert!(req.stream);
        assert_eq!(req.max_tokens, Some(32000));
        let out = req.body_for("claude-x-20250929");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"claude-x-20250929","max_tokens":32000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"future_field":[1,2.50,{"a":null}],"system":[{"type":"text","text":"caf\u00e9 \"q\""}]}"#
        );
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
        ] {
            let err = parse(body).unwrap_err();
            assert!(matches!(err, RelayError::InvalidRequest(_)), "{body:?}");
        }
        assert!(parse(b"{}").unwrap_err().message().contains("no model"));
    }

    #[test]
    fn sessions_come_from_the_header_or_metadata() {
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
