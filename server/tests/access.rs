//! The access matrix, generated from the route tables so a new route cannot be missed: every
//! console page (`generate_route_list(App)`), every server function (the registered server fn
//! paths) and every data-plane endpoint, called as an anonymous visitor, a plain user, a user who
//! was disabled after signing in, and an administrator (and on the data plane with no, unknown,
//! revoked and expired tokens and a disabled owner's token). Refused calls change nothing and show
//! nothing of anyone else.

mod common;

use reqwest::{Client, StatusCode};

use app::core::{tokens, users};
use app::pages::routes::{Access, PAGES};
use common::setup::*;
use common::{call, client, register};

/// Server fns anyone may call.
const PUBLIC_FNS: &[&str] = &[
    "/api/me",
    "/api/registration_open",
    "/api/register",
    "/api/login",
    "/api/logout",
];

/// Arguments enough for any server fn to get past reading its input (refusals must come from the
/// access rules, not from a missing field).
const ARGS: &[(&str, &str)] = &[
    ("id", "1"),
    ("name", "probe"),
    ("kind", "anthropic"),
    ("base_url", "https://api.anthropic.com"),
    ("key", "sk-ant-probe-key"),
    ("enabled", "true"),
    ("disabled", "true"),
    ("role", "user"),
    ("amount", "5"),
    ("reason", "probe"),
    ("floor", "5"),
    ("public_id", "probe-model"),
    ("display_name", "Probe"),
    ("input_price", "1"),
    ("output_price", "1"),
    ("model_id", "1"),
    ("channel_id", "1"),
    ("user_id", "1"),
    ("endpoint_id", "1"),
    ("credential_id", "1"),
    ("token", "rlm_probe-token-that-is-not-valid-0000000000"),
    ("model", "probe-model"),
    ("binding_id", "1"),
    ("value", "true"),
    ("policy", "free"),
    ("price", "5"),
    ("clients", "any"),
    ("open", "true"),
    ("form[public_id]", "probe-model"),
];

/// Row counts of every table a console call can change.
async fn snapshot(t: &Setup) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "users",
        "tokens",
        "channels",
        "channel_endpoints",
        "channel_credentials",
        "models",
        "bindings",
        "ledger",
        "audit_log",
    ] {
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(t.s.db.pool())
                .await
                .unwrap(),
            "n",
        )
        .unwrap();
        out.push(n);
    }
    let sums: i64 = sqlx::Row::try_get(
        &sqlx::query(
            "SELECT CAST(COALESCE(SUM(balance), 0) + COUNT(disabled_at) \
             + SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END) AS BIGINT) AS n FROM users",
        )
        .fetch_one(t.s.db.pool())
        .await
        .unwrap(),
        "n",
    )
    .unwrap();
    out.push(sums);
    out
}

fn server_fns() -> Vec<String> {
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() > 30, "the server fns are registered: {paths:?}");
    paths
}

/// Every page of the router, each with the rule of its row in the page table; a route the table
/// lacks (or a row no route has) fails here.
fn pages() -> Vec<(String, Access)> {
    let mut routes: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|r| r.path().replace("{id}", ":id"))
        .collect();
    routes.sort();
    routes.dedup();
    let mut table: Vec<String> = PAGES.iter().map(|p| p.path.to_string()).collect();
    table.sort();
    assert_eq!(
        routes, table,
        "every route of the router has a row in app::pages::routes::PAGES, and no other row"
    );
    PAGES
        .iter()
        .map(|p| (p.path.replace(":id", "1"), p.access))
        .collect()
}

struct People {
    admin: Client,
    plain: Client,
    disabled: Client,
    anonymous: Client,
}

/// An administrator, a plain user with a token named so it can be searched for, and a user who
/// signs in and is then disabled.
async fn people(t: &Setup) -> People {
    let admin = client(&t.s);
    register(&admin, &t.s, "root@example.com").await;
    let plain = client(&t.s);
    register(&plain, &t.s, "plain@example.com").await;
    let disabled = client(&t.s);
    register(&disabled, &t.s, "gone@example.com").await;
    let gone = users::find_by_email(&t.s.db, "gone@example.com")
        .await
        .unwrap()
        .unwrap();
    users::set_disabled(&t.s.db, gone.id, true).await.unwrap();
    People {
        admin,
        plain,
        disabled,
        anonymous: client(&t.s),
    }
}

#[tokio::test]
async fn every_server_fn_refuses_who_may_not_call_it_and_changes_nothing() {
    let t = Setup::new().await;
    let p = people(&t).await;
    // Something private of another user, to search refused answers for.
    let dev = t.user_id().await;
    tokens::create(&t.s.db, dev, "private-token-name-of-dev", None)
        .await
        .unwrap();
    let before = snapshot(&t).await;
    let mut wrong = Vec::new();
    for path in server_fns() {
        let fn_path = path.trim_start_matches("/api/");
        if PUBLIC_FNS.contains(&path.as_str()) {
            continue;
        }
        let admin_only = path.starts_with("/api/admin/");
        let mut callers = vec![("anonymous", &p.anonymous), ("disabled user", &p.disabled)];
        if admin_only {
            callers.push(("plain user", &p.plain));
        }
        for (who, c) in callers {
            let (status, body) = call(c, &t.s, fn_path, ARGS).await;
            let expected = if who == "plain user" { 403 } else { 401 };
            if status.as_u16() != expected {
                wrong.push(format!("{who} → {path}: {status} {body}"));
            }
            let text = body.to_string();
            for private in ["private-token-name-of-dev", "dev@example.com", UPSTREAM_KEY] {
                assert!(
                    !text.contains(private),
                    "{who} → {path} shows {private}: {text}"
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(snapshot(&t).await, before, "refused calls changed nothing");

    // Another user's things, by id, through every call a plain user may make: never shown, never
    // changed (the ids in ARGS are dev's token, channel and model).
    let dev_tokens = || async {
        tokens::list_for_user(&t.s.db, dev)
            .await
            .unwrap()
            .into_iter()
            .map(|tok| (tok.id, tok.revoked_at, tok.limits))
            .collect::<Vec<_>>()
    };
    let dev_before = dev_tokens().await;
    for path in server_fns() {
        if path.starts_with("/api/admin/") || path.ends_with("/logout") {
            continue;
        }
        let (_, body) = call(&p.plain, &t.s, path.trim_start_matches("/api/"), ARGS).await;
        let text = body.to_string();
        for private in ["private-token-name-of-dev", "dev@example.com", UPSTREAM_KEY] {
            assert!(
                !text.contains(private),
                "plain user → {path} shows {private}: {text}"
            );
        }
    }
    assert_eq!(
        dev_tokens().await,
        dev_before,
        "another user's tokens are untouched"
    );

    // An administrator is let through everywhere (any refusal is about the input, not access).
    for path in server_fns() {
        if path.ends_with("/logout") {
            continue;
        }
        let (status, body) = call(&p.admin, &t.s, path.trim_start_matches("/api/"), ARGS).await;
        assert!(
            !matches!(status.as_u16(), 401 | 403),
            "admin → {path}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn every_page_is_guarded_by_its_rule() {
    let t = Setup::new().await;
    let p = people(&t).await;
    for (page, access) in pages() {
        let url = format!("{}{page}", t.s.url);
        let guest_only = access == Access::GuestOnly;
        let admin_only = access == Access::Admin;
        for (who, c) in [("anonymous", &p.anonymous), ("disabled user", &p.disabled)] {
            let res = c.get(&url).send().await.unwrap();
            if guest_only {
                assert_eq!(res.status(), StatusCode::OK, "{who} → {page}");
            } else {
                assert!(
                    res.status().is_redirection(),
                    "{who} → {page}: {}",
                    res.status()
                );
                let to = res.headers()["location"].to_str().unwrap();
                assert!(to.starts_with("/login?next="), "{who} → {page}: {to}");
            }
        }
        let res = p.plain.get(&url).send().await.unwrap();
        if admin_only {
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "plain user → {page}");
        } else if guest_only {
            assert!(res.status().is_redirection(), "plain user → {page}");
        } else {
            assert_eq!(res.status(), StatusCode::OK, "plain user → {page}");
        }
        let res = p.admin.get(&url).send().await.unwrap();
        assert!(
            res.status() == StatusCode::OK || (guest_only && res.status().is_redirection()),
            "admin → {page}: {}",
            res.status()
        );
    }
}

#[tokio::test]
async fn data_plane_endpoints_refuse_bad_tokens_before_any_upstream() {
    let t = Setup::new().await;
    let dev = t.user_id().await;
    let revoked = tokens::create(&t.s.db, dev, "revoked", None).await.unwrap();
    tokens::revoke(&t.s.db, dev, revoked.token.id)
        .await
        .unwrap();
    let expired = tokens::create(&t.s.db, dev, "expired", Some(1))
        .await
        .unwrap();
    sqlx::query("UPDATE tokens SET expires_at = 1 WHERE id = $1")
        .bind(expired.token.id)
        .execute(t.s.db.pool())
        .await
        .unwrap();
    let owner = users::create(
        &t.s.db,
        users::NewUser {
            email: "owner@example.com",
            username: None,
            password: "password123",
            role: Some(app::types::Role::User),
        },
    )
    .await
    .unwrap();
    let disabled_owner = tokens::create(&t.s.db, owner.id, "x", None).await.unwrap();
    users::set_disabled(&t.s.db, owner.id, true).await.unwrap();
    t.changed().await;
    let bad: Vec<Option<String>> = vec![
        None,
        Some("rlm_unknown-token-000000000000000000000000000".into()),
        Some(revoked.secret),
        Some(expired.secret),
        Some(disabled_owner.secret),
    ];
    for path in ["/v1/messages", "/v1/messages/count_tokens"] {
        for token in &bad {
            let mut req = t
                .http
                .post(format!("{}{path}", t.s.url))
                .json(&body("claude-test", false));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let (status, kind, _) = error_of(req.send().await.unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {token:?}");
            assert_eq!(kind, "authentication_error");
        }
    }
    // OpenAI's APIs and the data plane's GETs refuse the same tokens, in OpenAI's shape.
    let openai = [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/responses"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/claude-test"),
        ("GET", "/v1/realms/me"),
    ];
    for (method, path) in openai {
        for token in &bad {
            let url = format!("{}{path}", t.s.url);
            let mut req = if method == "GET" {
                t.http.get(url)
            } else {
                t.http.post(url).json(&body("claude-test", false))
            };
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path} {token:?}");
            let v: serde_json::Value = res.json().await.unwrap();
            assert_eq!(v["error"]["code"], "invalid_api_key", "{path}: {v}");
        }
    }
    assert!(t.mock.requests().is_empty(), "nothing reached an upstream");
}
