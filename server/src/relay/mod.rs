//! The data plane: `POST /v1/messages` and `POST /v1/messages/count_tokens`, read as phases carried
//! by one per-request context:
//!
//! authenticate → read and parse → resolve model → plan route → attempt loop (failover while nothing
//! was written) → relay (stream or whole) → settle (exactly one usage event).
//!
//! Each request runs in its own tracked task, so a client that goes away does not cancel the work:
//! the upstream answer is still read (bounded) and the request is settled as client-disconnected.

pub mod auth;
pub mod books;
pub mod error;
pub mod health;
pub mod journal;
pub mod limits;
pub mod meter;
pub mod request;
pub mod route;
pub mod running;
pub mod upstream;
pub mod wallet;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use app::core::billing;
use app::core::catalog::{CatalogModel, Snapshot};
use app::core::db::now_ms;
use app::core::limits::{spent_since, Scope, Window};
use app::core::state::AppState;
use app::core::tokens::TokenOwner;
use app::core::usage_log::{TokenCounts, UsageEvent};
use app::money::{cost_nano, format_balance, Prices};
use app::types::{ChannelKind, UnpricedPolicy};

use books::Books;
use error::{RelayError, REQUEST_ID_HEADER};
use health::{Health, HealthKey, Sticky};
use route::Attempt;

/// Limits and timeouts of the data plane.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub max_body_bytes: usize,
    pub max_attempts: usize,
    pub connect_timeout: Duration,
    /// Until the response headers of a streamed request arrive.
    pub first_byte_timeout: Duration,
    /// Between two chunks of a stream.
    pub idle_timeout: Duration,
    /// A whole non-streamed request.
    pub request_timeout: Duration,
    /// How long the upstream is still read after the client went away, to learn the usage.
    pub disconnect_drain: Duration,
    /// How long a client's request body may stay silent between two pieces.
    pub client_read_timeout: Duration,
    /// Names this instance's balance leases; a restart with the same name gives back what the
    /// previous run held.
    pub instance: String,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            max_body_bytes: 32 * 1024 * 1024,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(600),
            disconnect_drain: Duration::from_secs(60),
            client_read_timeout: Duration::from_secs(30),
            instance: "realms".into(),
        }
    }
}

/// The data plane of one instance.
pub struct Relay {
    pub state: AppState,
    pub config: RelayConfig,
    http: reqwest::Client,
    bases: upstream::BaseUrls,
    health: Health,
    sticky: Sticky,
    tokens: auth::TokenCache,
    limiter: Arc<limits::Limiter>,
    spend: Arc<limits::SpendBook>,
    /// Balance holds, served from leases in memory.
    pub wallets: wallet::Wallets,
    /// The usage and ledger writer.
    pub books: Books,
    /// Every request task; waited for at shutdown.
    pub tasks: TaskTracker,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Cancelled when shutdown's grace period is over: waits for upstreams end, streams end with
    /// an error event, and every request settles.
    pub stop: CancellationToken,
    /// The tokens of running streams: a revoked token's streams end.
    pub running: running::RunningTokens,
    revocations: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Relay {
    pub fn new(
        state: AppState,
        config: RelayConfig,
        books: Books,
    ) -> Result<Arc<Relay>, reqwest::Error> {
        let http = app::core::egress::client_builder()
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        let wallets = wallet::Wallets::new(state.db.clone(), &config.instance, books.clone());
        let relay = Arc::new(Relay {
            state: state.clone(),
            config,
            http,
            bases: upstream::BaseUrls::default(),
            health: Health::default(),
            sticky: Sticky::default(),
            tokens: auth::TokenCache::default(),
            limiter: Arc::default(),
            spend: Arc::default(),
            metrics: Arc::new(crate::metrics::Metrics::new(books.stats.clone())),
            wallets,
            books,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            running: running::RunningTokens::default(),
            revocations: std::sync::Mutex::new(None),
        });
        let watcher = running::RunningTokens::spawn_watcher(Arc::downgrade(&relay));
        *app::core::cache::lock(&relay.revocations) = Some(watcher);
        Ok(relay)
    }

    /// Stops taking requests, waits for the running ones (streams included) and stores every usage
    /// event.
    pub async fn shutdown(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        if let Some(watcher) = app::core::cache::lock(&self.revocations).take() {
            watcher.abort();
        }
        self.wallets.tidy(Duration::ZERO).await;
        self.books.flush().await;
    }
}

/// The data-plane routes (no session or cookies here).
pub fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/{*rest}", any(unknown_path))
        .with_state(relay)
}

/// Which API a request calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Messages,
    CountTokens,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Messages => "messages",
            Api::CountTokens => "count_tokens",
        }
    }

    fn billed(self) -> bool {
        self == Api::Messages
    }
}

async fn messages(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Api::Messages, req).await
}

async fn count_tokens(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Api::CountTokens, req).await
}

async fn unknown_path(req: Request) -> Response {
    RelayError::NotFound(format!(
        "There is no API at {} {}. Realms serves POST /v1/messages and POST /v1/messages/count_tokens.",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}

/// Runs the request in its own tracked task and hands back its response.
async fn serve(relay: Arc<Relay>, api: Api, req: Request) -> Response {
    let (reply, response) = oneshot::channel();
    let worker = relay.clone();
    relay.tasks.spawn(async move {
        worker.run(api, req, Reply(Some(reply))).await;
    });
    response.await.unwrap_or_else(|_| {
        RelayError::Internal("Realms stopped while handling the request. Retry.".into())
            .into_response()
    })
}

/// The way back to the client; sending tells whether it is still there.
struct Reply(Option<oneshot::Sender<Response>>);

impl Reply {
    fn send(&mut self, res: Response) -> bool {
        self.0.take().is_some_and(|tx| tx.send(res).is_ok())
    }

    /// The client went away before its response was handed over.
    fn is_gone(&self) -> bool {
        self.0.as_ref().is_none_or(|tx| tx.is_closed())
    }
}

/// What a request is, as it goes through the phases.
struct Ctx {
    request_id: String,
    started: Instant,
    created_at: i64,
    api: Api,
    owner: TokenOwner,
    model: String,
    prices: Option<Prices>,
    stream: bool,
    attempts: i64,
    upstream_model: Option<String>,
    channel_id: Option<i64>,
    credential_id: Option<i64>,
    ttfb: Option<Duration>,
    /// Whether this request is charged (billing on, a billed API).
    charged: bool,
    reservation: Option<wallet::Hold>,
    /// How far below zero its charge may take the balance (the site's overdraft floor).
    floor: i64,
    /// Its usage event is recorded (it happens once: early, before the end of a complete answer
    /// goes out, or when the request ends).
    settled: bool,
    /// Its estimate, counted against spend limits until its cost is stored.
    open_spend: Option<limits::OpenSpend>,
    /// The model resolved to a managed model (its id may label metrics).
    known_model: bool,
}

/// An upstream's answer as received: a stream still to relay, or a whole body read.
enum Answer {
    Stream(reqwest::Response, HeaderMap),
    Whole(HeaderMap, Bytes),
}

/// How a request ended, for its usage event.
#[derive(Clone)]
struct Outcome {
    status: StatusCode,
    error_class: Option<String>,
    tokens: TokenCounts,
    /// The output tokens are Realms' estimate (a stream cut off before the upstream's count).
    estimated: bool,
    disconnected: bool,
}

/// `req_` + the time in milliseconds (12 hex digits) + 64 random bits: ids sort by time, so the
/// unique indexes on them grow at one end instead of being written all over.
fn new_request_id(now_ms: i64) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "req_{:012x}{}",
        now_ms.clamp(0, 0xffff_ffff_ffff),
        hex::encode(bytes)
    )
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Statuses after which another channel is tried (while nothing was written to the client).
fn fails_over(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        401 | 403 | 408 | 429 | 500 | 502 | 503 | 504 | 529
    )
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn upstream_class(status: StatusCode) -> Option<String> {
    match status.as_u16() {
        200..=299 => None,
        429 => Some("upstream_rate_limited".into()),
        400..=499 => Some("upstream_4xx".into()),
        _ => Some("upstream_5xx".into()),
    }
}

impl Relay {
    async fn run(self: Arc<Self>, api: Api, req: Request, mut reply: Reply) {
        let created_at = now_ms();
        let request_id = new_request_id(created_at);
        let started = Instant::now();
        let snapshot = self.state.catalog.snapshot();
        let (parts, body) = req.into_parts();

        // Authenticate: refusals are not usage (nobody to charge).
        let owner = match self
            .tokens
            .authenticate(
                &self.state.db,
                (snapshot.revision, snapshot.token_revision),
                &parts.headers,
            )
            .await
        {
            Ok(owner) => owner,
            Err(e) => {
                reply.send(e.into_response_with_id(Some(&request_id)));
                return;
            }
        };
        let mut ctx = Ctx {
            request_id,
            started,
            created_at,
            api,
            owner,
            model: String::new(),
            prices: None,
            stream: false,
            attempts: 0,
            upstream_model: None,
            channel_id: None,
            credential_id: None,
            ttfb: None,
            charged: false,
            floor: 0,
            reservation: None,
            settled: false,
            open_spend: None,
            known_model: false,
        };
        let outcome = match self
            .handle(&mut ctx, &snapshot, parts, body, &mut reply)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                let delivered = reply.send(e.clone().into_response_with_id(Some(&ctx.request_id)));
                Outcome {
                    status: e.status(),
                    error_class: Some(e.class().into()),
                    tokens: TokenCounts::default(),
                    estimated: false,
                    disconnected: !delivered,
                }
            }
        };
        if !ctx.settled {
            self.settle(&mut ctx, outcome).await;
        }
    }

    /// Every phase after authentication. An `Err` has not been sent to the client yet.
    async fn handle(
        &self,
        ctx: &mut Ctx,
        snapshot: &Snapshot,
        parts: axum::http::request::Parts,
        body: Body,
        reply: &mut Reply,
    ) -> Result<Outcome, RelayError> {
        // Admit: the limits of the token and its user, before a large body is read; the permit is
        // held until the request ends.
        let _permit = self.limiter.admit(&ctx.owner)?;
        drop(self.check_spend(&ctx.owner, 0).await?);

        // Read and parse.
        let bytes = read_body(
            body,
            &parts.headers,
            self.config.max_body_bytes,
            self.config.client_read_timeout,
        )
        .await?;
        let req = request::parse(&bytes)?;
        ctx.model = req.model.clone();
        ctx.stream = req.stream && ctx.api == Api::Messages;

        // Resolve the model.
        let model = resolve(snapshot, &req.model)?;
        ctx.prices = model.prices;
        ctx.known_model = true;

        // Spend limits, with this request's estimate counted while it runs.
        let estimate = match (ctx.api.billed(), model.prices) {
            (true, Some(p)) => billing::estimate(
                &p,
                bytes.len(),
                req.max_tokens,
                request::extra_input_tokens(&bytes),
            ),
            _ => 0,
        };
        ctx.open_spend = self.check_spend(&ctx.owner, estimate).await?;

        // Plan the route.
        let session = request::session_id(&parts.headers, &req);
        let now = Instant::now();
        let sticky = session.as_deref().and_then(|s| self.sticky.get(s, now));
        let cooling = |k: &HealthKey| self.health.is_cooling(k, now);
        let attempts = route::plan(
            snapshot,
            model,
            ChannelKind::Anthropic,
            &cooling,
            sticky,
            self.config.max_attempts,
            &mut rand::thread_rng(),
        );
        if attempts.is_empty() {
            return Err(no_route(snapshot, model));
        }

        // Reserve: nothing reaches an upstream unless the balance covers the worst case.
        self.reserve(ctx, snapshot, model, estimate).await?;

        // Attempt loop: fail over only while nothing has reached the client.
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/v1/messages");
        let mut last_error = None;
        for (i, attempt) in attempts.iter().enumerate() {
            let last_try = i + 1 == attempts.len();
            ctx.attempts = i64::try_from(i + 1).unwrap_or(i64::MAX);
            ctx.channel_id = Some(attempt.channel.id);
            ctx.credential_id = Some(attempt.credential.id);
            ctx.upstream_model = Some(attempt.upstream_model.to_string());
            let send = match upstream::build(
                &self.http,
                &self.bases,
                attempt,
                path_and_query,
                &parts.headers,
                req.body_for(&attempt.upstream_model),
            ) {
                Ok(request) => request.send(),
                Err(why) => {
                    tracing::error!(request_id = %ctx.request_id, channel = %attempt.channel.name, endpoint = %attempt.endpoint, why, "an endpoint of this channel cannot be used");
                    last_error = Some(RelayError::UpstreamUnreachable(
                        "This Realms channel's upstream address cannot be used. Ask an administrator to check the channel.".into(),
                    ));
                    continue;
                }
            };
            // A stream must start within the first-byte time; a whole answer must be complete
            // within the request time, counted from this attempt.
            let attempt_started = Instant::now();
            let wait = if ctx.stream {
                self.config.first_byte_timeout
            } else {
                self.config.request_timeout
            };
            let endpoint_key = HealthKey::Endpoint(attempt.channel.id, attempt.endpoint.clone());
            let credential_key = HealthKey::Credential(attempt.credential.id);
            let answered = tokio::select! {
                answered = tokio::time::timeout(wait, send) => answered,
                () = self.stop.cancelled() => return Err(shutting_down()),
            };
            match answered {
                Err(_) => {
                    self.cool_down(endpoint_key, None);
                    self.failed_over(ctx, attempt, "no answer in time");
                    last_error = Some(RelayError::UpstreamTimeout(format!(
                        "The upstream did not answer within {} seconds. Retry the request.",
                        wait.as_secs()
                    )));
                }
                Ok(Err(e)) => {
                    self.cool_down(endpoint_key, None);
                    self.failed_over(ctx, attempt, &format!("connection failed: {e}"));
                    last_error = Some(RelayError::UpstreamUnreachable(format!(
                        "Realms could not reach an upstream for {} (tried {} channel{}). Retry shortly.",
                        ctx.model,
                        i + 1,
                        if i == 0 { "" } else { "s" }
                    )));
                }
                Ok(Ok(res)) => {
                    let status = res.status();
                    // count_tokens has rate limits of its own upstream: its 429 says nothing about
                    // the key's messages, so it neither cools the key down nor fails over.
                    let own_limit =
                        ctx.api == Api::CountTokens && status == StatusCode::TOO_MANY_REQUESTS;
                    if own_limit {
                        // Passed to the client as the upstream sent it.
                    } else if fails_over(status) {
                        self.cool_down(credential_key.clone(), retry_after(res.headers()));
                        if !last_try {
                            self.failed_over(ctx, attempt, &format!("status {status}"));
                            continue;
                        }
                        if matches!(status.as_u16(), 401 | 403) {
                            tracing::error!(request_id = %ctx.request_id, channel = %attempt.channel.name, credential_id = attempt.credential.id, %status, "the upstream refused the channel's key");
                            return Err(RelayError::UpstreamUnreachable(
                                "The upstream refused this Realms channel's API key. Ask an administrator to check the channel.".into(),
                            ));
                        }
                    } else if let (true, Some(s)) = (status.is_success(), session.as_deref()) {
                        self.sticky.set(s, attempt.sticky_target(), Instant::now());
                    }
                    let healthy = !own_limit && !fails_over(status);
                    // A whole answer is read before anything goes to the client: if it breaks
                    // off or stalls, the next channel can still answer.
                    let answer = match self.receive(ctx, res, attempt_started + wait).await {
                        Ok(answer) => answer,
                        Err(e) if matches!(e, RelayError::ShuttingDown(_)) => return Err(e),
                        Err(e) => {
                            self.cool_down(endpoint_key, None);
                            if last_try {
                                return Err(e);
                            }
                            self.failed_over(ctx, attempt, e.message());
                            last_error = Some(e);
                            continue;
                        }
                    };
                    let outcome = match answer {
                        Answer::Stream(res, headers) => {
                            self.relay_stream(ctx, res, status, headers, reply).await
                        }
                        Answer::Whole(headers, body) => {
                            self.send_whole(ctx, status, headers, body, reply).await
                        }
                    };
                    // Health is judged on the whole answer: an upstream that breaks off its
                    // streams cools down (and backs off further each time) like one that fails
                    // before the first byte, instead of keeping its share of traffic.
                    let broke = matches!(
                        outcome.error_class.as_deref(),
                        Some("upstream_unreachable" | "upstream_timeout")
                    );
                    if broke {
                        self.cool_down(endpoint_key, None);
                    } else if healthy {
                        self.health.success(&credential_key);
                        self.health.success(&endpoint_key);
                    }
                    return Ok(outcome);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| no_route(snapshot, model)))
    }

    /// Takes the upstream's answer: a success event stream is handed on to be relayed chunk by
    /// chunk; anything else is read whole, each piece within the idle time and all of it by
    /// `deadline` (for a stream, only its headers count against the first-byte time).
    async fn receive(
        &self,
        ctx: &mut Ctx,
        mut res: reqwest::Response,
        deadline: Instant,
    ) -> Result<Answer, RelayError> {
        let status = res.status();
        let mut headers = upstream::response_headers(res.headers());
        if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(REQUEST_ID_HEADER, id);
        }
        let is_sse = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_sse && status.is_success() {
            return Ok(Answer::Stream(res, headers));
        }
        ctx.ttfb = Some(ctx.started.elapsed());
        let mut buf = bytes::BytesMut::new();
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(RelayError::UpstreamTimeout(format!(
                    "The upstream did not finish its answer within {} seconds.",
                    self.config.request_timeout.as_secs()
                )));
            }
            let wait = (deadline - now).min(self.config.idle_timeout);
            let next = tokio::select! {
                next = tokio::time::timeout(wait, res.chunk()) => next,
                () = self.stop.cancelled() => return Err(shutting_down()),
            };
            match next {
                Ok(Ok(Some(chunk))) => {
                    if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
                        tracing::error!(request_id = %ctx.request_id, limit = MAX_ANSWER_BYTES, "the upstream answer is larger than Realms accepts");
                        return Err(RelayError::UpstreamUnreachable(
                            "The upstream's answer was larger than this Realms instance accepts."
                                .into(),
                        ));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return Ok(Answer::Whole(headers, buf.freeze())),
                Ok(Err(e)) => {
                    tracing::warn!(request_id = %ctx.request_id, error = %e, "the upstream answer broke off");
                    return Err(RelayError::UpstreamUnreachable(
                        "The upstream connection broke before the answer was complete. Retry the request.".into(),
                    ));
                }
                Err(_) if Instant::now() >= deadline => continue,
                Err(_) => {
                    return Err(RelayError::UpstreamTimeout(format!(
                        "The upstream sent nothing for {} seconds in the middle of its answer.",
                        self.config.idle_timeout.as_secs()
                    )))
                }
            }
        }
    }

    /// Sends a whole answer to the client; a billable one is settled (stored) first.
    async fn send_whole(
        &self,
        ctx: &mut Ctx,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        reply: &mut Reply,
    ) -> Outcome {
        let tokens = if status.is_success() && ctx.api == Api::Messages {
            meter::from_message(&body)
        } else {
            TokenCounts::default()
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let outcome = |gone: bool| Outcome {
            status,
            error_class: if gone {
                Some("client_disconnected".into())
            } else {
                upstream_class(status)
            },
            tokens,
            estimated: false,
            disconnected: gone,
        };
        if !tokens.is_zero() {
            // A billable answer is stored before it goes out: a crash after this point loses
            // nothing the client received.
            let outcome = outcome(reply.is_gone());
            self.settle(ctx, outcome.clone()).await;
            reply.send(response);
            return outcome;
        }
        let delivered = reply.send(response);
        outcome(!delivered)
    }

    /// Forwards an event stream chunk by chunk as it arrives, reading usage on the way. After the
    /// first byte nothing fails over: a broken upstream becomes an SSE `error` event. When the client
    /// goes away the upstream is still read for a bounded time to learn the final usage.
    async fn relay_stream(
        &self,
        ctx: &mut Ctx,
        mut res: reqwest::Response,
        status: StatusCode,
        mut headers: HeaderMap,
        reply: &mut Reply,
    ) -> Outcome {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        self.metrics.open_streams.inc();
        let _open = OpenStream(&self.metrics);
        let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
        let mut response = Response::new(Body::from_stream(ReceiverStream::new(rx)));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let mut gone = !reply.send(response);
        let drain = self.config.disconnect_drain;
        let mut drain_until = gone.then(|| Instant::now() + drain);
        let mut tap = meter::SseTap::default();
        let mut failure: Option<RelayError> = None;
        let running = self.running.enter(ctx.owner.token_id);
        loop {
            let wait = match drain_until {
                Some(until) => until
                    .saturating_duration_since(Instant::now())
                    .min(self.config.idle_timeout),
                None => self.config.idle_timeout,
            };
            let next = tokio::select! {
                next = tokio::time::timeout(wait, res.chunk()) => next,
                () = self.stop.cancelled() => {
                    failure = Some(shutting_down());
                    break;
                }
                () = running.ended.cancelled() => {
                    failure = Some(RelayError::Revoked(
                        "This Realms token was revoked (or its account disabled) while the answer was streaming; the rest of the answer was not sent.".into(),
                    ));
                    break;
                }
                _ = tx.closed(), if !gone => {
                    gone = true;
                    drain_until = Some(Instant::now() + drain);
                    continue;
                }
            };
            match next {
                Ok(Ok(Some(chunk))) => {
                    if ctx.ttfb.is_none() {
                        ctx.ttfb = Some(ctx.started.elapsed());
                    }
                    tap.feed_relayed(&chunk, !gone);
                    if tap.usage.stopped && !ctx.settled {
                        // The answer is complete: store it before its last bytes go out.
                        let (tokens, estimated) = tap.usage.billed();
                        let outcome = Outcome {
                            status,
                            error_class: stream_class(gone, None, &tap.usage),
                            tokens,
                            estimated,
                            disconnected: gone,
                        };
                        self.settle(ctx, outcome).await;
                    }
                    if !gone && tx.send(Ok(chunk)).await.is_err() {
                        gone = true;
                        drain_until = Some(Instant::now() + drain);
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::warn!(request_id = %ctx.request_id, error = %e, "the upstream stream broke off");
                    failure = Some(RelayError::UpstreamUnreachable(
                        "The upstream connection broke during the answer. Retry the request."
                            .into(),
                    ));
                    break;
                }
                Err(_) if drain_until.is_some() => break,
                Err(_) => {
                    failure = Some(RelayError::UpstreamTimeout(format!(
                        "The upstream sent nothing for {} seconds.",
                        self.config.idle_timeout.as_secs()
                    )));
                    break;
                }
            }
        }
        if let (Some(e), false) = (&failure, gone) {
            let _ = tx.send(Ok(Bytes::from(e.sse_event()))).await;
        }
        drop(tx);
        let error_class = stream_class(gone, failure.as_ref(), &tap.usage);
        let (tokens, estimated) = tap.usage.billed();
        Outcome {
            status,
            error_class,
            tokens,
            estimated,
            disconnected: gone,
        }
    }

    /// Checks the spend limits of the token and its user: the spend stored in the usage log plus
    /// the estimates of running requests must be under each limit. On success the request's
    /// `estimate` counts in the book until its cost is stored (`None` when no spend limit applies).
    async fn check_spend(
        &self,
        owner: &TokenOwner,
        estimate: i64,
    ) -> Result<Option<limits::OpenSpend>, RelayError> {
        let scopes = [
            (
                Scope::Token(owner.token_id),
                limits::Key::Token(owner.token_id),
                owner.token_limits,
                "This token",
            ),
            (
                Scope::User(owner.user_id),
                limits::Key::User(owner.user_id),
                owner.user_limits,
                "Your account",
            ),
        ];
        let limited = scopes.iter().any(|(_, _, l, _)| {
            l.spend_5h.is_some() || l.spend_day.is_some() || l.spend_month.is_some()
        });
        if !limited {
            return Ok(None);
        }
        const READS: usize = 4;
        for read in 1..=READS {
            let now = now_ms();
            // The last read counts the book as it stands, so settling requests cannot keep a
            // check going round.
            let read_after = self.spend.releases();
            let mut windows = Vec::new();
            let mut labels = Vec::new();
            for (scope, key, set, whose) in scopes {
                for (window, limit) in [
                    (Window::FiveHours, set.spend_5h),
                    (Window::Day, set.spend_day),
                    (Window::Month, set.spend_month),
                ] {
                    let Some(limit) = limit else { continue };
                    let (spent, oldest) = spent_since(&self.state.db, scope, window.start(now))
                        .await
                        .map_err(|e| {
                            tracing::error!(error = %e, "could not read the spend of a limit");
                            RelayError::Internal(
                                "Realms could not check a spend limit. Retry shortly.".into(),
                            )
                        })?;
                    windows.push(limits::WindowSpend { key, spent, limit });
                    labels.push((whose, window, oldest, limit));
                }
            }
            let seen = if read == READS {
                self.spend.releases()
            } else {
                read_after
            };
            match self.spend.open(&windows, estimate, seen) {
                Ok(open) => return Ok(Some(open)),
                Err(limits::SpendRefusal::Stale) => continue,
                Err(limits::SpendRefusal::Over { window: i, counted }) => {
                    let Some(&(whose, window, oldest, limit)) = labels.get(i) else {
                        break;
                    };
                    let wait_ms = (window.resets_at(now, oldest) - now).max(1000);
                    return Err(RelayError::RateLimited {
                        message: format!(
                            "{whose} reached its {} spend limit of {} ({} spent or running).",
                            window.label(),
                            format_balance(limit),
                            format_balance(counted)
                        ),
                        retry_after: Some(Duration::from_millis(
                            u64::try_from(wait_ms).unwrap_or(u64::MAX),
                        )),
                    });
                }
            }
        }
        Err(RelayError::Internal(
            "Realms could not check a spend limit. Retry shortly.".into(),
        ))
    }

    /// The reserve phase: with billing on, a model needs prices (unless the site serves unpriced
    /// models free) and the user's available balance must cover the estimate.
    async fn reserve(
        &self,
        ctx: &mut Ctx,
        snapshot: &Snapshot,
        model: &CatalogModel,
        amount: i64,
    ) -> Result<(), RelayError> {
        if !snapshot.settings.billing_enabled || !ctx.api.billed() {
            return Ok(());
        }
        ctx.charged = true;
        ctx.floor = snapshot.settings.overdraft_floor;
        if model.prices.is_none() {
            return match snapshot.settings.unpriced_models {
                UnpricedPolicy::Free => Ok(()),
                UnpricedPolicy::Refuse => Err(RelayError::Forbidden(format!(
                    "The model {} has no prices yet, and this Realms instance bills every request. Ask an administrator to set its prices.",
                    model.public_id
                ))),
            };
        }
        match self.wallets.hold(ctx.owner.user_id, amount).await {
            Ok(Ok(r)) => {
                ctx.reservation = Some(r);
                Ok(())
            }
            Ok(Err(short)) => Err(RelayError::PaymentRequired(format!(
                "Your balance cannot cover this request: it may cost up to {} and {} is available. Ask an administrator to top up your balance, or lower max_tokens.",
                format_balance(short.needed),
                format_balance(short.available.max(0))
            ))),
            Err(e) => {
                tracing::error!(request_id = %ctx.request_id, error = %e, "could not reserve balance");
                Err(RelayError::Internal(
                    "Realms could not check your balance. Retry shortly.".into(),
                ))
            }
        }
    }

    /// The settle phase: charge what the upstream reported (or release the reservation when it
    /// reported nothing), then record the request's one usage event with its charge. An event with
    /// usage is made durable before this returns (journaled, or stored); the request counts
    /// against spend limits until its cost is stored.
    async fn settle(&self, ctx: &mut Ctx, outcome: Outcome) {
        ctx.settled = true;
        self.count(ctx, &outcome);
        let t = outcome.tokens;
        let cost = match (ctx.api.billed(), ctx.prices) {
            (true, Some(p)) => cost_nano(
                &p,
                [
                    t.input,
                    t.output,
                    t.cache_write_5m,
                    t.cache_write_1h,
                    t.cache_read,
                ],
            ),
            _ => 0,
        };
        let charge = if ctx.charged {
            self.charge(ctx, &t, cost).await
        } else {
            None
        };
        let event = UsageEvent {
            request_id: ctx.request_id.clone(),
            created_at: ctx.created_at,
            user_id: ctx.owner.user_id,
            token_id: Some(ctx.owner.token_id),
            api: ctx.api.as_str().to_string(),
            model: std::mem::take(&mut ctx.model),
            upstream_model: ctx.upstream_model.take(),
            channel_id: ctx.channel_id,
            credential_id: ctx.credential_id,
            status: outcome.status.as_u16(),
            error_class: outcome.error_class,
            stream: ctx.stream,
            client_disconnected: outcome.disconnected,
            attempts: ctx.attempts,
            tokens: t,
            estimated: outcome.estimated,
            cost,
            ttfb_ms: ctx.ttfb.map(ms),
            latency_ms: ms(ctx.started.elapsed()),
        };
        self.books
            .record_settled(event, charge, !t.is_zero(), ctx.open_spend.take())
            .await;
    }

    /// Releases the request's hold and returns its charge (written with the usage event, in the
    /// same transaction: one ledger row per request).
    async fn charge(
        &self,
        ctx: &mut Ctx,
        tokens: &TokenCounts,
        cost: i64,
    ) -> Option<app::core::billing::LeaseCharge> {
        let cost = if tokens.is_zero() { 0 } else { cost };
        self.wallets
            .settle(
                ctx.reservation.take().as_ref(),
                ctx.owner.user_id,
                Some(ctx.owner.token_id),
                &ctx.request_id,
                cost,
                &ctx.model,
                ctx.floor,
            )
            .await
    }
}

fn shutting_down() -> RelayError {
    RelayError::ShuttingDown(
        "Realms is restarting and ended this request. Retry it in a few seconds.".into(),
    )
}

/// Counts a stream as open until dropped.
struct OpenStream<'a>(&'a crate::metrics::Metrics);

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.0.open_streams.dec();
    }
}

impl Relay {
    /// The request's metrics, once, when it settles.
    fn count(&self, ctx: &Ctx, outcome: &Outcome) {
        let m = &self.metrics;
        m.requests
            .get_or_create(&crate::metrics::RequestLabels {
                api: ctx.api.as_str(),
                model: if ctx.known_model {
                    ctx.model.clone()
                } else {
                    "-".into()
                },
                channel: ctx
                    .channel_id
                    .map_or_else(|| "-".into(), |id| id.to_string()),
                status: outcome.status.as_u16(),
            })
            .inc();
        m.latency.observe(ctx.started.elapsed().as_secs_f64());
        if let Some(t) = ctx.ttfb {
            m.ttfb.observe(t.as_secs_f64());
        }
    }
}

/// The error class of a stream's usage event.
fn stream_class(
    gone: bool,
    failure: Option<&RelayError>,
    usage: &meter::StreamUsage,
) -> Option<String> {
    if gone {
        Some("client_disconnected".to_string())
    } else if let Some(e) = failure {
        Some(e.class().to_string())
    } else {
        usage.error.as_ref().map(|k| format!("upstream_{k}"))
    }
}

impl Relay {
    fn failed_over(&self, ctx: &Ctx, attempt: &Attempt, why: &str) {
        self.metrics.failovers.inc();
        tracing::warn!(
            request_id = %ctx.request_id,
            channel = %attempt.channel.name,
            credential_id = attempt.credential.id,
            attempt = ctx.attempts,
            why,
            "upstream attempt failed"
        );
    }

    fn cool_down(&self, key: HealthKey, retry_after: Option<Duration>) {
        self.metrics.cooldowns.inc();
        self.health.failure(key, Instant::now(), retry_after);
    }
}

/// The largest whole (not streamed) upstream answer Realms reads.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Reads the body up to `limit` bytes; each piece must arrive within `idle` of the one before.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    idle: Duration,
) -> Result<Bytes, RelayError> {
    use http_body_util::BodyExt;
    let too_large = || {
        RelayError::TooLarge(format!(
            "The request body is larger than this Realms instance accepts ({} MiB).",
            limit / (1024 * 1024)
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = http_body_util::Limited::new(body, limit);
    let mut buf = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => {
                return Err(RelayError::RequestTimeout(format!(
                    "The request body stopped arriving for {} seconds.",
                    idle.as_secs()
                )))
            }
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => {
                return Err(if e.is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    RelayError::InvalidRequest(
                        "The request body could not be read completely.".into(),
                    )
                });
            }
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The enabled model, or a 404 that never reaches an upstream.
fn resolve<'a>(snapshot: &'a Snapshot, id: &str) -> Result<&'a CatalogModel, RelayError> {
    snapshot.model(id).map(|m| m.as_ref()).ok_or_else(|| {
        RelayError::NotFound(format!(
            "The model {id} is not available on this Realms instance. The Models page of the console lists the ids you can use."
        ))
    })
}

fn no_route(snapshot: &Snapshot, model: &CatalogModel) -> RelayError {
    let bound = model.routes.iter().any(|r| {
        snapshot
            .channel(r.channel_id)
            .is_some_and(|c| c.kind == ChannelKind::Anthropic)
    });
    RelayError::Unavailable(if bound {
        format!(
            "Every channel for {} is cooling down after upstream errors. Retry in a few seconds.",
            model.public_id
        )
    } else {
        format!(
            "No enabled Anthropic channel serves {}. Ask an administrator to bind it to a channel.",
            model.public_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_sort_by_time_and_differ_within_a_millisecond() {
        let a = new_request_id(1_700_000_000_000);
        let b = new_request_id(1_700_000_000_000);
        let later = new_request_id(1_700_000_000_001);
        assert!(a.starts_with("req_") && a.len() == 4 + 12 + 16, "{a}");
        assert_ne!(a, b);
        assert!(a < later && b < later);
        assert!(new_request_id(0) < a);
    }
}
