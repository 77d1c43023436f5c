//! `GET /v1/realms/me`, the account status a token's owner reads (Claude Code's status line): its
//! authentication, its shape, that it shows the owner's own account only, and that a change shows
//! once the revision moves.

mod common;

use reqwest::StatusCode;
use serde_json::Value;

use app::core::admin::Admin;
use app::types::{Limits, Role};
use common::setup::*;

async fn me(t: &Setup, token: &str, query: &str) -> reqwest::Response {
    t.http
        .get(format!("{}/v1/realms/me{query}", t.s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_status_shows_the_owners_balance_spend_and_limits_only() {
    let t = Setup::new().await;
    let res = t
        .http
        .get(format!("{}/v1/realms/me", t.s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let bad = me(&t, "rlm_not-a-real-token-at-all-0000000000000000", "").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let res = me(&t, &t.token, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("private"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["user"]["email"], "dev@example.com");
    assert_eq!(v["balance_usd"], "100.00");
    assert_eq!(v["billing"], true);
    assert_eq!(v["spend"]["today"]["usd"], "0.00");
    assert!(v["spend"]["this_month"]["resets_at_ms"].as_i64().unwrap() > 0);
    assert!(v["limits"]["user"]["requests_per_minute"].is_null());

    // A request is spent today; a limit appears; both show once the revision moves.
    let mut events = t.events();
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
    let e = next(&mut events).await;
    t.settled().await;
    let u = t.user_id().await;
    t.ops()
        .set_user_limits(
            u,
            &Limits {
                rpm: Some(60),
                spend_day: Some(5_000_000_000),
                ..Limits::default()
            },
        )
        .await
        .unwrap();
    t.reload().await;
    let v: Value = me(&t, &t.token, "").await.json().await.unwrap();
    assert_eq!(
        v["spend"]["today"]["usd"],
        app::money::format_usd(e.cost, 9).as_str()
    );
    assert_eq!(
        v["balance_usd"],
        app::money::format_usd(FUNDS - e.cost, 9).as_str()
    );
    assert_eq!(v["limits"]["user"]["requests_per_minute"], 60);
    assert_eq!(v["limits"]["user"]["spend_day_usd"], "5.00");
    let line = me(&t, &t.token, "?format=text").await.text().await.unwrap();
    assert_eq!(
        line,
        format!(
            "Realms · ${} left · today ${}\n",
            app::money::format_usd(FUNDS - e.cost, 9),
            app::money::format_usd(e.cost, 9)
        )
    );

    // Another user's token shows that user only.
    let ops = Admin::cli(t.s.db.clone());
    let other = ops
        .create_user("other@example.com", None, "password123", Role::User)
        .await
        .unwrap();
    let theirs = ops
        .create_token(&other, "theirs", None)
        .await
        .unwrap()
        .secret;
    t.reload().await;
    let text = me(&t, &theirs, "").await.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["user"]["email"], "other@example.com");
    assert_eq!(v["balance_usd"], "0.00");
    assert_eq!(v["spend"]["today"]["usd"], "0.00");
    assert!(!text.contains("dev@example.com"));
    assert!(
        t.mock.requests().len() == 1,
        "the status never calls an upstream"
    );
}
