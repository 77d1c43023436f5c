//! What a gateway for Claude Code must get right beyond relaying, over real sockets against the
//! mock upstream: errors an upstream sends as successes (an error body with status 200, a stream
//! whose first event is an error, a stream that ends without its final event); web searches billed
//! at their price; thinking-signature repair; probes; per-channel request filtering; tokens and
//! users limited to Claude Code.

mod common;

use reqwest::StatusCode;
use serde_json::{json, Value};

use app::clients::ClientRule;
use app::core::{models, tokens, usage_log};
use app::money::{cost_nano, Prices};
use app::types::{ChannelKind, RequestFilter};
use common::setup::*;
use realms_mock::ANSWER;

/// `model` on a channel of its own whose upstream answers as `fault`, tried first, and on a
/// good channel after it.
async fn faulty_then_good(t: &Setup, model: &str, fault: &str) {
    let faulty = t
        .channel(&format!("{model}-faulty"), &t.mock_url.clone(), 10)
        .await;
    let good = t
        .channel(&format!("{model}-good"), &t.mock_url.clone(), 0)
        .await;
    t.model(model).await;
    t.bind(model, faulty, fault).await;
    t.bind(model, good, &format!("{model}-up")).await;
}

#[tokio::test]
async fn an_error_sent_as_a_success_fails_over_and_cools_the_key() {
    let t = Setup::new().await;
    for (model, fault, stream) in [
        ("claude-e200", "mock-error-200", false),
        ("claude-e200s", "mock-error-200", true),
        ("claude-efirst", "mock-error-first", true),
    ] {
        faulty_then_good(&t, model, fault).await;
        let mut events = t.events();
        let before = t.seen_models().len();
        let res = t.messages(body(model, stream)).await;
        assert_eq!(res.status(), StatusCode::OK, "{model}");
        let text = res.text().await.unwrap();
        assert!(
            text.contains(ANSWER),
            "{model}: the good channel answered: {text}"
        );
        assert!(!text.contains("overloaded_error"), "{model}: {text}");
        let e = next(&mut events).await;
        assert_eq!(e.error_class, None, "{model}");
        assert_eq!(e.attempts, 2, "{model}");
        assert!(e.cost > 0, "{model}: the answer is billed");
        // The faulty key cools down: the next request goes to the good channel only.
        let res = t.messages(body(model, stream)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap();
        let up = format!("{model}-up");
        assert_eq!(
            t.seen_models()[before..],
            [fault, up.as_str(), up.as_str()],
            "{model}"
        );
    }
}

#[tokio::test]
async fn an_error_sent_as_a_success_by_the_last_channel_reaches_the_client_as_an_error() {
    let t = Setup::new().await;
    t.on_primary("claude-e200", "mock-error-200").await;
    let mut events = t.events();
    let (status, kind, _) = error_of(t.messages(body("claude-e200", false)).await).await;
    assert_eq!((status.as_u16(), kind.as_str()), (529, "overloaded_error"));
    let e = next(&mut events).await;
    assert_eq!(e.error_class.as_deref(), Some("upstream_5xx"));
    assert_eq!((e.status, e.cost), (529, 0));

    let only = t.channel("only", &t.mock_url.clone(), 0).await;
    t.model("claude-efirst").await;
    t.bind("claude-efirst", only, "mock-error-first").await;
    let res = t.messages(body("claude-efirst", true)).await;
    let text = res.text().await.unwrap();
    assert!(text.starts_with("event: error"), "relayed as sent: {text}");
    let e = next(&mut events).await;
    assert_eq!(e.error_class.as_deref(), Some("upstream_overloaded_error"));
    assert_eq!(e.cost, 0);
}

#[tokio::test]
async fn a_stream_that_ends_without_its_final_event_is_truncated() {
    let t = Setup::new().await;
    t.on_primary("claude-nostop", "mock-no-stop").await;
    let mut events = t.events();
    let res = t.messages(body("claude-nostop", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains(ANSWER));
    assert!(!text.contains("message_stop"));
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(
        last.starts_with("event: error") && last.contains("api_error"),
        "the client is told the answer is incomplete: {last}"
    );
    let e = next(&mut events).await;
    assert_eq!(e.error_class.as_deref(), Some("stream_truncated"));
    // What was received is billed: the upstream reported its count before it stopped.
    assert_eq!(e.tokens.output, 7);
    assert!(!e.estimated);
    assert!(e.cost > 0);
}

#[tokio::test]
async fn an_openai_error_sent_as_a_success_fails_over() {
    let t = Setup::new().await;
    let faulty = t
        .channel_of(
            ChannelKind::Openai,
            "oai-faulty",
            &format!("{}/v1", t.mock_url),
            10,
        )
        .await;
    let good = t
        .channel_of(
            ChannelKind::Openai,
            "oai-good",
            &format!("{}/v1", t.mock_url),
            0,
        )
        .await;
    t.model("gpt-e200").await;
    t.bind("gpt-e200", faulty, "mock-error-200").await;
    t.bind("gpt-e200", good, "gpt-up").await;
    let mut events = t.events();
    let res = t
        .post("/v1/chat/completions")
        .json(&json!({ "model": "gpt-e200", "messages": [{ "role": "user", "content": "hi" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], ANSWER);
    let e = next(&mut events).await;
    assert_eq!((e.attempts, e.error_class.clone()), (2, None));
}

#[tokio::test]
async fn web_searches_are_billed_at_the_models_price_or_the_sites() {
    let t = Setup::new().await;
    t.on_primary("claude-search", "mock-web-search-3").await;
    let tokens = cost_nano(
        &Prices::with_derived_cache(3_000_000, 15_000_000),
        [12, 7, 2, 3, 3],
    );
    let mut events = t.events();
    for stream in [false, true] {
        let res = t.messages(body("claude-search", stream)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap();
        let e = next(&mut events).await;
        assert_eq!(e.tokens.web_searches, 3, "stream {stream}");
        // The site's default: $10 per 1,000, one cent a search.
        assert_eq!(e.cost, tokens + 3 * 10_000_000, "stream {stream}");
    }
    // The site's price changes; then the model gets its own.
    t.ops().set_site_web_search_price(5_000_000).await.unwrap();
    t.reload().await;
    t.messages(body("claude-search", true))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(next(&mut events).await.cost, tokens + 3 * 5_000_000);
    let id = models::find_by_public_id(&t.s.db, "claude-search")
        .await
        .unwrap()
        .unwrap()
        .id;
    t.ops()
        .set_model_web_search_price(id, Some(25_000_000))
        .await
        .unwrap();
    t.reload().await;
    t.messages(body("claude-search", false))
        .await
        .text()
        .await
        .unwrap();
    let e = next(&mut events).await;
    assert_eq!(e.cost, tokens + 3 * 25_000_000);
    // Stored, and shown in the usage rows.
    t.settled().await;
    let (rows, _) = usage_log::list(&t.s.db, &usage_log::Filter::default(), 0, 10)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.web_searches == 3));
    // Without searches, nothing is added.
    t.on_primary("claude-plain", "claude-plain-up").await;
    t.messages(body("claude-plain", false))
        .await
        .text()
        .await
        .unwrap();
    let e = next(&mut events).await;
    assert_eq!((e.tokens.web_searches, e.cost), (0, tokens));
}

/// A conversation whose earlier assistant turn carries a thinking block signed `signature`.
fn with_thinking(model: &str, signature: &str) -> Value {
    json!({
        "model": model, "max_tokens": 1024, "stream": true,
        "thinking": { "type": "enabled", "budget_tokens": 512 },
        "messages": [
            { "role": "user", "content": "hello" },
            { "role": "assistant", "content": [
                { "type": "thinking", "thinking": "Let me think.", "signature": signature },
                { "type": "text", "text": "Hi." } ] },
            { "role": "user", "content": "and again" },
        ],
    })
}

#[tokio::test]
async fn thinking_signed_by_another_upstream_is_removed_and_the_request_sent_again() {
    let t = Setup::new().await;
    t.on_primary("claude-signed", "mock-signed").await;
    let mut events = t.events();
    let res = t
        .messages(with_thinking("claude-signed", "signed-by-another-channel"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(ANSWER));
    let seen = t.mock.requests();
    assert_eq!(seen.len(), 2, "refused once, then sent again");
    let (first, again) = (&seen[0].body, &seen[1].body);
    assert_eq!(first["messages"][1]["content"][0]["type"], "thinking");
    assert_eq!(
        again["messages"][1]["content"],
        json!([{ "type": "text", "text": "Hi." }])
    );
    // Everything else went as it was.
    let mut expected = first.clone();
    expected["messages"][1]["content"] = again["messages"][1]["content"].clone();
    assert_eq!(again, &expected);
    let e = next(&mut events).await;
    assert!(e.thinking_stripped);
    assert_eq!((e.attempts, e.error_class.clone()), (1, None));

    // Its own signatures pass the first time; another 400 is not sent again.
    let res = t.messages(with_thinking("claude-signed", "mock-1")).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap();
    assert!(!next(&mut events).await.thinking_stripped);
    t.on_primary("claude-400", "mock-status-400").await;
    let res = t.messages(with_thinking("claude-400", "x")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let e = next(&mut events).await;
    assert!(!e.thinking_stripped);
    assert_eq!(t.mock.requests().len(), 4, "one request each");
}

fn warmup(model: &str, stream: bool) -> Value {
    json!({ "model": model, "max_tokens": 32000, "stream": stream,
            "messages": [{ "role": "user", "content": "Warmup" }] })
}

fn quota(model: &str) -> Value {
    json!({ "model": model, "max_tokens": 1,
            "messages": [{ "role": "user", "content": "quota" }] })
}

#[tokio::test]
async fn probes_sent_upstream_get_one_attempt_and_are_marked() {
    let t = Setup::new().await;
    let failing = t.channel("failing", &t.mock_url.clone(), 10).await;
    let good = t.channel("good", &t.mock_url.clone(), 0).await;
    t.model("claude-p").await;
    t.bind("claude-p", failing, "mock-status-500").await;
    t.bind("claude-p", good, "claude-p-up").await;
    let mut events = t.events();
    let res = t.messages(quota("claude-p")).await;
    assert_eq!(res.status().as_u16(), 500, "no failover for a probe");
    let e = next(&mut events).await;
    assert!(e.probe);
    assert_eq!(e.attempts, 1);
    // The failing key cooled down all the same: work goes to the good channel.
    let res = t.messages(body("claude-p", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!next(&mut events).await.probe);
    assert_eq!(t.seen_models(), ["mock-status-500", "claude-p-up"]);
    // A probe that reaches a good upstream pays what it reports.
    t.on_primary("claude-q", "claude-q-up").await;
    let res = t.messages(warmup("claude-q", true)).await;
    assert!(res.text().await.unwrap().contains(ANSWER));
    let e = next(&mut events).await;
    assert!(e.probe && e.cost > 0);
}

#[tokio::test]
async fn probes_answered_here_never_reach_an_upstream_and_cost_nothing() {
    let t = Setup::new().await;
    t.on_primary("claude-p", "claude-p-up").await;
    t.ops()
        .set_probes(app::types::ProbePolicy::Answer)
        .await
        .unwrap();
    t.reload().await;
    let mut events = t.events();

    let res = t.messages(quota("claude-p")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-realms-request-id"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-p");
    assert_eq!(v["content"][0]["type"], "text");
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"]["output_tokens"], 0);
    let e = next(&mut events).await;
    assert!(e.probe);
    assert_eq!((e.status, e.cost, e.channel_id), (200, 0, None));

    let res = t.messages(warmup("claude-p", true)).await;
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let text = res.text().await.unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let e = next(&mut events).await;
    assert!(e.probe && e.stream);
    assert_eq!(e.cost, 0);
    assert!(t.mock.requests().is_empty(), "nothing went upstream");

    // An unknown model is still a 404, and work still goes upstream.
    let res = t.messages(quota("claude-nope")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    next(&mut events).await;
    let res = t.messages(body("claude-p", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!next(&mut events).await.probe);
    assert_eq!(t.mock.requests().len(), 1);
}

/// A request as Claude Code sends it: its betas, `metadata` and `context_management`.
async fn as_claude_code(t: &Setup, model: &str) -> reqwest::Response {
    t.post("/v1/messages?beta=true")
        .header(
            "anthropic-beta",
            "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,context-management-2025-06-27",
        )
        .json(&json!({
            "model": model, "max_tokens": 1024, "stream": true,
            "metadata": { "user_id": "{\"session_id\":\"s-1\"}" },
            "context_management": { "edits": [{ "type": "clear_thinking_20251015", "keep": "all" }] },
            "messages": [{ "role": "user", "content": "hello" }],
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_channel_drops_what_its_provider_refuses_and_sends_the_rest_as_it_came() {
    let t = Setup::new().await;
    let strict = t.channel("strict", &t.mock_url.clone(), 0).await;
    t.model("claude-compat").await;
    t.bind("claude-compat", strict, "mock-strict").await;
    let mut events = t.events();

    // Unfiltered, the provider refuses it, and a 400 is not failed over.
    let res = as_claude_code(&t, "claude-compat").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("not supported"));
    next(&mut events).await;

    // With the preset, the same request is answered.
    let c = t
        .ops()
        .set_channel_filter(strict, &RequestFilter::anthropic_compatible())
        .await
        .unwrap();
    assert_eq!(c.filter, RequestFilter::anthropic_compatible());
    t.reload().await;
    let res = as_claude_code(&t, "claude-compat").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(ANSWER));
    let e = next(&mut events).await;
    assert_eq!((e.error_class.clone(), e.attempts), (None, 1));
    let seen = t.mock.requests();
    let (before, after) = (&seen[0], &seen[1]);
    assert_eq!(
        after.headers["anthropic-beta"],
        "claude-code-20250219,interleaved-thinking-2025-05-14"
    );
    let mut expected = before.body.clone();
    let object = expected.as_object_mut().unwrap();
    object.remove("metadata");
    object.remove("context_management");
    assert_eq!(after.body, expected, "only the listed fields left");
}

#[tokio::test]
async fn a_filter_is_checked_before_it_is_stored() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let bad = RequestFilter {
        betas: vec!["context 1m".into()],
        fields: vec![],
    };
    assert!(t.ops().set_channel_filter(primary, &bad).await.is_err());
    let long = RequestFilter {
        betas: (0..40).map(|i| format!("b{i}")).collect(),
        fields: vec![],
    };
    assert!(t.ops().set_channel_filter(primary, &long).await.is_err());
    assert_eq!(RequestFilter::parse_list(" a, b ,,a\tc"), ["a", "b", "c"]);
}

async fn as_client(t: &Setup, agent: Option<&str>) -> reqwest::Response {
    let mut req = t.post("/v1/messages").json(&body("claude-open", false));
    if let Some(agent) = agent {
        req = req.header("user-agent", agent);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_token_or_a_user_limited_to_claude_code_refuses_other_clients_clearly() {
    let t = Setup::new().await;
    t.on_primary("claude-open", "claude-open-up").await;
    let claude = Some("claude-cli/2.1.332 (external, cli)");
    let curl = Some("curl/8.5.0");
    assert_eq!(as_client(&t, curl).await.status(), StatusCode::OK);

    let token_id = tokens::list_for_user(&t.s.db, t.user_id().await)
        .await
        .unwrap()[0]
        .id;
    let only_claude = ClientRule::claude_code(None).unwrap();
    tokens::set_clients(&t.s.db, t.user_id().await, token_id, &only_claude)
        .await
        .unwrap();
    t.changed().await;
    let mut events = t.events();
    for agent in [curl, None] {
        let res = as_client(&t, agent).await;
        assert_eq!(res.headers()["x-realms-error"], "client_refused");
        let (status, kind, message) = error_of(res).await;
        assert_eq!((status.as_u16(), kind.as_str()), (403, "permission_error"));
        assert!(
            message.contains("This Realms token accepts only Claude Code"),
            "{message}"
        );
        let e = next(&mut events).await;
        assert_eq!(e.error_class.as_deref(), Some("client_refused"));
        assert_eq!(e.cost, 0);
    }
    assert_eq!(as_client(&t, claude).await.status(), StatusCode::OK);
    next(&mut events).await;

    // The user's rule, set by an administrator, holds over every token: here a newer version.
    let newer = ClientRule::claude_code(Some("2.2.0")).unwrap();
    t.ops()
        .set_user_clients(t.user_id().await, &newer)
        .await
        .unwrap();
    t.reload().await;
    let (status, _, message) = error_of(as_client(&t, claude).await).await;
    assert_eq!(status.as_u16(), 403);
    assert!(
        message.contains("Your Realms account accepts only Claude Code 2.2.0 or later")
            && message.contains("2.1.332"),
        "{message}"
    );
    let res = as_client(&t, Some("claude-cli/2.2.1 (external, cli)")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        t.mock.requests().len(),
        3,
        "refused requests never went upstream"
    );
}
