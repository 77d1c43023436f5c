//! The `realms` binary as an operator runs it, against a temporary SQLite database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use app::core::{db::Db, tokens};

fn realms(db_url: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realms"));
    cmd.args(args)
        .env("REALMS_DATABASE_URL", db_url)
        .env_remove("REALMS_PASSWORD")
        .env("REALMS_SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .env("REALMS_ALLOW_PRIVATE_UPSTREAMS", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("realms runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/sub/realms.db", dir.path().display())
}

#[test]
fn help_explains_every_command_and_flag() {
    let out = realms("sqlite://unused.db", &["--help"], &[], None);
    let help = text(&out.stdout);
    assert!(out.status.success());
    for word in [
        "serve",
        "migrate",
        "user",
        "token",
        "--database-url",
        "REALMS_DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
    let serve = text(&realms("sqlite://unused.db", &["serve", "--help"], &[], None).stdout);
    for word in [
        "--addr",
        "REALMS_ADDR",
        "--data-dir",
        "REALMS_SECRET_KEY",
        "--secure-cookies",
        "--site-root",
    ] {
        assert!(
            serve.contains(word),
            "serve --help mentions {word}:\n{serve}"
        );
    }
}

#[test]
fn migrate_creates_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = realms(&db_url(&dir), &["migrate"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("sub/realms.db").exists());
    assert_eq!(text(&out.stdout).trim(), "Migrations applied.");
}

#[test]
fn user_and_token_creation_print_results_and_the_token_last() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    let out = realms(
        &url,
        &["user", "create", "--email", "Ops@Example.com", "--admin"],
        &[("REALMS_PASSWORD", "password123")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "Created user ops@example.com (admin)."
    );

    let out = realms(
        &url,
        &[
            "user",
            "create",
            "--email",
            "dev@example.com",
            "--password-stdin",
        ],
        &[],
        Some("s3cret-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "Created user dev@example.com (user)."
    );

    let out = realms(
        &url,
        &[
            "token",
            "create",
            "--user",
            "dev@example.com",
            "--name",
            "ci",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("rlm_") && !last.contains(' '),
        "last line is the token alone: {stdout:?}"
    );

    // The printed token authenticates as its owner.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url).await.unwrap();
        let owner = tokens::authenticate(&db, last)
            .await
            .unwrap()
            .expect("token is valid");
        let user = app::core::users::find_by_email(&db, "dev@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(owner.user_id, user.id);
    });
}

#[test]
fn errors_exit_non_zero_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    let one_sentence = |out: &Output, expected: &str| {
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line on stderr: {err:?}");
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    };

    let out = realms(
        &url,
        &["user", "create", "--email", "a@example.com"],
        &[],
        None,
    );
    one_sentence(&out, "REALMS_PASSWORD");

    let pw = [("REALMS_PASSWORD", "password123")];
    assert!(realms(
        &url,
        &["user", "create", "--email", "a@example.com"],
        &pw,
        None
    )
    .status
    .success());
    let out = realms(
        &url,
        &["user", "create", "--email", "A@example.com"],
        &pw,
        None,
    );
    one_sentence(&out, "An account with this email already exists.");

    let out = realms(
        &url,
        &["user", "create", "--email", "b@example.com"],
        &[("REALMS_PASSWORD", "short")],
        None,
    );
    one_sentence(&out, "at least 8 characters");

    let out = realms(
        &url,
        &["token", "create", "--user", "nobody@example.com"],
        &[],
        None,
    );
    one_sentence(&out, "No user has the email nobody@example.com.");

    let out = realms("mysql://h/db", &["migrate"], &[], None);
    one_sentence(&out, "must start with sqlite:// or postgres://");
}

fn ok(db: &str, args: &[&str]) -> String {
    let out = realms(db, args, &[], None);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn fails(db: &str, args: &[&str]) -> String {
    let out = realms(db, args, &[], None);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert!(
        err.starts_with("error: ") && err.trim_end().ends_with('.'),
        "{err}"
    );
    err
}

#[test]
fn channels_models_bindings_and_balances_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let out = ok(
        &db,
        &[
            "channel",
            "create",
            "--name",
            "main",
            "--type",
            "anthropic",
            "--base-url",
            "https://api.anthropic.com/v1",
            "--key",
            "sk-ant-secret-AAAA",
            "--key",
            "sk-ant-secret-BBBB",
            "--priority",
            "10",
            "--weight",
            "3",
        ],
    );
    assert!(out.contains("Created channel main"), "{out}");
    let list = ok(&db, &["channel", "list"]);
    assert!(
        list.contains("main\tanthropic\t10\t3\tenabled\thttps://api.anthropic.com\t…AAAA,…BBBB"),
        "{list}"
    );
    assert!(!list.contains("sk-ant-secret"), "keys are masked: {list}");

    let out = ok(
        &db,
        &[
            "model",
            "create",
            "--id",
            "claude-sonnet-4-5",
            "--name",
            "Sonnet 4.5",
            "--input-price",
            "3",
            "--output-price",
            "15",
        ],
    );
    assert!(out.contains("cache write 5m $3.75"), "{out}");
    ok(
        &db,
        &["model", "create", "--id", "free-model", "--disabled"],
    );
    let out = ok(
        &db,
        &[
            "binding",
            "create",
            "--model",
            "claude-sonnet-4-5",
            "--channel",
            "main",
            "--upstream-model",
            "claude-sonnet-4-5-20250929",
        ],
    );
    assert!(
        out.contains("sent upstream as claude-sonnet-4-5-20250929"),
        "{out}"
    );
    let models = ok(&db, &["model", "list"]);
    assert!(
        models.contains("claude-sonnet-4-5\tSonnet 4.5\tenabled\t$3.00\t$15.00\t$3.75\t$6.00\t$0.30\tmain (as claude-sonnet-4-5-20250929)"),
        "{models}"
    );
    assert!(
        models.contains("free-model\tfree-model\tdisabled\t-\t-"),
        "{models}"
    );

    let out = realms(
        &db,
        &["user", "create", "--email", "dev@example.com"],
        &[("REALMS_PASSWORD", "password123")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        ok(&db, &["balance", "show", "--user", "dev@example.com"]).trim(),
        "$0.00"
    );
    let out = ok(
        &db,
        &[
            "balance",
            "add",
            "--user",
            "dev@example.com",
            "--usd",
            "25.5",
            "--reason",
            "pilot",
        ],
    );
    assert!(out.contains("Balance: $25.50"), "{out}");
    ok(
        &db,
        &[
            "balance",
            "add",
            "--user",
            "DEV@example.com",
            "--usd",
            "-0.000000001",
        ],
    );
    assert_eq!(
        ok(&db, &["balance", "show", "--user", "dev@example.com"]).trim(),
        "$25.499999999"
    );
}

#[test]
fn control_plane_commands_fail_with_one_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    ok(
        &db,
        &[
            "channel",
            "create",
            "--name",
            "main",
            "--type",
            "openai",
            "--base-url",
            "https://api.openai.com",
            "--key",
            "sk-1",
        ],
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "channel",
                "create",
                "--name",
                "main",
                "--type",
                "openai",
                "--base-url",
                "https://x.example",
                "--key",
                "k",
            ],
            "exists already",
        ),
        (
            vec![
                "channel",
                "create",
                "--name",
                "b",
                "--type",
                "openai",
                "--base-url",
                "x.example",
                "--key",
                "k",
            ],
            "not a valid URL",
        ),
        (
            vec!["model", "create", "--id", "m", "--input-price", "3"],
            "The output price is required (--output-price).",
        ),
        (
            vec![
                "model",
                "create",
                "--id",
                "m",
                "--input-price",
                "1.0000001",
                "--output-price",
                "1",
            ],
            "(--input-price)",
        ),
        (
            vec!["binding", "create", "--model", "nope", "--channel", "main"],
            "No model has the id nope",
        ),
        (
            vec![
                "balance",
                "add",
                "--user",
                "ghost@example.com",
                "--usd",
                "5",
            ],
            "No user has the email ghost@example.com.",
        ),
        (
            vec![
                "balance",
                "add",
                "--user",
                "ghost@example.com",
                "--usd",
                "five",
            ],
            "The amount (--usd) must be a number",
        ),
        (
            vec!["balance", "show", "--user", "ghost@example.com"],
            "No user has the email",
        ),
    ];
    for (args, says) in cases {
        let err = fails(&db, &args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // Keys saved under one secret are not readable under another.
    let out = realms(
        &db,
        &["channel", "list"],
        &[("REALMS_SECRET_KEY", "ffffffffffffffffffffffffffffffff")],
        None,
    );
    assert!(out.status.success(), "listing needs no decryption");
}

#[tokio::test]
async fn usage_list_prints_one_json_object_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = db_url(&dir);
    let out = realms(
        &db_url,
        &["user", "create", "--email", "dev@example.com"],
        &[("REALMS_PASSWORD", "password123")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = Db::connect(&db_url).await.unwrap();
    let user = app::core::users::find_by_email(&db, "dev@example.com")
        .await
        .unwrap()
        .unwrap();
    let event = |id: &str, at: i64, cost: i64| app::core::usage_log::UsageEvent {
        request_id: id.into(),
        created_at: at,
        user_id: user.id,
        token_id: None,
        api: "messages".into(),
        model: "claude-sonnet-4-5".into(),
        upstream_model: None,
        resolved_model: None,
        channel_id: None,
        credential_id: None,
        status: 200,
        error_class: None,
        stream: true,
        client_disconnected: false,
        attempts: 1,
        tokens: app::core::usage_log::TokenCounts {
            input: 12,
            output: 7,
            cache_write_5m: 2,
            cache_write_1h: 3,
            cache_read: 3,
            web_searches: 0,
        },
        estimated: false,
        cost,
        ttfb_ms: Some(5),
        latency_ms: 9,
        thinking_stripped: false,
        probe: false,
    };
    app::core::usage_log::insert_batch(
        &db,
        &[event("req_a", 1_000, 167_400), event("req_b", 2_000, 1)],
    )
    .await
    .unwrap();
    db.close().await;

    let out = realms(
        &db_url,
        &[
            "usage",
            "list",
            "--user",
            "dev@example.com",
            "--limit",
            "10",
            "--json",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    // Newest first: req_b (cost 1 nano-USD), then req_a.
    assert!(
        lines[0].contains("\"cost_usd\":0.000000001"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\"cost_usd\":0.0001674"),
        "exact decimal USD: {}",
        lines[1]
    );
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["request_id"], "req_b");
    for key in [
        "request_id",
        "created_at",
        "user",
        "token",
        "model",
        "channel",
        "status",
        "stream",
        "input_tokens",
        "output_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
        "cost_usd",
        "ttfb_ms",
        "latency_ms",
        "error",
    ] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    assert_eq!(v["user"], "dev@example.com");
    assert_eq!(v["cache_write_1h_tokens"], 3);
    assert_eq!(v["created_at"], "1970-01-01T00:00:02Z");
}

#[test]
fn keys_come_from_stdin_or_the_environment_and_metadata_hosts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let create = |name: &str| {
        vec![
            "channel".to_string(),
            "create".into(),
            "--name".into(),
            name.into(),
            "--type".into(),
            "anthropic".into(),
            "--base-url".into(),
            "https://api.anthropic.com".into(),
        ]
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let mut from_stdin = create("piped");
    from_stdin.push("--key-stdin".into());
    let out = realms(
        &db,
        &args(&from_stdin),
        &[],
        Some("sk-ant-piped-key-1111\n\nsk-ant-piped-key-2222\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = realms(
        &db,
        &args(&create("from-env")),
        &[("REALMS_CHANNEL_KEY", "sk-ant-env-key-3333")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = ok(&db, &["channel", "list"]);
    assert!(list.contains("…1111,…2222"), "{list}");
    assert!(list.contains("…3333"), "{list}");
    let none = fails(&db, &args(&create("keyless")));
    assert!(none.contains("--key-stdin"), "{none}");

    let mut metadata = create("metadata");
    metadata[7] = "http://169.254.169.254/latest".into();
    metadata.extend(["--key".to_string(), "k".into()]);
    let refused = fails(&db, &args(&metadata));
    assert!(refused.contains("will not send requests"), "{refused}");

    // Without the setting, loopback upstreams are refused too.
    let mut local = create("local");
    local[7] = "http://127.0.0.1:9".into();
    local.extend(["--key".to_string(), "k".into()]);
    let out = realms(
        &db,
        &args(&local),
        &[("REALMS_ALLOW_PRIVATE_UPSTREAMS", "false")],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--allow-private-upstreams"));
}

#[test]
fn help_never_shows_secrets_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://realms:hunter2-db-password@db.example/realms";
    for args in [&["--help"][..], &["serve", "--help"]] {
        let out = realms(
            url,
            args,
            &[("REALMS_METRICS_TOKEN", "metrics-token-hunter3")],
            None,
        );
        let help = text(&out.stdout);
        assert!(help.contains("--database-url"), "{help}");
        assert!(!help.contains("hunter2"), "{help}");
        assert!(!help.contains("hunter3"), "{help}");
    }
    drop(dir);
}

#[test]
fn import_prices_shows_what_would_change_and_changes_only_with_apply() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    ok(&db, &["migrate"]);
    ok(
        &db,
        &[
            "model",
            "create",
            "--id",
            "claude-sonnet-4-5",
            "--input-price",
            "2",
            "--output-price",
            "10",
        ],
    );
    // A supplied file in LiteLLM's format: one model here with other prices, one new, one that
    // does not convert exactly.
    let file = dir.path().join("prices.json");
    std::fs::write(
        &file,
        r#"{
            "claude-sonnet-4-5": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "deprecation_date": "2026-11-30"},
            "claude-opus-5-5": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 4e-06, "output_cost_per_token": 2e-05},
            "claude-odd": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 1.23456789e-13, "output_cost_per_token": 1e-06}
        }"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let preview = ok(&db, &["model", "import-prices", path]);
    assert!(
        preview.contains("prices\tclaude-sonnet-4-5\tClaude Sonnet 4.5 (deprecated 2026-11-30)"),
        "{preview}"
    );
    assert!(preview.contains("from: input $2.00"), "{preview}");
    assert!(preview.contains("to: input $3.00"), "{preview}");
    assert!(preview.contains("skipped\tclaude-odd\t"), "{preview}");
    assert!(
        preview.contains("1 more model(s) of the file are not here"),
        "{preview}"
    );
    assert!(preview.contains("Nothing was changed"), "{preview}");
    assert!(ok(&db, &["model", "list"]).contains("$2.00\t$10.00"));

    let applied = ok(&db, &["model", "import-prices", path, "--new", "--apply"]);
    assert!(
        applied.contains("Created 1 model(s) and repriced 1."),
        "{applied}"
    );
    let list = ok(&db, &["model", "list"]);
    assert!(
        list.contains("claude-opus-5-5\tClaude Opus 5.5\tenabled\t$4.00\t$20.00"),
        "{list}"
    );
    assert!(
        list.contains("claude-sonnet-4-5\tclaude-sonnet-4-5\tenabled\t$3.00\t$15.00\t$3.75"),
        "{list}"
    );
    // Again: nothing left to change.
    let again = ok(&db, &["model", "import-prices", path, "--new", "--apply"]);
    assert!(again.contains("0 change(s)"), "{again}");

    // The built-in snapshot knows the newest models; an id it lacks is refused.
    let builtin = ok(
        &db,
        &["model", "import-prices", "--only", "claude-haiku-4-5"],
    );
    assert!(
        builtin.contains("new\tclaude-haiku-4-5\tClaude Haiku 4.5"),
        "{builtin}"
    );
    assert!(
        builtin.contains("the built-in price list dated 20"),
        "{builtin}"
    );
    let refused = fails(&db, &["model", "import-prices", "--only", "no-such-model"]);
    assert!(
        refused.contains("no-such-model is not in the built-in price list"),
        "{refused}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    let refused = fails(&db, &["model", "import-prices", bad.to_str().unwrap()]);
    assert!(refused.contains("JSON object"), "{refused}");
}

#[test]
fn claude_code_fidelity_settings_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    ok(
        &db,
        &[
            "channel",
            "create",
            "--name",
            "compat",
            "--type",
            "anthropic",
            "--base-url",
            "https://compat.example.com",
            "--key",
            "sk-compat-AAAA",
        ],
    );
    let shown = ok(&db, &["channel", "filter", "--name", "compat"]);
    assert!(shown.contains("drops betas: none; fields: none"), "{shown}");
    let set = ok(
        &db,
        &[
            "channel",
            "filter",
            "--name",
            "compat",
            "--preset",
            "anthropic-compatible",
        ],
    );
    assert!(
        set.contains("context-1m,context-management,fine-grained-tool-streaming")
            && set.contains("fields: context_management,metadata"),
        "{set}"
    );
    let set = ok(
        &db,
        &[
            "channel",
            "filter",
            "--name",
            "compat",
            "--drop-fields",
            "metadata",
        ],
    );
    assert!(set.contains("fields: metadata."), "{set}");
    assert!(fails(
        &db,
        &[
            "channel",
            "filter",
            "--name",
            "compat",
            "--drop-betas",
            "a b!"
        ]
    )
    .contains("not a beta flag"));

    ok(
        &db,
        &[
            "model",
            "create",
            "--id",
            "claude-x",
            "--input-price",
            "3",
            "--output-price",
            "15",
        ],
    );
    let price = ok(&db, &["model", "web-search-price", "--id", "claude-x"]);
    assert!(
        price.contains("the site's price, $10.00 per 1,000"),
        "{price}"
    );
    let price = ok(
        &db,
        &[
            "model",
            "web-search-price",
            "--id",
            "claude-x",
            "--usd",
            "12.5",
        ],
    );
    assert!(price.contains("$12.50 per 1,000"), "{price}");
    let price = ok(
        &db,
        &["model", "web-search-price", "--id", "claude-x", "--site"],
    );
    assert!(price.contains("the site's price"), "{price}");

    let out = realms(
        &db,
        &["user", "create", "--email", "dev@example.com"],
        &[("REALMS_PASSWORD", "password123")],
        None,
    );
    assert!(out.status.success());
    let made = ok(
        &db,
        &[
            "token",
            "create",
            "--user",
            "dev@example.com",
            "--name",
            "cc",
            "--claude-code",
            "--min-version",
            "2.1.0",
        ],
    );
    assert!(made.trim().lines().last().unwrap().starts_with("rlm_"));
    let shown = ok(
        &db,
        &[
            "token",
            "clients",
            "--user",
            "dev@example.com",
            "--name",
            "cc",
        ],
    );
    assert!(
        shown.contains("accept Claude Code 2.1.0 or later"),
        "{shown}"
    );
    let set = ok(
        &db,
        &[
            "token",
            "clients",
            "--user",
            "dev@example.com",
            "--name",
            "cc",
            "--any",
        ],
    );
    assert!(set.contains("accept any client"), "{set}");
    let set = ok(
        &db,
        &[
            "user",
            "clients",
            "--email",
            "dev@example.com",
            "--claude-code",
        ],
    );
    assert!(set.contains("tokens accept Claude Code."), "{set}");
    assert!(fails(
        &db,
        &[
            "user",
            "clients",
            "--email",
            "dev@example.com",
            "--claude-code",
            "--min-version",
            "new"
        ]
    )
    .contains("numbers separated by dots"));
}
