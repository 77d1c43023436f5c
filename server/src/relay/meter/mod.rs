//! The meter, reading token counts from answers: for Anthropic the `usage` object of a JSON message,
//! or the SSE events as they pass (`message_start.message.usage`, then `message_delta.usage`); for
//! OpenAI's chat completions and responses see [`openai`]. Streams are parsed by a kept SSE parser
//! fed with the same chunks that go to the client (no second buffer of the stream).

pub mod openai;

use std::convert::Infallible;
use std::pin::Pin;

use bytes::Bytes;
use eventsource_stream::{EventStream, Eventsource};
use futures_util::{FutureExt, StreamExt};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use app::core::usage_log::TokenCounts;

/// Visitor methods for the scalar and array values a lenient reader does not want: each reads as
/// absent (arrays are skipped).
macro_rules! absent_otherwise {
    () => {
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Self::Value::default())
        }
    };
}

/// A token count: an integer, or absent. Whatever else an upstream writes there (null, a fraction,
/// text, an object) counts as absent instead of spoiling the rest of the usage.
#[derive(Clone, Copy, Debug, Default)]
struct Count(Option<i64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Lenient;
        impl<'de> Visitor<'de> for Lenient {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a token count")
            }
            fn visit_i64<E>(self, n: i64) -> Result<Count, E> {
                Ok(Count(Some(n)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Count, E> {
                Ok(Count(i64::try_from(n).ok()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
            absent_otherwise!();
        }
        d.deserialize_any(Lenient)
    }
}

/// An object read as `T`, or absent when the value is not an object (the rest of the JSON still
/// reads). Read in one pass: `T`'s fields are lenient themselves, so no object makes it fail.
#[derive(Debug)]
struct Shaped<T>(Option<T>);

impl<T> Default for Shaped<T> {
    fn default() -> Self {
        Shaped(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shaped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = Shaped<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shaped<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| Shaped(Some(t)))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shaped<T>, E> {
                Ok(Shaped(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shaped<T>, E> {
                Ok(Shaped(None))
            }
            absent_otherwise!();
        }
        d.deserialize_any(Object(std::marker::PhantomData))
    }
}

/// The 5-minute / 1-hour split of cache writes.
#[derive(Debug, Default, Deserialize)]
struct CacheSplit {
    #[serde(default)]
    ephemeral_5m_input_tokens: Count,
    #[serde(default)]
    ephemeral_1h_input_tokens: Count,
}

/// An Anthropic `usage` object: only the counts Realms bills are read.
#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: Count,
    #[serde(default)]
    output_tokens: Count,
    #[serde(default)]
    cache_read_input_tokens: Count,
    #[serde(default)]
    cache_creation_input_tokens: Count,
    #[serde(default)]
    cache_creation: Shaped<CacheSplit>,
    #[serde(default)]
    server_tool_use: Shaped<ServerToolUse>,
}

/// The server tools an answer used (the counts are totals so far).
#[derive(Debug, Default, Deserialize)]
struct ServerToolUse {
    #[serde(default)]
    web_search_requests: Count,
}

impl Usage {
    /// Applies the counts present. A `cache_creation` split (5 m / 1 h) wins over the total; without
    /// it the total counts as 5-minute writes.
    fn apply(&self, into: &mut TokenCounts) {
        if let Some(n) = self.input_tokens.0 {
            into.input = n;
        }
        if let Some(n) = self.output_tokens.0 {
            into.output = n;
        }
        if let Some(n) = self.cache_read_input_tokens.0 {
            into.cache_read = n;
        }
        if let Some(n) = self
            .server_tool_use
            .0
            .as_ref()
            .and_then(|s| s.web_search_requests.0)
        {
            into.web_searches = n.max(0);
        }
        match &self.cache_creation.0 {
            Some(split) => {
                into.cache_write_5m = split.ephemeral_5m_input_tokens.0.unwrap_or(0);
                into.cache_write_1h = split.ephemeral_1h_input_tokens.0.unwrap_or(0);
            }
            None => {
                if let Some(n) = self.cache_creation_input_tokens.0 {
                    into.cache_write_5m = n;
                    into.cache_write_1h = 0;
                }
            }
        }
    }
}

/// A message (or a `message_delta` event): only its `usage` is read; everything else is skipped
/// without being built.
#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Shaped<Usage>,
}

/// A `message_start` event: the usage sits in its message.
#[derive(Deserialize)]
struct MessageStart {
    message: WithUsage,
}

fn apply_usage(usage: Option<&Usage>, into: &mut TokenCounts) {
    if let Some(u) = usage {
        u.apply(into);
    }
}

/// Tokens of a non-streamed message (all zero when the body has no usage).
pub fn from_message(body: &[u8]) -> TokenCounts {
    let mut t = TokenCounts::default();
    if let Ok(m) = serde_json::from_slice::<WithUsage>(body) {
        apply_usage(m.usage.0.as_ref(), &mut t);
    }
    t
}

/// A `content_block_delta` event: only the length of the text it carries is read.
#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(borrow)]
    delta: DeltaText<'a>,
}

/// The generated text of a delta: answer text, thinking, or a tool call's input JSON.
#[derive(Deserialize)]
struct DeltaText<'a> {
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<std::borrow::Cow<'a, str>>,
}

/// Bytes of relayed UTF-8 text counted as one output token when a stream ends before the upstream
/// reports its count: about right for Chinese or Japanese text, generous for English (about four
/// bytes a token).
pub const BYTES_PER_OUTPUT_TOKEN_ESTIMATE: u64 = 3;

/// Which API's answers a meter reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Anthropic,
    Chat,
    Responses,
}

/// What the events of a stream said so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamUsage {
    pub dialect: Dialect,
    /// The last event was a chat chunk carrying only the usage (no choices).
    pub usage_only: bool,
    pub tokens: TokenCounts,
    pub started: bool,
    pub stopped: bool,
    pub error: Option<String>,
    /// A `message_delta` reported the final output count.
    pub output_reported: bool,
    /// Bytes of text, thinking and tool-input deltas relayed to the client.
    pub delta_bytes: u64,
    /// Events read.
    pub events: u64,
}

impl StreamUsage {
    /// The tokens to bill, and whether the output count is Realms' estimate: the upstream's count
    /// when it reported one; for a stream cut off before that (the upstream broke, stalled or sent
    /// an error, or the client left and the drain ran out), the relayed deltas at
    /// [`BYTES_PER_OUTPUT_TOKEN_ESTIMATE`] bytes a token, rounded up, and never less than what
    /// `message_start` announced.
    pub fn billed(&self) -> (TokenCounts, bool) {
        if self.output_reported || !self.started {
            return (self.tokens, false);
        }
        let estimate = i64::try_from(self.delta_bytes.div_ceil(BYTES_PER_OUTPUT_TOKEN_ESTIMATE))
            .unwrap_or(i64::MAX);
        let mut tokens = self.tokens;
        tokens.output = tokens.output.max(estimate);
        (tokens, true)
    }

    /// Reads one event; `relayed` tells whether it reaches the client (its deltas count toward an
    /// estimate only then).
    pub fn event_relayed(&mut self, name: &str, data: &str, relayed: bool) {
        self.events += 1;
        match self.dialect {
            Dialect::Anthropic => {}
            Dialect::Chat => return openai::chat_event(self, data, relayed),
            Dialect::Responses => return openai::responses_event(self, name, data, relayed),
        }
        if name == "content_block_delta" {
            if relayed {
                if let Ok(d) = serde_json::from_str::<BlockDelta>(data) {
                    let d = d.delta;
                    let len = |t: &Option<std::borrow::Cow<str>>| t.as_ref().map_or(0, |t| t.len());
                    self.delta_bytes +=
                        (len(&d.text) + len(&d.thinking) + len(&d.partial_json)) as u64;
                }
            }
            return;
        }
        self.event(name, data);
    }

    pub fn event(&mut self, name: &str, data: &str) {
        if self.dialect != Dialect::Anthropic {
            return self.event_relayed(name, data, false);
        }
        match name {
            "message_start" => {
                self.started = true;
                if let Ok(m) = serde_json::from_str::<MessageStart>(data) {
                    apply_usage(m.message.usage.0.as_ref(), &mut self.tokens);
                }
            }
            "message_delta" => {
                if let Ok(m) = serde_json::from_str::<WithUsage>(data) {
                    if let Some(u) = m.usage.0.as_ref() {
                        self.output_reported |= u.output_tokens.0.is_some();
                    }
                    apply_usage(m.usage.0.as_ref(), &mut self.tokens);
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let kind = serde_json::from_str::<Value>(data)
                    .ok()
                    .and_then(|v| {
                        v.pointer("/error/type")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "error".into());
                self.error = Some(kind);
            }
            _ => {}
        }
    }
}

type Chunks = UnboundedReceiverStream<Result<Bytes, Infallible>>;

/// Watches the chunks of an event stream as they are relayed.
pub struct SseTap {
    feed: mpsc::UnboundedSender<Result<Bytes, Infallible>>,
    events: Pin<Box<EventStream<Chunks>>>,
    pub usage: StreamUsage,
}

impl Default for SseTap {
    fn default() -> Self {
        SseTap::new(Dialect::Anthropic)
    }
}

impl SseTap {
    pub fn new(dialect: Dialect) -> Self {
        let (feed, rx) = mpsc::unbounded_channel();
        SseTap {
            feed,
            events: Box::pin(UnboundedReceiverStream::new(rx).eventsource()),
            usage: StreamUsage {
                dialect,
                ..StreamUsage::default()
            },
        }
    }

    /// Parses the events completed by `chunk`, which reaches the client (a cheap
    /// reference-counted copy of it is queued).
    pub fn feed(&mut self, chunk: &Bytes) {
        self.feed_relayed(chunk, true);
    }

    /// As [`SseTap::feed`]; `relayed` tells whether the chunk reaches the client.
    pub fn feed_relayed(&mut self, chunk: &Bytes, relayed: bool) {
        if self.feed.send(Ok(chunk.clone())).is_err() {
            return;
        }
        while let Some(Some(next)) = self.events.next().now_or_never() {
            if let Ok(event) = next {
                self.usage.event_relayed(&event.event, &event.data, relayed);
            }
        }
    }
}

/// Reads the start of an event stream, before any of it is relayed, to learn whether its first
/// event is an error. Only the bytes up to the end of the first event are parsed.
pub struct FirstEvent {
    tap: SseTap,
    fed: usize,
}

impl FirstEvent {
    pub fn new(dialect: Dialect) -> Self {
        FirstEvent {
            tap: SseTap::new(dialect),
            fed: 0,
        }
    }

    /// Reads what `buffered` (everything received so far) adds. Once the first event is complete:
    /// `Some` of the error type it carried (`None` inside for an event that is not an error).
    pub fn read(&mut self, buffered: &Bytes) -> Option<Option<String>> {
        while self.fed < buffered.len() {
            let rest = &buffered[self.fed..];
            // Up to the end of the next event; all of it when no event end is in sight (line ends
            // of a kind this does not look for are still parsed right).
            let end = memchr::memmem::find(rest, b"\n\n")
                .map(|i| i + 2)
                .or_else(|| memchr::memmem::find(rest, b"\r\n\r\n").map(|i| i + 4))
                .unwrap_or(rest.len());
            self.tap
                .feed_relayed(&buffered.slice(self.fed..self.fed + end), false);
            self.fed += end;
            if self.tap.usage.events > 0 {
                return Some(self.tap.usage.error.clone());
            }
        }
        None
    }
}

/// The error type of a whole answer with a success status that is in fact an error: Anthropic's
/// `{"type":"error","error":{…}}`, or OpenAI's `{"error":{…}}` without an answer beside it.
pub fn error_in_success(dialect: Dialect, body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Top {
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        error: Option<Value>,
        #[serde(default)]
        choices: Option<IgnoredAny>,
        #[serde(default)]
        output: Option<IgnoredAny>,
    }
    static ERROR_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"error\""));
    // An answer without the key is no error: most answers are read once, by the meter.
    ERROR_KEY.find(body)?;
    let top: Top = serde_json::from_slice(body).ok()?;
    let error = top.error.filter(|e| !e.is_null())?;
    let is_error = match dialect {
        Dialect::Anthropic => top.kind.as_deref() == Some("error"),
        Dialect::Chat | Dialect::Responses => top.choices.is_none() && top.output.is_none(),
    };
    is_error.then(|| openai::error_kind(&error))
}

/// The status an upstream would have given an error of this type (Anthropic's and OpenAI's
/// names), for an error it sent with a success status.
pub fn status_of_error_type(kind: &str) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match kind {
        "invalid_request_error" => StatusCode::BAD_REQUEST,
        "authentication_error" => StatusCode::UNAUTHORIZED,
        "billing_error" | "insufficient_quota" => StatusCode::PAYMENT_REQUIRED,
        "permission_error" => StatusCode::FORBIDDEN,
        "not_found_error" => StatusCode::NOT_FOUND,
        "request_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "rate_limit_error" => StatusCode::TOO_MANY_REQUESTS,
        "timeout_error" => StatusCode::GATEWAY_TIMEOUT,
        "overloaded_error" => StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        "api_error" | "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_usage_with_and_without_the_cache_split() {
        let with = br#"{"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":30,"cache_read_input_tokens":7,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}}}"#;
        assert_eq!(
            from_message(with),
            TokenCounts {
                input: 10,
                output: 5,
                cache_write_5m: 10,
                cache_write_1h: 20,
                cache_read: 7,
                web_searches: 0
            }
        );
        let without =
            br#"{"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":30}}"#;
        assert_eq!(from_message(without).cache_write_5m, 30);
        assert_eq!(from_message(b"not json"), TokenCounts::default());
    }

    #[test]
    fn odd_values_count_as_absent_without_losing_the_rest() {
        let odd = br#"{"id":"msg_1","content":[{"type":"text","text":"usage \"input_tokens\": 99"}],"usage":{"input_tokens":null,"output_tokens":5.5,"cache_read_input_tokens":"7","cache_creation":null,"cache_creation_input_tokens":12,"server_tool_use":{"web_search_requests":1},"service_tier":"standard"}}"#;
        assert_eq!(
            from_message(odd),
            TokenCounts {
                cache_write_5m: 12,
                web_searches: 1,
                ..TokenCounts::default()
            }
        );
        let huge = br#"{"usage":{"input_tokens":18446744073709551615,"output_tokens":3}}"#;
        assert_eq!(
            from_message(huge),
            TokenCounts {
                output: 3,
                ..TokenCounts::default()
            }
        );
        assert_eq!(from_message(br#"{"usage":null}"#), TokenCounts::default());
    }

    #[test]
    fn stream_usage_is_read_across_arbitrary_chunk_boundaries() {
        let stream = concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":4,\"cache_creation\":{\"ephemeral_5m_input_tokens\":1,\"ephemeral_1h_input_tokens\":2}}}}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
            "event: message_delta\n",
            "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n",
            "event: message_stop\n",
            "data: {\"type\":\"message_stop\"}\n\n",
        )
        .as_bytes();
        for size in [1, 7, 64, stream.len()] {
            let mut tap = SseTap::default();
            for piece in stream.chunks(size) {
                tap.feed(&Bytes::copy_from_slice(piece));
            }
            assert_eq!(
                tap.usage.tokens,
                TokenCounts {
                    input: 12,
                    output: 42,
                    cache_write_5m: 1,
                    cache_write_1h: 2,
                    cache_read: 4,
                    web_searches: 0
                },
                "chunks of {size}"
            );
            assert!(tap.usage.started && tap.usage.stopped);
        }
    }

    /// Usage as an upstream reports it, priced: the cache split, its absence, and rounding.
    #[test]
    fn reported_usage_is_priced_exactly() {
        use app::money::{cost_nano, Prices};
        let sonnet = Prices::with_derived_cache(3_000_000, 15_000_000);
        let opus = Prices::with_derived_cache(15_000_000, 75_000_000);
        let cases: &[(&str, &Prices, i64)] = &[
            // 1000 in × $3 + 500 out × $15 per million = 3000 + 7500 micro-USD.
            (
                r#"{"usage":{"input_tokens":1000,"output_tokens":500}}"#,
                &sonnet,
                10_500_000,
            ),
            // Split: 100 × 3.75 + 200 × 6 = 375 + 1200; read 1000 × 0.30 = 300.
            (
                r#"{"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":300,"cache_read_input_tokens":1000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}}"#,
                &sonnet,
                1_875_000,
            ),
            // No split: all 300 count as 5-minute writes: 300 × 3.75 = 1125.
            (
                r#"{"usage":{"cache_creation_input_tokens":300}}"#,
                &sonnet,
                1_125_000,
            ),
            // One output token of Opus: 75 micro-USD.
            (r#"{"usage":{"output_tokens":1}}"#, &opus, 75_000),
            // One cache-read token of Sonnet: 0.3 micro-USD = 300 nano-USD exactly.
            (r#"{"usage":{"cache_read_input_tokens":1}}"#, &sonnet, 300),
            // Nothing reported: nothing charged.
            (r#"{"id":"msg"}"#, &sonnet, 0),
        ];
        for (body, prices, want) in cases {
            let t = from_message(body.as_bytes());
            let got = cost_nano(
                prices,
                [
                    t.input,
                    t.output,
                    t.cache_write_5m,
                    t.cache_write_1h,
                    t.cache_read,
                ],
            );
            assert_eq!(got, *want, "{body}");
        }
    }

    #[test]
    fn a_cut_stream_bills_the_relayed_deltas_as_an_estimate() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n";
        let delta = |kind: &str, field: &str, text: &str| {
            format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"{kind}\",\"{field}\":{}}}}}\n\n", serde_json::to_string(text).unwrap())
        };
        let mut tap = SseTap::default();
        tap.feed(&Bytes::from(start));
        // 30 bytes of text, 11 of thinking, 9 of tool input (escapes count as their text).
        tap.feed(&Bytes::from(delta("text_delta", "text", &"a".repeat(30))));
        tap.feed(&Bytes::from(delta(
            "thinking_delta",
            "thinking",
            "\"quoted\" ok",
        )));
        tap.feed(&Bytes::from(delta(
            "input_json_delta",
            "partial_json",
            "{\"x\": 12}",
        )));
        // After the client left: read, but not counted.
        tap.feed_relayed(
            &Bytes::from(delta("text_delta", "text", &"b".repeat(300))),
            false,
        );
        let (tokens, estimated) = tap.usage.billed();
        assert!(estimated);
        assert_eq!(tokens.input, 12);
        assert_eq!(
            tokens.output,
            i64::try_from((30 + 11 + 9_u64).div_ceil(3)).unwrap()
        );

        // The upstream's own count wins as soon as it is reported.
        tap.feed(&Bytes::from_static(
            b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n",
        ));
        assert_eq!(
            tap.usage.billed(),
            (
                TokenCounts {
                    input: 12,
                    output: 5,
                    ..TokenCounts::default()
                },
                false
            )
        );

        // Nothing relayed: the count message_start announced.
        let mut tap = SseTap::default();
        tap.feed(&Bytes::from(start));
        assert_eq!(tap.usage.billed().0.output, 1);
        assert!(tap.usage.billed().1);
        // No stream at all: nothing, and no estimate.
        assert_eq!(
            SseTap::default().usage.billed(),
            (TokenCounts::default(), false)
        );
    }

    #[test]
    fn the_first_event_is_read_alone_and_an_error_first_is_told() {
        let stream = Bytes::from(crate_mock_stream());
        for size in [1, 5, 40, stream.len()] {
            let mut first = FirstEvent::new(Dialect::Anthropic);
            let mut buffered = bytes::BytesMut::new();
            let mut seen = None;
            for piece in stream.chunks(size) {
                buffered.extend_from_slice(piece);
                if let Some(e) = first.read(&buffered.clone().freeze()) {
                    seen = Some(e);
                    break;
                }
            }
            assert_eq!(seen, Some(None), "chunks of {size}");
            // Only the first event was parsed.
            assert_eq!(first.tap.usage.events, 1);
        }
        let error = Bytes::from_static(
            b": a comment first\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
        );
        assert_eq!(
            FirstEvent::new(Dialect::Anthropic).read(&error),
            Some(Some("overloaded_error".into()))
        );
        let chat = Bytes::from_static(
            b"data: {\"error\":{\"message\":\"x\",\"type\":\"server_error\"}}\n\n",
        );
        assert_eq!(
            FirstEvent::new(Dialect::Chat).read(&chat),
            Some(Some("server_error".into()))
        );
        assert_eq!(
            FirstEvent::new(Dialect::Anthropic)
                .read(&Bytes::from_static(b"event: message_start\ndata: {}")),
            None
        );
    }

    fn crate_mock_stream() -> String {
        concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
            "event: message_stop\n",
            "data: {\"type\":\"message_stop\"}\n\n",
        )
        .to_string()
    }

    #[test]
    fn an_error_with_a_success_status_is_told_from_an_answer() {
        let anthropic = br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#;
        assert_eq!(
            error_in_success(Dialect::Anthropic, anthropic).as_deref(),
            Some("overloaded_error")
        );
        let message = br#"{"type":"message","content":[{"type":"text","text":"{\"type\":\"error\"}"}],"usage":{}}"#;
        assert_eq!(error_in_success(Dialect::Anthropic, message), None);
        let openai = br#"{"error":{"message":"quota","type":"insufficient_quota","code":null}}"#;
        assert_eq!(
            error_in_success(Dialect::Chat, openai).as_deref(),
            Some("insufficient_quota")
        );
        let answer = br#"{"choices":[],"error":{"type":"x"}}"#;
        assert_eq!(error_in_success(Dialect::Chat, answer), None);
        assert_eq!(
            error_in_success(Dialect::Responses, br#"{"output":[],"error":null}"#),
            None
        );
        assert_eq!(error_in_success(Dialect::Anthropic, b"not json"), None);
        assert_eq!(status_of_error_type("overloaded_error").as_u16(), 529);
        assert_eq!(status_of_error_type("rate_limit_error").as_u16(), 429);
        assert_eq!(status_of_error_type("something_new").as_u16(), 502);
    }

    #[test]
    fn an_error_event_is_noticed() {
        let mut tap = SseTap::default();
        tap.feed(&Bytes::from_static(
            b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
        ));
        assert_eq!(tap.usage.error.as_deref(), Some("overloaded_error"));
        assert!(!tap.usage.stopped);
    }
}
