//! Token counts of OpenAI answers: chat completions (`usage.prompt_tokens`, `completion_tokens`,
//! `prompt_tokens_details.cached_tokens`; in a stream, the last chunk's `usage`, which Realms asks
//! for) and responses (`usage.input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`;
//! in a stream, the response of `response.completed`, `response.incomplete` or `response.failed`).
//! Cached input is billed at the cache-read price and not again as input; reasoning tokens are part
//! of the output count already.

use serde::Deserialize;
use serde_json::Value;

use app::core::usage_log::TokenCounts;

use super::{Count, Shaped, StreamUsage};

#[derive(Debug, Default, Deserialize)]
struct Cached {
    #[serde(default)]
    cached_tokens: Count,
}

/// A `usage` object of either API (chat names its counts prompt/completion, responses input/output).
#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Count,
    #[serde(default)]
    completion_tokens: Count,
    #[serde(default)]
    input_tokens: Count,
    #[serde(default)]
    output_tokens: Count,
    #[serde(default)]
    prompt_tokens_details: Shaped<Cached>,
    #[serde(default)]
    input_tokens_details: Shaped<Cached>,
}

impl Usage {
    /// The counts, when the object carries any.
    fn counts(&self) -> Option<TokenCounts> {
        let input = self.prompt_tokens.0.or(self.input_tokens.0);
        let output = self.completion_tokens.0.or(self.output_tokens.0);
        if input.is_none() && output.is_none() {
            return None;
        }
        let cached = self
            .prompt_tokens_details
            .0
            .as_ref()
            .or(self.input_tokens_details.0.as_ref())
            .and_then(|c| c.cached_tokens.0)
            .unwrap_or(0)
            .max(0);
        let input = input.unwrap_or(0).max(0);
        let cached = cached.min(input);
        Some(TokenCounts {
            input: input - cached,
            output: output.unwrap_or(0).max(0),
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: cached,
            web_searches: 0,
        })
    }
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Shaped<Usage>,
}

fn counts_of(body: &[u8]) -> TokenCounts {
    serde_json::from_slice::<WithUsage>(body)
        .ok()
        .and_then(|w| w.usage.0.and_then(|u| u.counts()))
        .unwrap_or_default()
}

/// Tokens of a whole chat completion.
pub fn from_chat(body: &[u8]) -> TokenCounts {
    counts_of(body)
}

/// Tokens of a whole response (`/v1/responses`).
pub fn from_response(body: &[u8]) -> TokenCounts {
    counts_of(body)
}

/// A chat chunk: its choices' generated text, its usage, or an error.
#[derive(Deserialize)]
struct ChatChunk {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Shaped<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Deserialize)]
struct ToolCall {
    #[serde(default)]
    function: Option<Function>,
}

#[derive(Deserialize)]
struct Function {
    #[serde(default)]
    arguments: Option<String>,
}

pub(super) fn error_kind(error: &Value) -> String {
    error
        .get("type")
        .or_else(|| error.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("error")
        .to_string()
}

/// Reads one chat stream event.
pub(super) fn chat_event(u: &mut StreamUsage, data: &str, relayed: bool) {
    u.usage_only = false;
    if data.trim() == "[DONE]" {
        u.stopped = true;
        return;
    }
    let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
        return;
    };
    if let Some(error) = &chunk.error {
        u.error = Some(error_kind(error));
        return;
    }
    u.started = true;
    let choices = chunk.choices.unwrap_or_default();
    if relayed {
        for d in choices.iter().filter_map(|c| c.delta.as_ref()) {
            let len = |t: &Option<String>| t.as_ref().map_or(0, String::len);
            let calls: usize = d
                .tool_calls
                .iter()
                .flatten()
                .filter_map(|c| c.function.as_ref())
                .map(|f| len(&f.arguments))
                .sum();
            u.delta_bytes += (len(&d.content) + len(&d.reasoning_content) + calls) as u64;
        }
    }
    if let Some(counts) = chunk.usage.0.and_then(|usage| usage.counts()) {
        u.tokens = counts;
        u.output_reported = true;
        // The usage chunk is the last one before `[DONE]`: the answer is complete.
        u.stopped = true;
        u.usage_only = choices.is_empty();
    }
}

/// A responses stream event's payload: its text delta, or its response with the usage.
#[derive(Deserialize)]
struct ResponseEvent {
    #[serde(default)]
    delta: Option<Value>,
    #[serde(default)]
    response: Option<WithUsage>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

/// Reads one responses stream event (`event` names it; its data repeats it as `type`).
pub(super) fn responses_event(u: &mut StreamUsage, name: &str, data: &str, relayed: bool) {
    let Ok(event) = serde_json::from_str::<ResponseEvent>(data) else {
        return;
    };
    match name {
        "response.created" | "response.in_progress" => u.started = true,
        "response.completed" | "response.incomplete" | "response.failed" => {
            u.started = true;
            if let Some(counts) = event
                .response
                .and_then(|r| r.usage.0)
                .and_then(|usage| usage.counts())
            {
                u.tokens = counts;
                u.output_reported = true;
            }
            if name == "response.failed" {
                u.error = Some("response_failed".into());
            }
            u.stopped = true;
        }
        "error" => {
            u.error = Some(
                event
                    .error
                    .as_ref()
                    .map(error_kind)
                    .or_else(|| {
                        event
                            .code
                            .as_ref()
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "error".into()),
            );
        }
        _ if relayed && name.ends_with(".delta") => {
            if let Some(Value::String(text)) = &event.delta {
                u.delta_bytes += text.len() as u64;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Dialect, SseTap};
    use super::*;
    use bytes::Bytes;

    #[test]
    fn cached_input_is_billed_once_at_the_cache_price() {
        let chat = br#"{"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":12}}}"#;
        assert_eq!(
            from_chat(chat),
            TokenCounts {
                input: 40,
                output: 20,
                cache_read: 60,
                ..TokenCounts::default()
            }
        );
        let response = br#"{"usage":{"input_tokens":50,"output_tokens":9,"input_tokens_details":{"cached_tokens":10},"output_tokens_details":{"reasoning_tokens":4}}}"#;
        assert_eq!(
            from_response(response),
            TokenCounts {
                input: 40,
                output: 9,
                cache_read: 10,
                ..TokenCounts::default()
            }
        );
        // More cached than input reported: never a negative input.
        let odd = br#"{"usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}}"#;
        assert_eq!(from_chat(odd).input, 0);
        assert_eq!(from_chat(odd).cache_read, 5);
        assert_eq!(from_chat(b"{}"), TokenCounts::default());
        assert_eq!(from_chat(br#"{"usage":null}"#), TokenCounts::default());
    }

    #[test]
    fn a_chat_stream_reads_its_usage_chunk_and_marks_it() {
        let mut tap = SseTap::new(Dialect::Chat);
        tap.feed(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n",
        ));
        assert!(tap.usage.started && !tap.usage.stopped && !tap.usage.usage_only);
        tap.feed(&Bytes::from_static(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7}}\n\n",
        ));
        assert!(tap.usage.stopped && tap.usage.usage_only);
        assert_eq!(tap.usage.billed().0.output, 7);
        tap.feed(&Bytes::from_static(b"data: [DONE]\n\n"));
        assert!(!tap.usage.usage_only);
        assert_eq!(
            tap.usage.billed(),
            (
                TokenCounts {
                    input: 12,
                    output: 7,
                    ..TokenCounts::default()
                },
                false
            )
        );
    }

    #[test]
    fn a_chat_stream_without_usage_is_estimated() {
        let mut tap = SseTap::new(Dialect::Chat);
        tap.feed(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"abcdef\"}}]}\n\ndata: [DONE]\n\n",
        ));
        assert!(tap.usage.stopped);
        assert_eq!(tap.usage.billed().0.output, 2);
        assert!(tap.usage.billed().1);
    }

    #[test]
    fn a_responses_stream_reads_the_completed_response() {
        let mut tap = SseTap::new(Dialect::Responses);
        tap.feed(&Bytes::from_static(concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":2}}}}\n\n",
        ).as_bytes()));
        assert!(tap.usage.stopped);
        assert_eq!(
            tap.usage.billed(),
            (
                TokenCounts {
                    input: 10,
                    output: 7,
                    cache_read: 2,
                    ..TokenCounts::default()
                },
                false
            )
        );
        let mut failed = SseTap::new(Dialect::Responses);
        failed.feed(&Bytes::from_static(
            b"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\"}\n\n",
        ));
        assert_eq!(failed.usage.error.as_deref(), Some("server_error"));
    }
}
