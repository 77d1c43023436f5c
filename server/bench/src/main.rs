//! `realms-bench`: measures what Realms adds, side by side with the same load sent straight to the
//! mock upstream in the same run, and prints a markdown table. Not part of the product: a binary of
//! its own, built beside `realms` and `realms-mock`.
//!
//! It starts the mock upstream (`realms-mock`) and a Realms server (`realms serve`) as child
//! processes, both from the directory this binary is in (so it measures the build it is part of),
//! provisions a user, token, channel, priced models and bindings in a fresh
//! database (SQLite, or PostgreSQL with `--postgres-url`), then runs: open-loop non-stream latency at
//! a fixed rate, closed-loop maximum throughput, streamed time to first byte and per-event delay,
//! memory per open stream, idle memory and start-up time. `--quick` runs each part for a moment
//! (it checks the harness works, not the numbers).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const UPSTREAM_KEY: &str = "sk-bench-upstream-key";
const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
const MODEL: &str = "claude-bench";
const STREAM_MODEL: &str = "claude-bench-stream";
const STALL_MODEL: &str = "claude-bench-hold";

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "realms-bench",
    about = "Measures what Realms adds, side by side with direct calls to the mock upstream."
)]
struct BenchArgs {
    /// A few seconds in all: checks the harness, not the numbers.
    #[arg(long)]
    quick: bool,
    /// Run on this PostgreSQL database instead of a fresh SQLite file (it is migrated and written to).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Requests per second of the open-loop latency run.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Open streams for the memory measure.
    #[arg(long)]
    streams: Option<usize>,
    /// Streams started per second (to each target) in the streaming run.
    #[arg(long, default_value_t = 200)]
    stream_rate: u32,
    /// Run only these measures (repeat the flag for several); idle memory and start-up are always
    /// measured.
    #[arg(long, value_enum)]
    only: Vec<Part>,
}

/// The measures `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Added latency at a fixed rate (open loop).
    Latency,
    /// Maximum throughput (closed loop).
    Throughput,
    /// Streamed time to first byte and per-event delay at a fixed rate (open loop).
    Sse,
    /// Memory per open stream (also reports the mock's).
    Memory,
}

impl BenchArgs {
    fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// A child process, killed when dropped.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    /// Starts `program` (from this binary's directory) with `args` and waits for `marker`
    /// (followed by its URL) in its log; also returns when it was started.
    async fn spawn(
        program: &str,
        args: &[&str],
        envs: &[(&str, String)],
        marker: &str,
    ) -> Result<(Proc, Instant)> {
        let exe = sibling(program)?;
        let started = Instant::now();
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("Could not start a child process")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .map_err(|_| anyhow!("{program} did not start within 30 s"))??
                .ok_or_else(|| anyhow!("{program} exited before it listened"))?;
            if let Some(pos) = line.find(marker) {
                let rest = &line[pos + marker.len()..];
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep draining its log so it never blocks on a full pipe; show its warnings and errors.
        let name = program.to_string();
        tokio::spawn(async move {
            let mut shown = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if shown < 20 && (line.contains("WARN") || line.contains("ERROR")) {
                    eprintln!("[{name}] {line}");
                    shown += 1;
                }
            }
        });
        Ok((Proc { child, url }, started))
    }

    /// CPU time used so far (user + system), in clock ticks.
    fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(self.child.id()?)
    }

    /// Waits (up to 30 s) until the process is idle: work left from one measure (usage events still
    /// being written) must not run during the next.
    async fn quiet(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = self.cpu_ticks();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.cpu_ticks();
            // At most 1 tick (10 ms) of CPU in 200 ms.
            if let (Some(a), Some(b)) = (last, now) {
                if b.saturating_sub(a) <= 1 {
                    return;
                }
            } else {
                return;
            }
            last = now;
        }
    }

    fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
    }
}

/// CPU time a process has used so far (user + system), in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Where the load goes: straight to the mock, or through Realms.
#[derive(Clone)]
struct Target {
    url: String,
    auth: (&'static str, String),
    direct: bool,
}

impl Target {
    fn request(
        &self,
        http: &reqwest::Client,
        model: &str,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        let upstream_model = if self.direct {
            match model {
                STREAM_MODEL => "mock-spaced-2",
                STALL_MODEL => "mock-stall",
                other => other,
            }
        } else {
            model
        };
        http.post(format!("{}/v1/messages", self.url))
            .header(self.auth.0, &self.auth.1)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"model":"{upstream_model}","max_tokens":256,"stream":{stream},"messages":[{{"role":"user","content":"Benchmark request with a little text in it."}}]}}"#
            ))
    }
}

/// Ticks between two readings, when both were read.
fn delta(now: Option<u64>, before: Option<u64>) -> Option<u64> {
    Some(now?.saturating_sub(before?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Fixed-rate load sent to two targets in the same ticks (alternating which goes first), so both
/// see the same machine. `call` runs one call against a target, given its scheduled start, and
/// returns what it measured; the results come back per target.
async fn fixed_rate<T, F, Fut>(
    targets: [&Target; 2],
    rate: u32,
    duration: Duration,
    call: F,
) -> Result<[Vec<T>; 2]>
where
    T: Send + 'static,
    F: Fn(&Target, Instant) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let total = (duration.as_secs_f64() * f64::from(rate)) as usize;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        for k in 0..2 {
            let which = (i + k) % 2;
            let run = call(targets[which], due);
            tasks.spawn(async move { run.await.map(|r| (which, r)) });
        }
    }
    let mut out = [Vec::with_capacity(total), Vec::with_capacity(total)];
    while let Some(r) = tasks.join_next().await {
        let (which, r) = r??;
        out[which].push(r);
    }
    Ok(out)
}

/// Non-stream latencies (ms, counted from each request's scheduled start) at a fixed rate.
async fn open_loop(
    http: &reqwest::Client,
    targets: [&Target; 2],
    rate: u32,
    duration: Duration,
) -> Result<[Vec<f64>; 2]> {
    let [a, b] = fixed_rate(targets, rate, duration, |target, due| {
        let req = target.request(http, MODEL, false);
        async move {
            let res = req.send().await?;
            let ok = res.status().is_success();
            res.bytes().await?;
            anyhow::ensure!(ok, "a benchmark request failed");
            Ok(due.elapsed().as_secs_f64() * 1000.0)
        }
    })
    .await?;
    Ok([sorted(a), sorted(b)])
}

/// As many requests as `workers` loops can make: requests per second.
async fn closed_loop(
    http: &reqwest::Client,
    target: &Target,
    workers: usize,
    duration: Duration,
) -> Result<f64> {
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (http, target) = (http.clone(), target.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let res = target.request(&http, MODEL, false).send().await?;
                anyhow::ensure!(res.status().is_success(), "a benchmark request failed");
                res.bytes().await?;
                n += 1;
            }
            Ok::<u64, anyhow::Error>(n)
        });
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r??;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

/// Streams started at a fixed rate: time to first byte, and each event's arrival (ms, counted from
/// the stream's scheduled start).
async fn streams(
    http: &reqwest::Client,
    targets: [&Target; 2],
    rate: u32,
    duration: Duration,
) -> Result<[(Vec<f64>, Vec<f64>); 2]> {
    let runs = fixed_rate(targets, rate, duration, |target, due| {
        let req = target.request(http, STREAM_MODEL, true);
        async move {
            let mut res = req.send().await?;
            anyhow::ensure!(
                res.status().is_success(),
                "a streamed benchmark request failed"
            );
            let mut first = None;
            let mut arrivals = Vec::new();
            while let Some(chunk) = res.chunk().await? {
                let at = due.elapsed().as_secs_f64() * 1000.0;
                first.get_or_insert(at);
                for _ in 0..chunk.windows(7).filter(|w| w == b"event: ").count() {
                    arrivals.push(at);
                }
            }
            Ok((first.unwrap_or(f64::NAN), arrivals))
        }
    })
    .await?;
    Ok(runs.map(|runs| {
        let (ttfb, events): (Vec<f64>, Vec<Vec<f64>>) = runs.into_iter().unzip();
        (sorted(ttfb), sorted(events.concat()))
    }))
}

/// Opens `count` streams through Realms that stay open; returns the RSS growth per stream (KiB) of
/// Realms and of the mock upstream behind it.
async fn memory_per_stream(
    realms: &Proc,
    mock: &Proc,
    target: &Target,
    count: usize,
) -> Result<(f64, f64)> {
    let mock_before = mock.rss_kib().unwrap_or(0);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let before = realms.rss_kib().unwrap_or(0);
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<Result<()>>(count.max(1));
    let mut held = Vec::with_capacity(count);
    // Open them a few hundred at a time: the listen backlog is finite.
    let opening = Arc::new(tokio::sync::Semaphore::new(256));
    for i in 0..count {
        let req = target.request(&http, STALL_MODEL, true);
        let opened = opened_tx.clone();
        let opening = opening.clone();
        held.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let result = async {
                let mut res = req.send().await?;
                anyhow::ensure!(
                    res.status().is_success(),
                    "stream {i} was refused: {}",
                    res.status()
                );
                res.chunk().await?;
                Ok(res)
            }
            .await;
            drop(permit);
            match result {
                Ok(res) => {
                    let _ = opened.send(Ok(())).await;
                    // Hold the stream open until the task is aborted.
                    std::future::pending::<()>().await;
                    drop(res);
                }
                Err(e) => {
                    let _ = opened.send(Err(e)).await;
                }
            }
        }));
    }
    for _ in 0..count {
        opened_rx
            .recv()
            .await
            .ok_or_else(|| anyhow!("a stream task ended"))??;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = realms.rss_kib().unwrap_or(before);
    let mock_after = mock.rss_kib().unwrap_or(mock_before);
    for h in held {
        h.abort();
    }
    let n = count.max(1) as f64;
    Ok((
        after.saturating_sub(before) as f64 / n,
        mock_after.saturating_sub(mock_before) as f64 / n,
    ))
}

/// Provisions what the benchmark calls, through the `realms` CLI (the same operations an operator
/// runs): a funded user, a token, a channel to the mock, and three priced models bound to it.
/// Returns the token.
async fn provision(database_url: &str, dir: &std::path::Path, mock_url: &str) -> Result<String> {
    let email = format!("bench-{}@example.com", now_ms());
    let channel = format!("bench-mock-{}", now_ms());
    let cli = Cli {
        envs: vec![
            ("REALMS_DATABASE_URL", database_url.to_string()),
            ("REALMS_DATA_DIR", dir.display().to_string()),
            ("REALMS_SECRET_KEY", SECRET.to_string()),
            ("REALMS_ALLOW_PRIVATE_UPSTREAMS", "true".to_string()),
        ],
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
    cli.run(
        &[
            "channel",
            "create",
            "--name",
            &channel,
            "--type",
            "anthropic",
            "--base-url",
            mock_url,
            "--key-stdin",
        ],
        Some(&format!("{UPSTREAM_KEY}\n")),
    )
    .await?;
    for (model, upstream) in [
        (MODEL, MODEL),
        (STREAM_MODEL, "mock-spaced-2"),
        (STALL_MODEL, "mock-stall"),
    ] {
        let created = cli
            .run(
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
            .await;
        // A database used before (PostgreSQL) has the models already.
        if let Err(e) = created {
            if !e.to_string().contains("exists already") {
                return Err(e);
            }
        }
        cli.run(
            &[
                "binding",
                "create",
                "--model",
                model,
                "--channel",
                &channel,
                "--upstream-model",
                upstream,
            ],
            None,
        )
        .await?;
    }
    Ok(token)
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

/// A program in the directory this binary is in.
fn sibling(program: &str) -> Result<std::path::PathBuf> {
    let here = std::env::current_exe().context("Could not find this program's path")?;
    let exe = here
        .parent()
        .ok_or_else(|| anyhow!("This program's path has no directory"))?
        .join(program);
    if !exe.is_file() {
        return Err(anyhow!(
            "{} is missing: build it first (bash .ci/bench builds everything)",
            exe.display()
        ));
    }
    Ok(exe)
}

/// Unix milliseconds.
fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

struct Row {
    measure: String,
    direct: String,
    realms: String,
    result: String,
    target: &'static str,
    met: Option<bool>,
}

fn ms(v: f64) -> String {
    format!("{v:.3} ms")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    match run(BenchArgs::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: BenchArgs) -> Result<()> {
    // Every open stream holds a connection: allow as many as the system does.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let quick = args.quick;
    let phase = if quick {
        Duration::from_millis(600)
    } else {
        Duration::from_secs(10)
    };
    let rate = if quick { args.rate.min(200) } else { args.rate };
    // Realms holds two sockets per proxied stream: 10,000 streams, or as many as its open-file limit
    // (the same as this process's, raised to the hard limit) allows beside the connections the
    // earlier measures left open.
    let fit = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| usize::try_from(soft.saturating_sub(2_000) / 2).unwrap_or(usize::MAX))
        .unwrap_or(4_000);
    let stream_count = args
        .streams
        .unwrap_or(if quick { 100 } else { fit.min(10_000) });
    let dir = std::env::temp_dir().join(format!("realms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&args, &dir, phase, rate, stream_count).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(
    args: &BenchArgs,
    dir: &std::path::Path,
    phase: Duration,
    rate: u32,
    stream_count: usize,
) -> Result<()> {
    let database_url = match &args.postgres_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}/bench.db", dir.display()),
    };
    let (mock, _) = Proc::spawn(
        "realms-mock",
        &["--addr", "127.0.0.1:0", "--key", UPSTREAM_KEY],
        &[],
        "mock upstream listening on ",
    )
    .await?;
    let token = provision(&database_url, dir, &mock.url).await?;

    let (realms, started) = Proc::spawn(
        "realms",
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--site-root",
            &dir.display().to_string(),
        ],
        &[
            ("REALMS_DATABASE_URL", database_url.clone()),
            ("REALMS_DATA_DIR", dir.display().to_string()),
            ("REALMS_SECRET_KEY", SECRET.to_string()),
            ("REALMS_ALLOW_PRIVATE_UPSTREAMS", "true".to_string()),
            ("REALMS_LOG", "warn,realms::serve=info".to_string()),
            ("NO_COLOR", "1".to_string()),
        ],
        "Realms is listening on ",
    )
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()?;
    // Start-up: from spawning the process to the first served API request.
    let mut first_served = None;
    let probe = Target {
        url: realms.url.clone(),
        auth: ("authorization", format!("Bearer {token}")),
        direct: false,
    };
    for _ in 0..3000 {
        if let Ok(res) = probe.request(&http, MODEL, false).send().await {
            if res.status().is_success() {
                first_served = Some(started.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start_to_first = first_served.ok_or_else(|| anyhow!("Realms never served a request"))?;
    let idle_rss = realms.rss_kib().unwrap_or(0);

    let direct = Target {
        url: mock.url.clone(),
        auth: ("x-api-key", UPSTREAM_KEY.to_string()),
        direct: true,
    };
    let via = probe;
    let mut rows = Vec::new();
    // Warm both paths (connections, caches).
    open_loop(&http, [&direct, &via], 200, Duration::from_millis(250)).await?;
    if args.runs(Part::Latency) {
        realms.quiet().await;
        let [d_lat, v_lat] = open_loop(&http, [&direct, &via], rate, phase).await?;
        for (label, p, target) in [("p50", 0.5, 0.3), ("p99", 0.99, 1.0)] {
            let added = percentile(&v_lat, p) - percentile(&d_lat, p);
            rows.push(Row {
                measure: format!("added latency, non-stream, {rate} req/s, {label}"),
                direct: ms(percentile(&d_lat, p)),
                realms: ms(percentile(&v_lat, p)),
                result: ms(added),
                target: if label == "p50" {
                    "≤ 0.3 ms"
                } else {
                    "≤ 1 ms"
                },
                met: Some(added <= target),
            });
        }
    }
    if args.runs(Part::Throughput) {
        realms.quiet().await;
        let workers = 64;
        // CPU per request (µs) of each process in a run, counted until the servers are idle
        // again (the load generator only while it sends). Via Realms the same requests also cost
        // the load generator and the mock; the ratio is bound by what each process spends.
        let per_request = |ticks: Option<u64>, rate: f64| {
            ticks.map_or(f64::NAN, |t| {
                t as f64 * 10_000.0 / (rate * phase.as_secs_f64())
            })
        };
        let generator = std::process::id();
        let (mock0, gen0) = (mock.cpu_ticks(), cpu_ticks(generator));
        let d_tput = closed_loop(&http, &direct, workers, phase).await?;
        let d_gen = per_request(delta(cpu_ticks(generator), gen0), d_tput);
        mock.quiet().await;
        let d_mock = per_request(delta(mock.cpu_ticks(), mock0), d_tput);
        realms.quiet().await;
        let (realms0, mock0, gen0) = (realms.cpu_ticks(), mock.cpu_ticks(), cpu_ticks(generator));
        let v_tput = closed_loop(&http, &via, workers, phase).await?;
        let v_gen = per_request(delta(cpu_ticks(generator), gen0), v_tput);
        realms.quiet().await;
        mock.quiet().await;
        let v_realms = per_request(delta(realms.cpu_ticks(), realms0), v_tput);
        let v_mock = per_request(delta(mock.cpu_ticks(), mock0), v_tput);
        let ratio = v_tput / d_tput.max(1.0);
        rows.push(Row {
            measure: format!("max throughput, {workers} connections"),
            direct: format!(
                "{d_tput:.0} req/s (CPU per request: mock {d_mock:.0} µs, load generator {d_gen:.0} µs)"
            ),
            realms: format!(
                "{v_tput:.0} req/s (CPU per request: Realms {v_realms:.0} µs, mock {v_mock:.0} µs, load generator {v_gen:.0} µs)"
            ),
            result: format!("{:.0} % of direct", ratio * 100.0),
            target: "≥ 50 % of direct",
            met: Some(ratio >= 0.5),
        });
    }
    if args.runs(Part::Sse) {
        realms.quiet().await;
        let stream_rate = if args.quick {
            args.stream_rate.min(50)
        } else {
            args.stream_rate
        };
        let [(d_ttfb, d_events), (v_ttfb, v_events)] =
            streams(&http, [&direct, &via], stream_rate, phase).await?;
        let added_ttfb = percentile(&v_ttfb, 0.99) - percentile(&d_ttfb, 0.99);
        rows.push(Row {
            measure: format!("SSE time to first byte, {stream_rate} streams/s, p99"),
            direct: ms(percentile(&d_ttfb, 0.99)),
            realms: ms(percentile(&v_ttfb, 0.99)),
            result: ms(added_ttfb),
            target: "≤ 1 ms added",
            met: Some(added_ttfb <= 1.0),
        });
        let added_event = percentile(&v_events, 0.99) - percentile(&d_events, 0.99);
        rows.push(Row {
            measure: "SSE event arrival after request start, p99".into(),
            direct: ms(percentile(&d_events, 0.99)),
            realms: ms(percentile(&v_events, 0.99)),
            result: ms(added_event),
            target: "≤ 1 ms added",
            met: Some(added_event <= 1.0),
        });
    }
    // Memory last: after its clients leave, Realms keeps reading the held streams' upstreams for a
    // while to learn their usage, which would run during any measure after it.
    if args.runs(Part::Memory) {
        realms.quiet().await;
        let (per_stream, mock_per_stream) =
            memory_per_stream(&realms, &mock, &via, stream_count).await?;
        rows.push(Row {
            measure: format!("memory per open stream, {stream_count} streams"),
            direct: format!("{mock_per_stream:.1} KiB in the mock"),
            realms: format!("{per_stream:.1} KiB"),
            result: format!("{per_stream:.1} KiB"),
            target: "≤ 64 KiB",
            met: Some(per_stream <= 64.0),
        });
    }
    rows.push(Row {
        measure: "idle RSS".into(),
        direct: "—".into(),
        realms: format!("{:.1} MB", idle_rss as f64 / 1024.0),
        result: format!("{:.1} MB", idle_rss as f64 / 1024.0),
        target: "≤ 40 MB",
        met: Some(idle_rss <= 40 * 1024),
    });
    let start_ms = start_to_first.as_secs_f64() * 1000.0;
    rows.push(Row {
        measure: "start to first served request".into(),
        direct: "—".into(),
        realms: format!("{start_ms:.0} ms"),
        result: format!("{start_ms:.0} ms"),
        target: "≤ 300 ms",
        met: Some(start_ms <= 300.0),
    });

    let db_label = if args.postgres_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "Realms benchmark ({}; database: {db_label}; billing, auth, routing and usage logging on)\n",
        if args.quick { "quick run: numbers are not meaningful" } else { "full run" }
    );
    println!("| measure | direct to mock | via Realms | Realms adds / ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "—",
        };
        println!(
            "| {} | {} | {} | {} | {} | {met} |",
            r.measure, r.direct, r.realms, r.result, r.target
        );
    }
    drop(realms);
    drop(mock);
    Ok(())
}
