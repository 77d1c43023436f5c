//! The data plane: Anthropic's `POST /v1/messages` (and `count_tokens`), OpenAI's
//! `POST /v1/chat/completions` and `POST /v1/responses`, and the models lists — one pipeline for
//! every protocol, read as phases over one per-request context ([`context::Ctx`]):
//!
//! authenticate ([`auth`]) → admit ([`admit`]) → read ([`read`]) → resolve model ([`resolve`]) →
//! probe ([`probe`], a client's probe answered here when the site says so) → plan route
//! ([`route`]) → reserve ([`reserve`]) → attempt ([`attempt`], failover while nothing
//! was written) → forward ([`forward`], whole or stream) → settle ([`settle`], exactly one usage
//! event, written by the [`books`]).
//!
//! What differs between the APIs lives in [`protocol`]. A request's work is tracked and outlives its
//! handler when it must ([`detach`]), so a client that goes away does not cancel it: the upstream
//! answer is still read (bounded) and the request is settled as client-disconnected.

mod admit;
mod attempt;
pub mod auth;
pub mod books;
mod client;
mod context;
mod detach;
pub mod error;
mod filter;
mod forward;
pub mod health;
pub mod journal;
pub mod limits;
mod me;
pub mod meter;
mod models;
mod probe;
pub mod protocol;
mod read;
pub mod request;
mod reserve;
mod resolve;
pub mod route;
pub mod running;
mod settle;
pub mod thinking;
pub mod upstream;
pub mod wallet;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use app::core::billing;
use app::core::catalog::{Catalog, Snapshot};
use app::core::db::{now_ms, Db};
use app::types::ProbePolicy;

use books::Books;
pub use context::ErrorClass;
use context::{new_request_id, Caller, Ctx, Managed, Outcome, Requested};
use error::{RelayError, Shape};
use health::{Health, HealthKey, Sticky};
pub use protocol::Protocol;

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

/// The data plane of one instance. Its state is its own: the database, the routing catalog, and
/// what it keeps in memory (nothing of the console).
pub struct Relay {
    pub db: Db,
    pub catalog: Arc<Catalog>,
    pub config: RelayConfig,
    http: client::UpstreamClient,
    bases: upstream::BaseUrls,
    health: Health,
    sticky: Sticky,
    tokens: auth::TokenCache,
    /// Answers of `GET /v1/realms/me`, per token.
    me: me::MeCache,
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
        db: Db,
        catalog: Arc<Catalog>,
        config: RelayConfig,
        books: Books,
    ) -> Result<Arc<Relay>, rustls::Error> {
        let http = client::UpstreamClient::new(config.connect_timeout)?;
        let wallets = wallet::Wallets::new(db.clone(), &config.instance, books.clone());
        let relay = Arc::new(Relay {
            db,
            catalog,
            config,
            http,
            bases: upstream::BaseUrls::default(),
            health: Health::default(),
            sticky: Sticky::default(),
            tokens: auth::TokenCache::default(),
            me: me::cache(),
            limiter: Arc::default(),
            spend: Arc::default(),
            metrics: Arc::new(crate::metrics::Metrics::new(
                books.stats.clone(),
                books.journal().cloned(),
            )),
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
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/responses", post(responses))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::one))
        .route("/v1/realms/me", get(me::me))
        .route("/v1/{*rest}", any(unknown_path))
        .with_state(relay)
}

async fn messages(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Protocol::Messages, req).await
}

async fn count_tokens(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Protocol::CountTokens, req).await
}

async fn chat_completions(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Protocol::ChatCompletions, req).await
}

async fn responses(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    serve(relay, Protocol::Responses, req).await
}

/// Paths OpenAI clients call get OpenAI's error shape; everything else Anthropic's.
fn shape_of_path(path: &str) -> Shape {
    let openai = [
        "/v1/chat",
        "/v1/responses",
        "/v1/completions",
        "/v1/embeddings",
    ];
    if openai.iter().any(|p| path.starts_with(p)) {
        Shape::OpenAi
    } else {
        Shape::Anthropic
    }
}

async fn unknown_path(req: Request) -> Response {
    let path = req.uri().path();
    RelayError::NotFound(format!(
        "There is no API at {} {path}. Realms serves POST /v1/messages, POST /v1/messages/count_tokens, POST /v1/chat/completions, POST /v1/responses, GET /v1/models and GET /v1/realms/me.",
        req.method(),
    ))
    .response_in(shape_of_path(path), None)
}

/// Runs the request's work and hands back its response; the work goes on after it when it must
/// ([`detach`]).
async fn serve(relay: Arc<Relay>, protocol: Protocol, req: Request) -> Response {
    let (reply, response) = oneshot::channel();
    // Boxed: the request's state is large, and a boxed future moves as a pointer.
    let work = Box::pin(relay.clone().run(protocol, req, Reply(Some(reply))));
    detach::Detachable::new(work, response, &relay.tasks)
        .await
        .unwrap_or_else(|| {
            protocol.error_response(
                RelayError::Internal("Realms stopped while handling the request. Retry.".into()),
                None,
            )
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

impl Relay {
    async fn run(self: Arc<Self>, protocol: Protocol, req: Request, mut reply: Reply) {
        let created_at = now_ms();
        let request_id = new_request_id(created_at);
        let started = Instant::now();
        let snapshot = self.catalog.snapshot();
        let (parts, body) = req.into_parts();

        // Authenticate: refusals are not usage (nobody to charge).
        let owner = match self
            .tokens
            .authenticate(
                &self.db,
                (snapshot.revision, snapshot.token_revision),
                &parts.headers,
            )
            .await
        {
            Ok(owner) => owner,
            Err(e) => {
                reply.send(protocol.error_response(e, Some(&request_id)));
                return;
            }
        };
        let mut ctx = Ctx::new(Caller {
            request_id,
            started,
            created_at,
            protocol,
            owner,
        });
        let outcome = match self
            .handle(&mut ctx, &snapshot, parts, body, &mut reply)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                let delivered =
                    reply.send(protocol.error_response(e.clone(), Some(&ctx.who.request_id)));
                Outcome::refused(&e, delivered)
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
        let protocol = ctx.who.protocol;
        auth::check_client(&ctx.who.owner, &parts.headers)?;
        let _permit = self.admit(&ctx.who.owner).await?;

        let req = read::read(body, &parts.headers, &self.config).await?;
        ctx.requested = Some(Requested {
            model: req.model.clone(),
            stream: protocol.streams(&req),
        });

        let model = resolve::model(snapshot, &req.model)?;
        ctx.managed = Some(Managed {
            alias_of: (model.public_id != req.model).then(|| model.public_id.clone()),
            prices: model.prices,
            long_context: model.long_context,
            web_search_price: model
                .web_search_price
                .unwrap_or(snapshot.settings.web_search_price),
        });
        ctx.probe = protocol == Protocol::Messages && req.probe;
        if ctx.probe && snapshot.settings.probes == ProbePolicy::Answer {
            return Ok(self.answer_probe(ctx, reply));
        }

        // Spend limits again, with this request's estimate counted while it runs.
        let estimate = match (protocol.billed(), model.prices) {
            (true, Some(p)) => billing::estimate(
                &p,
                model.long_context.as_ref(),
                req.body().len(),
                protocol.max_output(&req),
                request::extra_input_tokens(req.body()),
            ),
            _ => 0,
        };
        ctx.money.open_spend = self.check_spend(&ctx.who.owner, estimate).await?;

        let session = protocol.session(&parts.headers, &req);
        let mut plan = self.plan_route(snapshot, model, protocol, session.as_deref())?;
        if ctx.probe {
            // A probe is worth one attempt, not a failover through every key.
            plan.attempts.truncate(1);
        }

        self.reserve(ctx, snapshot, model, estimate).await?;

        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(protocol.path());
        let asked = attempt::Asked {
            parts: &parts,
            req: &req,
            session: session.as_deref(),
            path_and_query,
        };
        self.attempt(ctx, snapshot, &plan, asked, reply).await
    }

    /// The plan-route phase: the channels and keys to try, in order ([`route::plan`]).
    fn plan_route<'a>(
        &self,
        snapshot: &Snapshot,
        model: &'a app::core::catalog::CatalogModel,
        protocol: Protocol,
        session: Option<&str>,
    ) -> Result<attempt::Plan<'a>, RelayError> {
        let now = Instant::now();
        let sticky = session.and_then(|s| self.sticky.get(s, now));
        let cooling = |k: &HealthKey| self.health.is_cooling(k, now);
        let attempts = route::plan(
            snapshot,
            model,
            protocol.channel_kind(),
            &cooling,
            sticky,
            self.config.max_attempts,
            &mut rand::thread_rng(),
        );
        if attempts.is_empty() {
            return Err(resolve::no_route(snapshot, model, protocol));
        }
        Ok(attempt::Plan { model, attempts })
    }
}
