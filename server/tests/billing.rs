//! Billing and limits through the data plane: unfunded users are refused before any upstream call,
//! each request is charged exactly once (also across failover, and after a client disconnect),
//! failures without usage cost nothing, models without prices follow the site policy, and the
//! per-token limits answer 429.

mod common;

use reqwest::StatusCode;

use app::core::balances;
use app::core::{billing, limits, models};
use app::types::{Limits, UnpricedPolicy};
use common::setup::*;
use realms::relay::RelayConfig;

async fn charges(t: &Setup) -> Vec<app::types::LedgerEntryView> {
    t.settled().await;
    let u = t.user_id().await;
    balances::ledger(&t.s.db, u, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.kind == "charge")
        .collect()
}

#[tokio::test]
async fn a_request_is_charged_exactly_what_the_upstream_reported_once() {
    let t = Setup::new().await;
    let mut events = t.events();
    let res = t.messages(body("claude-test", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let e = next(&mut events).await;
    t.settled().await;
    let u = t.user_id().await;
    let (balance, reserved) = billing::holdings(&t.s.db, u).await.unwrap();
    assert_eq!(reserved, 0, "the reservation is released");
    assert_eq!(balance, FUNDS - e.cost);
    let c = charges(&t).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].amount, -e.cost);
    assert_eq!(c[0].reason, "claude-test");
    assert_eq!(balances::ledger_sum(&t.s.db, u).await.unwrap(), balance);
}

#[tokio::test]
async fn an_unfunded_user_is_refused_before_any_upstream_call() {
    let t = Setup::new().await;
    let u = t.user_id().await;
    t.ops().adjust_balance(u, -FUNDS, "empty").await.unwrap();
    let mut events = t.events();
    let (status, kind, message) = error_of(t.messages(body("claude-test", false)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::PAYMENT_REQUIRED, "billing_error")
    );
    assert!(message.contains("balance cannot cover"), "{message}");
    assert!(t.mock.requests().is_empty());
    let e = next(&mut events).await;
    assert_eq!(e.error_class.as_deref(), Some("insufficient_balance"));
    assert_eq!(e.cost, 0);
    assert!(charges(&t).await.is_empty());
}

#[tokio::test]
async fn failover_is_charged_once() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let overloaded = t.channel("overloaded", &t.mock_url.clone(), 10).await;
    t.model("claude-fo").await;
    t.bind("claude-fo", overloaded, "mock-status-503").await;
    t.bind("claude-fo", primary, "claude-fo").await;
    let mut events = t.events();
    assert_eq!(
        t.messages(body("claude-fo", true)).await.status(),
        StatusCode::OK
    );
    let e = next(&mut events).await;
    assert_eq!(e.attempts, 2);
    let c = charges(&t).await;
    assert_eq!(c.len(), 1, "two attempts, one charge");
    assert_eq!(c[0].amount, -e.cost);
}

#[tokio::test]
async fn a_disconnected_client_pays_for_what_the_upstream_reported() {
    let t = Setup::new().await;
    t.on_primary("claude-gone", "mock-gated").await;
    let mut events = t.events();
    let mut res = t.messages(body("claude-gone", true)).await;
    res.chunk().await.unwrap().unwrap();
    drop(res);
    t.mock.open_gate();
    let e = next(&mut events).await;
    assert!(e.client_disconnected);
    assert_eq!(e.tokens.output, 7);
    let c = charges(&t).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].amount, -e.cost);
    assert_eq!(
        billing::holdings(&t.s.db, t.user_id().await)
            .await
            .unwrap()
            .1,
        0
    );
}

#[tokio::test]
async fn a_failure_without_usage_costs_nothing() {
    let t = Setup::new().await;
    t.on_primary("claude-400", "mock-status-400").await;
    let mut events = t.events();
    assert_eq!(
        t.messages(body("claude-400", false)).await.status(),
        StatusCode::BAD_REQUEST
    );
    let e = next(&mut events).await;
    assert_eq!(e.cost, 0);
    assert!(charges(&t).await.is_empty());
    assert_eq!(
        billing::holdings(&t.s.db, t.user_id().await).await.unwrap(),
        (FUNDS, 0),
        "voided"
    );
}

#[tokio::test]
async fn models_without_prices_follow_the_site_policy_and_billing_can_be_off() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    t.ops()
        .create_model(&models::ModelInput {
            public_id: "claude-free".into(),
            display_name: None,
            prices: None,
            enabled: true,
        })
        .await
        .unwrap();
    t.bind("claude-free", primary, "claude-free").await;

    let (status, kind, message) = error_of(t.messages(body("claude-free", false)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::FORBIDDEN, "permission_error")
    );
    assert!(message.contains("has no prices"), "{message}");
    assert!(t.mock.requests().is_empty());

    t.ops()
        .set_unpriced_models(UnpricedPolicy::Free)
        .await
        .unwrap();
    t.reload().await;
    assert_eq!(
        t.messages(body("claude-free", false)).await.status(),
        StatusCode::OK
    );
    assert!(charges(&t).await.is_empty(), "served at no cost");

    // Billing off: the cost is computed and recorded, nothing is deducted.
    t.ops().set_billing_enabled(false).await.unwrap();
    t.reload().await;
    let mut events = t.events();
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
    let e = next(&mut events).await;
    assert!(e.cost > 0);
    assert!(charges(&t).await.is_empty());
    assert_eq!(
        billing::holdings(&t.s.db, t.user_id().await).await.unwrap(),
        (FUNDS, 0)
    );
}

async fn set_token_limits(t: &Setup, l: Limits) {
    let u = t.user_id().await;
    let token = app::core::tokens::list_for_user(&t.s.db, u).await.unwrap()[0].id;
    limits::set_token_limits(&t.s.db, u, token, &l)
        .await
        .unwrap();
    app::core::audit::bump(&t.s.db).await.unwrap();
    t.s.state.catalog.refresh().await.unwrap();
}

#[tokio::test]
async fn requests_per_minute_are_limited() {
    let t = Setup::new().await;
    set_token_limits(
        &t,
        Limits {
            rpm: Some(2),
            ..Limits::default()
        },
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            t.messages(body("claude-test", false)).await.status(),
            StatusCode::OK
        );
    }
    let res = t.messages(body("claude-test", false)).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, kind, message) = error_of(res).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error")
    );
    assert!(message.contains("2 requests per minute"), "{message}");
    assert_eq!(t.mock.requests().len(), 2);
}

#[tokio::test]
async fn concurrent_requests_are_limited() {
    let t = Setup::new().await;
    t.on_primary("claude-held", "mock-gated").await;
    set_token_limits(
        &t,
        Limits {
            concurrency: Some(1),
            ..Limits::default()
        },
    )
    .await;
    let mut events = t.events();
    let mut first = t.messages(body("claude-held", true)).await;
    first.chunk().await.unwrap().unwrap();
    let (status, _, message) = error_of(t.messages(body("claude-test", false)).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(message.contains("1 request at once"), "{message}");
    t.mock.open_gate();
    while first.chunk().await.unwrap().is_some() {}
    drop(first);
    // The slot frees when the first request has settled.
    next(&mut events).await;
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn spend_limits_are_enforced_over_their_window() {
    let t = Setup::with(RelayConfig::default()).await;
    // One request costs 167.4 micro-USD: a daily limit of $0.0001 is reached by the first.
    set_token_limits(
        &t,
        Limits {
            spend_day: Some(100_000),
            ..Limits::default()
        },
    )
    .await;
    let mut events = t.events();
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
    next(&mut events).await;
    t.s.relay.books.flush().await;
    let res = t.messages(body("claude-test", false)).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=86_400).contains(&retry),
        "until the next UTC day: {retry}"
    );
    let (status, kind, message) = error_of(res).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error")
    );
    assert!(
        message.contains("daily spend limit of $0.0001"),
        "{message}"
    );
}

#[tokio::test]
async fn two_instances_cannot_overdraw_through_their_leases() {
    let t = Setup::new().await;
    let u = t.user_id().await;
    // Leave exactly $1.
    t.ops()
        .adjust_balance(u, 1_000_000_000 - FUNDS, "")
        .await
        .unwrap();
    let (sink_a, _wa) = realms::relay::books::start(t.s.db.clone());
    let (sink_b, _wb) = realms::relay::books::start(t.s.db.clone());
    let a = std::sync::Arc::new(realms::relay::wallet::Wallets::new(
        t.s.db.clone(),
        "a",
        sink_a.clone(),
    ));
    let b = std::sync::Arc::new(realms::relay::wallet::Wallets::new(
        t.s.db.clone(),
        "b",
        sink_b.clone(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let w = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move { (i % 2, w.hold(u, 100_000_000).await.unwrap()) });
    }
    let mut held = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (which, hold) = r.unwrap();
        if let Ok(h) = hold {
            held.push((which, h));
        }
    }
    assert_eq!(
        held.len(),
        10,
        "ten holds of $0.10 fit in $1, across both instances"
    );
    // Each charges its full hold, then both give their leases back.
    for (i, (which, h)) in held.iter().enumerate() {
        let w = if *which == 0 { &a } else { &b };
        let sink = if *which == 0 { &sink_a } else { &sink_b };
        if let Some(charge) = w
            .settle(
                Some(h),
                realms::relay::wallet::Bill {
                    user_id: u,
                    token_id: None,
                    request_id: &format!("two-{i}"),
                    cost: h.amount,
                    reason: "m",
                    floor: 0,
                },
            )
            .await
        {
            sink.ledger(app::core::billing::LedgerOp::Charge(charge));
        }
    }
    a.tidy(std::time::Duration::ZERO).await;
    b.tidy(std::time::Duration::ZERO).await;
    sink_a.flush().await;
    sink_b.flush().await;
    let (balance, reserved) = billing::holdings(&t.s.db, u).await.unwrap();
    assert_eq!((balance, reserved), (0, 0));
    assert_eq!(balances::ledger_sum(&t.s.db, u).await.unwrap(), 0);
    assert_eq!(billing::leased(&t.s.db, u).await.unwrap(), 0);
}

/// 50 parallel requests whose upstream reports 200,000 output tokens for `max_tokens` 16 (each
/// answer costs $3 against a $0.01 balance): the balance stops at the site's overdraft floor, what
/// could not be collected is on the ledger, and the user is refused until topped up.
async fn overdraft_is_bounded_by_the_floor(floor: i64) {
    let t = Setup::new().await;
    let u = t.user_id().await;
    let start = 10_000_000; // $0.01
    t.ops()
        .adjust_balance(u, start - FUNDS, "near zero")
        .await
        .unwrap();
    t.ops().set_overdraft_floor(floor).await.unwrap();
    t.on_primary("claude-liar", "mock-output-200000").await;
    let mut all = tokio::task::JoinSet::new();
    for i in 0..50 {
        let req = t.post("/v1/messages").json(&serde_json::json!({
            "model": "claude-liar", "max_tokens": 16, "stream": i % 2 == 0,
            "messages": [{ "role": "user", "content": "hello" }],
        }));
        all.spawn(async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let _ = res.bytes().await;
            status
        });
    }
    let statuses = all.join_all().await;
    t.settled().await;
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");

    let (balance, reserved) = billing::holdings(&t.s.db, u).await.unwrap();
    assert_eq!(reserved, 0, "nothing left held");
    assert!(
        balance >= -floor,
        "the balance {balance} stays at or above the floor -{floor}"
    );
    assert_eq!(balance, balances::ledger_sum(&t.s.db, u).await.unwrap());
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT request_id) AS d, \
         CAST(COALESCE(-SUM(amount), 0) AS BIGINT) AS collected, \
         CAST(COALESCE(SUM(uncollected), 0) AS BIGINT) AS uncollected \
         FROM ledger WHERE user_id = $1 AND kind = 'charge'",
    )
    .bind(u)
    .fetch_one(t.s.db.pool())
    .await
    .unwrap();
    let get = |c: &str| sqlx::Row::try_get::<i64, _>(&row, c).unwrap();
    let costs: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS c FROM usage_events WHERE user_id = $1",
    )
    .bind(u)
    .fetch_one(t.s.db.pool())
    .await
    .map(|r| sqlx::Row::try_get(&r, "c").unwrap())
    .unwrap();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count() as i64;
    assert_eq!(get("n"), ok, "one charge per answered request");
    assert_eq!(get("n"), get("d"), "no request charged twice");
    assert_eq!(
        get("collected") + get("uncollected"),
        costs,
        "the ledger accounts for every cost"
    );
    assert_eq!(get("collected"), start - balance);
    assert!(
        get("uncollected") > 0,
        "the upstream's overrun was not all collectable"
    );
    assert_eq!(balance, -floor, "the balance went down to the floor");
    assert!(
        t.s.relay
            .books
            .stats
            .uncollected
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the writer counts what it could not collect"
    );

    let (status, kind, _) = error_of(t.messages(body("claude-liar", false)).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::PAYMENT_REQUIRED, "billing_error"),
        "refused until topped up"
    );
}

#[tokio::test]
async fn an_upstream_reporting_more_than_the_hold_cannot_take_a_balance_below_zero() {
    overdraft_is_bounded_by_the_floor(0).await;
}

#[tokio::test]
async fn an_overdraft_floor_bounds_how_far_below_zero_a_balance_can_go() {
    overdraft_is_bounded_by_the_floor(1_000_000_000).await;
}

/// One request for `claude-test` with long-context prices above `threshold`: its cost, its token
/// counts, its input side, and the prices.
async fn cost_with_long_context(
    t: &Setup,
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<app::core::usage_log::UsageEvent>>,
    model_id: i64,
    threshold: i64,
) -> (i64, [i64; 5], i64, app::money::LongContext) {
    let long = app::money::LongContext {
        threshold,
        prices: app::money::Prices::with_derived_cache(6_000_000, 22_500_000),
    };
    t.ops()
        .set_long_context(model_id, Some(&long))
        .await
        .unwrap();
    t.reload().await;
    assert_eq!(
        t.messages(body("claude-test", false)).await.status(),
        StatusCode::OK
    );
    let e = next(events).await;
    let tk = e.tokens;
    let tokens = [
        tk.input,
        tk.output,
        tk.cache_write_5m,
        tk.cache_write_1h,
        tk.cache_read,
    ];
    let input_side = tk.input + tk.cache_write_5m + tk.cache_write_1h + tk.cache_read;
    (e.cost, tokens, input_side, long)
}

#[tokio::test]
async fn a_request_past_the_long_context_threshold_pays_the_long_context_prices() {
    use app::money::cost_nano;
    let t = Setup::new().await;
    let m = models::find_by_public_id(&t.s.db, "claude-test")
        .await
        .unwrap()
        .unwrap();
    let base = m.prices.unwrap();
    let mut events = t.events();
    // The mock's answer has some input-side tokens: a threshold just below them applies the
    // long-context prices, one at them does not.
    let (_, _, input_side, _) = cost_with_long_context(&t, &mut events, m.id, 1_000_000).await;
    assert!(input_side > 1);
    let (cost, tokens, _, long) =
        cost_with_long_context(&t, &mut events, m.id, input_side - 1).await;
    assert_eq!(cost, cost_nano(&long.prices, tokens));
    let (cost, tokens, _, _) = cost_with_long_context(&t, &mut events, m.id, input_side).await;
    assert_eq!(cost, cost_nano(&base, tokens));
    assert_ne!(cost_nano(&base, tokens), cost_nano(&long.prices, tokens));
    // Charged as billed: one charge each.
    assert_eq!(charges(&t).await.len(), 3);
}
