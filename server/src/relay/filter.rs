//! A channel's request filter ([`RequestFilter`]): the `anthropic-beta` flags and top-level body
//! fields some Anthropic-compatible providers refuse, taken out before the request goes upstream.
//! Everything else stays as it was: the other flags in their order, the body byte for byte around
//! each removed field.

use std::borrow::Cow;
use std::ops::Range;

use axum::http::{HeaderMap, HeaderValue};
use bytes::Bytes;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use app::types::RequestFilter;

/// Takes the filter's beta flags out of `anthropic-beta` (the header goes when none is left).
pub fn drop_betas(headers: &mut HeaderMap, filter: &RequestFilter) {
    if filter.betas.is_empty() {
        return;
    }
    let Some(value) = headers.get("anthropic-beta").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let flags: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let kept: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| !filter.drops_beta(f))
        .collect();
    if kept.len() == flags.len() {
        return;
    }
    match HeaderValue::from_str(&kept.join(",")) {
        Ok(v) if !kept.is_empty() => {
            headers.insert("anthropic-beta", v);
        }
        _ => {
            headers.remove("anthropic-beta");
        }
    }
}

/// The values of the named top-level fields, borrowed from the body.
struct Named<'a, 'n> {
    names: &'n [String],
    found: Vec<&'a RawValue>,
}

impl<'de, 'n> Visitor<'de> for Named<'de, 'n> {
    type Value = Vec<&'de RawValue>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.names.iter().any(|n| *n == key) {
                self.found.push(map.next_value::<&RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(self.found)
    }
}

/// The body without the filter's top-level fields (the same bytes when it has none of them). A
/// field goes with its key and one comma; a field whose key is written with escapes stays.
pub fn drop_fields(body: &Bytes, filter: &RequestFilter) -> Bytes {
    if filter.fields.is_empty() {
        return body.clone();
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let values = match de.deserialize_map(Named {
        names: &filter.fields,
        found: Vec::new(),
    }) {
        Ok(values) if !values.is_empty() => values,
        _ => return body.clone(),
    };
    let mut cuts: Vec<Range<usize>> = values
        .iter()
        .filter_map(|raw| field_range(body, raw))
        .collect();
    if cuts.is_empty() {
        return body.clone();
    }
    cuts.sort_by_key(|r| r.start);
    let mut out = Vec::with_capacity(body.len());
    let mut from = 0;
    for cut in cuts {
        if cut.start < from {
            continue;
        }
        out.extend_from_slice(&body[from..cut.start]);
        from = cut.end;
    }
    out.extend_from_slice(&body[from..]);
    Bytes::from(out)
}

/// Where a field sits: its key (found before the value's colon) to the end of its value, with the
/// comma after it, or, for the last field, the comma before it.
fn field_range(body: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start + raw.get().len();
    if body.get(start..end) != Some(raw.get().as_bytes()) {
        return None;
    }
    // Back over the colon to the key's closing quote, then to its opening quote (a key with an
    // escaped quote or backslash is left alone).
    let before = body[..start]
        .trim_ascii_end()
        .strip_suffix(b":")?
        .trim_ascii_end();
    let key_body = before.strip_suffix(b"\"")?;
    let open = key_body.iter().rposition(|b| *b == b'"')?;
    if key_body[open..].contains(&b'\\') {
        return None;
    }
    let key_start = open;
    // A comma after the value takes the field out from its key; otherwise the comma before it.
    let after = &body[end..];
    let ws = after.len() - after.trim_ascii_start().len();
    if after.get(ws) == Some(&b',') {
        return Some(key_start..end + ws + 1);
    }
    let prefix = body[..key_start].trim_ascii_end();
    if prefix.ends_with(b",") {
        return Some(prefix.len() - 1..end);
    }
    Some(key_start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(betas: &[&str], fields: &[&str]) -> RequestFilter {
        RequestFilter {
            betas: betas.iter().map(|s| s.to_string()).collect(),
            fields: fields.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn listed_betas_go_and_the_others_stay_in_order() {
        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-beta",
            HeaderValue::from_static(
                "claude-code-20250219,context-1m-2025-08-07, interleaved-thinking-2025-05-14,context-management-2025-06-27",
            ),
        );
        drop_betas(&mut h, &RequestFilter::anthropic_compatible());
        assert_eq!(
            h["anthropic-beta"],
            "claude-code-20250219,interleaved-thinking-2025-05-14"
        );
        let mut only = HeaderMap::new();
        only.insert(
            "anthropic-beta",
            HeaderValue::from_static("context-1m-2025-08-07"),
        );
        drop_betas(&mut only, &filter(&["context-1m"], &[]));
        assert!(!only.contains_key("anthropic-beta"));
        let mut untouched = HeaderMap::new();
        untouched.insert("anthropic-beta", HeaderValue::from_static("a , b"));
        drop_betas(&mut untouched, &filter(&["c"], &[]));
        assert_eq!(
            untouched["anthropic-beta"], "a , b",
            "nothing to drop: as sent"
        );
    }

    #[test]
    fn listed_fields_go_with_their_key_and_one_comma() {
        let f = filter(&[], &["metadata", "context_management"]);
        let cases = [
            (
                r#"{"model":"m","metadata":{"user_id":"u"},"stream":true}"#,
                r#"{"model":"m","stream":true}"#,
            ),
            (
                r#"{"metadata":{"a":[1,{"b":"}"}]},"model":"m"}"#,
                r#"{"model":"m"}"#,
            ),
            (
                "{\n  \"model\": \"m\",\n  \"context_management\" : {\"edits\":[]}\n}",
                "{\n  \"model\": \"m\"\n}",
            ),
            (
                r#"{"model":"m","metadata":null,"x":"\"metadata\":1","context_management":{}}"#,
                r#"{"model":"m","x":"\"metadata\":1"}"#,
            ),
            (r#"{"metadata":{}}"#, r#"{}"#),
            (r#"{"model":"m"}"#, r#"{"model":"m"}"#),
            // A key written with escapes stays.
            (r#"{"m\u0065tadata":1}"#, r#"{"m\u0065tadata":1}"#),
        ];
        for (body, want) in cases {
            let out = drop_fields(&Bytes::from(body), &f);
            assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{body}");
            if want != "{}" {
                serde_json::from_slice::<serde_json::Value>(&out).unwrap();
            }
        }
    }
}
