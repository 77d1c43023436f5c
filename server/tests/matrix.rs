//! The fault matrix: every upstream, client and database fault × {stream, whole answer} ×
//! {a healthy second channel, the faulty channel alone}, over real sockets against the mock
//! upstream. For each cell: the status and error shape the client sees, whether Realms failed over,
//! exactly one usage event with the expected error class, and at most one charge, equal to what
//! was delivered.

mod common;

use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Executor, Row};

use app::core::channels;
use app::money::{cost_nano, Prices};
use common::setup::*;
use realms::relay::RelayConfig;
use realms_mock::ANSWER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// 429 with `retry-after`.
    RateLimited,
    Status500,
    Overloaded529,
    /// The connection is reset before any response.
    ResetBeforeHeaders,
    /// The connection breaks after part of the answer.
    ResetMidway,
    /// No response within the first-byte (stream) or request (whole answer) time.
    SlowFirstByte,
    /// Part of the answer, then silence past the idle time.
    IdleStall,
    /// The client leaves before the answer is complete.
    ClientGone,
    /// The database is locked by another writer while the request runs.
    DatabaseLocked,
    /// The channel is deleted while its request runs.
    ChannelDeleted,
}

/// What one cell must show.
#[derive(Debug, PartialEq, Eq)]
struct Expect {
    /// The client's status (`None`: the client left).
    status: Option<u16>,
    /// The `error.type` the client reads: in the body of a refusal, or in a stream's `error`
    /// event after a 200.
    error_kind: Option<String>,
    /// Realms failed over to the second channel.
    failed_over: bool,
    /// The usage event's error class.
    class: Option<String>,
    /// The charge: a whole answer's cost, the estimate of what was relayed, or nothing.
    charge: Charge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Charge {
    Whole,
    /// Output estimated from `n` tokens relayed (one per 3 bytes of text).
    Relayed(i64),
    Nothing,
}

fn config() -> RelayConfig {
    RelayConfig {
        first_byte_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(800),
        request_timeout: Duration::from_millis(1500),
        disconnect_drain: Duration::from_millis(200),
        ..RelayConfig::default()
    }
}

fn prices() -> Prices {
    Prices::with_derived_cache(3_000_000, 15_000_000)
}

/// The mock's usage (input 12, cache writes 2 + 3, cache reads 3) with `output` output tokens.
fn cost_with_output(output: i64) -> i64 {
    cost_nano(&prices(), [12, output, 2, 3, 3])
}

fn answer_tokens() -> i64 {
    i64::try_from(ANSWER.len().div_ceil(3)).unwrap()
}

/// The upstream model name that makes the mock behave as `fault` asks.
fn upstream_model(fault: Fault, stream: bool) -> &'static str {
    match fault {
        // A whole answer that takes a while (the gate and a late stall hold streams only).
        Fault::ClientGone | Fault::ChannelDeleted if !stream => "mock-slow-500",
        Fault::RateLimited => "mock-retry-after-30",
        Fault::Status500 => "mock-status-500",
        Fault::Overloaded529 => "mock-status-529",
        Fault::ResetBeforeHeaders => "claude-test-upstream",
        Fault::ResetMidway => "mock-reset-mid",
        Fault::SlowFirstByte => "mock-slow-3000",
        Fault::IdleStall => "mock-stall",
        Fault::ClientGone => "mock-stall-late",
        Fault::DatabaseLocked => "mock-slow-300",
        Fault::ChannelDeleted => "mock-gated",
    }
}

/// The rule each cell is held to.
fn expect(fault: Fault, stream: bool, fallback: bool) -> Expect {
    let served = |failed_over| Expect {
        status: Some(200),
        error_kind: None,
        failed_over,
        class: None,
        charge: Charge::Whole,
    };
    // Refused before the first byte with nowhere to go: the status, kind and class of the fault.
    let refused = |status, kind: &str, class: &str| Expect {
        status: Some(status),
        error_kind: Some(kind.into()),
        failed_over: false,
        class: Some(class.into()),
        charge: Charge::Nothing,
    };
    // Broken after the first byte of a stream: no failover, an error event, what was relayed paid.
    let cut = |kind: &str, class: &str, relayed| Expect {
        status: Some(200),
        error_kind: Some(kind.into()),
        failed_over: false,
        class: Some(class.into()),
        charge: Charge::Relayed(relayed),
    };
    let before_first_byte = match fault {
        Fault::RateLimited
        | Fault::Status500
        | Fault::Overloaded529
        | Fault::ResetBeforeHeaders
        | Fault::SlowFirstByte => true,
        // A whole answer has sent nothing to the client until it is complete.
        Fault::ResetMidway | Fault::IdleStall => !stream,
        Fault::ClientGone | Fault::DatabaseLocked | Fault::ChannelDeleted => false,
    };
    if before_first_byte && fallback {
        return served(true);
    }
    match fault {
        Fault::RateLimited => refused(429, "rate_limit_error", "upstream_rate_limited"),
        Fault::Status500 => refused(500, "api_error", "upstream_5xx"),
        Fault::Overloaded529 => refused(529, "overloaded_error", "upstream_5xx"),
        Fault::ResetBeforeHeaders => refused(502, "api_error", "upstream_unreachable"),
        Fault::SlowFirstByte => refused(504, "timeout_error", "upstream_timeout"),
        Fault::ResetMidway if !stream => refused(502, "api_error", "upstream_unreachable"),
        Fault::IdleStall if !stream => refused(504, "timeout_error", "upstream_timeout"),
        // The mock's stream breaks after its text.
        Fault::ResetMidway => cut("api_error", "upstream_unreachable", answer_tokens()),
        // Its stream stalls before any text: the output `message_start` announced (1) is paid.
        Fault::IdleStall => cut("timeout_error", "upstream_timeout", 1),
        Fault::ClientGone => Expect {
            status: None,
            error_kind: None,
            failed_over: false,
            class: Some("client_disconnected".into()),
            // A stream pays for the text relayed before the client left; a whole answer for what
            // the upstream reported (it produced, and billed, all of it).
            charge: if stream {
                Charge::Relayed(answer_tokens())
            } else {
                Charge::Whole
            },
        },
        Fault::DatabaseLocked | Fault::ChannelDeleted => served(false),
    }
}

/// What a cell showed.
#[derive(Debug)]
struct Seen {
    expect: Expect,
    /// What the client read (a body or a whole stream).
    text: String,
    attempts: i64,
    cost: i64,
    events: usize,
    charges: Vec<i64>,
    estimated: bool,
}

async fn run(fault: Fault, stream: bool, fallback: bool) -> Seen {
    let t = Setup::with(config()).await;
    let model = "claude-matrix";
    t.model(model).await;
    let faulty_url = if fault == Fault::ResetBeforeHeaders {
        let addr = realms_mock::spawn_resetting("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        format!("http://{addr}")
    } else {
        t.mock_url.clone()
    };
    let faulty = t.channel("faulty", &faulty_url, 10).await;
    t.bind(model, faulty, upstream_model(fault, stream)).await;
    if fallback {
        t.bind(model, t.primary().await, "claude-test-upstream")
            .await;
    }
    // A small max_tokens: the first answer's balance lease then has room for many more.
    let mut body = body(model, stream);
    body["max_tokens"] = 64.into();
    let mut events = t.events();
    let mut lock = None;
    if fault == Fault::DatabaseLocked {
        // A first request takes a balance lease, so the one under test needs no database write
        // before its answer; then another connection locks the database.
        let warm = t.messages(body.clone()).await;
        warm.bytes().await.unwrap();
        next(&mut events).await;
        let path = t.s.dir.path().join("realms.db");
        let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        conn.execute("BEGIN EXCLUSIVE").await.unwrap();
        lock = Some(conn);
    }
    let before = t.mock.requests().len();

    let sent = t.post("/v1/messages").json(&body).send();
    let text = match fault {
        Fault::ClientGone if stream => {
            let mut res = sent.await.unwrap();
            let mut seen = String::new();
            while !seen.contains(ANSWER) {
                let chunk = res.chunk().await.unwrap().unwrap();
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
            drop(res);
            seen
        }
        Fault::ClientGone => {
            // Leaves once the upstream has the request, before its answer.
            let waiting = tokio::spawn(sent);
            t.mock.received(before + 1).await;
            waiting.abort();
            String::new()
        }
        Fault::ChannelDeleted if stream => {
            let mut res = sent.await.unwrap();
            let mut seen = String::new();
            while !seen.contains("message_start") {
                let chunk = res.chunk().await.unwrap().unwrap();
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
            channels::delete(&t.s.db, faulty).await.unwrap();
            t.changed().await;
            t.mock.open_gate();
            format!(
                "{} {seen}{}",
                res.status().as_u16(),
                res.text().await.unwrap()
            )
        }
        Fault::ChannelDeleted => {
            let waiting = tokio::spawn(sent);
            t.mock.received(before + 1).await;
            channels::delete(&t.s.db, faulty).await.unwrap();
            t.changed().await;
            described(waiting.await.unwrap().unwrap()).await
        }
        Fault::DatabaseLocked => {
            let waiting = tokio::spawn(sent);
            t.mock.received(before + 1).await;
            // The answer (300 ms away) is settled while the lock is held; the writer waits.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let mut conn = lock.take().unwrap();
            conn.execute("ROLLBACK").await.unwrap();
            described(waiting.await.unwrap().unwrap()).await
        }
        _ => described(sent.await.unwrap()).await,
    };
    let e = next(&mut events).await;
    tokio::time::timeout(Duration::from_secs(20), t.settled())
        .await
        .expect("everything settles");
    let db = t.s.db.pool();
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM usage_events WHERE request_id = $1")
        .bind(&e.request_id)
        .fetch_one(db)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    let charges = sqlx::query("SELECT amount FROM ledger WHERE request_id = $1")
        .bind(&e.request_id)
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| -r.try_get::<i64, _>("amount").unwrap())
        .collect();
    let stored_event = sqlx::query("SELECT error_class FROM usage_events WHERE request_id = $1")
        .bind(&e.request_id)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(
        stored_event
            .try_get::<Option<String>, _>("error_class")
            .unwrap(),
        e.error_class,
        "{fault:?}: the stored event is the one recorded"
    );
    let status = text
        .split_once(' ')
        .and_then(|(s, _)| s.parse::<u16>().ok());
    let seen = Seen {
        expect: Expect {
            status,
            error_kind: error_kind(&text),
            failed_over: e.attempts == 2 && e.channel_id == Some(t.primary().await),
            class: e.error_class.clone(),
            charge: charge_kind(e.cost, e.estimated, e.tokens.output),
        },
        text,
        attempts: e.attempts,
        cost: e.cost,
        events: usize::try_from(stored).unwrap(),
        charges,
        estimated: e.estimated,
    };
    assert!(
        t.s.relay
            .books
            .stats
            .dropped_events
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0,
        "{fault:?}: nothing dropped"
    );
    seen
}

/// Which charge an event's cost is.
fn charge_kind(cost: i64, estimated: bool, output: i64) -> Charge {
    if cost == 0 {
        Charge::Nothing
    } else if estimated {
        assert_eq!(
            cost,
            cost_with_output(output),
            "an estimate is priced exactly"
        );
        Charge::Relayed(output)
    } else {
        assert_eq!(
            cost,
            cost_with_output(7),
            "a whole answer is priced exactly"
        );
        Charge::Whole
    }
}

/// "status body" of a response, read whole.
async fn described(res: reqwest::Response) -> String {
    let status = res.status().as_u16();
    format!("{status} {}", res.text().await.unwrap())
}

/// The `error.type` in a refusal's body or in a stream's `error` event.
fn error_kind(text: &str) -> Option<String> {
    let json = match text.split_once("event: error\ndata: ") {
        Some((_, rest)) => rest.lines().next().unwrap_or_default(),
        None => text.split_once(' ').map(|(_, b)| b).unwrap_or_default(),
    };
    let v: Value = serde_json::from_str(json).ok()?;
    if v["type"] != "error" {
        return None;
    }
    v["error"]["type"].as_str().map(str::to_string)
}

/// Runs the four cells of `fault` and holds each to its rule.
async fn cells(fault: Fault) {
    for stream in [false, true] {
        for fallback in [true, false] {
            let seen = run(fault, stream, fallback).await;
            let cell = format!("{fault:?} stream={stream} fallback={fallback}: {seen:?}");
            assert_eq!(seen.expect, expect(fault, stream, fallback), "{cell}");
            assert_eq!(seen.events, 1, "exactly one usage event: {cell}");
            assert!(seen.charges.len() <= 1, "at most one charge: {cell}");
            let charged = seen.charges.first().copied().unwrap_or(0);
            assert_eq!(charged, seen.cost, "the charge is the event's cost: {cell}");
            assert_eq!(
                seen.attempts,
                if seen.expect.failed_over { 2 } else { 1 },
                "{cell}"
            );
            if seen.expect.status == Some(200) && seen.expect.error_kind.is_none() {
                assert!(!seen.estimated, "{cell}");
                assert!(seen.text.contains(ANSWER), "the whole answer: {cell}");
                if stream {
                    assert!(seen.text.contains("message_stop"), "{cell}");
                }
            }
        }
    }
}

#[tokio::test]
async fn rate_limited() {
    cells(Fault::RateLimited).await;
}

#[tokio::test]
async fn status_500() {
    cells(Fault::Status500).await;
}

#[tokio::test]
async fn overloaded_529() {
    cells(Fault::Overloaded529).await;
}

#[tokio::test]
async fn reset_before_headers() {
    cells(Fault::ResetBeforeHeaders).await;
}

#[tokio::test]
async fn reset_midway() {
    cells(Fault::ResetMidway).await;
}

#[tokio::test]
async fn slow_first_byte() {
    cells(Fault::SlowFirstByte).await;
}

#[tokio::test]
async fn idle_stall() {
    cells(Fault::IdleStall).await;
}

#[tokio::test]
async fn client_gone() {
    cells(Fault::ClientGone).await;
}

#[tokio::test]
async fn database_locked() {
    cells(Fault::DatabaseLocked).await;
}

#[tokio::test]
async fn channel_deleted() {
    cells(Fault::ChannelDeleted).await;
}
