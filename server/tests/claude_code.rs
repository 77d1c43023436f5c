//! The Claude Code setup page's server side: what it shows (this server's address, the user's own
//! tokens, the models Claude Code can use) and the connection test, which sends a real request
//! through the data plane and names the cause of each failure.

mod common;

use reqwest::StatusCode;
use serde_json::Value;

use app::core::tokens;
use common::setup::*;
use common::{call, client};

/// A console client signed in as the setup's user.
async fn signed_in(t: &Setup) -> reqwest::Client {
    let c = client(&t.s);
    let (status, body) = call(
        &c,
        &t.s,
        "login",
        &[("email", "dev@example.com"), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    c
}

async fn test_connection(t: &Setup, c: &reqwest::Client, token: &str, model: &str) -> Value {
    let (status, body) = call(
        c,
        &t.s,
        "test_connection",
        &[("token", token), ("model", model)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "test_connection: {body}");
    body
}

#[tokio::test]
async fn the_setup_shows_this_servers_address_own_tokens_and_claude_code_models() {
    let t = Setup::new().await;
    // A model served by OpenAI channels only cannot serve Claude Code.
    t.channel_of(
        app::types::ChannelKind::Openai,
        "oai",
        &t.mock_url.clone(),
        0,
    )
    .await;
    t.on_openai("gpt-test", "gpt-upstream").await;
    let c = signed_in(&t).await;
    let res = c
        .post(format!("{}/api/claude_code", t.s.url))
        // From a peer that is not a trusted proxy: ignored.
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["base_url"], t.s.url.as_str());
    assert_eq!(v["models"], serde_json::json!(["claude-test"]));
    let names: Vec<&str> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cli"]);
    assert!(v["tokens"][0].get("secret").is_none());
    assert_eq!(v["billing_enabled"], true);
    assert!(v["balance"].as_i64().unwrap() > 0);
    assert_eq!(v["is_admin"], false);

    // Another user sees none of these tokens.
    let other = client(&t.s);
    common::register(&other, &t.s, "eve@example.com").await;
    let (_, v) = call(&other, &t.s, "claude_code", &[]).await;
    assert_eq!(v["tokens"], serde_json::json!([]));
    assert_eq!(v["balance"], 0);

    // Anonymous visitors get nothing.
    let (status, _) = call(&client(&t.s), &t.s, "claude_code", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_connection_test_is_a_real_request_with_its_time_and_cost() {
    let t = Setup::new().await;
    let c = signed_in(&t).await;
    let v = test_connection(&t, &c, &t.token, "claude-test").await;
    assert_eq!(v["status"], 200, "{v}");
    assert!(v["error"].is_null());
    assert!(!v["answer"].as_str().unwrap().is_empty());
    assert!(v["output_tokens"].as_u64().unwrap() > 0);
    assert!(v["total_ms"].as_u64().unwrap() >= v["ttfb_ms"].as_u64().unwrap());
    // The request went through the data plane: it is in the usage log, with the cost shown.
    let id = v["request_id"].as_str().unwrap();
    assert_eq!(
        app::core::usage_log::count_of(&t.s.db, &[id])
            .await
            .unwrap(),
        1
    );
    assert!(v["cost"].as_i64().unwrap() > 0);
    let seen = t.mock.requests();
    assert_eq!(seen.last().unwrap().body["model"], "claude-test-upstream");
    assert_eq!(seen.last().unwrap().body["max_tokens"], 16);
}

#[tokio::test]
async fn each_failure_of_the_connection_test_is_named_with_its_fix() {
    let t = Setup::new().await;
    let c = signed_in(&t).await;
    // The diagnosis travels as sentences by id, put into words where they are shown.
    let title = |v: &Value| {
        serde_json::from_value::<app::i18n::Msg>(v["diagnosis"]["title"].clone())
            .map(|m| m.to_string())
            .unwrap_or_default()
    };

    let v = test_connection(
        &t,
        &c,
        "rlm_not-a-real-token-0000000000000000000",
        "claude-test",
    )
    .await;
    assert_eq!(v["status"], 401);
    assert_eq!(title(&v), "The token is not valid");

    let v = test_connection(&t, &c, &t.token, "claude-nope").await;
    assert_eq!(v["status"], 404);
    assert_eq!(title(&v), "The model is not available");
    assert_eq!(
        v["diagnosis"]["link"][0], "/models",
        "a user is sent to the models list"
    );

    // Realms' own errors say their class in a header; the test reads it.
    let res = t.messages(body("claude-nope", false)).await;
    assert_eq!(res.headers()["x-realms-error"], "model_not_found");

    let user = t.user_id().await;
    let balance = app::core::billing::holdings(&t.s.db, user).await.unwrap().0;
    t.ops()
        .adjust_balance(user, -balance, "test: empty the balance")
        .await
        .unwrap();
    t.changed().await;
    let v = test_connection(&t, &c, &t.token, "claude-test").await;
    assert_eq!(v["status"], 402, "{v}");
    assert_eq!(title(&v), "The balance is too low");
    t.ops()
        .adjust_balance(user, balance, "test: refill")
        .await
        .unwrap();
    t.changed().await;

    // An upstream failing on its every attempt: its status and message, and what to do.
    t.on_primary("claude-broken", "mock-status-500").await;
    let v = test_connection(&t, &c, &t.token, "claude-broken").await;
    assert_eq!(v["status"], 500, "{v}");
    assert_eq!(title(&v), "The upstream answered with an error (500)");
    assert!(v["error"].as_str().unwrap().contains("mock fault"));

    let id = tokens::list_for_user(&t.s.db, user).await.unwrap()[0].id;
    tokens::revoke(&t.s.db, user, id).await.unwrap();
    t.changed().await;
    let v = test_connection(&t, &c, &t.token, "claude-test").await;
    assert_eq!(v["status"], 401);
    assert_eq!(title(&v), "The token was revoked");
    assert_eq!(v["diagnosis"]["link"][0], "/tokens");

    // Inputs are checked before anything is sent.
    let (_, v) = call(
        &c,
        &t.s,
        "test_connection",
        &[("token", ""), ("model", "claude-test")],
    )
    .await;
    assert_eq!(v["Field"][0], "token", "{v}");
}
