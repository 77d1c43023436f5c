//! What the benchmark's Realms serves, provisioned through the `realms` CLI (the operations an
//! operator runs): a funded user, a token, a channel to each upstream, and three priced models.

use std::process::Stdio;

use anyhow::{anyhow, Context, Result};
use tokio::process::Command;

use crate::load::{MODEL, PACED, STALL_MODEL, STREAM_MODEL};
use crate::procs::sibling;

pub const UPSTREAM_KEY: &str = "sk-bench-upstream-key";
pub const SECRET: &str = "bench-secret-0123456789abcdef0123456789";

/// The environment of a Realms process (server or CLI) on `database_url`.
pub fn realms_env(database_url: &str, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("REALMS_DATABASE_URL", database_url.to_string()),
        ("REALMS_DATA_DIR", dir.display().to_string()),
        ("REALMS_SECRET_KEY", SECRET.to_string()),
        ("REALMS_ALLOW_PRIVATE_UPSTREAMS", "true".to_string()),
    ]
}

/// What a run provisioned: its token, and what its model ids end with.
pub struct Provisioned {
    pub token: String,
    pub suffix: String,
}

/// Provisions the benchmark in `database_url`: [`MODEL`] on the `answering` upstream, the streamed
/// models on the mock. In a database that is not `fresh` the model ids carry this run's stamp, so
/// bindings left by earlier runs (to upstreams long gone) are not routed to.
pub async fn provision(
    database_url: &str,
    dir: &std::path::Path,
    answering: &str,
    mock: &str,
    fresh: bool,
) -> Result<Provisioned> {
    let stamp = now_ms();
    let suffix = if fresh {
        String::new()
    } else {
        format!("-{stamp}")
    };
    let email = format!("bench-{stamp}@example.com");
    let cli = Cli {
        envs: realms_env(database_url, dir),
    };
    cli.run(&["migrate"], None).await?;
    cli.run(
        &["user", "create", "--email", &email, "--password-stdin"],
        Some("bench-password\n"),
    )
    .await?;
    cli.run(
        &[
            "balance",
            "add",
            "--user",
            &email,
            "--usd",
            "1000000",
            "--reason",
            "benchmark",
        ],
        None,
    )
    .await?;
    let out = cli
        .run(
            &["token", "create", "--user", &email, "--name", "bench"],
            None,
        )
        .await?;
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("rlm_"))
        .ok_or_else(|| anyhow!("realms token create printed no token"))?
        .to_string();
    let answering_channel = format!("bench-answering-{stamp}");
    let mock_channel = format!("bench-mock-{stamp}");
    for (name, url) in [(&answering_channel, answering), (&mock_channel, mock)] {
        cli.run(
            &[
                "channel",
                "create",
                "--name",
                name,
                "--type",
                "anthropic",
                "--base-url",
                url,
                "--key-stdin",
            ],
            Some(&format!("{UPSTREAM_KEY}\n")),
        )
        .await?;
    }
    for (model, channel, upstream) in [
        (MODEL, &answering_channel, MODEL),
        (STREAM_MODEL, &mock_channel, PACED),
        (STALL_MODEL, &mock_channel, "mock-stall"),
    ] {
        let model = &format!("{model}{suffix}");
        cli.run(
            &[
                "model",
                "create",
                "--id",
                model,
                "--input-price",
                "3",
                "--output-price",
                "15",
            ],
            None,
        )
        .await?;
        cli.run(
            &[
                "binding",
                "create",
                "--model",
                model,
                "--channel",
                channel,
                "--upstream-model",
                upstream,
            ],
            None,
        )
        .await?;
    }
    Ok(Provisioned { token, suffix })
}

/// Runs `realms` commands against the benchmark's database.
struct Cli {
    envs: Vec<(&'static str, String)>,
}

impl Cli {
    /// Runs `realms ARGS` (with `stdin` fed to it); returns its standard output, or its error.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = Command::new(sibling("realms")?);
        cmd.args(args)
            .envs(self.envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("Could not start realms")?;
        if let Some(mut pipe) = child.stdin.take() {
            if let Some(input) = stdin {
                pipe.write_all(input.as_bytes()).await?;
            }
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            return Err(anyhow!(
                "realms {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Unix milliseconds.
fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
