//! Faults that must neither lose nor stall usage and money, over real sockets against the mock
//! upstream: a channel deleted while its request runs, streams cut off after part of the answer,
//! answers stored before their last byte, a tenant's count_tokens limit, clients that stall, the
//! database ending the usage writer's connection.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use app::core::usage_log::{self, UsageEvent};
use app::core::{channels, limits};
use app::money::{cost_nano, Prices};
use app::types::Limits;
use common::setup::*;
use realms::relay::RelayConfig;
use realms_mock::ANSWER;

/// The usage log as the database holds it (not as recorded in memory): what a crash would leave.
async fn stored(t: &Setup) -> Vec<UsageEvent> {
    usage_log::recent(&t.s.db, None, 10_000).await.unwrap()
}

async fn charge_of(t: &Setup, request_id: &str) -> Option<i64> {
    sqlx::query("SELECT amount FROM ledger WHERE request_id = $1")
        .bind(request_id)
        .fetch_optional(t.s.db.pool())
        .await
        .unwrap()
        .map(|r| -r.try_get::<i64, _>("amount").unwrap())
}

/// Waits (bounded) until every recorded event is stored: a stalled writer fails here.
async fn settled_in_time(t: &Setup) {
    tokio::time::timeout(Duration::from_secs(20), t.settled())
        .await
        .expect("the usage writer is not stalled");
}

/// Reads a stream until `marker` has arrived; returns what was read.
async fn read_until(res: &mut reqwest::Response, marker: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(marker) {
        let chunk = res.chunk().await.unwrap().expect("the stream goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

fn prices() -> Prices {
    Prices::with_derived_cache(3_000_000, 15_000_000)
}

/// What the mock's `message_start` reports, with `output` output tokens.
fn cost_with_output(output: i64) -> i64 {
    cost_nano(&prices(), [12, output, 2, 3, 3])
}

#[tokio::test]
async fn a_channel_deleted_mid_request_neither_stalls_the_writer_nor_loses_usage() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    t.on_primary("claude-gated", "mock-gated").await;
    let other = t.channel("other", &t.mock_url.clone(), 0).await;
    t.model("claude-b").await;
    t.bind("claude-b", other, "claude-b-up").await;
    let mut events = t.events();

    let mut res = t.messages(body("claude-gated", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    read_until(&mut res, "message_start").await;
    channels::delete(&t.s.db, primary).await.unwrap();
    t.changed().await;
    t.mock.open_gate();
    read_until(&mut res, "message_stop").await;
    let gated = next(&mut events).await;

    let later = t.messages(body("claude-b", false)).await;
    assert_eq!(later.status(), StatusCode::OK);
    later.bytes().await.unwrap();
    let later = next(&mut events).await;

    settled_in_time(&t).await;
    let rows = stored(&t).await;
    let gated_row = rows
        .iter()
        .find(|e| e.request_id == gated.request_id)
        .expect("the request on the deleted channel is stored");
    assert_eq!(gated_row.channel_id, Some(primary), "it keeps its channel");
    assert!(rows.iter().any(|e| e.request_id == later.request_id));
    assert_eq!(charge_of(&t, &gated.request_id).await, Some(gated.cost));
    assert_eq!(charge_of(&t, &later.request_id).await, Some(later.cost));
    let stats = &t.s.relay.books.stats;
    assert_eq!(
        stats
            .dropped_events
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_pays_for_the_text_it_received() {
    let t = Setup::with(RelayConfig {
        disconnect_drain: Duration::from_millis(200),
        ..RelayConfig::default()
    })
    .await;
    t.on_primary("claude-late", "mock-stall-late").await;
    let mut events = t.events();
    let mut res = t.messages(body("claude-late", true)).await;
    read_until(&mut res, ANSWER).await;
    drop(res);
    let e = next(&mut events).await;
    let output = i64::try_from(ANSWER.len().div_ceil(3)).unwrap();
    assert!(e.client_disconnected);
    assert!(e.estimated, "the output count is Realms' estimate");
    assert_eq!(e.tokens.output, output, "{e:?}");
    assert_eq!(e.cost, cost_with_output(output));
    settled_in_time(&t).await;
    assert_eq!(charge_of(&t, &e.request_id).await, Some(e.cost));
    let row = stored(&t).await;
    assert!(row
        .iter()
        .any(|r| r.request_id == e.request_id && r.estimated));
}

#[tokio::test]
async fn a_stream_cut_by_the_upstream_pays_for_the_text_relayed() {
    let t = Setup::new().await;
    // Each on a channel of its own: a channel whose stream breaks cools down.
    for (model, upstream) in [
        ("claude-reset", "mock-reset-mid"),
        ("claude-overloaded", "mock-error-mid"),
    ] {
        let channel = t.channel(model, &t.mock_url.clone(), 0).await;
        t.model(model).await;
        t.bind(model, channel, upstream).await;
    }
    let output = i64::try_from(ANSWER.len().div_ceil(3)).unwrap();
    for (model, class) in [
        ("claude-reset", "upstream_unreachable"),
        ("claude-overloaded", "upstream_overloaded_error"),
    ] {
        let mut events = t.events();
        let res = t.messages(body(model, true)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(text.contains(ANSWER), "{model}: the text was relayed");
        assert!(text.contains("event: error"), "{model}: the client is told");
        let e = next(&mut events).await;
        assert_eq!(e.error_class.as_deref(), Some(class), "{model}");
        assert!(e.estimated, "{model}");
        assert_eq!(e.tokens.output, output, "{model}");
        assert_eq!(e.cost, cost_with_output(output), "{model}");
    }
}

#[tokio::test]
async fn a_complete_answer_is_stored_before_the_client_has_its_last_byte() {
    let t = Setup::new().await;
    for stream in [false, true] {
        let res = t.messages(body("claude-test", stream)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let id = res.headers()["x-realms-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let text = res.text().await.unwrap();
        assert!(text.contains(ANSWER));
        // No flush here: a crash right now must find it stored and charged.
        let row = stored(&t).await.into_iter().find(|e| e.request_id == id);
        let row = row.unwrap_or_else(|| panic!("stream={stream}: the answer is stored"));
        assert_eq!(row.tokens.output, 7);
        assert!(!row.estimated);
        assert_eq!(charge_of(&t, &id).await, Some(row.cost), "stream={stream}");
    }
}

#[tokio::test]
async fn a_tenants_count_tokens_limit_does_not_cool_the_shared_key() {
    let t = Setup::new().await;
    t.on_primary("claude-counted", "mock-retry-after-300").await;
    let res = t
        .post("/v1/messages/count_tokens")
        .json(&json!({ "model": "claude-counted", "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = t.messages(body("claude-test", false)).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the same key still serves messages"
    );
}

#[tokio::test]
async fn limits_are_checked_before_a_large_body_is_read() {
    let t = Setup::new().await;
    let u = t.user_id().await;
    let token = app::core::tokens::list_for_user(&t.s.db, u).await.unwrap()[0].id;
    limits::set_token_limits(
        &t.s.db,
        u,
        token,
        &Limits {
            rpm: Some(1),
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    t.changed().await;
    let ok = t.messages(body("claude-test", false)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    // The next request announces 30 MB and sends none of it: it is refused at once.
    let addr = t.s.url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 30000000\r\n\r\n",
        t.token
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
}

#[tokio::test]
async fn a_client_that_stops_sending_its_body_gets_408_and_one_usage_event() {
    let t = Setup::with(RelayConfig {
        client_read_timeout: Duration::from_millis(300),
        ..RelayConfig::default()
    })
    .await;
    let mut events = t.events();
    let addr = t.s.url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\":",
        t.token
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer))
        .await
        .expect("the server gives up on the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let e = next(&mut events).await;
    assert_eq!(e.status, 408);
    assert_eq!(e.error_class.as_deref(), Some("client_timeout"));
}

#[tokio::test]
async fn a_users_token_changes_reach_the_data_plane_without_reloading_the_catalog() {
    let t = Setup::new().await;
    let console = common::client(&t.s);
    let (status, body) = common::call(
        &console,
        &t.s,
        "login",
        &[("email", "dev@example.com"), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ok = t.messages(body_of("claude-test")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let u = t.user_id().await;
    let token = app::core::tokens::list_for_user(&t.s.db, u).await.unwrap()[0].id;
    let catalog_before = app::core::audit::revision(&t.s.db).await.unwrap();
    let loaded = t.s.state.catalog.snapshot();
    for rpm in ["5", "4", "3", "1"] {
        let (status, body) = common::call(
            &console,
            &t.s,
            "set_token_limits",
            &[("id", &token.to_string()), ("limits[rpm]", rpm)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        app::core::audit::revision(&t.s.db).await.unwrap(),
        catalog_before,
        "a user cannot make every instance reload the catalog"
    );
    let now = t.s.state.catalog.snapshot();
    assert!(
        std::sync::Arc::ptr_eq(&loaded.models["claude-test"], &now.models["claude-test"]),
        "the routing catalog was not rebuilt"
    );
    // The new limit (1 a minute) holds at once.
    let first = t.messages(body_of("claude-test")).await;
    assert_eq!(first.status(), StatusCode::OK);
    let limited = t.messages(body_of("claude-test")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
}

fn body_of(model: &str) -> serde_json::Value {
    body(model, false)
}

#[tokio::test]
async fn the_journal_of_a_killed_run_is_replayed_once() {
    use realms::relay::journal::{replay, Journal};
    let t = Setup::new().await;
    let u = t.user_id().await;
    let dir = tempfile::tempdir().unwrap();
    let entry = |id: &str| journal_entry(u, id);
    {
        // A run journals two answers and is killed before its writer stores them.
        let (journal, _) = Journal::open(dir.path()).unwrap();
        let e = entry("req_journaled_1");
        journal.append(&e.event, e.charge.as_ref()).unwrap();
        let e = entry("req_journaled_2");
        journal.append(&e.event, e.charge.as_ref()).unwrap();
    }
    let before = app::core::balances::ledger_sum(&t.s.db, u).await.unwrap();
    for round in 0..2 {
        let (_, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left.len(), 2);
        let new = replay(&t.s.db, &left).await.unwrap();
        assert_eq!(new, if round == 0 { 2 } else { 0 }, "round {round}");
    }
    for id in ["req_journaled_1", "req_journaled_2"] {
        assert_eq!(charge_of(&t, id).await, Some(1_000), "{id}: charged once");
    }
    assert_eq!(
        app::core::balances::ledger_sum(&t.s.db, u).await.unwrap(),
        before - 2_000
    );
    let stored = stored(&t).await;
    assert_eq!(
        stored
            .iter()
            .filter(|e| e.request_id.starts_with("req_journaled_"))
            .count(),
        2
    );
}

/// A settled request of 1,000 nano-USD by `user_id`, as the journal keeps it.
fn journal_entry(user_id: i64, request_id: &str) -> realms::relay::journal::Entry {
    realms::relay::journal::Entry {
        event: UsageEvent {
            request_id: request_id.into(),
            created_at: app::core::db::now_ms(),
            user_id,
            api: "messages".into(),
            model: "claude-test".into(),
            status: 200,
            attempts: 1,
            cost: 1_000,
            ..UsageEvent::default()
        },
        charge: Some(app::core::billing::LeaseCharge {
            user_id,
            token_id: None,
            request_id: request_id.into(),
            cost: 1_000,
            lease_id: None,
            from_lease: 0,
            reason: "claude-test".into(),
            floor: 0,
        }),
    }
}

#[tokio::test]
async fn a_writer_that_stops_leaves_the_journal_empty_and_every_answer_stored_once() {
    use realms::relay::{books, journal::Journal};
    let t = Setup::new().await;
    let u = t.user_id().await;
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(dir.path()).unwrap();
    let journal = std::sync::Arc::new(journal);
    let (sink, writer) = books::start_with(t.s.db.clone(), Some(journal.clone()));
    let before = app::core::balances::ledger_sum(&t.s.db, u).await.unwrap();
    // Answers settle while earlier batches are written; fewer than fill the size at which a stored
    // file is emptied as it goes, so the stop itself must empty it.
    for i in 0..60 {
        let e = journal_entry(u, &format!("req_steady_{i:03}"));
        sink.record_settled(e.event, e.charge, true, None).await;
        if i % 20 == 0 {
            tokio::task::yield_now().await;
        }
    }
    drop(sink);
    writer.finish().await;
    assert_eq!(
        journal.size(),
        0,
        "nothing left to replay after a clean stop"
    );
    drop(journal);
    let (_, left) = Journal::open(dir.path()).unwrap();
    assert!(left.is_empty());
    let steady = stored(&t)
        .await
        .into_iter()
        .filter(|e| e.request_id.starts_with("req_steady_"))
        .count();
    assert_eq!(steady, 60);
    assert_eq!(
        app::core::balances::ledger_sum(&t.s.db, u).await.unwrap(),
        before - 60_000,
        "each answer charged once"
    );
}
#[tokio::test]
async fn a_channel_that_breaks_its_streams_cools_down_instead_of_keeping_its_share() {
    let t = Setup::new().await;
    let primary = t.primary().await;
    let breaking = t.channel("breaking", &t.mock_url.clone(), 10).await;
    t.model("claude-mid").await;
    t.bind("claude-mid", breaking, "mock-reset-mid").await;
    t.bind("claude-mid", primary, "claude-mid-good").await;
    let first = t
        .messages(body("claude-mid", true))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        first.contains("event: error"),
        "the first stream breaks: {first}"
    );
    // The breaking channel has the higher priority, yet the next request goes elsewhere.
    let second = t
        .messages(body("claude-mid", true))
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("event: message_stop"), "{second}");
    assert_eq!(
        t.seen_models(),
        vec!["mock-reset-mid", "claude-mid-good"],
        "the breaking channel is cooling down"
    );
}

#[tokio::test]
async fn parallel_requests_cannot_run_past_a_spend_limit() {
    let t = Setup::new().await;
    let u = t.user_id().await;
    let token = app::core::tokens::list_for_user(&t.s.db, u).await.unwrap()[0].id;
    // One answer of the mock costs 167,400 nano-USD: the limit is about six answers.
    let one = cost_with_output(7);
    let limit = 1_000_000;
    limits::set_token_limits(
        &t.s.db,
        u,
        token,
        &Limits {
            spend_day: Some(limit),
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    t.changed().await;
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let req = t.post("/v1/messages").json(&body("claude-test", false));
        all.spawn(async move { req.send().await.unwrap().status() });
    }
    let statuses = all.join_all().await;
    t.settled().await;
    let spent: i64 =
        sqlx::query("SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS n FROM usage_events")
            .fetch_one(t.s.db.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        spent <= limit + one,
        "spent {spent} against a limit of {limit} (one answer costs {one})"
    );
}

#[tokio::test]
async fn revoking_a_token_ends_its_running_streams_and_no_others() {
    let t = Setup::with(RelayConfig {
        disconnect_drain: Duration::from_millis(200),
        ..RelayConfig::default()
    })
    .await;
    t.on_primary("claude-late", "mock-stall-late").await;
    let db = &t.s.db;
    let u = t.user_id().await;
    let revoked = app::core::tokens::list_for_user(db, u).await.unwrap()[0].id;
    let other = app::core::tokens::create(db, u, "other", None)
        .await
        .unwrap();
    let mut events = t.events();
    // Two streams, one per token, both with their text relayed and then waiting on the upstream.
    let mut a = t.messages(body("claude-late", true)).await;
    read_until(&mut a, ANSWER).await;
    let mut b = t
        .http
        .post(format!("{}/v1/messages", t.s.url))
        .bearer_auth(&other.secret)
        .json(&body("claude-late", true))
        .send()
        .await
        .unwrap();
    read_until(&mut b, ANSWER).await;

    app::core::tokens::revoke(db, u, revoked).await.unwrap();
    app::core::audit::bump_tokens(db).await.unwrap();
    t.s.state.catalog.refresh_if_changed().await.unwrap();

    let rest = tokio::time::timeout(Duration::from_secs(10), a.text())
        .await
        .expect("the revoked token's stream ends")
        .unwrap();
    assert!(rest.contains("event: error"), "{rest}");
    assert!(rest.contains("authentication_error"), "{rest}");
    assert!(rest.contains("revoked"), "{rest}");
    let e = next(&mut events).await;
    assert_eq!(e.token_id, Some(revoked));
    assert_eq!(e.error_class.as_deref(), Some("token_revoked"));
    let output = i64::try_from(ANSWER.len().div_ceil(3)).unwrap();
    assert!(e.estimated);
    assert_eq!(
        e.cost,
        cost_with_output(output),
        "billed for what it received"
    );
    assert_eq!(
        t.s.relay.running.tokens(),
        vec![other.token.id],
        "the other token's stream runs on"
    );
    drop(b);
    let e = next(&mut events).await;
    assert_eq!(e.token_id, Some(other.token.id));
    assert_eq!(e.error_class.as_deref(), Some("client_disconnected"));
    settled_in_time(&t).await;
}

#[tokio::test]
async fn the_usage_writer_replaces_a_connection_the_database_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = common::fresh_db(dir.path(), true).await else {
        return;
    };
    let t = Setup::on(Some(db), RelayConfig::default()).await;
    let res = t.messages(body("claude-test", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
    settled_in_time(&t).await;
    // The database ends every other session, the connection the usage writer keeps among them
    // (a restart, a failover, an idle-session timeout).
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(t.s.db.pool())
    .await
    .unwrap();
    assert!(ended.iter().any(|e| *e), "some session was ended");
    let res = t.messages(body("claude-test", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
    settled_in_time(&t).await;
    let stored = stored(&t).await;
    assert_eq!(stored.len(), 2, "both answers' usage is stored");
    for e in &stored {
        assert_eq!(
            charge_of(&t, &e.request_id).await,
            Some(e.cost),
            "{}: charged once",
            e.request_id
        );
        assert!(e.cost > 0);
    }
}
