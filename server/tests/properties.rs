//! Property tests (proptest) of what reads untrusted bytes: the request reader, the usage readers
//! (JSON, and SSE across arbitrary chunk boundaries), upstream URL handling and price parsing.
//! No input panics, and each keeps its promise. `PROPTEST_CASES` sets how many cases run; the
//! test command runs the default, `.ci/fuzz` many more.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};

use app::core::upstream_url::{join, normalize_base_url};
use app::money::{format_usd, parse_usd};
use realms::relay::meter::{from_message, SseTap};
use realms::relay::request;

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_request_reader_never_panics(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = request::parse(&Bytes::from(body.clone()));
        let _ = request::extra_input_tokens(&body);
    }

    #[test]
    fn the_rewritten_body_equals_the_original_but_the_model(
        model in "[a-zA-Z0-9._:/-]{1,40}",
        upstream in "[a-zA-Z0-9._:/@\"\\\\ é-]{1,40}",
        fields in prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..6),
        pretty in any::<bool>(),
    ) {
        let mut object: serde_json::Map<String, Value> =
            fields.into_iter().filter(|(k, _)| k != "model" && k != "max_tokens" && k != "stream").collect();
        object.insert("model".into(), Value::String(model.clone()));
        let original = Value::Object(object);
        let text = if pretty {
            serde_json::to_vec_pretty(&original).unwrap()
        } else {
            serde_json::to_vec(&original).unwrap()
        };
        let req = request::parse(&Bytes::from(text.clone())).unwrap();
        prop_assert_eq!(&req.model, &model);
        let rewritten: Value = serde_json::from_slice(&req.body_for(&upstream)).unwrap();
        // Compared with the original text as parsed (a float prints and parses back only
        // approximately, the same text parses the same way).
        let mut expected: Value = serde_json::from_slice(&text).unwrap();
        expected["model"] = Value::String(upstream.clone());
        prop_assert_eq!(rewritten, expected);
        // The same name: the very same bytes.
        let same = req.body_for(&model);
        prop_assert_eq!(same.as_ref(), &text[..]);
    }

    #[test]
    fn the_message_usage_reader_never_panics(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = from_message(&body);
    }

    #[test]
    fn stream_usage_does_not_depend_on_chunk_boundaries(
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let stream: String = realms_mock::sse_events("m").concat();
        let bytes = stream.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut whole = SseTap::default();
        whole.feed(&Bytes::copy_from_slice(bytes));
        let mut pieces = SseTap::default();
        let mut from = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            pieces.feed(&Bytes::copy_from_slice(&bytes[from..p]));
            from = p;
        }
        prop_assert_eq!(&pieces.usage, &whole.usage);
        prop_assert_eq!(whole.usage.tokens.output, 7);
        // Garbage after the stream changes nothing and panics nothing.
        pieces.feed(&Bytes::from(noise));
        prop_assert_eq!(pieces.usage.tokens, whole.usage.tokens);
    }

    #[test]
    fn base_urls_never_panic_and_never_double_v1(raw in ".{0,60}", path in "(/v1/messages|/v1/messages/count_tokens\\?beta=true)") {
        if let Ok(base) = normalize_base_url(&raw) {
            let url = join(&base, &path);
            prop_assert!(!url.contains("/v1/v1"), "{}", url);
            prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
        }
    }

    #[test]
    fn parsed_prices_print_back_exactly(
        units in -10_000_000_000_000i64..10_000_000_000_000,
        scale in prop_oneof![Just(app::money::PRICE_SCALE), Just(app::money::BALANCE_SCALE)],
    ) {
        let text = format_usd(units, scale);
        prop_assert_eq!(parse_usd(&text, scale, true).ok(), Some(units), "{}", text);
    }

    #[test]
    fn price_parsing_never_panics(raw in ".{0,40}", scale in 0u32..12) {
        let _ = parse_usd(&raw, scale, true);
    }
}
