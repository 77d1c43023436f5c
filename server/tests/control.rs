//! The control plane over real HTTP: admin server fns refuse everyone else and change nothing, saved
//! keys never reach the browser, the channel Test against the mock upstream, the price list import,
//! field errors, balances, and changes reaching the routing catalog at once.

mod common;

use reqwest::StatusCode;
use serde_json::Value;

use app::core::{audit, balances, channels, models, users};
use common::{call, client, register, start, Server};
use realms_mock::MockState;

const KEY: &str = "sk-ant-api03-secret-1234567890-LAST";

/// Signs in an admin and a plain user, and returns their clients.
async fn admin_and_user(s: &Server) -> (reqwest::Client, reqwest::Client) {
    let admin = client(s);
    register(&admin, s, "admin@example.com").await;
    let user = client(s);
    register(&user, s, "user@example.com").await;
    (admin, user)
}

async fn ok(c: &reqwest::Client, s: &Server, path: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = call(c, s, path, form).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn create_channel(
    c: &reqwest::Client,
    s: &Server,
    name: &str,
    base_url: &str,
    key: &str,
) -> i64 {
    let body = ok(
        c,
        s,
        "admin/create_channel",
        &[
            ("name", name),
            ("kind", "anthropic"),
            ("base_url", base_url),
            ("key", key),
        ],
    )
    .await;
    body.as_i64().expect("the new channel's id")
}

async fn create_model(c: &reqwest::Client, s: &Server, id: &str) -> i64 {
    let body = ok(
        c,
        s,
        "admin/create_model",
        &[
            ("form[public_id]", id),
            ("form[input_price]", "3"),
            ("form[output_price]", "15"),
            ("form[enabled]", "on"),
        ],
    )
    .await;
    body.as_i64().expect("the new model's id")
}

#[tokio::test]
async fn every_admin_server_fn_refuses_plain_users_and_anonymous_and_changes_nothing() {
    let s = start().await;
    let (admin, user) = admin_and_user(&s).await;
    let anon = client(&s);
    let channel = create_channel(&admin, &s, "main", "https://api.anthropic.com", KEY).await;
    let model = create_model(&admin, &s, "claude-x").await;
    ok(
        &admin,
        &s,
        "admin/create_binding",
        &[
            ("model_id", &model.to_string()),
            ("channel_id", &channel.to_string()),
        ],
    )
    .await;
    let binding = app::core::bindings::list(&s.db).await.unwrap()[0].id;
    let target = users::find_by_email(&s.db, "user@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let endpoint = channels::endpoints(&s.db, Some(channel)).await.unwrap()[0].id;
    let credential = channels::credentials(&s.db, Some(channel)).await.unwrap()[0].id;
    let revision = audit::revision(&s.db).await.unwrap();

    let (c, m, b, u, e, k) = (
        channel.to_string(),
        model.to_string(),
        binding.to_string(),
        target.to_string(),
        endpoint.to_string(),
        credential.to_string(),
    );
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("admin/channels", vec![]),
        ("admin/channel", vec![("id", &c)]),
        (
            "admin/create_channel",
            vec![
                ("name", "evil"),
                ("kind", "anthropic"),
                ("base_url", "https://evil.example"),
                ("key", "k"),
            ],
        ),
        (
            "admin/update_channel",
            vec![("id", &c), ("name", "renamed"), ("kind", "openai")],
        ),
        (
            "admin/set_channel_enabled",
            vec![("id", &c), ("enabled", "false")],
        ),
        ("admin/delete_channel", vec![("id", &c)]),
        (
            "admin/add_endpoint",
            vec![("channel_id", &c), ("base_url", "https://evil.example")],
        ),
        (
            "admin/remove_endpoint",
            vec![("channel_id", &c), ("endpoint_id", &e)],
        ),
        (
            "admin/add_credential",
            vec![("channel_id", &c), ("key", "stolen")],
        ),
        (
            "admin/set_credential_enabled",
            vec![
                ("channel_id", &c),
                ("credential_id", &k),
                ("enabled", "false"),
            ],
        ),
        (
            "admin/remove_credential",
            vec![("channel_id", &c), ("credential_id", &k)],
        ),
        ("admin/test_channel", vec![("id", &c)]),
        ("admin/models", vec![]),
        ("admin/model", vec![("id", &m)]),
        ("admin/create_model", vec![("form[public_id]", "evil")]),
        (
            "admin/update_model",
            vec![("id", &m), ("form[public_id]", "evil")],
        ),
        (
            "admin/set_model_enabled",
            vec![("id", &m), ("enabled", "false")],
        ),
        ("admin/delete_model", vec![("id", &m)]),
        ("admin/price_list", vec![]),
        ("admin/import_prices", vec![("ids[0]", "gpt-4o")]),
        (
            "admin/create_binding",
            vec![("model_id", &m), ("channel_id", &c)],
        ),
        (
            "admin/update_binding",
            vec![("id", &b), ("upstream_model", "evil")],
        ),
        ("admin/delete_binding", vec![("id", &b)]),
        ("admin/users", vec![]),
        ("admin/user", vec![("id", &u)]),
        (
            "admin/set_user_disabled",
            vec![("id", &u), ("disabled", "true")],
        ),
        ("admin/set_user_role", vec![("id", &u), ("role", "admin")]),
        ("admin/adjust_balance", vec![("id", &u), ("amount", "100")]),
        (
            "admin/set_user_limits",
            vec![("id", &u), ("limits[rpm]", "1")],
        ),
        ("admin/settings", vec![]),
        ("admin/set_registration", vec![("open", "false")]),
        ("admin/set_billing", vec![("enabled", "false")]),
        ("admin/set_unpriced_models", vec![("policy", "free")]),
        ("admin/audit", vec![]),
    ];
    for (path, form) in &calls {
        let (status, body) = call(&user, &s, path, form).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "plain user on {path}: {body}"
        );
        let (status, body) = call(&anon, &s, path, form).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "anonymous on {path}: {body}"
        );
    }

    assert_eq!(
        audit::revision(&s.db).await.unwrap(),
        revision,
        "no change was recorded"
    );
    let ch = channels::get(&s.db, channel).await.unwrap();
    assert_eq!((ch.name.as_str(), ch.enabled()), ("main", true));
    assert_eq!(
        channels::endpoints(&s.db, Some(channel))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        channels::credentials(&s.db, Some(channel))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(models::list(&s.db).await.unwrap().len(), 1);
    assert!(models::get(&s.db, model).await.unwrap().enabled());
    assert_eq!(
        app::core::bindings::list(&s.db).await.unwrap()[0].upstream_model,
        "claude-x"
    );
    let plain = users::get(&s.db, target).await.unwrap().unwrap();
    assert_eq!(plain.role, app::types::Role::User);
    assert!(!plain.is_disabled());
    assert_eq!(balances::balance(&s.db, target).await.unwrap(), 0);
    assert_eq!(
        app::core::settings::load(&s.db).await.unwrap(),
        app::types::SiteSettings::default()
    );
}

#[tokio::test]
async fn saved_keys_never_reach_the_browser() {
    let s = start().await;
    let (admin, _) = admin_and_user(&s).await;
    let id = create_channel(&admin, &s, "main", "https://api.anthropic.com/v1", KEY).await;
    let added = ok(
        &admin,
        &s,
        "admin/add_credential",
        &[
            ("channel_id", &id.to_string()),
            ("key", "sk-second-key-9876"),
        ],
    )
    .await;
    assert_eq!(added, "••••9876");

    let mut seen = vec![
        ok(&admin, &s, "admin/channels", &[]).await.to_string(),
        ok(&admin, &s, "admin/channel", &[("id", &id.to_string())])
            .await
            .to_string(),
        ok(&admin, &s, "admin/audit", &[]).await.to_string(),
    ];
    for page in [
        "/admin/channels",
        &format!("/admin/channels/{id}"),
        "/admin/audit",
    ] {
        let res = admin.get(format!("{}{page}", s.url)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        seen.push(res.text().await.unwrap());
    }
    for text in &seen {
        assert!(!text.contains(KEY), "a saved key leaked: {text}");
        assert!(
            !text.contains("secret-1234567890"),
            "part of a saved key leaked"
        );
        assert!(!text.contains("sk-second-key"), "a saved key leaked");
    }
    assert!(
        seen[1].contains("LAST") && seen[1].contains("9876"),
        "keys are shown masked: {}",
        seen[1]
    );
    assert!(
        seen[4].contains("••••LAST"),
        "the channel page shows the masked key"
    );
}

#[tokio::test]
async fn channel_test_reports_status_latency_and_the_upstream_error() {
    let mock = MockState::new(vec![KEY.to_string()]);
    let addr = realms_mock::spawn("127.0.0.1:0".parse().unwrap(), mock.clone())
        .await
        .unwrap();
    let s = start().await;
    let (admin, _) = admin_and_user(&s).await;
    let id = create_channel(&admin, &s, "mock", &format!("http://{addr}/v1"), KEY).await;
    ok(
        &admin,
        &s,
        "admin/add_credential",
        &[
            ("channel_id", &id.to_string()),
            ("key", "sk-wrong-key-0000"),
        ],
    )
    .await;

    let results = ok(&admin, &s, "admin/test_channel", &[("id", &id.to_string())]).await;
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2, "one result per key: {results:?}");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["status"], 200);
    assert_eq!(
        results[0]["model"], "claude-haiku-4-5",
        "a small default model"
    );
    assert!(results[0]["latency_ms"].is_u64());
    assert_eq!(results[1]["ok"], false);
    assert_eq!(results[1]["status"], 401);
    assert_eq!(
        results[1]["message"], "The upstream answered 401 (authentication_error).",
        "the status and the error type, never the upstream's own text"
    );
    assert_eq!(results[1]["credential"], "••••0000");
    let text = Value::Array(results.clone()).to_string();
    assert!(!text.contains("sk-wrong-key") && !text.contains(KEY));

    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path_and_query, "/v1/messages", "/v1 is not doubled");
    assert_eq!(seen[0].body["max_tokens"], 1);

    // An explicit model, and an unreachable endpoint.
    let results = ok(
        &admin,
        &s,
        "admin/test_channel",
        &[("id", &id.to_string()), ("model", "mock-status-529")],
    )
    .await;
    assert_eq!(results[0]["status"], 529);
    assert_eq!(
        results[0]["message"],
        "The upstream answered 529 (overloaded_error)."
    );
    let dead = create_channel(&admin, &s, "dead", "http://127.0.0.1:9", KEY).await;
    let results = ok(
        &admin,
        &s,
        "admin/test_channel",
        &[("id", &dead.to_string())],
    )
    .await;
    assert_eq!(results[0]["ok"], false);
    assert_eq!(results[0]["status"], Value::Null);
    assert!(
        results[0]["message"]
            .as_str()
            .unwrap()
            .contains("Could not connect"),
        "{results}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_next_to_its_field() {
    let s = start().await;
    let (admin, _) = admin_and_user(&s).await;
    // (server fn, form, field, what the message says)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "admin/create_channel",
            vec![
                ("name", "x"),
                ("kind", "anthropic"),
                ("base_url", "ftp://x"),
                ("key", "k"),
            ],
            "base_url",
            "http:// or https://",
        ),
        (
            "admin/create_channel",
            vec![
                ("name", "x"),
                ("kind", "anthropic"),
                ("base_url", "https://x.example"),
                ("key", "two words"),
            ],
            "key",
            "without spaces",
        ),
        (
            "admin/create_channel",
            vec![
                ("name", "x"),
                ("kind", "anthropic"),
                ("base_url", "https://x.example"),
                ("key", "k"),
                ("weight", "0"),
            ],
            "weight",
            "from 1 to 1000",
        ),
        (
            "admin/create_channel",
            vec![
                ("name", "x"),
                ("kind", "anthropic"),
                ("base_url", "https://x.example"),
                ("key", "k"),
                ("priority", "high"),
            ],
            "priority",
            "whole number",
        ),
        (
            "admin/create_model",
            vec![
                ("form[public_id]", "m"),
                ("form[input_price]", "3"),
                ("form[output_price]", "abc"),
            ],
            "output_price",
            "number in US dollars",
        ),
        (
            "admin/create_model",
            vec![
                ("form[public_id]", "m"),
                ("form[input_price]", "0.0000001"),
                ("form[output_price]", "1"),
            ],
            "input_price",
            "6 decimal places",
        ),
        (
            "admin/create_model",
            vec![("form[public_id]", "has space")],
            "public_id",
            "no spaces",
        ),
    ];
    for (path, form, field, says) in cases {
        let (status, body) = call(&admin, &s, path, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {form:?}: {body}");
        assert_eq!(body["Field"][0], field, "{body}");
        assert!(body["Field"][1].as_str().unwrap().contains(says), "{body}");
    }
    assert!(channels::list(&s.db).await.unwrap().is_empty());
    assert!(models::list(&s.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn price_list_import_creates_priced_models_once() {
    let s = start().await;
    let (admin, _) = admin_and_user(&s).await;
    let list = ok(&admin, &s, "admin/price_list", &[]).await;
    assert!(list["dated"].as_str().unwrap().starts_with("20"));
    let n = ok(
        &admin,
        &s,
        "admin/import_prices",
        &[("ids[0]", "claude-sonnet-4-5"), ("ids[3]", "gpt-4o-mini")],
    )
    .await;
    assert_eq!(n, 2);
    let sonnet = models::find_by_public_id(&s.db, "claude-sonnet-4-5")
        .await
        .unwrap()
        .unwrap();
    let p = sonnet.prices.unwrap();
    assert_eq!(
        (
            p.input,
            p.output,
            p.cache_write_5m,
            p.cache_write_1h,
            p.cache_read
        ),
        (3_000_000, 15_000_000, 3_750_000, 6_000_000, 300_000)
    );
    assert!(sonnet.enabled());
    let n = ok(
        &admin,
        &s,
        "admin/import_prices",
        &[("ids[0]", "claude-sonnet-4-5")],
    )
    .await;
    assert_eq!(n, 0, "models with the list's prices are left alone");
    let list = ok(&admin, &s, "admin/price_list", &[]).await;
    let entry = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["public_id"] == "claude-sonnet-4-5")
        .unwrap()
        .clone();
    assert_eq!(entry["exists"], true);
    assert!(entry["repriced_from"].is_null());
    // The provider retires it: the list says so.
    assert_eq!(entry["deprecated_on"], "2026-11-30");

    // A model that exists with other prices is offered its list prices.
    models::create(
        &s.db,
        &models::ModelInput {
            public_id: "claude-haiku-4-5".into(),
            display_name: Some("Haiku".into()),
            prices: Some(app::money::Prices::with_derived_cache(1, 1)),
            enabled: false,
        },
    )
    .await
    .unwrap();
    let list = ok(&admin, &s, "admin/price_list", &[]).await;
    let haiku = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["public_id"] == "claude-haiku-4-5")
        .unwrap()
        .clone();
    assert_eq!(haiku["repriced_from"]["input"], 1);
    let n = ok(
        &admin,
        &s,
        "admin/import_prices",
        &[("ids[0]", "claude-haiku-4-5")],
    )
    .await;
    assert_eq!(n, 1, "its prices become the list's");
    let haiku = models::find_by_public_id(&s.db, "claude-haiku-4-5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(haiku.prices.unwrap().input, 1_000_000);
    assert_eq!(haiku.display_name, "Haiku", "its name stays");
    assert!(!haiku.enabled(), "its state stays");
    let (status, body) = call(
        &admin,
        &s,
        "admin/import_prices",
        &[("ids[0]", "not-listed")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn changes_reach_the_routing_catalog_at_once_and_users_see_served_models() {
    let s = start().await;
    let (admin, user) = admin_and_user(&s).await;
    let channel = create_channel(&admin, &s, "main", "https://api.anthropic.com", KEY).await;
    let model = create_model(&admin, &s, "claude-x").await;
    assert!(
        s.state
            .catalog
            .snapshot()
            .model("claude-x")
            .unwrap()
            .routes
            .is_empty(),
        "not bound yet"
    );
    assert_eq!(
        ok(&user, &s, "models", &[]).await,
        Value::Array(vec![]),
        "unbound models are not offered"
    );

    ok(
        &admin,
        &s,
        "admin/create_binding",
        &[
            ("model_id", &model.to_string()),
            ("channel_id", &channel.to_string()),
            ("upstream_model", "claude-x-20250101"),
        ],
    )
    .await;
    let snap = s.state.catalog.snapshot();
    let route = &snap.model("claude-x").unwrap().routes[0];
    assert_eq!(
        &*route.upstream_model, "claude-x-20250101",
        "no wait, no restart"
    );
    let offered = ok(&user, &s, "models", &[]).await;
    assert_eq!(offered[0]["public_id"], "claude-x");
    assert_eq!(offered[0]["prices"]["input"], 3_000_000);

    ok(
        &admin,
        &s,
        "admin/set_channel_enabled",
        &[("id", &channel.to_string()), ("enabled", "false")],
    )
    .await;
    assert!(s
        .state
        .catalog
        .snapshot()
        .model("claude-x")
        .unwrap()
        .routes
        .is_empty());
    ok(
        &admin,
        &s,
        "admin/set_model_enabled",
        &[("id", &model.to_string()), ("enabled", "false")],
    )
    .await;
    assert!(s.state.catalog.snapshot().model("claude-x").is_none());
}

#[tokio::test]
async fn balance_adjustments_are_ledger_rows_and_audited() {
    let s = start().await;
    let (admin, _) = admin_and_user(&s).await;
    let target = users::find_by_email(&s.db, "user@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let id = target.to_string();
    let balance = ok(
        &admin,
        &s,
        "admin/adjust_balance",
        &[("id", &id), ("amount", "12.50"), ("reason", "welcome")],
    )
    .await;
    assert_eq!(balance, 12_500_000_000i64);
    ok(
        &admin,
        &s,
        "admin/adjust_balance",
        &[("id", &id), ("amount", "-2.5")],
    )
    .await;
    let (status, body) = call(
        &admin,
        &s,
        "admin/adjust_balance",
        &[("id", &id), ("amount", "-100")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["Field"][0], "amount");

    let detail = ok(&admin, &s, "admin/user", &[("id", &id)]).await;
    assert_eq!(detail["user"]["balance"], 10_000_000_000i64);
    let ledger = detail["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[1]["reason"], "welcome");
    assert_eq!(ledger[1]["actor"], "admin@example.com");
    assert_eq!(
        balances::ledger_sum(&s.db, target).await.unwrap(),
        10_000_000_000
    );
    let log = audit::list(&s.db, 10, None).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "balance.adjust" && e.target == "user@example.com"));

    // Roles and disabling, with the self-protection rules.
    let admin_id = users::find_by_email(&s.db, "admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (status, _) = call(
        &admin,
        &s,
        "admin/set_user_disabled",
        &[("id", &admin_id.to_string()), ("disabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ok(
        &admin,
        &s,
        "admin/set_user_role",
        &[("id", &id), ("role", "admin")],
    )
    .await;
    ok(
        &admin,
        &s,
        "admin/set_user_disabled",
        &[("id", &id), ("disabled", "true")],
    )
    .await;
    let listed = ok(&admin, &s, "admin/users", &[]).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "user@example.com")
        .unwrap()
        .clone();
    assert_eq!(row["role"], "admin");
    assert_eq!(row["disabled"], true);
}

fn event(id: &str, user_id: i64, model: &str, cost: i64) -> app::core::usage_log::UsageEvent {
    app::core::usage_log::UsageEvent {
        request_id: id.into(),
        created_at: app::core::db::now_ms(),
        user_id,
        token_id: None,
        api: "messages".into(),
        model: model.into(),
        upstream_model: None,
        resolved_model: None,
        channel_id: None,
        credential_id: None,
        status: 200,
        error_class: None,
        stream: false,
        client_disconnected: false,
        attempts: 1,
        tokens: app::core::usage_log::TokenCounts {
            input: 10,
            output: 5,
            ..Default::default()
        },
        estimated: false,
        cost,
        ttfb_ms: Some(3),
        latency_ms: 4,
        thinking_stripped: false,
        probe: false,
    }
}

#[tokio::test]
async fn usage_is_private_to_its_user_and_administrators_see_everyone() {
    let s = start().await;
    let (admin, user) = admin_and_user(&s).await;
    let admin_id = users::find_by_email(&s.db, "admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let user_id = users::find_by_email(&s.db, "user@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    app::core::usage_log::insert_batch(
        &s.db,
        &[
            event("req_admin", admin_id, "model-a", 1_000),
            event("req_user", user_id, "model-u", 2_000),
        ],
    )
    .await
    .unwrap();

    let mine = ok(&user, &s, "usage", &[]).await;
    let ids: Vec<&str> = mine["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["req_user"]);
    assert_eq!(mine["is_admin"], false);
    assert!(
        mine["channels"].is_null(),
        "channel statistics are for administrators"
    );
    // A plain user cannot widen the query to someone else.
    let widened = ok(&user, &s, "usage", &[("query[user]", "admin@example.com")]).await;
    assert_eq!(widened["total"], 1);

    let all = ok(&admin, &s, "usage", &[]).await;
    assert_eq!(all["total"], 2);
    let one = ok(&admin, &s, "usage", &[("query[user]", "user@example.com")]).await;
    assert_eq!(one["total"], 1);
    let by_model = ok(&admin, &s, "usage", &[("query[model]", "model-a")]).await;
    assert_eq!(by_model["rows"][0]["request_id"], "req_admin");

    let csv = user
        .get(format!("{}/usage.csv", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = csv.text().await.unwrap();
    assert!(
        text.contains("req_user") && !text.contains("req_admin"),
        "{text}"
    );
    let anonymous = client(&s)
        .get(format!("{}/usage.csv", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let dash = ok(&user, &s, "dashboard", &[]).await;
    assert_eq!(dash["spend_today"], 2_000);
    assert_eq!(dash["requests_today"], 1);
}
