//! Reading a client request: only what routing and billing need (`model`, `stream`, the output
//! limit — `max_tokens`, or OpenAI's `max_completion_tokens` / `max_output_tokens` —, the session in
//! `metadata.user_id`, and a chat stream's `stream_options`) is parsed, in one pass over the body
//! without copying it; every other field is skipped. The body goes upstream byte for byte as the
//! client sent it, with only the `model` value replaced (and, for a chat stream whose client did not
//! ask for usage, `stream_options.include_usage` set so that Realms can bill it).

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
    /// OpenAI chat's `max_completion_tokens`.
    pub max_completion_tokens: Option<u64>,
    /// OpenAI responses' `max_output_tokens`.
    pub max_output_tokens: Option<u64>,
    /// The `session_id` found in `metadata.user_id`, if any.
    pub metadata_session: Option<String>,
    /// `stream_options.include_usage` is true.
    pub include_usage: bool,
    /// Where the `stream_options` value sits in `body`, when there is one.
    stream_options_at: Option<Range<usize>>,
    /// The request is a client's probe, not work ([`is_probe`]).
    pub probe: bool,
}

/// The top-level fields routing reads, borrowed from the body.
#[derive(Default)]
struct Fields<'a> {
    model: Option<&'a RawValue>,
    models: usize,
    stream: Option<&'a RawValue>,
    max_tokens: Option<&'a RawValue>,
    max_completion_tokens: Option<&'a RawValue>,
    max_output_tokens: Option<&'a RawValue>,
    metadata: Option<&'a RawValue>,
    stream_options: Option<&'a RawValue>,
    messages: Option<&'a RawValue>,
}

enum Key {
    Model,
    Stream,
    MaxTokens,
    MaxCompletionTokens,
    MaxOutputTokens,
    Metadata,
    StreamOptions,
    Messages,
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
                    "max_completion_tokens" => Key::MaxCompletionTokens,
                    "max_output_tokens" => Key::MaxOutputTokens,
                    "metadata" => Key::Metadata,
                    "stream_options" => Key::StreamOptions,
                    "messages" => Key::Messages,
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
                        Key::MaxCompletionTokens => &mut fields.max_completion_tokens,
                        Key::MaxOutputTokens => &mut fields.max_output_tokens,
                        Key::Metadata => &mut fields.metadata,
                        Key::StreamOptions => &mut fields.stream_options,
                        Key::Messages => &mut fields.messages,
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
    let model_at = place(body, raw_model)?;
    let stream = match fields.stream {
        None => false,
        Some(raw) => serde_json::from_str::<Option<bool>>(raw.get())
            .map_err(|_| {
                RelayError::InvalidRequest("The \"stream\" field must be true or false.".into())
            })?
            .unwrap_or(false),
    };
    let max_tokens = output_limit(fields.max_tokens, "max_tokens", false)?;
    let max_completion_tokens =
        output_limit(fields.max_completion_tokens, "max_completion_tokens", true)?;
    let max_output_tokens = output_limit(fields.max_output_tokens, "max_output_tokens", true)?;
    let (include_usage, stream_options_at) = match fields.stream_options {
        None => (false, None),
        Some(raw) => {
            let include = serde_json::from_str::<serde_json::Value>(raw.get())
                .ok()
                .and_then(|v| v.get("include_usage").and_then(serde_json::Value::as_bool))
                .unwrap_or(false);
            (include, Some(place(body, raw)?))
        }
    };
    let metadata_session = fields
        .metadata
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .and_then(|m| {
            m.get("user_id")
                .and_then(|u| u.as_str().map(str::to_string))
        })
        .and_then(|u| session_from_user_id(&u));
    let probe = is_probe(max_tokens, fields.messages);
    Ok(ClientRequest {
        body: body.clone(),
        model_at,
        model,
        stream,
        max_tokens,
        max_completion_tokens,
        max_output_tokens,
        metadata_session,
        include_usage,
        stream_options_at,
        probe,
    })
}

/// The probe words Claude Code sends as a whole prompt: `Warmup` (to warm a subagent's cache) and
/// `quota` (a quota check).
const PROBE_WORDS: [&str; 2] = ["Warmup", "quota"];

/// A messages body longer than this is never a probe (it is not parsed to find out).
const MAX_PROBE_MESSAGES_BYTES: usize = 512;

/// Whether a request is a client's probe rather than work: a conversation of one user message whose
/// whole text is a probe word, or, with `max_tokens` 1, one word.
pub fn is_probe(max_tokens: Option<u64>, messages: Option<&RawValue>) -> bool {
    #[derive(serde::Deserialize)]
    struct Message {
        role: String,
        content: serde_json::Value,
    }
    let Some(raw) = messages.filter(|m| m.get().len() <= MAX_PROBE_MESSAGES_BYTES) else {
        return false;
    };
    // Without `max_tokens` 1 only a probe word makes a probe: a body that cannot hold one (as
    // written, or behind an escape) is not parsed.
    let text = raw.get();
    if max_tokens != Some(1)
        && !text.contains('\\')
        && !PROBE_WORDS.iter().any(|w| text.contains(w))
    {
        return false;
    }
    let Ok(messages) = serde_json::from_str::<Vec<Message>>(raw.get()) else {
        return false;
    };
    let [only] = messages.as_slice() else {
        return false;
    };
    if only.role != "user" {
        return false;
    }
    let text = match &only.content {
        serde_json::Value::String(text) => text.as_str(),
        serde_json::Value::Array(blocks) => match blocks.as_slice() {
            [block] if block["type"] == "text" => block["text"].as_str().unwrap_or(""),
            _ => return false,
        },
        _ => return false,
    };
    let text = text.trim();
    PROBE_WORDS.contains(&text)
        || (max_tokens == Some(1) && !text.is_empty() && !text.contains(char::is_whitespace))
}

/// Where a raw value borrowed from `body` sits in it (its offset is the distance between the two).
fn place(body: &Bytes, raw: &RawValue) -> Result<Range<usize>, RelayError> {
    let start = (raw.get().as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let at = start..start.wrapping_add(raw.get().len());
    if body.get(at.clone()) != Some(raw.get().as_bytes()) {
        return Err(RelayError::Internal(
            "Realms could not place a field in the request body.".into(),
        ));
    }
    Ok(at)
}

/// An output limit field: a whole number from 1 to [`MAX_TOKENS_ACCEPTED`], or absent (or, with
/// `null_ok` — OpenAI's fields —, null).
fn output_limit(
    raw: Option<&RawValue>,
    name: &str,
    null_ok: bool,
) -> Result<Option<u64>, RelayError> {
    match raw {
        None => Ok(None),
        Some(raw) if null_ok && raw.get() == "null" => Ok(None),
        Some(raw) => match serde_json::from_str::<u64>(raw.get()) {
            Ok(n) if (1..=MAX_TOKENS_ACCEPTED).contains(&n) => Ok(Some(n)),
            _ => Err(RelayError::InvalidRequest(format!(
                "The \"{name}\" field must be a whole number from 1 to {MAX_TOKENS_ACCEPTED}."
            ))),
        },
    }
}

impl ClientRequest {
    /// The body as the client sent it.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body to send upstream: the client's bytes with the `model` value replaced (the same
    /// bytes, not copied, when the upstream name is the same).
    pub fn body_for(&self, upstream_model: &str) -> Bytes {
        if upstream_model == self.model {
            return self.body.clone();
        }
        self.rewrite(upstream_model, None)
    }

    /// [`ClientRequest::body_for`] with `stream_options.include_usage` set to true: the client's
    /// other stream options are kept, and the field is added when the client sent none.
    pub fn body_with_usage(&self, upstream_model: &str) -> Bytes {
        let options = match &self.stream_options_at {
            Some(at) => {
                let mut map = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                    &self.body[at.clone()],
                )
                .unwrap_or_default();
                map.insert("include_usage".into(), serde_json::Value::Bool(true));
                serde_json::Value::Object(map).to_string()
            }
            None => r#"{"include_usage":true}"#.to_string(),
        };
        self.rewrite(upstream_model, Some(options))
    }

    /// The body with the model replaced and, given `options`, the `stream_options` value replaced
    /// (or added as the first field).
    fn rewrite(&self, upstream_model: &str, options: Option<String>) -> Bytes {
        let mut model = Vec::with_capacity(upstream_model.len() + 2);
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut model, upstream_model);
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = vec![(self.model_at.clone(), model)];
        match (options, &self.stream_options_at) {
            (Some(o), Some(at)) => edits.push((at.clone(), o.into_bytes())),
            (Some(o), None) => {
                // After the object's opening brace (the body parsed as an object, so it has one).
                let open = self.body.iter().position(|b| *b == b'{').unwrap_or(0) + 1;
                edits.push((open..open, format!("\"stream_options\":{o},").into_bytes()));
            }
            (None, _) => {}
        }
        edits.sort_by_key(|(at, _)| at.start);
        let mut out = Vec::with_capacity(self.body.len() + 64);
        let mut from = 0;
        for (at, with) in edits {
            out.extend_from_slice(&self.body[from..at.start]);
            out.extend_from_slice(&with);
            from = at.end;
        }
        out.extend_from_slice(&self.body[from..]);
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
    use memchr::memmem::Finder;
    static VALUES: std::sync::LazyLock<[Finder<'static>; 4]> = std::sync::LazyLock::new(|| {
        [
            Finder::new(b"\"url\""),
            Finder::new(b"\"web_search_"),
            Finder::new(b"\"web_fetch_"),
            Finder::new(b"\"code_execution_"),
        ]
    });
    let mut n: u64 = 0;
    for value in VALUES.iter() {
        for at in value.find_iter(body) {
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
    fn probes_are_told_from_work() {
        let probe = |body: &str| parse(&Bytes::from(body.to_string())).unwrap().probe;
        assert!(probe(
            r#"{"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"Warmup"}]}"#
        ));
        assert!(probe(
            r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"quota"}]}]}"#
        ));
        assert!(probe(
            r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"test"}]}"#
        ));
        // A probe word behind an escape is still one; a sentence holding one is not.
        assert!(probe(
            r#"{"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"Warm\u0075p"}]}"#
        ));
        assert!(!probe(
            r#"{"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"What is my quota?"}]}"#
        ));
        // Work: a real prompt, a longer conversation, a larger answer allowed, a tool result.
        assert!(!probe(
            r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"Say hello"}]}"#
        ));
        assert!(!probe(
            r#"{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"test"}]}"#
        ));
        assert!(!probe(
            r#"{"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"Warmup"},{"role":"assistant","content":"Hi"},{"role":"user","content":"Warmup"}]}"#
        ));
        assert!(!probe(
            r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}]}"#
        ));
        let long = format!(
            r#"{{"model":"m","max_tokens":1,"messages":[{{"role":"user","content":"{}"}}]}}"#,
            "a".repeat(600)
        );
        assert!(!probe(&long), "a long body is not even looked at");
        assert!(!probe(r#"{"model":"m","max_tokens":1}"#));
    }

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
    fn a_chat_stream_is_asked_for_its_usage_keeping_the_rest_byte_for_byte() {
        let v = |b: &Bytes| serde_json::from_slice::<serde_json::Value>(b).unwrap();
        let none = parse(&Bytes::from_static(
            br#"{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .unwrap();
        assert!(!none.include_usage);
        let out = none.body_with_usage("gpt-up");
        assert_eq!(
            &out[..],
            br#"{"stream_options":{"include_usage":true},"model":"gpt-up","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        );
        let off = parse(&Bytes::from_static(
            br#"{"messages":[],"stream_options":{"include_usage":false,"x":1},"model":"gpt","stream":true}"#,
        ))
        .unwrap();
        assert!(!off.include_usage);
        let out = v(&off.body_with_usage("gpt"));
        assert_eq!(
            out["stream_options"],
            serde_json::json!({"include_usage": true, "x": 1})
        );
        assert_eq!(out["model"], "gpt");
        let on = parse(&Bytes::from_static(
            br#"{"model":"gpt","stream":true,"stream_options":{"include_usage":true}}"#,
        ))
        .unwrap();
        assert!(on.include_usage);
        let limits = parse(&Bytes::from_static(
            br#"{"model":"gpt","max_completion_tokens":99,"max_output_tokens":null}"#,
        ))
        .unwrap();
        assert_eq!(limits.max_completion_tokens, Some(99));
        assert_eq!(limits.max_output_tokens, None);
        assert!(parse(&Bytes::from_static(
            br#"{"model":"gpt","max_output_tokens":0}"#
        ))
        .is_err());
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
