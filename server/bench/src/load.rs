//! The load: where it goes ([`Target`]) and the shapes it takes — closed loop (wrk when installed),
//! one request at a time, a fixed rate, paced streams, and streams held open.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

/// The non-stream model (its upstream answers at once).
pub const MODEL: &str = "claude-bench";
/// The streamed model: 64 text deltas, events 20 ms apart.
pub const STREAM_MODEL: &str = "claude-bench-stream";
/// The model whose stream stays open (memory per stream).
pub const STALL_MODEL: &str = "claude-bench-hold";
/// What [`STREAM_MODEL`] is upstream.
pub const PACED: &str = "mock-paced-64x20";
/// The time between the events of [`STREAM_MODEL`].
pub const SPACING_MS: f64 = 20.0;

/// Where the load goes: the upstream itself, a bare relay, or Realms.
#[derive(Clone)]
pub struct Target {
    pub name: String,
    pub url: String,
    /// The credential this target wants (the upstream's key, a Realms token, or none).
    pub auth: Option<(&'static str, String)>,
    /// Realms knows the benchmark's model ids (with this run's suffix); everything else is asked
    /// for the upstream's.
    pub realms: Option<String>,
}

impl Target {
    fn model(&self, model: &str) -> String {
        if let Some(suffix) = &self.realms {
            return format!("{model}{suffix}");
        }
        match model {
            STREAM_MODEL => PACED,
            STALL_MODEL => "mock-stall",
            other => other,
        }
        .to_string()
    }

    fn body(&self, model: &str, stream: bool) -> String {
        format!(
            r#"{{"model":"{}","max_tokens":256,"stream":{stream},"messages":[{{"role":"user","content":"Benchmark request with a little text in it."}}]}}"#,
            self.model(model)
        )
    }

    pub fn request(
        &self,
        http: &reqwest::Client,
        model: &str,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        let mut req = http
            .post(format!("{}/v1/messages", self.url))
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(self.body(model, stream));
        if let Some((name, value)) = &self.auth {
            req = req.header(*name, value);
        }
        req
    }
}

/// A closed-loop run: how many requests completed in how long.
pub struct Burst {
    pub requests: u64,
    pub seconds: f64,
}

impl Burst {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

/// As many non-stream requests as `connections` can make in `duration`: with wrk (one thread,
/// on `cpu`) when it is installed, else with this process's own client.
pub async fn closed_loop(
    http: &reqwest::Client,
    target: &Target,
    connections: usize,
    duration: Duration,
    wrk: Option<(&Path, &Path, Option<usize>)>,
) -> Result<Burst> {
    match wrk {
        Some((exe, dir, cpu)) => with_wrk(exe, dir, cpu, target, connections, duration).await,
        None => built_in_loop(http, target, connections, duration).await,
    }
}

async fn with_wrk(
    exe: &Path,
    dir: &Path,
    cpu: Option<usize>,
    target: &Target,
    connections: usize,
    duration: Duration,
) -> Result<Burst> {
    let mut script = String::from("wrk.method = \"POST\"\n");
    script.push_str(&format!("wrk.body = '{}'\n", target.body(MODEL, false)));
    script.push_str("wrk.headers[\"content-type\"] = \"application/json\"\n");
    script.push_str("wrk.headers[\"anthropic-version\"] = \"2023-06-01\"\n");
    if let Some((name, value)) = &target.auth {
        script.push_str(&format!("wrk.headers[\"{name}\"] = \"{value}\"\n"));
    }
    let path = dir.join("wrk.lua");
    std::fs::write(&path, script)?;
    let mut cmd = match cpu {
        Some(cpu) => {
            let mut cmd = tokio::process::Command::new("taskset");
            cmd.arg("-c").arg(cpu.to_string()).arg(exe);
            cmd
        }
        None => tokio::process::Command::new(exe),
    };
    let secs = duration.as_secs_f64().ceil().max(1.0) as u64;
    let out = cmd
        .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s")])
        .arg("-s")
        .arg(&path)
        .arg(format!("{}/v1/messages", target.url))
        .output()
        .await
        .context("Could not run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(anyhow!(
            "{} answered errors under load: {line}",
            target.name
        ));
    }
    // "  123456 requests in 5.00s, 61.23MB read"
    let line = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .ok_or_else(|| anyhow!("wrk printed no request count: {text}"))?;
    let mut words = line.split_whitespace();
    let requests: u64 = words.next().unwrap_or_default().parse()?;
    let seconds = words
        .nth(2)
        .map(|s| s.trim_end_matches(',').trim_end_matches('s'))
        .and_then(|s| s.parse().ok())
        .unwrap_or(secs as f64);
    Ok(Burst { requests, seconds })
}

async fn built_in_loop(
    http: &reqwest::Client,
    target: &Target,
    connections: usize,
    duration: Duration,
) -> Result<Burst> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
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
    let mut requests = 0;
    while let Some(r) = tasks.join_next().await {
        requests += r??;
    }
    Ok(Burst {
        requests,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One request at a time for `duration`: each one's latency (ms).
pub async fn one_at_a_time(
    http: &reqwest::Client,
    target: &Target,
    duration: Duration,
) -> Result<Vec<f64>> {
    let deadline = Instant::now() + duration;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        let res = target.request(http, MODEL, false).send().await?;
        let ok = res.status().is_success();
        res.bytes().await?;
        anyhow::ensure!(ok, "a benchmark request to {} failed", target.name);
        out.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(out)
}

/// Fixed-rate load sent to every target in the same ticks (rotating which goes first), so all see
/// the same machine. `call` runs one call against a target, given its scheduled start, and returns
/// what it measured; the results come back per target.
pub async fn fixed_rate<T, F, Fut>(
    targets: &[&Target],
    rate: u32,
    duration: Duration,
    call: F,
) -> Result<Vec<Vec<T>>>
where
    T: Send + 'static,
    F: Fn(&Target, Instant) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let n = targets.len();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let total = (duration.as_secs_f64() * f64::from(rate)) as usize;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        for k in 0..n {
            let which = (i + k) % n;
            let run = call(targets[which], due);
            tasks.spawn(async move { run.await.map(|r| (which, r)) });
        }
    }
    let mut out: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(total)).collect();
    while let Some(r) = tasks.join_next().await {
        let (which, r) = r??;
        out[which].push(r);
    }
    Ok(out)
}

/// Non-stream latencies (ms, counted from each request's scheduled start) at a fixed rate.
pub async fn open_loop(
    http: &reqwest::Client,
    targets: &[&Target],
    rate: u32,
    duration: Duration,
) -> Result<Vec<Vec<f64>>> {
    fixed_rate(targets, rate, duration, |target, due| {
        let req = target.request(http, MODEL, false);
        let name = target.name.clone();
        async move {
            let res = req.send().await?;
            let ok = res.status().is_success();
            res.bytes().await?;
            anyhow::ensure!(ok, "a benchmark request to {name} failed");
            Ok(due.elapsed().as_secs_f64() * 1000.0)
        }
    })
    .await
}

/// What streams measured: each stream's time to first byte, and each event's delay (ms) — how
/// long after the stream's first event plus its place in the upstream's schedule it arrived.
pub struct StreamTimes {
    pub first_byte: Vec<f64>,
    pub event_delay: Vec<f64>,
}

/// Paced streams started at a fixed rate.
pub async fn streams(
    http: &reqwest::Client,
    targets: &[&Target],
    rate: u32,
    duration: Duration,
) -> Result<Vec<StreamTimes>> {
    let runs = fixed_rate(targets, rate, duration, |target, due| {
        let req = target.request(http, STREAM_MODEL, true);
        let name = target.name.clone();
        async move {
            let mut res = req.send().await?;
            anyhow::ensure!(
                res.status().is_success(),
                "a streamed benchmark request to {name} failed"
            );
            let mut first: Option<f64> = None;
            let mut delays = Vec::new();
            let mut seen = 0usize;
            while let Some(chunk) = res.chunk().await? {
                let at = due.elapsed().as_secs_f64() * 1000.0;
                let first_at = *first.get_or_insert(at);
                for _ in 0..chunk.windows(7).filter(|w| w == b"event: ").count() {
                    delays.push(at - first_at - seen as f64 * SPACING_MS);
                    seen += 1;
                }
            }
            Ok((first.unwrap_or(f64::NAN), delays))
        }
    })
    .await?;
    Ok(runs
        .into_iter()
        .map(|runs| {
            let (first_byte, delays): (Vec<f64>, Vec<Vec<f64>>) = runs.into_iter().unzip();
            StreamTimes {
                first_byte,
                event_delay: delays.concat(),
            }
        })
        .collect())
}

/// Opens `count` streams through `target` that stay open, and calls `measure` while they are.
pub async fn hold_streams<T>(
    target: &Target,
    count: usize,
    measure: impl FnOnce() -> T,
) -> Result<Held<T>> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
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
    // Streams the machine refuses (its ephemeral ports taken by earlier runs' closed connections,
    // say) are counted, not fatal: the measure is per stream that is open.
    let mut open = 0;
    let mut refused = None;
    for _ in 0..count {
        match opened_rx
            .recv()
            .await
            .ok_or_else(|| anyhow!("a stream task ended"))?
        {
            Ok(()) => open += 1,
            Err(e) => refused = Some(e),
        }
    }
    if open == 0 {
        return Err(refused.unwrap_or_else(|| anyhow!("no stream opened")));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measured = measure();
    for h in held {
        h.abort();
    }
    Ok(Held {
        open,
        refused: refused.map(|e| format!("{e:#}")),
        measured,
    })
}

/// What [`hold_streams`] saw: how many streams were open when it measured, why others were not.
pub struct Held<T> {
    pub open: usize,
    pub refused: Option<String>,
    pub measured: T,
}
