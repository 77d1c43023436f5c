//! Settling a request: every accepted request becomes exactly one usage event, written off the request
//! path by a background writer that batches inserts, retries on database errors (never dropping an
//! event), and drains everything on shutdown.

use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use app::core::billing::{self, LedgerOp};
use app::core::db::Db;
use app::core::usage::{self, UsageEvent};

const MAX_BATCH: usize = 512;
/// How long the writer gathers events after the first of a batch (a flush, or a full batch, writes
/// at once): under load a transaction carries hundreds of requests instead of a few.
const LINGER: Duration = Duration::from_millis(20);
const RETRY_MAX: Duration = Duration::from_secs(30);

enum Msg {
    Event(Box<UsageEvent>),
    /// A charge or a lease release, applied in order with the events.
    Ledger(Box<LedgerOp>),
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
            Msg::Ledger(op) => write!(f, "Ledger({op:?})"),
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

    /// Queues a charge or a lease release; it is written in order with the usage events.
    pub fn ledger(&self, op: LedgerOp) {
        if let Err(e) = self.tx.send(Msg::Ledger(Box::new(op))) {
            tracing::error!(op = ?e.0, "ledger change after the writer stopped");
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

#[derive(Default)]
struct Batch {
    events: Vec<UsageEvent>,
    ledger: Vec<LedgerOp>,
    waiting: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Event(e) => self.events.push(*e),
            Msg::Ledger(op) => self.ledger.push(*op),
            Msg::Flush(done) => self.waiting.push(done),
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.ledger.len()
    }
}

async fn write_loop(db: Db, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Batch::default();
        batch.take(first);
        let until = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH && batch.waiting.is_empty() {
            let next = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => tokio::time::timeout_at(until, rx.recv())
                    .await
                    .ok()
                    .flatten(),
            };
            match next {
                Some(m) => batch.take(m),
                None => break,
            }
        }
        store(&db, &batch.events, &batch.ledger).await;
        for done in batch.waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Writes balance changes and usage events in one transaction.
async fn write(
    db: &Db,
    events: &[UsageEvent],
    ledger: &[LedgerOp],
) -> Result<(), app::core::error::StoreError> {
    let mut tx = db.pool().begin().await?;
    billing::apply(&mut tx, ledger).await?;
    usage::insert_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a batch, retrying with backoff until the database takes it.
async fn store(db: &Db, batch: &[UsageEvent], ledger: &[LedgerOp]) {
    if batch.is_empty() && ledger.is_empty() {
        return;
    }
    let mut wait = Duration::from_millis(100);
    loop {
        match write(db, batch, ledger).await {
            Ok(()) => break,
            Err(e) if e.is_unique_violation() => {
                // A second charge for one request: write the batch piece by piece so only that
                // charge is refused.
                tracing::error!(error = %e, "a batch held a duplicate charge; writing it piece by piece");
                for op in ledger {
                    if let Err(e) = write(db, &[], std::slice::from_ref(op)).await {
                        tracing::error!(error = %e, op = ?op, "a ledger change was refused");
                    }
                }
                for event in batch {
                    if let Err(e) = write(db, std::slice::from_ref(event), &[]).await {
                        tracing::error!(error = %e, request_id = %event.request_id, "a usage event was refused");
                    }
                }
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "could not store usage events; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}
