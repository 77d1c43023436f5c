//! `realms serve`: open the database, load the secret, bind, serve until SIGINT/SIGTERM.

use anyhow::{anyhow, Context, Result};
use leptos::config::{Env, LeptosOptions};
use std::time::Duration;
use tokio::net::TcpListener;

use app::core::secret::{InstanceSecret, SecretSource};

use crate::cli::ServeArgs;
use crate::router::{app, ConsoleConfig};
use crate::services::{Services, Setup};

pub async fn run(globals: &crate::instance::Globals, args: ServeArgs) -> Result<()> {
    // Every client stream holds a connection both ways: allow as many as the system does.
    crate::raise_open_files();
    let database_url = globals.database_url.as_str();
    let db = crate::instance::open(database_url).await?;
    tracing::info!(database = %crate::instance::redact_url(database_url), "database ready");

    let (secret, source) =
        InstanceSecret::load_or_create(globals.secret_key.as_deref(), &globals.data_dir)
            .map_err(|e| anyhow!(e.public_message()))?;
    match source {
        SecretSource::Env => tracing::info!("using the secret key from REALMS_SECRET_KEY"),
        SecretSource::File(p) => tracing::info!(path = %p.display(), "using the secret key file"),
        SecretSource::Generated(p) => tracing::warn!(
            path = %p.display(),
            "generated a new secret key (mode 0600); keep this file, or set REALMS_SECRET_KEY, so sessions and stored keys stay valid"
        ),
    }

    let site_root = args.site_root.to_string_lossy().to_string();
    if !args.site_root.join("pkg").is_dir() {
        tracing::warn!(site_root = %site_root, "console assets not found (pkg/ is missing): build with `cargo leptos build --release` or set --site-root");
    }
    let leptos_options = LeptosOptions::builder()
        .output_name("realms")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .env(Env::PROD)
        .build();
    let config = ConsoleConfig {
        cookie_key: secret.cookie_key(),
        secure_cookies: args.secure_cookies,
        metrics_token: args.metrics_token.clone(),
    };
    // What a previous run journaled and had not stored goes in before anything is served.
    let (journal, left) =
        crate::relay::journal::Journal::open(&globals.data_dir).with_context(|| {
            format!(
                "Could not open the usage journal in {}",
                globals.data_dir.display()
            )
        })?;
    if !left.is_empty() {
        let stored = crate::relay::journal::replay(&db, &left)
            .await
            .map_err(|e| anyhow!("Could not replay the usage journal: {e}"))?;
        journal
            .clear()
            .context("Could not empty the usage journal")?;
        if stored > 0 {
            tracing::warn!(
                entries = left.len(),
                stored,
                "stored the usage the previous run had journaled but not written"
            );
        } else {
            tracing::info!(
                entries = left.len(),
                "the usage journal held only what was stored already"
            );
        }
    }
    let relay_config = crate::relay::RelayConfig {
        instance: instance_id(args.instance_id.as_deref(), &globals.data_dir)?,
        ..args.relay_config()
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("Could not listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    let address = app::core::site_address::SiteAddress::new(
        args.public_url.as_deref(),
        &args.trusted_proxies,
        Some(local),
    )
    .map_err(|e| anyhow!("Check --public-url and --trusted-proxies: {e}"))?;
    let services = Services::start(Setup {
        db: db.clone(),
        secret: &secret,
        leptos_options,
        relay: relay_config,
        journal: Some(std::sync::Arc::new(journal)),
        address,
    })
    .await?;
    let relay = services.relay.clone();
    let router = app(services.state.clone(), &config, relay.clone());

    tracing::info!("Realms is listening on http://{local}");

    let limits = crate::listen::ConnectionLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        client_write_timeout: Duration::from_secs(args.client_write_timeout),
    };
    let connections = crate::listen::serve(listener, router, limits, shutdown_signal()).await;
    // Running requests (streams included) may finish within the grace period; past it the rest are
    // ended and settled. Every usage event is stored before exit.
    let grace = Duration::from_secs(args.shutdown_grace);
    let finished = tokio::time::timeout(grace, async {
        connections.shutdown().await;
        relay.tasks.close();
        relay.tasks.wait().await;
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            running = relay.tasks.len(),
            "the shutdown grace period is over: ending the remaining requests"
        );
        relay.stop.cancel();
    }
    drop(relay);
    services.stop().await;
    db.close().await;
    tracing::info!("Realms stopped");
    Ok(())
}

/// This instance's name: given, or generated once into `DATA_DIR/instance.id` and kept.
fn instance_id(given: Option<&str>, data_dir: &std::path::Path) -> Result<String> {
    if let Some(id) = given.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(id.chars().take(64).collect());
    }
    let path = data_dir.join("instance.id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().chars().take(64).collect()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow!("Cannot read {}: {e}", path.display())),
    }
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let id = format!("inst_{}", hex::encode(bytes));
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&path, &id))
        .with_context(|| format!("Cannot write {}", path.display()))?;
    Ok(id)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
