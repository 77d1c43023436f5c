//! Thinking-signature repair. A thinking block carries a signature only the upstream that wrote it
//! can check: when a session moves to another channel (failover, a key cooling down), the new
//! upstream refuses the earlier turns' thinking blocks with a 400 about an invalid signature. The
//! attempt then sends the request once more with those blocks removed from the assistant turns;
//! every other byte of the body stays as it was.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Whether an upstream's 400 body is the refusal of a thinking block's signature.
pub fn refused_signature(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Error<'a> {
        #[serde(default, borrow)]
        message: Option<Cow<'a, str>>,
    }
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(borrow)]
        error: Option<Error<'a>>,
    }
    let Ok(top) = serde_json::from_slice::<Top>(body) else {
        return false;
    };
    let Some(message) = top.error.and_then(|e| e.message) else {
        return false;
    };
    let message = message.to_ascii_lowercase();
    message.contains("signature") && message.contains("thinking")
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

/// The body with every `thinking` and `redacted_thinking` block taken out of the assistant turns,
/// the rest byte for byte; `None` when it has none (sending it again would change nothing).
pub fn without_thinking(body: &Bytes) -> Option<Bytes> {
    let top: Top = serde_json::from_slice(body).ok()?;
    let messages: Vec<&RawValue> = serde_json::from_str(top.messages?.get()).ok()?;
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    for raw in messages {
        let Ok(message) = serde_json::from_str::<Message>(raw.get()) else {
            continue;
        };
        let (Some("assistant"), Some(content)) = (message.role.as_deref(), message.content) else {
            continue;
        };
        let Ok(blocks) = serde_json::from_str::<Vec<&RawValue>>(content.get()) else {
            continue;
        };
        let kept: Vec<&str> = blocks
            .iter()
            .filter(|b| {
                let kind = serde_json::from_str::<Block>(b.get())
                    .ok()
                    .and_then(|b| b.kind.map(Cow::into_owned));
                !matches!(kind.as_deref(), Some("thinking" | "redacted_thinking"))
            })
            .map(|b| b.get())
            .collect();
        if kept.len() == blocks.len() {
            continue;
        }
        edits.push((
            place(body, content)?,
            format!("[{}]", kept.join(",")).into_bytes(),
        ));
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut from = 0;
    for (at, with) in edits {
        out.extend_from_slice(&body[from..at.start]);
        out.extend_from_slice(&with);
        from = at.end;
    }
    out.extend_from_slice(&body[from..]);
    Some(Bytes::from(out))
}

/// Where a raw value borrowed from `body` sits in it.
fn place(body: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let at = start..start + raw.get().len();
    (body.get(at.clone()) == Some(raw.get().as_bytes())).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_refusal_is_told_from_other_400s() {
        assert!(refused_signature(
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: Invalid `signature` in `thinking` block"}}"#
        ));
        assert!(!refused_signature(
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#
        ));
        assert!(!refused_signature(b"not json"));
    }

    #[test]
    fn thinking_blocks_leave_the_assistant_turns_and_nothing_else_changes() {
        let body = Bytes::from_static(
            br#"{"model":"m", "messages":[ {"role":"user","content":[{"type":"thinking","thinking":"user text stays"}]},
 {"role":"assistant","content":[ {"type":"thinking","thinking":"a","signature":"x"} , {"type":"text","text":"Hi \"there\""},{"type":"redacted_thinking","data":"zz"}]},
 {"role":"assistant","content":"plain"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}],
 "thinking":{"type":"enabled","budget_tokens":1024}}"#,
        );
        let out = without_thinking(&body).unwrap();
        let want = br#"{"model":"m", "messages":[ {"role":"user","content":[{"type":"thinking","thinking":"user text stays"}]},
 {"role":"assistant","content":[{"type":"text","text":"Hi \"there\""}]},
 {"role":"assistant","content":"plain"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}],
 "thinking":{"type":"enabled","budget_tokens":1024}}"#;
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            std::str::from_utf8(want).unwrap()
        );
        assert_eq!(without_thinking(&out), None, "nothing left to remove");
        assert_eq!(without_thinking(&Bytes::from_static(b"[]")), None);
    }
}
