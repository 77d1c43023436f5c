//! The data plane over real sockets, against the in-repo mock upstream: authentication, error
//! shapes, key injection, model rewrite, passthrough, failover before the first byte and none after,
//! sticky sessions, cooldown, live streaming, timeouts, client disconnects, and exactly one usage
//! event per request.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use app::core::audit;
use app::core::models::ModelInput;
use app::core::usage_log::TokenCounts;
use app::core::{tokens, users};
use app::types::ChannelKind;
use common::setup::*;
use realms::relay::RelayConfig;
use realms_mock::ANSWER;

#[tokio::test]
async fn both_token_forms_work_and_bad_tokens_are_refused_before_any_upstream() {
    let t = Setup::new().await;
    let url = format!("{}/v1/messages", t.s.url);
    let ok = t
        .http
        .post(&url)
        .bearer_auth(&t.token)
        .json(&body("claude-test", false))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = t
        .http
        .post(&url)
        .header("x-api-key", &t.token)
        .json(&body("claude-test", false))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(t.mock.requests().len(), 2);

    let refused = [
        t.http.post(&url).json(&body("claude-test", false)),
        t.http
            .post(&url)
            .bearer_auth("rlm_not-a-real-token-at-all-0000000000000000")
            .json(&body("claude-test", false)),
        t.http
            .post(&url)
            .header("x-api-key", "sk-something-else")
            .json(&body("claude-test", false)),
    ];
    for req in refused {
        let (status, kind, message) = error_of(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(kind, "authentication_error");
        assert!(message.contains("token"), "{message}");
    }

    // Revoked: the console bumps the revision, which empties the token cache.
    let user = users::find_by_email(&t.s.db, "dev@example.com")
        .await
        .unwrap()
        .unwrap();
    let id = tokens::list_for_user(&t.s.db, user.id).await.unwrap()[0].id;
    tokens::revoke(&t.s.db, user.id, id).await.unwrap();
    audit::bump(&t.s.db).await.unwrap();
    t.s.state.catalog.refresh().await.unwrap();
    let (status, _, message) = error_of(t.messages(body("claude-test", false)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("revoked"), "{message}");

    // A disabled owner.
    let other = tokens::create(&t.s.db, user.id, "second", None)
        .await
        .unwrap()
        .secret;
    users::set_disabled(&t.s.db, user.id, true).await.unwrap();
    t.changed().await;
    let res = t
        .http
        .post(&url)
        .bearer_auth(&other)
        .json(&body("claude-test", false))
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("disabled"), "{message}");
    assert_eq!(
        t.mock.requests().len(),
        2,
        "refused requests never reach an upstream"
    );
}

#[tokio::test]
async fn bad_requests_get_clear_errors_in_anthropic_shape_and_one_usage_event_each() {
    let t = Setup::with(RelayConfig {
        max_body_bytes: 4096,
        ..RelayConfig::default()
    })
    .await;
    let mut events = t.events();
    let disabled = t
        .ops()
        .create_model(&ModelInput {
            public_id: "claude-off".into(),
            display_name: None,
            prices: None,
            enabled: false,
        })
        .await
        .unwrap();
    t.model("claude-unbound").await;
    let _ = disabled;

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str, &str)> = vec![
        (
            t.post("/v1/messages")
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "not a valid JSON",
        ),
        (
            t.post("/v1/messages").json(&json!({"max_tokens": 5})),
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "no model",
        ),
        (
            t.post("/v1/messages").json(&body("claude-nope", false)),
            StatusCode::NOT_FOUND,
            "not_found_error",
            "claude-nope is not available",
        ),
        (
            t.post("/v1/messages").json(&body("claude-off", false)),
            StatusCode::NOT_FOUND,
            "not_found_error",
            "claude-off",
        ),
        (
            t.post("/v1/messages").json(&body("claude-unbound", false)),
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded_error",
            "No enabled Anthropic channel serves claude-unbound",
        ),
        (
            t.post("/v1/messages")
                .json(&json!({"model": "claude-test", "pad": "x".repeat(5000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            "larger than",
        ),
    ];
    for (req, want_status, want_kind, says) in cases {
        let res = req.send().await.unwrap();
        let request_id = res.headers()["x-realms-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let (status, kind, message) = error_of(res).await;
        assert_eq!(
            (status, kind.as_str()),
            (want_status, want_kind),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
        let e = next(&mut events).await;
        assert_eq!(e.request_id, request_id);
        assert_eq!(e.status, want_status.as_u16());
        assert!(e.error_class.is_some());
        assert_eq!(e.cost, 0);
    }
    assert!(
        t.mock.requests().is_empty(),
        "none of these reached an upstream"
    );

    let res = t
        .http
        .get(format!("{}/v1/unknown", t.s.url))
        .send()
        .await
        .unwrap();
    let (status, kind, _) = error_of(res).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::NOT_FOUND, "not_found_error")
    );
}

#[tokio::test]
async fn the_upstream_gets_the_channel_key_the_rewritten_model_and_everything_else_unchanged() {
    let t = Setup::new().await;
    let mut events = t.events();
    let raw = r#"{"model":"claude-test","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":1024},"context_management":{"edits":[]},"future_field":{"nested":[1,2.50,null]},"messages":[{"role":"user","content":"hello"}],"metadata":{"user_id":"{\"session_id\":\"abc\"}"}}"#;
    let res = t
        .post("/v1/messages?beta=true")
        .header("content-type", "application/json")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .header("x-claude-code-session-id", "session-1")
        .header("cookie", "realms_session=secret-cookie")
        .header("x-app", "cli")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], ANSWER);

    let seen = t.mock.requests();
    let r = &seen[0];
    assert_eq!(
        r.path_and_query, "/v1/messages?beta=true",
        "same path and query, /v1 not doubled"
    );
    assert_eq!(r.headers["x-api-key"], UPSTREAM_KEY);
    assert_eq!(r.headers["authorization"], format!("Bearer {UPSTREAM_KEY}"));
    assert_eq!(r.headers["anthropic-version"], "2023-06-01", "defaulted");
    assert_eq!(
        r.headers["anthropic-beta"],
        "claude-code-20250219,interleaved-thinking-2025-05-14"
    );
    assert_eq!(r.headers["x-app"], "cli");
    assert!(r.headers.get("cookie").is_none());
    let all_headers = format!("{:?}", r.headers);
    assert!(
        !all_headers.contains(&t.token) && !all_headers.contains("rlm_"),
        "the Realms token never leaves"
    );
    assert_eq!(r.body["model"], "claude-test-upstream");
    let sent: Value = serde_json::from_str(raw).unwrap();
    for field in [
        "thinking",
        "context_management",
        "future_field",
        "messages",
        "metadata",
        "max_tokens",
    ] {
        assert_eq!(
            r.body[field], sent[field],
            "{field} reaches the upstream unchanged"
        );
    }

    let e = next(&mut events).await;
    assert_eq!(e.status, 200);
    assert_eq!(e.model, "claude-test");
    assert_eq!(e.upstream_model.as_deref(), Some("claude-test-upstream"));
    assert_eq!(
        e.tokens,
        TokenCounts {
            input: 12,
            output: 7,
            cache_write_5m: 2,
            cache_write_1h: 3,
            cache_read: 3,
            web_searches: 0
        }
    );
    // 12 × 3 + 7 × 15 + 2 × 3.75 + 3 × 6 + 3 × 0.30 = 167.4 micro-USD.
    assert_eq!(e.cost, 167_400);
    assert!(!e.stream && !e.client_disconnected && e.error_class.is_none());
    assert_eq!(e.attempts, 1);
}

#[tokio::test]
async fn streams_are_relayed_live_with_usage_read_on_the_way() {
    let t = Setup::new().await;
    t.on_primary("claude-live", "mock-gated").await;
    let mut events = t.events();
    let mut res = t.messages(body("claude-live", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    // The first event arrives while the upstream still holds the rest back.
    let first = tokio::time::timeout(Duration::from_secs(10), res.chunk())
        .await
        .expect("the first event is delivered before the upstream finishes")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("event: message_start"));
    t.mock.open_gate();
    let mut rest = String::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        rest.contains(ANSWER)
            && rest.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{rest}"
    );

    let e = next(&mut events).await;
    assert!(e.stream);
    assert_eq!(
        e.tokens,
        TokenCounts {
            input: 12,
            output: 7,
            cache_write_5m: 2,
            cache_write_1h: 3,
            cache_read: 3,
            web_searches: 0
        }
    );
    assert!(e.ttfb_ms.is_some());
    assert!(e.error_class.is_none());
}

#[tokio::test]
async fn failover_happens_before_the_first_byte() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    // Higher-priority channels that fail: an overloaded one, and one that resets the connection.
    let overloaded = t.channel("overloaded", &t.mock_url.clone(), 20).await;
    let reset_addr = realms_mock::spawn_resetting("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let resetting = t
        .channel("resetting", &format!("http://{reset_addr}"), 10)
        .await;
    t.model("claude-fo").await;
    t.bind("claude-fo", overloaded, "mock-status-529").await;
    t.bind("claude-fo", resetting, "claude-fo").await;
    t.bind("claude-fo", primary, "claude-fo-good").await;
    let mut events = t.events();

    let res = t.messages(body("claude-fo", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(ANSWER));
    let e = next(&mut events).await;
    assert_eq!(e.attempts, 3);
    assert_eq!(e.channel_id, Some(primary));
    assert_eq!(t.seen_models(), vec!["mock-status-529", "claude-fo-good"]);

    // Both failed channels now cool down: the next request goes straight to the healthy one.
    let res = t.messages(body("claude-fo", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let e = next(&mut events).await;
    assert_eq!(e.attempts, 1, "cooling channels are skipped");
    assert_eq!(
        t.seen_models(),
        vec!["mock-status-529", "claude-fo-good", "claude-fo-good"]
    );
}

#[tokio::test]
async fn a_bad_channel_key_fails_over_and_other_client_errors_pass_through() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let url = t.mock_url.clone();
    let bad = t
        .channel_keyed(ChannelKind::Anthropic, "bad-key", &url, 10, "sk-wrong")
        .await;
    t.model("claude-k").await;
    t.bind("claude-k", bad, "claude-k").await;
    t.bind("claude-k", primary, "claude-k").await;
    let res = t.messages(body("claude-k", false)).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "401 from the upstream means a bad channel key: try the next"
    );

    t.model("claude-400").await;
    t.bind("claude-400", primary, "mock-status-400").await;
    let before = t.mock.requests().len();
    let (status, kind, message) = error_of(t.messages(body("claude-400", false)).await).await;
    assert_eq!(
        (status, kind.as_str(), message.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "api_error",
            "mock fault 400 Bad Request"
        )
    );
    assert_eq!(
        t.mock.requests().len(),
        before + 1,
        "no retry on a client error"
    );
}

#[tokio::test]
async fn no_failover_after_the_first_byte_the_stream_ends_with_an_error_event() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let breaking = t.channel("breaking", &t.mock_url.clone(), 10).await;
    t.model("claude-mid").await;
    t.bind("claude-mid", breaking, "mock-reset-mid").await;
    t.bind("claude-mid", primary, "claude-mid-good").await;
    let mut events = t.events();
    let res = t.messages(body("claude-mid", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("event: message_start"), "{text}");
    assert!(
        text.ends_with("\n\n")
            && text.contains(
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""
            ),
        "{text}"
    );
    assert_eq!(
        text.matches("event: message_start").count(),
        1,
        "nothing from another channel was spliced in"
    );
    assert_eq!(
        t.seen_models(),
        vec!["mock-reset-mid"],
        "no second channel after the first byte"
    );
    let e = next(&mut events).await;
    assert_eq!(e.error_class.as_deref(), Some("upstream_unreachable"));
    assert_eq!(e.tokens.input, 12, "usage read before the break is kept");
}

#[tokio::test]
async fn a_session_sticks_to_its_channel_and_key() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let second = t.channel("second", &t.mock_url.clone(), 0).await;
    t.model("claude-s").await;
    t.bind("claude-s", primary, "via-primary").await;
    t.bind("claude-s", second, "via-second").await;
    for session in ["session-a", "session-b", "session-c"] {
        let start = t.mock.requests().len();
        for _ in 0..8 {
            let res = t
                .post("/v1/messages")
                .header("x-claude-code-session-id", session)
                .json(&body("claude-s", false))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        let models = t.seen_models();
        let used: std::collections::HashSet<_> = models[start..].iter().collect();
        assert_eq!(
            used.len(),
            1,
            "{session} stayed on one channel: {:?}",
            &models[start..]
        );
    }
    // The session id inside metadata.user_id works the same way.
    let start = t.mock.requests().len();
    for _ in 0..8 {
        let mut b = body("claude-s", false);
        b["metadata"] = json!({ "user_id": "{\"session_id\":\"meta-session\"}" });
        assert_eq!(t.messages(b).await.status(), StatusCode::OK);
    }
    let models = t.seen_models();
    let used: std::collections::HashSet<_> = models[start..].iter().collect();
    assert_eq!(used.len(), 1);
}

#[tokio::test]
async fn a_client_that_disconnects_is_settled_with_the_usage_the_upstream_reported() {
    let t = Setup::new().await;
    t.on_primary("claude-gone", "mock-gated").await;
    let mut events = t.events();
    let mut res = t.messages(body("claude-gone", true)).await;
    let first = res.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    drop(res);
    t.mock.open_gate();
    let e = next(&mut events).await;
    assert!(e.client_disconnected);
    assert_eq!(e.error_class.as_deref(), Some("client_disconnected"));
    assert_eq!(
        e.tokens.output, 7,
        "the final usage was read after the client left"
    );
    assert!(e.cost > 0);
}

#[tokio::test]
async fn timeouts_before_and_during_a_stream() {
    let t = Setup::with(RelayConfig {
        first_byte_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..RelayConfig::default()
    })
    .await;
    t.on_primary("claude-slow", "mock-slow-5000").await;
    // Its own channel: the slow one cools down after its timeout.
    let stalling = t.channel("stalling", &t.mock_url.clone(), 0).await;
    t.model("claude-stall").await;
    t.bind("claude-stall", stalling, "mock-stall").await;

    let (status, kind, message) = error_of(t.messages(body("claude-slow", true)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::GATEWAY_TIMEOUT, "timeout_error"),
        "{message}"
    );

    let res = t.messages(body("claude-stall", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("event: message_start"));
    assert!(
        text.contains(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"timeout_error\""
        ),
        "{text}"
    );
}

#[tokio::test]
async fn count_tokens_routes_like_messages_and_is_never_billed() {
    let t = Setup::new().await;
    let mut events = t.events();
    let res = t
        .post("/v1/messages/count_tokens?beta=true")
        .json(&json!({"model": "claude-test", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["input_tokens"], 12);
    assert_eq!(
        t.mock.requests()[0].path_and_query,
        "/v1/messages/count_tokens?beta=true"
    );
    assert_eq!(t.mock.requests()[0].body["model"], "claude-test-upstream");
    let e = next(&mut events).await;
    assert_eq!(e.api, "count_tokens");
    assert_eq!(e.cost, 0);
}

#[tokio::test]
async fn every_request_is_exactly_one_stored_usage_event() {
    let t = Setup::new().await;
    let mut ids = Vec::new();
    let requests = vec![
        body("claude-test", false),
        body("claude-test", true),
        body("claude-missing", false),
        json!({"no": "model"}),
        body("claude-test", false),
    ];
    for b in requests {
        let res = t.messages(b).await;
        ids.push(
            res.headers()["x-realms-request-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        let _ = res.bytes().await;
    }
    t.s.relay.shutdown().await;
    let stored = app::core::usage_log::recent(&t.s.db, None, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), ids.len());
    let mut stored_ids: Vec<_> = stored.iter().map(|e| e.request_id.clone()).collect();
    stored_ids.sort();
    ids.sort();
    assert_eq!(stored_ids, ids);
    let token = tokens::list_for_user(&t.s.db, stored[0].user_id)
        .await
        .unwrap();
    assert!(
        token[0].last_used_at.is_some(),
        "the token's last use is recorded"
    );
}

#[tokio::test]
async fn a_request_for_an_alias_is_its_model_with_its_prices_and_bindings() {
    let t = Setup::new().await;
    let m = app::core::models::find_by_public_id(&t.s.db, "claude-test")
        .await
        .unwrap()
        .unwrap();
    t.ops()
        .set_aliases(m.id, &["claude-test-20250101".into()])
        .await
        .unwrap();
    t.reload().await;
    let mut events = t.events();
    let res = t.messages(body("claude-test-20250101", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Sent upstream as the model's binding names it.
    assert_eq!(
        t.mock.requests().last().unwrap().body["model"],
        "claude-test-upstream"
    );
    let e = next(&mut events).await;
    assert_eq!(e.model, "claude-test-20250101", "what was asked");
    assert_eq!(
        e.resolved_model.as_deref(),
        Some("claude-test"),
        "what it resolved to"
    );
    assert!(e.cost > 0, "priced as its model");
    t.settled().await;
    let stored = app::core::usage_log::recent(&t.s.db, None, 10)
        .await
        .unwrap();
    assert_eq!(stored[0].resolved_model.as_deref(), Some("claude-test"));
    // By its own id, nothing is resolved.
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
    assert_eq!(next(&mut events).await.resolved_model, None);

    // The models list shows the alias as an id of its own.
    let list: Value = t
        .http
        .get(format!("{}/v1/models", t.s.url))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["claude-test", "claude-test-20250101"]);

    // A disabled model's aliases go with it.
    t.ops().set_model_enabled(m.id, false).await.unwrap();
    t.reload().await;
    let (status, kind, _) = error_of(t.messages(body("claude-test-20250101", false)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::NOT_FOUND, "not_found_error")
    );
}
