//! `realms-floor`: the benchmark's floor of the stack (B2) — a bare pass-through relay built from
//! the crates Realms uses (axum over hyper, hyper-util's client to the upstream, jemalloc), with
//! none of Realms' work: no authentication, routing, limits, billing or logging. It forwards every
//! request to one upstream with one key and streams the answer back unread. With `--client
//! reqwest` (or `REALMS_FLOOR_CLIENT=reqwest` in the benchmark's environment) it sends through
//! reqwest instead, which shows what reqwest would cost on top of it.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The largest request body it reads.
const BODY_LIMIT: usize = 32 << 20;

/// The request headers it passes on (besides the key it adds).
const PASSED: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    HeaderName::from_static("anthropic-version"),
    HeaderName::from_static("anthropic-beta"),
];

#[derive(clap::Parser)]
#[command(
    name = "realms-floor",
    about = "A bare pass-through relay: the floor a relay built from Realms' crates stands on."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The upstream's base URL, e.g. http://127.0.0.1:9000.
    #[arg(long)]
    upstream: String,
    /// The key sent upstream as `x-api-key`.
    #[arg(long)]
    key: String,
    /// The upstream client: hyper-util's, driven directly as Realms' data plane does (the floor
    /// of Realms' stack), or reqwest over it with the same settings (what reqwest costs).
    #[arg(long, env = "REALMS_FLOOR_CLIENT", value_enum, default_value = "hyper")]
    client: Client,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Client {
    Reqwest,
    Hyper,
}

/// hyper-util's pooling client over plain TCP (the upstreams of the benchmark are on loopback).
type Hyper =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

#[derive(Clone)]
struct Floor {
    /// Set when the floor sends with hyper-util's client directly.
    hyper: Option<Hyper>,
    http: reqwest::Client,
    upstream: String,
    key: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    // The same client settings as Realms' upstream client.
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            eprintln!("error: could not build the HTTP client: {e}.");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The same keep-alive and no-Nagle settings as the reqwest client.
    let hyper = (args.client == Client::Hyper).then(|| {
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.set_nodelay(true);
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .build(tcp)
    });
    let floor = Floor {
        hyper,
        http,
        upstream: args.upstream.trim_end_matches('/').to_string(),
        key: args.key,
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: could not listen on {}: {e}.", args.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Ok(local) = listener.local_addr() {
        eprintln!("floor relay listening on http://{local}");
    }
    let router = axum::Router::new().fallback(relay).with_state(floor);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    match axum::serve(listener, router).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}.");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Forwards one request upstream and streams its answer back.
async fn relay(State(floor): State<Floor>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    if let Some(h) = &floor.hyper {
        let mut b = axum::http::Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", floor.upstream))
            .header("x-api-key", &floor.key);
        for name in PASSED {
            if let Some(v) = parts.headers.get(&name) {
                b = b.header(name, v);
            }
        }
        let Ok(req) = b.body(Body::from(body)) else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        return match h.request(req).await {
            Ok(res) => {
                let (p, body) = res.into_parts();
                let mut out = Response::builder().status(p.status);
                if let Some(v) = p.headers.get(header::CONTENT_TYPE) {
                    out = out.header(header::CONTENT_TYPE, v);
                }
                out.body(Body::new(body))
                    .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        };
    }
    let mut upstream = floor
        .http
        .request(parts.method, format!("{}{path}", floor.upstream))
        .header("x-api-key", &floor.key)
        .body(body);
    for name in PASSED {
        if let Some(v) = parts.headers.get(&name) {
            upstream = upstream.header(name, v);
        }
    }
    match upstream.send().await {
        Ok(res) => {
            let mut out = Response::builder().status(res.status());
            if let Some(v) = res.headers().get(header::CONTENT_TYPE) {
                out = out.header(header::CONTENT_TYPE, v);
            }
            out.body(Body::from_stream(res.bytes_stream()))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
