//! Settling a request: every accepted request becomes exactly one usage event, written off the request
//! path by a background writer that batches inserts, retries on database errors (never dropping an
//! event), and drains everything on shutdown.

use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use app::core::db::Db;
use app::core::usage::{self, UsageEvent};

const MAX_BATCH: usize = 512;
const RETRY_MAX: Duration = Duration::from_secs(30);

enum Msg {
    Event(Box<UsageEvent>),
    /// Answered once everything sent before it is stored.
    Flush(oneshot::Sender<()>),
}

/// Where the data plane sends usage events. Sending never blocks.
#[derive(Clone, Debug)]
pub struct UsageSink {
    tx: mpsc::UnboundedSender<Msg>,
    recorded: broadcast::Sender<Arc<UsageEvent>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(e) => write!(f, "Event({})", e.request_id),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// The background writer; [`UsageWriter::finish`] waits until every event is stored.
pub struct UsageWriter {
    handle: tokio::task::JoinHandle<()>,
}

/// Starts the writer on `db`.
pub fn start(db: Db) -> (UsageSink, UsageWriter) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(write_loop(db, rx));
    let (recorded, _) = broadcast::channel(1024);
    (UsageSink { tx, recorded }, UsageWriter { handle })
}

impl UsageSink {
    pub fn record(&self, event: UsageEvent) {
        if self.recorded.receiver_count() > 0 {
            let _ = self.recorded.send(Arc::new(event.clone()));
        }
        if let Err(e) = self.tx.send(Msg::Event(Box::new(event))) {
            // Only after shutdown has finished the writer; log what would be lost.
            tracing::error!(event = ?e.0, "usage event after the writer stopped");
        }
    }

    /// Every event recorded from now on, as it is recorded (before it is stored).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<UsageEvent>> {
        self.recorded.subscribe()
    }

    /// Waits until every event recorded before this call is stored.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl UsageWriter {
    /// Stores what is queued and stops, once every sink has been dropped.
    pub async fn finish(self) {
        let _ = self.handle.await;
    }
}

async fn write_loop(db: Db, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut batch: Vec<UsageEvent> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        take(first, &mut batch, &mut waiting);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch, &mut waiting),
                Err(_) => break,
            }
        }
        store(&db, &batch).await;
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn take(m: Msg, batch: &mut Vec<UsageEvent>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match m {
        Msg::Event(e) => batch.push(*e),
        Msg::Flush(done) => waiting.push(done),
    }
}

/// Stores a batch, retrying with backoff until the database takes it.
async fn store(db: &Db, batch: &[UsageEvent]) {
    if batch.is_empty() {
        return;
    }
    let mut wait = Duration::from_millis(100);
    loop {
        match usage::insert_batch(db, batch).await {
            Ok(()) => break,
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "could not store usage events; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
    let mut used: Vec<(i64, i64)> = batch
        .iter()
        .filter_map(|e| e.token_id.map(|t| (t, e.created_at)))
        .collect();
    used.sort_unstable();
    used.dedup_by_key(|(t, _)| *t);
    if let Err(e) = usage::touch_tokens(db, &used).await {
        tracing::warn!(error = %e, "could not record when tokens were last used");
    }
}
