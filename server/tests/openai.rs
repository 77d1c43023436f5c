//! OpenAI's APIs through the one pipeline, over real sockets against the mock upstream: chat
//! completions and responses, whole and streamed; usage and exact cost (cached input at the cache
//! price); a chat stream's usage asked for upstream and handed to the client only when it asked;
//! errors in OpenAI's shape; models bound only to the other API's channels refused clearly;
//! failover before the first byte; base URLs with or without `/v1`; the models lists in both
//! shapes; exactly one usage event per request.

mod common;

use reqwest::StatusCode;
use serde_json::{json, Value};

use app::core::usage_log::TokenCounts;
use app::types::{ChannelKind, Limits};
use common::setup::*;
use realms_mock::ANSWER;

/// The fixture plus an OpenAI channel `oai` on the mock (its base URL given with `/v1`) carrying
/// `gpt-test` as `gpt-test-upstream`.
async fn setup() -> Setup {
    let t = Setup::new().await;
    let oai = t
        .channel_of(ChannelKind::Openai, "oai", &format!("{}/v1", t.mock_url), 0)
        .await;
    t.model("gpt-test").await;
    t.bind("gpt-test", oai, "gpt-test-upstream").await;
    t
}

fn chat(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "max_completion_tokens": 100,
            "messages": [{ "role": "user", "content": "hello" }] })
}

/// 12 prompt tokens of which 4 cached, 7 output: the cached ones at the cache-read price only.
const OPENAI_TOKENS: TokenCounts = TokenCounts {
    input: 8,
    output: 7,
    cache_write_5m: 0,
    cache_write_1h: 0,
    cache_read: 4,
    web_searches: 0,
};
/// 8 × $3 + 4 × $0.30 + 7 × $15 per million tokens, in nano-USD.
const OPENAI_COST: i64 = 130_200;

/// The JSON answer of a request.
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

/// Posts `body` to `path` with the fixture's token.
async fn send(t: &Setup, path: &str, body: &Value) -> reqwest::Response {
    t.post(path).json(body).send().await.unwrap()
}

/// The `data:` payloads of an OpenAI event stream.
fn data_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

async fn openai_error(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    let e = v["error"].clone();
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(
        e.get("param").is_some() && e.get("type").is_some() && e.get("code").is_some(),
        "OpenAI's error shape: {v}"
    );
    (status, e)
}

#[tokio::test]
async fn chat_completions_are_relayed_with_the_channel_key_and_billed_exactly() {
    let t = setup().await;
    let mut events = t.events();
    let res = send(&t, "/v1/chat/completions", &chat("gpt-test", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], ANSWER);
    let seen = t.mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path_and_query, "/v1/chat/completions",
        "never /v1/v1"
    );
    assert_eq!(seen[0].body["model"], "gpt-test-upstream");
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {UPSTREAM_KEY}").as_str()
    );
    assert!(seen[0].headers.get("x-api-key").is_none());
    assert!(
        !format!("{:?}", seen[0].headers).contains(&t.token),
        "the client's token never goes upstream"
    );
    let e = next(&mut events).await;
    assert_eq!(e.api, "chat.completions");
    assert_eq!(e.tokens, OPENAI_TOKENS);
    assert_eq!(e.cost, OPENAI_COST);
    assert!(!e.estimated && e.error_class.is_none() && !e.stream);
}

#[tokio::test]
async fn a_chat_stream_is_billed_but_the_client_sees_only_what_it_asked_for() {
    let t = setup().await;
    let mut events = t.events();

    // Not asked for: Realms asks upstream, reads the usage chunk and keeps it from the client.
    let res = send(&t, "/v1/chat/completions", &chat("gpt-test", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let lines = data_lines(&res.text().await.unwrap());
    assert_eq!(lines.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        chunks.iter().all(|c| c["usage"].is_null()),
        "no usage the client did not ask for: {chunks:?}"
    );
    assert!(chunks
        .iter()
        .all(|c| !c["choices"].as_array().unwrap().is_empty()));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, ANSWER);
    assert_eq!(
        t.mock.requests()[0].body["stream_options"]["include_usage"],
        true
    );
    let e = next(&mut events).await;
    assert_eq!(
        (e.tokens, e.cost, e.estimated, e.stream),
        (OPENAI_TOKENS, OPENAI_COST, false, true)
    );

    // Asked for: the client gets its usage chunk, once.
    let mut asked = chat("gpt-test", true);
    asked["stream_options"] = json!({ "include_usage": true });
    let res = send(&t, "/v1/chat/completions", &asked).await;
    let lines = data_lines(&res.text().await.unwrap());
    let usage: Vec<Value> = lines
        .iter()
        .filter(|l| *l != "[DONE]")
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| !c["usage"].is_null())
        .collect();
    assert_eq!(usage.len(), 1, "{lines:?}");
    assert_eq!(usage[0]["usage"]["prompt_tokens"], 12);
    let e = next(&mut events).await;
    assert_eq!((e.tokens, e.cost), (OPENAI_TOKENS, OPENAI_COST));

    // An upstream that ignores the option: the output is estimated from what was relayed.
    t.on_openai("gpt-silent", "mock-no-usage").await;
    let res = send(&t, "/v1/chat/completions", &chat("gpt-silent", true)).await;
    assert!(res.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    let e = next(&mut events).await;
    assert!(e.estimated);
    assert!(e.tokens.output > 0);
}

#[tokio::test]
async fn responses_are_relayed_whole_and_streamed_with_their_usage() {
    let t = setup().await;
    let mut events = t.events();
    let body = json!({ "model": "gpt-test", "input": "hello", "max_output_tokens": 50 });
    let res = send(&t, "/v1/responses", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"][0]["content"][0]["text"], ANSWER);
    assert_eq!(t.mock.requests()[0].path_and_query, "/v1/responses");
    let e = next(&mut events).await;
    assert_eq!(
        (e.api.as_str(), e.tokens, e.cost),
        ("responses", OPENAI_TOKENS, OPENAI_COST)
    );

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let res = send(&t, "/v1/responses", &streamed).await;
    let text = res.text().await.unwrap();
    assert!(text.contains("event: response.completed"), "{text}");
    let e = next(&mut events).await;
    assert_eq!(
        (e.tokens, e.cost, e.estimated, e.stream),
        (OPENAI_TOKENS, OPENAI_COST, false, true)
    );
}

#[tokio::test]
async fn errors_come_in_openai_shape_with_the_same_status_rules() {
    let t = setup().await;
    let url = format!("{}/v1/chat/completions", t.s.url);
    let (status, e) = openai_error(
        t.http
            .post(&url)
            .json(&chat("gpt-test", false))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    let (status, e) =
        openai_error(send(&t, "/v1/chat/completions", &chat("gpt-nope", false)).await).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("model_not_found"))
    );
    let (status, _) = openai_error(
        t.post("/v1/chat/completions")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A model bound only to Anthropic channels, and the reverse: refused before any upstream call.
    let (status, e) =
        openai_error(send(&t, "/v1/chat/completions", &chat("claude-test", false)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("Anthropic channels only") && message.contains("/v1/messages"),
        "{message}"
    );
    let (status, kind, message) = error_of(t.messages(body("gpt-test", false)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request_error")
    );
    assert!(message.contains("OpenAI channels only"), "{message}");
    assert!(t.mock.requests().is_empty());

    // Realms' own limit: 429 rate_limit_exceeded with retry-after.
    let u = t.user_id().await;
    t.ops()
        .set_user_limits(
            u,
            &Limits {
                rpm: Some(1),
                ..Limits::default()
            },
        )
        .await
        .unwrap();
    t.reload().await;
    assert_eq!(
        send(&t, "/v1/chat/completions", &chat("gpt-test", false))
            .await
            .status(),
        StatusCode::OK
    );
    let res = send(&t, "/v1/chat/completions", &chat("gpt-test", false)).await;
    assert!(res.headers().contains_key("retry-after"));
    let (status, e) = openai_error(res).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limit_exceeded"))
    );
    t.ops()
        .set_user_limits(u, &Limits::default())
        .await
        .unwrap();
    t.reload().await;

    // No balance: 402 insufficient_quota.
    t.settled().await;
    let left = app::core::balances::balance(&t.s.db, u).await.unwrap();
    t.ops().adjust_balance(u, -left, "empty").await.unwrap();
    let (status, e) =
        openai_error(send(&t, "/v1/chat/completions", &chat("gpt-test", false)).await).await;
    assert_eq!(
        (status, e["type"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("insufficient_quota"))
    );
    t.ops().adjust_balance(u, left, "back").await.unwrap();

    // An upstream 429 on the only channel reaches the client with its retry-after (last: it cools
    // the channel's key down).
    t.on_openai("gpt-limited", "mock-retry-after-7").await;
    let res = send(&t, "/v1/chat/completions", &chat("gpt-limited", false)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "7");

    // An unknown OpenAI path answers in OpenAI's shape too.
    let (status, _) =
        openai_error(send(&t, "/v1/completions", &chat("gpt-test", false)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failing_openai_channel_fails_over_before_the_first_byte_once_per_request() {
    for stream in [false, true] {
        let t = setup().await;
        // A higher-priority channel whose base URL has no /v1, answering 500.
        let broken = t
            .channel_of(ChannelKind::Openai, "broken", &t.mock_url.clone(), 10)
            .await;
        t.bind("gpt-test", broken, "mock-status-500").await;
        let mut events = t.events();
        let res = send(&t, "/v1/chat/completions", &chat("gpt-test", stream)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let _ = res.bytes().await.unwrap();
        let e = next(&mut events).await;
        assert_eq!(e.attempts, 2, "stream {stream}");
        assert_eq!(e.upstream_model.as_deref(), Some("gpt-test-upstream"));
        assert_eq!(e.cost, OPENAI_COST);
        let paths: Vec<_> = t
            .mock
            .requests()
            .iter()
            .map(|r| r.path_and_query.clone())
            .collect();
        assert_eq!(
            paths, ["/v1/chat/completions"; 2],
            "never /v1/v1, with /v1 in the base or not"
        );
        t.settled().await;
        let stored = app::core::usage_log::recent(&t.s.db, None, 100)
            .await
            .unwrap();
        assert_eq!(
            stored.len(),
            1,
            "one usage event per request, not per attempt"
        );
    }
}

#[tokio::test]
async fn the_models_list_speaks_openai_by_default_and_anthropic_when_asked() {
    let t = setup().await;
    // Neither an unbound nor a disabled model is listed.
    t.model("claude-unbound").await;
    let off = t
        .ops()
        .create_model(&app::core::models::ModelInput {
            public_id: "claude-off".into(),
            display_name: None,
            prices: None,
            enabled: false,
        })
        .await
        .unwrap();
    t.bind("claude-off", t.primary().await, "claude-off").await;
    let _ = off;

    let get = |path: &str| {
        t.http
            .get(format!("{}{path}", t.s.url))
            .bearer_auth(&t.token)
    };
    let v: Value = json_of(get("/v1/models")).await;
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["claude-test", "gpt-test"]);
    assert_eq!(v["data"][0]["object"], "model");
    assert!(v["data"][0]["created"].as_i64().unwrap() > 1_600_000_000);

    let v: Value = json_of(get("/v1/models").header("anthropic-version", "2023-06-01")).await;
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["data"][0]["id"], "claude-test");
    assert!(v["data"][0]["display_name"].is_string());
    assert!(v["data"][0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        (
            v["has_more"].clone(),
            v["first_id"].clone(),
            v["last_id"].clone()
        ),
        (json!(false), json!("claude-test"), json!("gpt-test"))
    );

    let v: Value = json_of(get("/v1/models/gpt-test")).await;
    assert_eq!(
        (v["id"].as_str(), v["object"].as_str()),
        (Some("gpt-test"), Some("model"))
    );
    let v: Value =
        json_of(get("/v1/models/claude-test").header("anthropic-version", "2023-06-01")).await;
    assert_eq!(v["type"], "model");

    let res = get("/v1/models/claude-unbound").send().await.unwrap();
    let (status, e) = openai_error(res).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("model_not_found"))
    );
    let res = get("/v1/models/nope")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let (status, kind, _) = error_of(res).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::NOT_FOUND, "not_found_error")
    );
    let res = t
        .http
        .get(format!("{}/v1/models", t.s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(openai_error(res).await.0, StatusCode::UNAUTHORIZED);
    assert!(
        t.mock.requests().is_empty(),
        "listing models never calls an upstream"
    );
}
