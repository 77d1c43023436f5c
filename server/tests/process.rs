//! The `realms` process as an operator runs it. Under load, killed with SIGKILL at random moments and
//! restarted on the same SQLite database: every answer a client received completely is stored and
//! charged exactly once, the killed runs' balance leases are given back at restart, and the books
//! balance. A stream still running when shutdown's grace period ends is ended with an error event
//! and settled. JSON logs carry no secret.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use app::core::admin::Admin;
use app::core::balances;
use app::core::channels::{ChannelSettings, NewChannel};
use app::core::crypto::KeyCipher;
use app::core::db::Db;
use app::core::models::{self, ModelInput};
use app::core::secret::InstanceSecret;
use app::money::Prices;
use app::types::{ChannelKind, Role};
use realms_mock::MockState;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const KEY: &str = "sk-ant-crash-test-key-0001";

struct Realms {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    /// Every line it logged.
    log: Arc<Mutex<Vec<String>>>,
}

impl Realms {
    async fn start(dir: &std::path::Path, port: u16, extra: &[&str]) -> Realms {
        Realms::start_with(dir, port, extra, &[]).await
    }

    async fn start_with(
        dir: &std::path::Path,
        port: u16,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Realms {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut r = Realms {
            child: spawn(dir, port, extra, &env).await,
            dir: dir.to_path_buf(),
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env,
            log: Arc::default(),
        };
        r.wait_listening().await;
        r
    }

    async fn wait_listening(&mut self) {
        let stderr = self.child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("realms starts")
                .unwrap()
                .expect("realms keeps running until it listens");
            let listening = line.contains("listening on");
            self.log.lock().unwrap().push(line);
            if listening {
                break;
            }
        }
        // Keep reading its log so it never blocks on a full pipe.
        let log = self.log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().unwrap().push(line);
            }
        });
    }

    async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    async fn restart(&mut self) {
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.child = spawn(&self.dir, self.port, &extra, &self.env).await;
        self.wait_listening().await;
    }

    /// SIGTERM, then waits for the process to exit on its own.
    async fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("realms stops within its grace period")
            .unwrap()
    }
}

async fn spawn(
    dir: &std::path::Path,
    port: u16,
    extra: &[&str],
    env: &[(String, String)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_realms"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--site-root", &dir.display().to_string()])
        .args(extra)
        .env("REALMS_DATABASE_URL", db_url(dir))
        .env("REALMS_DATA_DIR", dir)
        .env("REALMS_SECRET_KEY", SECRET)
        .env("REALMS_ALLOW_PRIVATE_UPSTREAMS", "true")
        .env("REALMS_LOG", "warn,realms::serve=info")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("realms runs")
}

fn db_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/realms.db", dir.display())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A user with $100, a token, and the mock upstream bound as `claude-test` (answers at once) and
/// `claude-spaced` (a stream with events 3 ms apart) and `claude-stall` (a stream that stops).
async fn provision(dir: &std::path::Path, mock_url: &str) -> (Db, String, i64) {
    app::core::egress::allow_private(true);
    let db = Db::connect(&db_url(dir)).await.unwrap();
    db.migrate().await.unwrap();
    let ops = Admin::cli(db.clone());
    let user = ops
        .create_user("load@example.com", None, "password123", Role::User)
        .await
        .unwrap();
    ops.adjust_balance(user.id, 100_000_000_000, "crash test")
        .await
        .unwrap();
    let token = ops.create_token(&user, "load", None).await.unwrap().secret;
    let cipher = KeyCipher::new(&InstanceSecret::from_value(SECRET).unwrap());
    let channel = ops
        .create_channel(
            &cipher,
            NewChannel {
                settings: ChannelSettings {
                    name: "mock".into(),
                    kind: ChannelKind::Anthropic,
                    priority: 0,
                    weight: 1,
                },
                base_urls: &[mock_url.to_string()],
                keys: &[KEY.to_string()],
            },
        )
        .await
        .unwrap();
    for (model, upstream) in [
        ("claude-test", "claude-test"),
        ("claude-spaced", "mock-spaced-3"),
        ("claude-stall", "mock-stall"),
    ] {
        let m = ops
            .create_model(&ModelInput {
                public_id: model.into(),
                display_name: None,
                prices: Some(Prices::with_derived_cache(3_000_000, 15_000_000)),
                enabled: true,
            })
            .await
            .unwrap();
        ops.create_binding(m.id, channel.id, Some(upstream))
            .await
            .unwrap();
    }
    (db, token, user.id)
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// One request; the request id when the client received the whole answer.
async fn one(http: &reqwest::Client, url: &str, token: &str, stream: bool) -> Option<String> {
    let model = if stream {
        "claude-spaced"
    } else {
        "claude-test"
    };
    let res = http
        .post(format!("{url}/v1/messages"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "model": model, "max_tokens": 64, "stream": stream,
            "messages": [{ "role": "user", "content": "hello" }],
        }))
        .send()
        .await
        .ok()?;
    if res.status() != 200 {
        return None;
    }
    let id = res
        .headers()
        .get("x-realms-request-id")?
        .to_str()
        .ok()?
        .to_string();
    let text = res.text().await.ok()?;
    let complete = if stream {
        text.contains("event: message_stop")
    } else {
        text.contains("\"usage\"")
    };
    complete.then_some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_completed_answer_and_strands_no_lease() {
    let dir = tempfile::tempdir().unwrap();
    let mock = realms_mock::spawn(
        "127.0.0.1:0".parse().unwrap(),
        MockState::unrecorded(vec![KEY.into()]),
    )
    .await
    .unwrap();
    let (db, token, user_id) = provision(dir.path(), &format!("http://{mock}")).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut realms = Realms::start(dir.path(), port, &[]).await;

    let completed = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..12 {
        let (completed, running, url, token) = (
            completed.clone(),
            running.clone(),
            url.clone(),
            token.clone(),
        );
        workers.spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0u64;
            while running.load(Ordering::Relaxed) {
                i += 1;
                match one(&http, &url, &token, (w + i).is_multiple_of(2)).await {
                    Some(id) => completed.lock().unwrap().push(id),
                    // Down (being killed or restarting): try again shortly.
                    None => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
    }

    const KILLS: usize = 3;
    let mut leased_at_kills = 0;
    for kill in 0..KILLS {
        let load_for = rand::thread_rng().gen_range(300..900);
        tokio::time::sleep(Duration::from_millis(load_for)).await;
        realms.kill().await;
        let before = completed.lock().unwrap().len();
        assert!(before > 0, "kill {kill}: the load got answers");
        let restart_at = app::core::db::now_ms();
        leased_at_kills += count(&db, "SELECT COUNT(*) AS n FROM leases").await;
        realms.restart().await;
        // The restarted instance gave back what the killed run had leased (new requests may
        // already hold fresh leases, so look at leases made before the restart).
        let stranded = count(
            &db,
            &format!("SELECT COUNT(*) AS n FROM leases WHERE created_at < {restart_at}"),
        )
        .await;
        assert_eq!(
            stranded, 0,
            "kill {kill}: no lease of an earlier run is left"
        );
    }
    assert!(leased_at_kills > 0, "the killed runs held leases");
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Relaxed);
    while workers.join_next().await.is_some() {}
    assert!(realms.stop().await.success());

    let completed = completed.lock().unwrap().clone();
    assert!(completed.len() > 50, "enough load: {}", completed.len());
    for id in &completed {
        let row = sqlx::query("SELECT cost FROM usage_events WHERE request_id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .unwrap();
        let cost: i64 = row
            .unwrap_or_else(|| panic!("{id}: a completed answer is stored"))
            .try_get("cost")
            .unwrap();
        assert!(cost > 0, "{id}");
        let charges = sqlx::query("SELECT amount FROM ledger WHERE request_id = $1")
            .bind(id)
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(charges.len(), 1, "{id}: charged exactly once");
        assert_eq!(
            charges[0].try_get::<i64, _>("amount").unwrap(),
            -cost,
            "{id}"
        );
    }
    // The books: balance = top-ups − charges, charges = Σ usage costs, nothing held any more.
    let (balance, reserved) = app::core::billing::holdings(&db, user_id).await.unwrap();
    assert_eq!(balance, balances::ledger_sum(&db, user_id).await.unwrap());
    let charged = count(
        &db,
        "SELECT CAST(COALESCE(-SUM(amount), 0) AS BIGINT) AS n FROM ledger WHERE kind = 'charge'",
    )
    .await;
    let costs = count(
        &db,
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS n FROM usage_events",
    )
    .await;
    assert_eq!(
        charged, costs,
        "every stored cost is charged and nothing else"
    );
    assert_eq!(reserved, 0, "no hold is stranded after a clean stop");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leases").await, 0);
}

#[tokio::test]
async fn a_stream_running_past_the_shutdown_grace_period_is_ended_and_settled() {
    let dir = tempfile::tempdir().unwrap();
    let mock = realms_mock::spawn(
        "127.0.0.1:0".parse().unwrap(),
        MockState::unrecorded(vec![KEY.into()]),
    )
    .await
    .unwrap();
    let (db, token, _) = provision(dir.path(), &format!("http://{mock}")).await;
    let port = free_port();
    let mut realms = Realms::start(dir.path(), port, &["--shutdown-grace", "1"]).await;
    let mut res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/messages"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "model": "claude-stall", "max_tokens": 64, "stream": true,
            "messages": [{ "role": "user", "content": "hello" }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut seen = String::new();
    while !seen.contains("message_start") {
        seen.push_str(&String::from_utf8_lossy(
            &res.chunk().await.unwrap().unwrap(),
        ));
    }
    let stopping = tokio::spawn(async move { realms.stop().await });
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
        rest
    })
    .await
    .expect("the stream is ended, not left hanging");
    assert!(rest.contains("event: error"), "{rest}");
    assert!(rest.contains("restarting"), "{rest}");
    assert!(stopping.await.unwrap().success());
    let class: Option<String> = sqlx::query("SELECT error_class FROM usage_events")
        .fetch_one(db.pool())
        .await
        .expect("the ended stream is stored")
        .try_get("error_class")
        .unwrap();
    assert_eq!(class.as_deref(), Some("shutdown"));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_hold_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mock = realms_mock::spawn(
        "127.0.0.1:0".parse().unwrap(),
        MockState::unrecorded(vec![KEY.into()]),
    )
    .await
    .unwrap();
    let (db, token, _) = provision(dir.path(), &format!("http://{mock}")).await;
    // A second channel whose key the upstream refuses: Realms logs the refusal.
    let wrong_key = "sk-ant-wrong-key-that-must-not-leak-9999";
    let cipher = KeyCipher::new(&InstanceSecret::from_value(SECRET).unwrap());
    let ops = Admin::cli(db.clone());
    let bad = ops
        .create_channel(
            &cipher,
            NewChannel {
                settings: ChannelSettings {
                    name: "refused".into(),
                    kind: ChannelKind::Anthropic,
                    priority: 5,
                    weight: 1,
                },
                base_urls: &[format!("http://{mock}")],
                keys: &[wrong_key.to_string()],
            },
        )
        .await
        .unwrap();
    let m = models::find_by_public_id(&db, "claude-test")
        .await
        .unwrap()
        .unwrap();
    ops.create_binding(m.id, bad.id, Some("claude-test"))
        .await
        .unwrap();
    let port = free_port();
    let metrics_token = "metrics-secret-token-0042";
    let mut realms = Realms::start_with(
        dir.path(),
        port,
        &["--metrics-token", metrics_token],
        &[("REALMS_LOG", "debug"), ("REALMS_LOG_FORMAT", "json")],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    for stream in [false, true] {
        assert!(one(&http, &url, &token, stream).await.is_some());
    }
    let wrong = http
        .post(format!("{url}/v1/messages"))
        .bearer_auth("rlm_not-a-real-token-at-all-0000000000000000")
        .json(&serde_json::json!({ "model": "claude-test", "max_tokens": 5, "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let metrics = http
        .get(format!("{url}/metrics"))
        .bearer_auth(metrics_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("realms_requests_total"), "{metrics}");
    assert!(
        metrics.contains("realms_usage_events_dropped 0"),
        "{metrics}"
    );
    // The two answers are in the journal (stored, and kept until the file is worth emptying).
    let journal_bytes: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("realms_usage_journal_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no journal gauge: {metrics}"));
    assert!(journal_bytes > 0, "{metrics}");
    assert!(realms.stop().await.success());
    // A clean stop stores everything and leaves nothing in the journal to replay.
    for file in ["usage.journal", "usage.journal.1"] {
        let len = std::fs::metadata(dir.path().join(file)).unwrap().len();
        assert_eq!(len, 0, "{file} after a clean stop");
    }

    let log = realms.log.lock().unwrap().clone();
    assert!(log.len() > 5, "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.contains("the upstream refused") || l.contains("upstream attempt failed")),
        "the refusal is logged"
    );
    for line in &log {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        for secret in [token.as_str(), KEY, wrong_key, SECRET, metrics_token] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
}
