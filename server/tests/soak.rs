//! A soak with a ledger audit, on SQLite and on PostgreSQL: a few thousand randomised requests over
//! real sockets — healthy and failing channels (5xx, connection resets before the headers and in the
//! middle of a stream), streams and whole answers, clients that leave mid-stream, malformed bodies,
//! users near a zero balance — and then, for every user: balance = top-ups − charges, charges =
//! Σ usage costs, exactly one usage event per request, no request charged twice, nothing left
//! held, and no balance below zero (every hold here covers its request's cost).

mod common;

use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::Row;

use app::core::{balances, billing};
use common::setup::*;
use realms::relay::RelayConfig;

const REQUESTS: usize = 2_000;
const CLIENTS: usize = 24;

async fn soak(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = common::fresh_db(dir.path(), postgres).await else {
        return;
    };
    let label = if postgres { "postgres" } else { "sqlite" };
    let t = Setup::on(
        Some(db),
        RelayConfig {
            disconnect_drain: Duration::from_millis(300),
            ..RelayConfig::default()
        },
    )
    .await;
    // claude-mix: five channels of one priority, four of them failing in their own way.
    let resetting = realms_mock::spawn_resetting("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    t.model("claude-mix").await;
    let mock_url = t.mock_url.clone();
    for (name, url, upstream) in [
        ("mix-ok", mock_url.as_str(), "claude-mix-up"),
        ("mix-500", mock_url.as_str(), "mock-status-500"),
        ("mix-529", mock_url.as_str(), "mock-status-529"),
        ("mix-mid", mock_url.as_str(), "mock-reset-mid"),
        ("mix-reset", &format!("http://{resetting}"), "claude-mix-up"),
    ] {
        let id = t.channel(name, url, 5).await;
        t.bind("claude-mix", id, upstream).await;
    }

    // Four users: two funded, two near zero ($0.002 holds about one request at a time).
    let mut people = Vec::new();
    for (i, funds) in [
        (0, 50_000_000_000_i64),
        (1, 50_000_000_000),
        (2, 2_000_000),
        (3, 2_000_000),
    ] {
        let email = format!("soak{i}@example.com");
        let ops = t.ops();
        let u = ops
            .create_user(&email, None, "password123", app::types::Role::User)
            .await
            .unwrap();
        ops.adjust_balance(u.id, funds, "soak").await.unwrap();
        let token = ops.create_token(&u, "soak", None).await.unwrap().secret;
        people.push((u.id, token));
    }
    t.changed().await;
    let people = Arc::new(people);
    let sent = Arc::new(std::sync::Mutex::new(vec![0usize; people.len()]));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (people, sent, next, url) =
            (people.clone(), sent.clone(), next.clone(), t.s.url.clone());
        clients.spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < REQUESTS {
                let who = rng.gen_range(0..people.len());
                let stream = rng.gen_bool(0.5);
                let model = if rng.gen_bool(0.7) {
                    "claude-mix"
                } else {
                    "claude-test"
                };
                let req = http
                    .post(format!("{url}/v1/messages"))
                    .bearer_auth(&people[who].1);
                let req = if rng.gen_bool(0.05) {
                    req.header("content-type", "application/json")
                        .body("{broken")
                } else {
                    req.json(&json!({
                        "model": model, "max_tokens": 64, "stream": stream,
                        "messages": [{ "role": "user", "content": "hello" }],
                    }))
                };
                sent.lock().unwrap()[who] += 1;
                let Ok(mut res) = req.send().await else {
                    panic!("Realms answers every request");
                };
                if stream && rng.gen_bool(0.25) {
                    // Leaves after the first piece of the answer.
                    let _ = res.chunk().await;
                    drop(res);
                } else {
                    let _ = res.bytes().await;
                }
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    // Requests whose client left mid-stream are still reading the upstream to learn their usage:
    // every request task ends before the books are counted.
    tokio::time::timeout(Duration::from_secs(60), async {
        t.s.relay.tasks.close();
        t.s.relay.tasks.wait().await;
        t.settled().await;
    })
    .await
    .expect("everything settles");

    let sent = sent.lock().unwrap().clone();
    for (i, (user_id, _)) in people.iter().enumerate() {
        let db = &t.s.db;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost \
             FROM usage_events WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let events: i64 = row.try_get("n").unwrap();
        let costs: i64 = row.try_get("cost").unwrap();
        assert_eq!(
            events as usize, sent[i],
            "{label}: one usage event per request"
        );
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT request_id) AS distinct_requests, \
             CAST(COALESCE(-SUM(amount), 0) AS BIGINT) AS charged, \
             CAST(COALESCE(SUM(uncollected), 0) AS BIGINT) AS uncollected \
             FROM ledger WHERE user_id = $1 AND kind = 'charge'",
        )
        .bind(user_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let charges: i64 = row.try_get("n").unwrap();
        let distinct: i64 = row.try_get("distinct_requests").unwrap();
        let charged: i64 = row.try_get("charged").unwrap();
        let uncollected: i64 = row.try_get("uncollected").unwrap();
        assert_eq!(charges, distinct, "{label}: no request charged twice");
        assert_eq!(uncollected, 0, "{label}: every hold covered its cost");
        assert_eq!(charged, costs, "{label}: charges = Σ usage costs");
        let (balance, reserved) = billing::holdings(db, *user_id).await.unwrap();
        assert_eq!(
            balance,
            balances::ledger_sum(db, *user_id).await.unwrap(),
            "{label}: balance = top-ups − charges"
        );
        assert_eq!(reserved, 0, "{label}: nothing left held");
        assert!(balance >= 0, "{label}: no overdraft: {balance}");
    }
    let refused: i64 = sqlx::query("SELECT COUNT(*) AS n FROM usage_events WHERE status = 402")
        .fetch_one(t.s.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert!(
        refused > 0,
        "{label}: the users near zero were refused at times"
    );
    let stats = &t.s.relay.books.stats;
    assert_eq!(
        stats
            .dropped_events
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "{label}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_on_sqlite_keeps_the_books() {
    soak(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_on_postgres_keeps_the_books() {
    soak(true).await;
}
