//! The router factory: everything Realms serves, given its state. Tests drive it directly.

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, head};
use axum::{Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};

use app::core::state::AppState;
use app::{shell, App};

use crate::console;
use crate::relay::{self, Relay};
use std::sync::Arc;

/// How the console's cookies are set up.
#[derive(Clone)]
pub struct ConsoleConfig {
    pub cookie_key: [u8; 64],
    pub secure_cookies: bool,
    /// The bearer token `/metrics` asks for; without one it is off.
    pub metrics_token: Option<String>,
}

/// Builds the whole service: health, the data plane (`/v1/…`, no sessions), the console pages and
/// server fns, static assets.
pub fn app(state: AppState, config: &ConsoleConfig, relay: Arc<Relay>) -> Router {
    let routes = generate_route_list(App);
    let ctx = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let options = state.leptos_options.clone();
    let console = Router::new()
        .leptos_routes_with_context(&state, routes, ctx.clone(), move || shell(options.clone()))
        // Claude Code checks that the server answers with `HEAD /` and (unless its nonessential
        // traffic is off) `HEAD /api/hello`.
        .route("/", head(|| async { StatusCode::OK }))
        .route(
            "/api/hello",
            head(|| async { StatusCode::OK }).get(|| async { StatusCode::OK }),
        )
        .route("/usage.csv", get(crate::export::usage_csv))
        .route("/lang", {
            let secure = config.secure_cookies;
            axum::routing::post(move |state, viewer, form| {
                console::set_language(secure, state, viewer, form)
            })
        })
        .route(
            crate::price_upload::PATH,
            axum::routing::post(crate::price_upload::upload).layer(
                axum::extract::DefaultBodyLimit::max(crate::price_upload::MAX_UPLOAD_BYTES),
            ),
        )
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            ctx, shell,
        ))
        .layer(from_fn(console::guard_pages))
        .layer(from_fn_with_state(state.clone(), console::take_fresh_token))
        .layer(from_fn_with_state(state.clone(), console::load_viewer))
        .layer(console::session_layer(
            &state,
            &config.cookie_key,
            config.secure_cookies,
        ))
        .layer(from_fn(console::same_origin))
        .layer(from_fn_with_state(
            config.secure_cookies,
            console::security_headers,
        ))
        // Console forms and server fns are small: a bigger body is refused before it is read (a
        // price file upload may be larger).
        .layer(from_fn(console::limit_body))
        .with_state(state.clone());

    let metrics = crate::metrics::MetricsAccess {
        metrics: relay.metrics.clone(),
        token: config
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Into::into),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state)
        .route("/metrics", get(crate::metrics::handler).with_state(metrics))
        .merge(relay::router(relay))
        .merge(console)
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database is not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unavailable" })),
            )
        }
    }
}
