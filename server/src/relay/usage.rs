//! Reading usage from Anthropic answers: the `usage` object of a JSON message, or the SSE events as
//! they pass (`message_start.message.usage`, then `message_delta.usage`), parsed by a kept SSE parser
//! fed with the same chunks that go to the client (no second buffer of the stream).

use std::convert::Infallible;
use std::pin::Pin;

use bytes::Bytes;
use eventsource_stream::{EventStream, Eventsource};
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use app::core::usage::Tokens;

fn count(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Applies the fields present in an Anthropic `usage` object. A `cache_creation` split (5 m / 1 h)
/// wins over the total; without it the total counts as 5-minute writes.
pub fn apply_usage(usage: &Value, into: &mut Tokens) {
    if let Some(n) = count(usage, "input_tokens") {
        into.input = n;
    }
    if let Some(n) = count(usage, "output_tokens") {
        into.output = n;
    }
    if let Some(n) = count(usage, "cache_read_input_tokens") {
        into.cache_read = n;
    }
    let split = usage.get("cache_creation").filter(|c| c.is_object());
    match split {
        Some(c) => {
            into.cache_write_5m = count(c, "ephemeral_5m_input_tokens").unwrap_or(0);
            into.cache_write_1h = count(c, "ephemeral_1h_input_tokens").unwrap_or(0);
        }
        None => {
            if let Some(n) = count(usage, "cache_creation_input_tokens") {
                into.cache_write_5m = n;
                into.cache_write_1h = 0;
            }
        }
    }
}

/// A message (or a `message_delta` event): only its `usage` is read; everything else is skipped
/// without being built.
#[derive(Deserialize)]
struct WithUsage<'a> {
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

/// A `message_start` event: the usage sits in its message.
#[derive(Deserialize)]
struct MessageStart<'a> {
    #[serde(borrow)]
    message: WithUsage<'a>,
}

fn apply_raw_usage(usage: Option<&RawValue>, into: &mut Tokens) {
    if let Some(v) = usage.and_then(|u| serde_json::from_str::<Value>(u.get()).ok()) {
        apply_usage(&v, into);
    }
}

/// Tokens of a non-streamed message (all zero when the body has no usage).
pub fn from_message(body: &[u8]) -> Tokens {
    let mut t = Tokens::default();
    if let Ok(m) = serde_json::from_slice::<WithUsage>(body) {
        apply_raw_usage(m.usage, &mut t);
    }
    t
}

/// What the events of a stream said so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamUsage {
    pub tokens: Tokens,
    pub started: bool,
    pub stopped: bool,
    pub error: Option<String>,
}

impl StreamUsage {
    pub fn event(&mut self, name: &str, data: &str) {
        match name {
            "message_start" => {
                self.started = true;
                if let Ok(m) = serde_json::from_str::<MessageStart>(data) {
                    apply_raw_usage(m.message.usage, &mut self.tokens);
                }
            }
            "message_delta" => {
                if let Ok(m) = serde_json::from_str::<WithUsage>(data) {
                    apply_raw_usage(m.usage, &mut self.tokens);
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
        let (feed, rx) = mpsc::unbounded_channel();
        SseTap {
            feed,
            events: Box::pin(UnboundedReceiverStream::new(rx).eventsource()),
            usage: StreamUsage::default(),
        }
    }
}

impl SseTap {
    /// Parses the events completed by `chunk` (a cheap reference-counted copy of it is queued).
    pub fn feed(&mut self, chunk: &Bytes) {
        if self.feed.send(Ok(chunk.clone())).is_err() {
            return;
        }
        while let Some(Some(next)) = self.events.next().now_or_never() {
            if let Ok(event) = next {
                self.usage.event(&event.event, &event.data);
            }
        }
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
            Tokens {
                input: 10,
                output: 5,
                cache_write_5m: 10,
                cache_write_1h: 20,
                cache_read: 7
            }
        );
        let without =
            br#"{"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":30}}"#;
        assert_eq!(from_message(without).cache_write_5m, 30);
        assert_eq!(from_message(b"not json"), Tokens::default());
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
                Tokens {
                    input: 12,
                    output: 42,
                    cache_write_5m: 1,
                    cache_write_1h: 2,
                    cache_read: 4
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
    fn an_error_event_is_noticed() {
        let mut tap = SseTap::default();
        tap.feed(&Bytes::from_static(
            b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
        ));
        assert_eq!(tap.usage.error.as_deref(), Some("overloaded_error"));
        assert!(!tap.usage.stopped);
    }
}
