//! `realms-bench`: measures what Realms costs beside what a relay must cost, in one run, and prints
//! markdown tables. Not part of the product: a binary of its own, built beside `realms`.
//!
//! The same load goes, interleaved, to four targets: **direct** to the upstream; **B1** nginx as a
//! bare reverse proxy (one process, keep-alive upstream; skipped with a note when nginx is not
//! installed); **B2** `realms-floor`, a bare pass-through relay built from Realms' own crates; and
//! **R** Realms with everything on (authentication, limits, routing, reservation, usage logging) on
//! SQLite, and again on PostgreSQL with `--postgres-url`. The relay under test runs on CPU 1, the
//! load generator and the upstreams on CPU 0; each relay's CPU per request is read from
//! `/proc/PID/stat`. The non-stream upstream is nginx answering a fixed message (cheap, so the load
//! core is not the limit) or the mock without nginx; streams come from the mock upstream.
//! `--quick` runs each part for a moment (it checks the harness works, not the numbers).

mod load;
mod procs;
mod provision;

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};

use load::{Target, MODEL};
use procs::{NginxRole, Pins, Proc, Ready};
use provision::{provision, realms_env, Provisioned, UPSTREAM_KEY};

/// The name sqlx gives the threads that run SQLite's calls (`sqlx-sqlite-worker-N`, cut to the
/// kernel's 15 characters).
const SQLITE_THREADS: &str = "sqlx-sqlite-wor";

/// The fixed upstream's answer: an Anthropic message with its usage.
const FIXED_ANSWER: &str = r#"{"id":"msg_fixed","type":"message","role":"assistant","model":"claude-bench","content":[{"type":"text","text":"Hello from the fixed upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":7}}"#;

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "realms-bench",
    about = "Measures Realms beside nginx, a bare relay of its own crates and direct calls, in one run."
)]
struct BenchArgs {
    /// A few seconds in all: checks the harness, not the numbers.
    #[arg(long)]
    quick: bool,
    /// Also run Realms on this PostgreSQL database (it is migrated and written to).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Requests per second (to each target) of the fixed-rate latency run.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Open streams for the memory measure (default 10,000, or what the open-file limit allows).
    #[arg(long)]
    streams: Option<usize>,
    /// Streams started per second (to each target) in the streaming run.
    #[arg(long, default_value_t = 20)]
    stream_rate: u32,
    /// Rounds of the interleaved closed-loop and one-at-a-time runs (the median round is shown).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Do not pin the relays and the load to separate cores.
    #[arg(long)]
    no_pin: bool,
    /// Run only these measures (repeat the flag for several); idle memory and start-up are always
    /// measured.
    #[arg(long, value_enum)]
    only: Vec<Part>,
}

/// The measures `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Maximum throughput and CPU per request (closed loop, 64 connections).
    Throughput,
    /// Added latency one request at a time, and at a fixed rate.
    Latency,
    /// Streamed time to first byte and per-event delay.
    Sse,
    /// Memory per open stream.
    Memory,
}

impl BenchArgs {
    fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = BenchArgs::parse();
    let (pins, note) = Pins::detect(!args.no_pin);
    if let Err(e) = pins.pin_self() {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, pins, note)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: BenchArgs, pins: Pins, pin_note: Option<String>) -> Result<()> {
    procs::raise_open_files();
    let dir = std::env::temp_dir().join(format!("realms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&args, pins, pin_note, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// One target of the run, and the relay process whose CPU it costs (none when direct).
struct Under<'a> {
    target: Target,
    relay: Option<&'a Proc>,
}

/// The relays B1 and B2 in front of one upstream.
struct Bare {
    nginx: Option<Proc>,
    floor: Proc,
}

impl Bare {
    async fn start(upstream: &str, dir: &Path, pins: Pins, nginx: Option<&Path>) -> Result<Bare> {
        let nginx = match nginx {
            Some(exe) => Some(
                procs::nginx(
                    exe,
                    dir,
                    procs::free_port()?,
                    NginxRole::Relay {
                        upstream,
                        key: UPSTREAM_KEY,
                    },
                    pins.relay,
                )
                .await?,
            ),
            None => None,
        };
        let (floor, _) = Proc::spawn(
            &procs::sibling("realms-floor")?,
            &["--upstream", upstream, "--key", UPSTREAM_KEY],
            &[],
            pins.relay,
            Ready::Logs("floor relay listening on "),
        )
        .await?;
        Ok(Bare { nginx, floor })
    }

    /// B1 (when nginx runs) and B2, as targets.
    fn targets(&self) -> Vec<Under<'_>> {
        let mut out = Vec::new();
        if let Some(nginx) = &self.nginx {
            out.push(Under {
                target: bare_target("B1 nginx", &nginx.url),
                relay: Some(nginx),
            });
        }
        out.push(Under {
            target: bare_target("B2 floor", &self.floor.url),
            relay: Some(&self.floor),
        });
        out
    }
}

fn bare_target(name: &str, url: &str) -> Target {
    Target {
        name: name.into(),
        url: url.into(),
        auth: None,
        realms: None,
    }
}

fn direct_target(url: &str) -> Target {
    Target {
        name: "direct".into(),
        url: url.into(),
        auth: Some(("x-api-key", UPSTREAM_KEY.to_string())),
        realms: None,
    }
}

/// Starts Realms on `database_url` (provisioned) and waits for its first served request.
async fn start_realms(
    database_url: &str,
    dir: &Path,
    pins: Pins,
    http: &reqwest::Client,
    name: &str,
    provisioned: &Provisioned,
) -> Result<(Proc, Target, Duration)> {
    let mut envs = realms_env(database_url, dir);
    envs.push(("REALMS_LOG", "warn,realms::serve=info".to_string()));
    envs.push(("NO_COLOR", "1".to_string()));
    let site = dir.display().to_string();
    let (realms, started) = Proc::spawn(
        &procs::sibling("realms")?,
        &["serve", "--addr", "127.0.0.1:0", "--site-root", &site],
        &envs,
        pins.relay,
        Ready::Logs("Realms is listening on "),
    )
    .await?;
    let target = Target {
        name: name.into(),
        url: realms.url.clone(),
        auth: Some(("authorization", format!("Bearer {}", provisioned.token))),
        realms: Some(provisioned.suffix.clone()),
    };
    // Start-up: from spawning the process to the first served API request.
    for _ in 0..3000 {
        if let Ok(res) = target.request(http, MODEL, false).send().await {
            if res.status().is_success() {
                return Ok((realms, target, started.elapsed()));
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(anyhow!("{name} never served a request"))
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else {
        format!("{v:.3} ms")
    }
}

/// A row of the first table: one measure, one cell per target.
struct Row {
    measure: String,
    cells: Vec<String>,
}

/// A row of the second table: a ratio or a figure against its target.
struct Goal {
    measure: String,
    stands: String,
    target: &'static str,
    met: Option<bool>,
}

/// What the run measured for each target, by name.
#[derive(Default)]
struct Seen {
    rate: std::collections::HashMap<String, f64>,
    cpu: std::collections::HashMap<String, f64>,
    /// The kernel's part of `cpu` (µs a request, the same rounds' median).
    kernel: std::collections::HashMap<String, f64>,
    /// The part of `cpu` spent in SQLite's worker threads (µs a request, the same rounds' median).
    sqlite: std::collections::HashMap<String, f64>,
    c1: std::collections::HashMap<String, Vec<f64>>,
    ttfb: std::collections::HashMap<String, Vec<f64>>,
    event: std::collections::HashMap<String, Vec<f64>>,
}

fn cell_of(
    map: &std::collections::HashMap<String, f64>,
    name: &str,
    fmt: impl Fn(f64) -> String,
) -> String {
    map.get(name).map_or("—".into(), |v| fmt(*v))
}

async fn run_in(args: &BenchArgs, pins: Pins, pin_note: Option<String>, dir: &Path) -> Result<()> {
    let quick = args.quick;
    let phase = if quick {
        Duration::from_millis(600)
    } else {
        Duration::from_secs(5)
    };
    let rounds = if quick { 1 } else { args.rounds.max(1) };
    let rate = if quick { args.rate.min(200) } else { args.rate };
    let mut notes: Vec<String> = pin_note.into_iter().collect();

    let (mock, _) = Proc::spawn(
        &procs::sibling("realms-mock")?,
        &["--addr", "127.0.0.1:0", "--key", UPSTREAM_KEY],
        &[],
        pins.load,
        Ready::Logs("mock upstream listening on "),
    )
    .await?;
    let nginx_exe = procs::which("nginx");
    let fixed = match &nginx_exe {
        Some(exe) => Some(
            procs::nginx(
                exe,
                dir,
                procs::free_port()?,
                NginxRole::Fixed {
                    answer: FIXED_ANSWER,
                },
                pins.load,
            )
            .await?,
        ),
        None => {
            notes.push(
                "nginx is not installed: B1 is skipped and the mock answers non-stream requests"
                    .into(),
            );
            None
        }
    };
    let answering = fixed.as_ref().map_or(mock.url.clone(), |p| p.url.clone());
    let wrk_exe = procs::which("wrk");
    if wrk_exe.is_none() {
        notes.push(
            "wrk is not installed: the closed loop runs on this benchmark's own client".into(),
        );
    }
    let wrk = wrk_exe.as_deref().map(|exe| (exe, dir, pins.load));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()?;
    let sqlite_url = format!("sqlite://{}/bench.db", dir.display());
    let sqlite = provision(&sqlite_url, dir, &answering, &mock.url, true).await?;
    let (realms, realms_target, start_to_first) =
        start_realms(&sqlite_url, dir, pins, &http, "R Realms", &sqlite).await?;
    let realms_idle = realms.rss_kib();
    let pg = match &args.postgres_url {
        Some(url) => {
            // A database that may have served earlier runs: this run's models are its own.
            let pg = provision(url, dir, &answering, &mock.url, false).await?;
            Some(start_realms(url, dir, pins, &http, "R PostgreSQL", &pg).await?)
        }
        None => None,
    };

    let bare = Bare::start(&answering, dir, pins, nginx_exe.as_deref()).await?;
    let mut under = vec![Under {
        target: direct_target(&answering),
        relay: None,
    }];
    under.extend(bare.targets());
    under.push(Under {
        target: realms_target.clone(),
        relay: Some(&realms),
    });
    if let Some((proc, target, _)) = &pg {
        under.push(Under {
            target: target.clone(),
            relay: Some(proc),
        });
    }
    let names: Vec<String> = under.iter().map(|u| u.target.name.clone()).collect();
    let idle: Vec<String> = under
        .iter()
        .map(|u| match u.relay {
            Some(_) if u.target.name == realms_target.name => realms_idle,
            Some(p) => p.rss_kib(),
            None => None,
        })
        .map(|kib| kib.map_or("—".into(), |k| format!("{:.1} MB", k as f64 / 1024.0)))
        .collect();
    let targets: Vec<&Target> = under.iter().map(|u| &u.target).collect();
    // Warm every path (connections, caches).
    load::open_loop(&http, &targets, 200, Duration::from_millis(250)).await?;

    let mut seen = Seen::default();
    let mut rows = Vec::new();
    if args.runs(Part::Throughput) {
        let mut bursts: Vec<Vec<(f64, f64, f64, f64)>> = vec![Vec::new(); under.len()];
        let in_sqlite = |p: &Proc| p.threads_cpu_ticks(SQLITE_THREADS);
        for _ in 0..rounds {
            for (i, u) in under.iter().enumerate() {
                quiet_all(&under).await;
                let before = u.relay.and_then(Proc::cpu_split);
                let sqlite_before = u.relay.and_then(in_sqlite);
                let burst = load::closed_loop(&http, &u.target, 64, phase, wrk).await?;
                if let Some(relay) = u.relay {
                    relay.quiet().await;
                }
                let after = u.relay.and_then(Proc::cpu_split);
                let sqlite_after = u.relay.and_then(in_sqlite);
                let per_request =
                    |ticks: u64| ticks as f64 * 10_000.0 / burst.requests.max(1) as f64;
                let (cpu, kernel) = match (before, after) {
                    (Some((bu, bs)), Some((au, as_))) => {
                        let system = as_.saturating_sub(bs);
                        (
                            per_request(au.saturating_sub(bu) + system),
                            per_request(system),
                        )
                    }
                    _ => (f64::NAN, f64::NAN),
                };
                // A relay without SQLite's threads has no figure (its worker threads start with
                // the first connection, so a thread counted only after the load counts from 0).
                let sqlite = match (sqlite_before, sqlite_after) {
                    (b, Some(a)) => per_request(a.saturating_sub(b.unwrap_or(0))),
                    (_, None) => f64::NAN,
                };
                bursts[i].push((burst.rate(), cpu, kernel, sqlite));
            }
        }
        for (u, runs) in under.iter().zip(&bursts) {
            let rates: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let cpus: Vec<f64> = runs.iter().map(|r| r.1).filter(|c| !c.is_nan()).collect();
            let kernel: Vec<f64> = runs.iter().map(|r| r.2).filter(|c| !c.is_nan()).collect();
            let sqlite: Vec<f64> = runs.iter().map(|r| r.3).filter(|c| !c.is_nan()).collect();
            if !sqlite.is_empty() {
                seen.sqlite.insert(u.target.name.clone(), median(&sqlite));
            }
            seen.rate.insert(u.target.name.clone(), median(&rates));
            if !cpus.is_empty() {
                seen.cpu.insert(u.target.name.clone(), median(&cpus));
                seen.kernel.insert(u.target.name.clone(), median(&kernel));
            }
        }
        rows.push(Row {
            measure: "max throughput, 64 connections (median of rounds)".into(),
            cells: names
                .iter()
                .map(|n| cell_of(&seen.rate, n, |v| format!("{v:.0} req/s")))
                .collect(),
        });
        rows.push(Row {
            measure: "relay CPU per request".into(),
            cells: names
                .iter()
                .map(|n| cell_of(&seen.cpu, n, |v| format!("{v:.1} µs")))
                .collect(),
        });
        rows.push(Row {
            measure: "of which in the kernel".into(),
            cells: names
                .iter()
                .map(|n| cell_of(&seen.kernel, n, |v| format!("{v:.1} µs")))
                .collect(),
        });
        rows.push(Row {
            measure: "of which in SQLite's worker threads (the usage writer)".into(),
            cells: names
                .iter()
                .map(|n| cell_of(&seen.sqlite, n, |v| format!("{v:.1} µs")))
                .collect(),
        });
    }
    if args.runs(Part::Latency) {
        let slice = if quick {
            phase / 2
        } else {
            Duration::from_secs(2)
        };
        for _ in 0..rounds {
            for u in &under {
                quiet_all(&under).await;
                let lat = load::one_at_a_time(&http, &u.target, slice).await?;
                seen.c1
                    .entry(u.target.name.clone())
                    .or_default()
                    .extend(lat);
            }
        }
        for (label, p) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            rows.push(Row {
                measure: format!("latency, one request at a time, {label}"),
                cells: names
                    .iter()
                    .map(|n| ms(seen.c1.get(n).map_or(f64::NAN, |v| percentile(v, p))))
                    .collect(),
            });
        }
        quiet_all(&under).await;
        let fixed_rate = load::open_loop(&http, &targets, rate, phase).await?;
        for (label, p) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            rows.push(Row {
                measure: format!("latency at {rate} req/s each, {label}"),
                cells: fixed_rate.iter().map(|v| ms(percentile(v, p))).collect(),
            });
        }
    }
    drop(under);
    drop(bare);

    if args.runs(Part::Sse) {
        // The bare relays again, in front of the mock (which streams).
        let bare = Bare::start(&mock.url, dir, pins, nginx_exe.as_deref()).await?;
        let mut under = vec![Under {
            target: direct_target(&mock.url),
            relay: None,
        }];
        under.extend(bare.targets());
        under.push(Under {
            target: realms_target.clone(),
            relay: Some(&realms),
        });
        let targets: Vec<&Target> = under.iter().map(|u| &u.target).collect();
        let stream_rate = if quick {
            args.stream_rate.min(20)
        } else {
            args.stream_rate
        };
        quiet_all(&under).await;
        let times = load::streams(
            &http,
            &targets,
            stream_rate,
            phase.max(Duration::from_secs(1)),
        )
        .await?;
        for (t, times) in targets.iter().zip(times) {
            seen.ttfb.insert(t.name.clone(), times.first_byte);
            seen.event.insert(t.name.clone(), times.event_delay);
        }
        rows.push(Row {
            measure: format!("SSE time to first byte, {stream_rate} streams/s each, p99"),
            cells: names
                .iter()
                .map(|n| ms(seen.ttfb.get(n).map_or(f64::NAN, |v| percentile(v, 0.99))))
                .collect(),
        });
        rows.push(Row {
            measure: "SSE per-event delay (64 deltas 20 ms apart), p99".into(),
            cells: names
                .iter()
                .map(|n| ms(seen.event.get(n).map_or(f64::NAN, |v| percentile(v, 0.99))))
                .collect(),
        });
    }

    let mut per_stream = None;
    // Memory last: after its clients leave, Realms keeps reading the held streams' upstreams for a
    // while to learn their usage, which would run during any measure after it.
    if args.runs(Part::Memory) {
        // Realms holds two sockets per proxied stream: 10,000 streams, or as many as its open-file
        // limit (the same as this process's, raised to the hard limit) allows beside the
        // connections the earlier measures left open.
        let fit = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| usize::try_from(soft.saturating_sub(2_000) / 2).unwrap_or(usize::MAX))
            .unwrap_or(4_000);
        let count = args
            .streams
            .unwrap_or(if quick { 100 } else { fit.min(10_000) });
        realms.quiet().await;
        let before = realms.rss_kib().unwrap_or(0);
        let held = load::hold_streams(&realms_target, count, || realms.rss_kib()).await?;
        if let Some(why) = &held.refused {
            notes.push(format!(
                "memory: {} of {count} streams opened; the others were refused ({why})",
                held.open
            ));
        }
        let count = held.open;
        let kib = held.measured.unwrap_or(before).saturating_sub(before) as f64 / count as f64;
        per_stream = Some((count, kib));
        rows.push(Row {
            measure: format!("memory per open stream, {count} streams"),
            cells: names
                .iter()
                .map(|n| {
                    if *n == realms_target.name {
                        format!("{kib:.1} KiB")
                    } else {
                        "—".into()
                    }
                })
                .collect(),
        });
    }
    rows.push(Row {
        measure: "idle RSS".into(),
        cells: idle,
    });
    let start_ms = start_to_first.as_secs_f64() * 1000.0;
    rows.push(Row {
        measure: "start to first served request".into(),
        cells: names
            .iter()
            .map(|n| {
                if *n == realms_target.name {
                    format!("{start_ms:.0} ms")
                } else if let Some((_, _, d)) = pg.as_ref().filter(|(_, t, _)| t.name == *n) {
                    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
                } else {
                    "—".into()
                }
            })
            .collect(),
    });

    let goals = goals(
        &seen,
        &realms_target.name,
        per_stream,
        realms_idle,
        start_ms,
    );
    print_report(args, &notes, &names, &rows, &goals);
    drop(pg);
    drop(realms);
    drop(fixed);
    drop(mock);
    Ok(())
}

/// Waits until every relay is idle.
async fn quiet_all(under: &[Under<'_>]) {
    for u in under {
        if let Some(relay) = u.relay {
            relay.quiet().await;
        }
    }
}

/// The targets of the issue that set them, and where this run stands.
fn goals(
    seen: &Seen,
    realms: &str,
    per_stream: Option<(usize, f64)>,
    idle_kib: Option<u64>,
    start_ms: f64,
) -> Vec<Goal> {
    let mut out = Vec::new();
    let ratio = |map: &std::collections::HashMap<String, f64>, a: &str, b: &str| {
        Some(map.get(a)? / map.get(b)?)
    };
    if let Some(r) = ratio(&seen.cpu, realms, "B2 floor") {
        out.push(Goal {
            measure: "Realms CPU per request vs B2 floor".into(),
            stands: format!("{r:.2}×"),
            target: "≤ 1.3×",
            met: Some(r <= 1.3),
        });
    }
    if let Some(r) = ratio(&seen.cpu, realms, "B1 nginx") {
        out.push(Goal {
            measure: "Realms CPU per request vs B1 nginx".into(),
            stands: format!("{r:.2}×"),
            target: "≤ 2.0×",
            met: Some(r <= 2.0),
        });
    }
    if let Some(r) = ratio(&seen.rate, realms, "B1 nginx") {
        out.push(Goal {
            measure: "Realms max throughput vs B1 nginx".into(),
            stands: format!("{:.0} %", r * 100.0),
            target: "≥ 50 %",
            met: Some(r >= 0.5),
        });
    }
    if let Some(r) = ratio(&seen.rate, "R PostgreSQL", realms) {
        out.push(Goal {
            measure: "PostgreSQL vs SQLite throughput".into(),
            stands: format!("{:.0} %", r * 100.0),
            target: "≥ 80 %",
            met: Some(r >= 0.8),
        });
    }
    let added = |map: &std::collections::HashMap<String, Vec<f64>>, base: &str, p: f64| {
        Some(percentile(map.get(realms)?, p) - percentile(map.get(base)?, p))
    };
    for (label, p, limit, target) in [
        ("p50", 0.5, 0.1, "≤ +0.1 ms"),
        ("p99", 0.99, 0.3, "≤ +0.3 ms"),
    ] {
        if let Some(a) = added(&seen.c1, "B1 nginx", p) {
            out.push(Goal {
                measure: format!("added latency one at a time vs B1 nginx, {label}"),
                stands: format!("{a:+.3} ms"),
                target,
                met: Some(a <= limit),
            });
        }
    }
    if let Some(a) = added(&seen.event, "direct", 0.99) {
        out.push(Goal {
            measure: "SSE added per-event delay, p99".into(),
            stands: format!("{:+.0} µs", a * 1000.0),
            target: "≤ 50 µs",
            met: Some(a <= 0.05),
        });
    }
    if let Some(a) = added(&seen.ttfb, "direct", 0.99) {
        out.push(Goal {
            measure: "SSE added time to first byte, p99".into(),
            stands: format!("{a:+.3} ms"),
            target: "≤ 1 ms",
            met: Some(a <= 1.0),
        });
    }
    if let Some((count, kib)) = per_stream {
        out.push(Goal {
            measure: format!("memory per open stream, {count} streams"),
            stands: format!("{kib:.1} KiB"),
            target: "≤ 64 KiB",
            met: Some(kib <= 64.0),
        });
    }
    if let Some(kib) = idle_kib {
        out.push(Goal {
            measure: "idle RSS".into(),
            stands: format!("{:.1} MB", kib as f64 / 1024.0),
            target: "≤ 30 MB",
            met: Some(kib <= 30 * 1024),
        });
    }
    out.push(Goal {
        measure: "start to first served request".into(),
        stands: format!("{start_ms:.0} ms"),
        target: "≤ 300 ms",
        met: Some(start_ms <= 300.0),
    });
    out
}

fn print_report(
    args: &BenchArgs,
    notes: &[String],
    names: &[String],
    rows: &[Row],
    goals: &[Goal],
) {
    println!(
        "Realms benchmark ({}; relays on CPU 1, load generator and upstreams on CPU 0 unless noted)\n",
        if args.quick { "quick run: numbers are not meaningful" } else { "full run" }
    );
    for note in notes {
        println!("- {note}");
    }
    if !notes.is_empty() {
        println!();
    }
    println!("| measure | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for r in rows {
        println!("| {} | {} |", r.measure, r.cells.join(" | "));
    }
    println!("\n| target | this run | target | met |");
    println!("|---|---|---|---|");
    for g in goals {
        let met = match g.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "—",
        };
        println!("| {} | {} | {} | {met} |", g.measure, g.stands, g.target);
    }
}
