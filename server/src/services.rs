//! One owner of what an instance runs besides its router: the console's state, the data plane, the
//! usage and ledger writer, and the background loops (the catalog watcher, the wallet tidy, the
//! session and lease sweeps). `realms serve` and the tests start it the same way and stop it the
//! same way, so the wiring is written once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use leptos::config::LeptosOptions;
use tokio::task::JoinHandle;

use app::core::db::Db;
use app::core::secret::InstanceSecret;
use app::core::sessions::DbSessionStore;
use app::core::state::AppState;

use crate::relay::books::{self, BooksWriter};
use crate::relay::journal::Journal;
use crate::relay::{Relay, RelayConfig};

/// How often each instance checks the database for changes made elsewhere (other instances, CLI).
pub const CATALOG_POLL: Duration = Duration::from_secs(1);

/// What [`Services::start`] needs.
pub struct Setup<'a> {
    pub db: Db,
    pub secret: &'a InstanceSecret,
    pub leptos_options: LeptosOptions,
    pub relay: RelayConfig,
    /// Where complete answers are made durable before they are stored (none: they wait for it).
    pub journal: Option<Arc<Journal>>,
    /// The public base URL rule and the listener's address.
    pub address: app::core::site_address::SiteAddress,
}

pub struct Services {
    pub state: AppState,
    pub relay: Arc<Relay>,
    writer: BooksWriter,
    loops: Vec<(&'static str, JoinHandle<()>)>,
}

impl Services {
    /// Loads the catalog, starts the writer and the data plane, gives back the balance leases this
    /// instance's previous run left, and starts the background loops.
    pub async fn start(setup: Setup<'_>) -> Result<Services> {
        let db = setup.db;
        let state = AppState::build(
            db.clone(),
            setup.secret,
            setup.leptos_options,
            setup.address,
        )
        .await
        .map_err(|e| anyhow!("Could not load the routing catalog: {}", e.public_message()))?;
        let (books, writer) = books::start_with(db.clone(), setup.journal);
        let relay = Relay::new(db.clone(), state.catalog.clone(), setup.relay, books)
            .map_err(|e| anyhow!("Could not set up the upstream HTTP client: {e}"))?;
        match relay.wallets.release_previous().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(released = n, instance = %relay.config.instance, "gave back the balance leases of this instance's previous run")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not give back the previous run's balance leases; they expire on their own")
            }
        }
        let tidy = {
            let relay = relay.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                loop {
                    every.tick().await;
                    relay.wallets.tidy(Duration::from_secs(10)).await;
                }
            })
        };
        let loops = vec![
            ("catalog watcher", state.catalog.spawn_watcher(CATALOG_POLL)),
            ("wallet tidy", tidy),
            (
                "session sweep",
                tokio::spawn(sweep_sessions(DbSessionStore::new(db.clone()))),
            ),
            ("lease sweep", tokio::spawn(sweep_leases(db))),
        ];
        Ok(Services {
            state,
            relay,
            writer,
            loops,
        })
    }

    /// Stops the loops, ends the data plane (waiting for its running requests) and stores every
    /// usage event and balance change before it returns.
    pub async fn stop(self) {
        for (name, task) in &self.loops {
            tracing::debug!(task = name, "stopping");
            task.abort();
        }
        self.relay.shutdown().await;
        drop(self.relay);
        self.writer.finish().await;
    }
}

async fn sweep_sessions(store: DbSessionStore) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        match store.delete_expired().await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

/// Releases the balance leases of instances that stopped without giving them back.
async fn sweep_leases(db: Db) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        match app::core::billing::sweep(&db, app::core::db::now_ms()).await {
            Ok(n) if n > 0 => tracing::warn!(released = n, "expired balance leases released"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not release expired balance leases"),
        }
    }
}
