//! Shared by the server's HTTP tests: Realms in-process on a fresh SQLite database, and a
//! browser-like client.
#![allow(dead_code)]

use leptos::config::LeptosOptions;
use reqwest::{header, redirect, Client, StatusCode};
use serde_json::Value;

use app::core::db::Db;
use app::core::state::AppState;
use realms::relay::{Relay, RelayConfig};
use realms::router::{app, ConsoleConfig};
use realms::services::{Services, Setup};
use std::sync::Arc;

pub mod setup;

pub const SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

pub struct Server {
    pub url: String,
    pub db: Db,
    pub state: AppState,
    pub relay: Arc<Relay>,
    /// What runs beside the router (the loops, the writer); [`Server::stop`] stops it.
    pub services: Option<Services>,
    /// Holds the database file (`realms.db`) of a SQLite server.
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Server {
    start_with(RelayConfig::default()).await
}

/// Realms in-process on a fresh SQLite database, with the given data-plane settings.
pub async fn start_with(relay_config: RelayConfig) -> Server {
    start_on(None, relay_config).await
}

/// A fresh, migrated database: PostgreSQL when `postgres` (through the admin URL in
/// `REALMS_TEST_POSTGRES_URL`; `None` when that is not set, which CI does not allow), else SQLite
/// in `dir`.
pub async fn fresh_db(dir: &std::path::Path, postgres: bool) -> Option<Db> {
    let url = if postgres {
        let Ok(admin_url) = std::env::var("REALMS_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").is_err(),
                "PostgreSQL must be set up in CI"
            );
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!(
            "realms_test_{:x}{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
            std::process::id()
        );
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    } else {
        format!("sqlite://{}/realms.db", dir.display())
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    Some(db)
}

/// Realms in-process on `db` (a fresh SQLite database when `None`).
pub async fn start_on(db: Option<Db>, relay_config: RelayConfig) -> Server {
    // The mock upstream listens on loopback.
    app::core::egress::allow_private(true);
    let dir = tempfile::tempdir().unwrap();
    let db = match db {
        Some(db) => db,
        None => fresh_db(dir.path(), false).await.unwrap(),
    };
    let options = LeptosOptions::builder()
        .output_name("realms")
        .site_root(dir.path().display().to_string())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let services = Services::start(Setup {
        db: db.clone(),
        secret: &app::core::secret::InstanceSecret::from_value(SECRET).unwrap(),
        leptos_options: options,
        relay: relay_config,
        journal: None,
        address: app::core::site_address::SiteAddress::new(None, &[], Some(local)).unwrap(),
    })
    .await
    .unwrap();
    let (state, relay) = (services.state.clone(), services.relay.clone());
    let router = app(
        state.clone(),
        &ConsoleConfig {
            cookie_key: [7; 64],
            secure_cookies: false,
            metrics_token: Some(METRICS_TOKEN.into()),
        },
        relay.clone(),
    );
    let url = format!("http://{local}");
    let limits = realms::listen::ConnectionLimits {
        header_read_timeout: std::time::Duration::from_secs(30),
        client_write_timeout: std::time::Duration::from_secs(60),
    };
    tokio::spawn(realms::listen::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    Server {
        url,
        db,
        state,
        relay,
        services: Some(services),
        dir,
    }
}

impl Server {
    /// Stops the background loops and the data plane as `realms serve` does at shutdown: running
    /// requests finish and every usage event is stored.
    pub async fn stop(&mut self) {
        if let Some(services) = self.services.take() {
            services.stop().await;
        }
    }
}

/// A browser-like client: keeps cookies, does not follow redirects, sends a same-origin `Origin`.
pub fn client(server: &Server) -> Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, server.url.parse().unwrap());
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

pub async fn call(
    c: &Client,
    s: &Server,
    fn_path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let res = c
        .post(format!("{}/api/{fn_path}", s.url))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub async fn register(c: &Client, s: &Server, email: &str) {
    let (status, body) = call(
        c,
        s,
        "register",
        &[("email", email), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "register {email}: {body}");
}

pub async fn me(c: &Client, s: &Server) -> Value {
    call(c, s, "me", &[]).await.1
}
