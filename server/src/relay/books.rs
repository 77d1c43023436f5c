//! The books, the usage and ledger writer: every accepted request becomes exactly one usage event, written off the request
//! path by a background task that batches inserts with the balance changes, retries while the
//! database is unreachable or busy, isolates a row the database refuses (so one bad row never holds
//! up the rest), and drains everything on shutdown. A request whose answer is complete is first
//! made durable: appended to the [`Journal`] when there is one, else waited for until stored.

use std::time::Duration;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use app::core::billing::{self, LeaseCharge, LedgerOp};
use app::core::db::{Db, Held};
use app::core::error::StoreError;
use app::core::usage_log::UsageEvent;

use super::journal::{Journal, Turn};
use super::limits::OpenSpend;

const MAX_BATCH: usize = 512;
/// How long the writer gathers events after the first of a batch (a flush, or a full batch, writes
/// at once): under load a transaction carries hundreds of requests instead of a few.
const LINGER: Duration = Duration::from_millis(20);
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What the writer has done, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct BooksStats {
    /// Events recorded and not yet stored (or dropped).
    pub queued: AtomicI64,
    pub stored_events: AtomicU64,
    /// Events the database refused even alone (should stay 0; each is logged with its content).
    pub dropped_events: AtomicU64,
    /// Balance changes the database refused even alone (should stay 0; each is logged).
    pub dropped_ledger: AtomicU64,
    /// Nano-USD of charges that would have taken a balance below the overdraft floor and were not
    /// collected (each is on its ledger row).
    pub uncollected: AtomicU64,
    /// When the last batch was stored (Unix ms), to tell how far the writer lags.
    pub last_stored_ms: AtomicI64,
}

impl BooksStats {
    fn stored(&self, n: usize) {
        let n = n as u64;
        self.stored_events.fetch_add(n, Ordering::Relaxed);
        self.queued.fetch_sub(n as i64, Ordering::Relaxed);
        self.last_stored_ms
            .store(app::core::db::now_ms(), Ordering::Relaxed);
    }
}

/// A usage event on its way to the database.
struct Recorded {
    event: UsageEvent,
    /// The request's charge, applied in order with the other balance changes (one message for
    /// both: one send and one allocation a request).
    charge: Option<LeaseCharge>,
    /// It is in the journal, in this turn (and counts there until stored).
    journaled: Option<Turn>,
    /// Released once the event is stored (its estimate, counted against spend limits until then).
    release: Option<OpenSpend>,
}

enum Msg {
    Event(Box<Recorded>),
    /// A charge or a lease release, applied in order with the events.
    Ledger(Box<LedgerOp>),
    /// Answered once everything sent before it is stored.
    Flush(oneshot::Sender<()>),
}

/// Where the data plane sends usage events. Sending never blocks.
#[derive(Clone, Debug)]
pub struct Books {
    tx: mpsc::UnboundedSender<Msg>,
    recorded: broadcast::Sender<Arc<UsageEvent>>,
    pub stats: Arc<BooksStats>,
    journal: Option<Arc<Journal>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(e) => write!(f, "Event({})", e.event.request_id),
            Msg::Ledger(op) => write!(f, "Ledger({op:?})"),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// The background writer; [`BooksWriter::finish`] waits until every event is stored.
pub struct BooksWriter {
    handle: tokio::task::JoinHandle<()>,
}

/// Starts the writer on `db`, without a journal (a complete answer waits until it is stored).
pub fn start(db: Db) -> (Books, BooksWriter) {
    start_with(db, None)
}

/// Starts the writer on `db`; complete answers are made durable in `journal` when given.
pub fn start_with(db: Db, journal: Option<Arc<Journal>>) -> (Books, BooksWriter) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(BooksStats::default());
    let handle = tokio::spawn(write_loop(db, rx, stats.clone(), journal.clone()));
    let (recorded, _) = broadcast::channel(1024);
    (
        Books {
            tx,
            recorded,
            stats,
            journal,
        },
        BooksWriter { handle },
    )
}

impl Books {
    pub fn record(&self, event: UsageEvent) {
        self.send_event(event, None, None, None);
    }

    /// Records a request's event with its charge. `durable`: the answer is complete, so it must
    /// survive a crash from now on — it is appended to the journal, or (without one, or when the
    /// journal cannot be written) waited for until the database has it. `release` is dropped once
    /// the event is stored.
    pub async fn record_settled(
        &self,
        event: UsageEvent,
        charge: Option<LeaseCharge>,
        durable: bool,
        release: Option<OpenSpend>,
    ) {
        let mut journaled = None;
        if durable {
            if let Some(journal) = &self.journal {
                match journal.append(&event, charge.as_ref()) {
                    Ok(turn) => journaled = Some(turn),
                    Err(e) => {
                        tracing::error!(error = %e, "could not write the usage journal; waiting for the database instead")
                    }
                }
            }
        }
        self.send_event(event, charge, journaled, release);
        if durable && journaled.is_none() {
            self.flush().await;
        }
    }

    fn send_event(
        &self,
        event: UsageEvent,
        charge: Option<LeaseCharge>,
        journaled: Option<Turn>,
        release: Option<OpenSpend>,
    ) {
        if self.recorded.receiver_count() > 0 {
            let _ = self.recorded.send(Arc::new(event.clone()));
        }
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let msg = Msg::Event(Box::new(Recorded {
            event,
            charge,
            journaled,
            release,
        }));
        if let Err(e) = self.tx.send(msg) {
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

    /// Where complete answers are made durable, when there is a journal.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
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

impl BooksWriter {
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
    /// How many of the events are journaled, by turn (in order; rarely more than one turn).
    journaled: Vec<(Turn, u64)>,
    release: Vec<OpenSpend>,
}

impl Batch {
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Event(r) => {
                let r = *r;
                if let Some(charge) = r.charge {
                    self.ledger.push(LedgerOp::Charge(charge));
                }
                self.events.push(r.event);
                if let Some(turn) = r.journaled {
                    match self.journaled.last_mut() {
                        Some((last, n)) if *last == turn => *n += 1,
                        _ => self.journaled.push((turn, 1)),
                    }
                }
                self.release.extend(r.release);
            }
            Msg::Ledger(op) => self.ledger.push(*op),
            Msg::Flush(done) => self.waiting.push(done),
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.ledger.len()
    }
}

async fn write_loop(
    db: Db,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    stats: Arc<BooksStats>,
    journal: Option<Arc<Journal>>,
) {
    let mut write_db = DbBatches { db, conn: None };
    while let Some(first) = rx.recv().await {
        let mut batch = gather(&mut rx, first).await;
        store(&mut write_db, &batch.events, &batch.ledger, &stats).await;
        if let Some(journal) = &journal {
            for &(turn, n) in &batch.journaled {
                journal.stored(turn, n);
            }
        }
        batch.release.clear();
        for done in batch.waiting.drain(..) {
            let _ = done.send(());
        }
    }
    if let Some(journal) = &journal {
        journal.empty_stored();
    }
}

/// A batch that starts with `first`: everything already queued joins it (group commit: requests
/// that settled while the last batch was written share this one); only a batch nobody waits for
/// lingers for more.
async fn gather(rx: &mut mpsc::UnboundedReceiver<Msg>, first: Msg) -> Batch {
    let mut batch = Batch::default();
    batch.take(first);
    let until = tokio::time::Instant::now() + LINGER;
    while batch.len() < MAX_BATCH {
        let next = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) if !batch.waiting.is_empty() => None,
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
    batch
}

/// Where batches are written: the database, or a stand-in in tests.
trait Batches {
    fn write<'a>(
        &'a mut self,
        events: &'a [UsageEvent],
        ledger: &'a [LedgerOp],
    ) -> impl std::future::Future<Output = Result<i64, StoreError>> + Send + 'a;
}

/// The database: balance changes and usage events in one transaction, on a connection the writer
/// keeps between batches. Kept, its page cache stays warm (SQLite drops a connection's cache when
/// another connection has written since it last read) and no batch waits for the pool's check of
/// a connection it hands out; after any failure the connection is given back and a fresh one taken.
struct DbBatches {
    db: Db,
    conn: Option<Held>,
}

impl Batches for DbBatches {
    async fn write(
        &mut self,
        events: &[UsageEvent],
        ledger: &[LedgerOp],
    ) -> Result<i64, StoreError> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.db.acquire().await?,
        };
        let written = billing::store_batch(&mut conn, ledger, events).await;
        if written.is_ok() {
            self.conn = Some(conn);
        }
        written
    }
}

/// Stores a batch so that no row can hold up the others. The whole batch goes in one transaction,
/// retried while the database is unreachable or busy. If the database refuses it, each ledger
/// change and then each event is written alone: the refused row is logged with what it held,
/// counted as dropped, and the writer moves on.
async fn store<W: Batches>(
    write: &mut W,
    events: &[UsageEvent],
    ledger: &[LedgerOp],
    stats: &BooksStats,
) {
    if events.is_empty() && ledger.is_empty() {
        return;
    }
    let uncollected = |n: i64| {
        stats
            .uncollected
            .fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed)
    };
    let e = match write_retrying(write, events, ledger).await {
        Ok(n) => {
            uncollected(n);
            stats.stored(events.len());
            return;
        }
        Err(e) => e,
    };
    if events.len() + ledger.len() > 1 {
        tracing::warn!(error = %e, events = events.len(), ledger = ledger.len(), "the database refused a usage batch; writing its rows one at a time");
    }
    for op in ledger {
        match write_retrying(write, &[], std::slice::from_ref(op)).await {
            Ok(n) => {
                uncollected(n);
            }
            Err(e) => {
                stats.dropped_ledger.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, op = ?op, "DROPPED a balance change the database refuses");
            }
        }
    }
    for event in events {
        match write_retrying(write, std::slice::from_ref(event), &[]).await {
            Ok(_) => stats.stored(1),
            Err(e) => {
                stats.dropped_events.fetch_add(1, Ordering::Relaxed);
                stats.queued.fetch_sub(1, Ordering::Relaxed);
                tracing::error!(error = %e, event = ?event, "DROPPED a usage event the database refuses");
            }
        }
    }
}

/// Writes, trying again with backoff while the failure is transient; returns a refusal.
async fn write_retrying<W: Batches>(
    write: &mut W,
    events: &[UsageEvent],
    ledger: &[LedgerOp],
) -> Result<i64, StoreError> {
    let mut wait = RETRY_FIRST;
    loop {
        match write.write(events, ledger).await {
            Err(e) if e.is_transient() => {
                tracing::error!(error = %e, events = events.len(), "could not store usage events; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> UsageEvent {
        UsageEvent {
            request_id: id.into(),
            ..UsageEvent::default()
        }
    }

    /// A stand-in database: refuses what `refuse` says, fails transiently `flaky` times first,
    /// and keeps what it stores.
    #[derive(Default)]
    struct Fake {
        refuse_event: Option<&'static str>,
        refuse_lease: Option<i64>,
        flaky: usize,
        calls: usize,
        events: Vec<String>,
        ops: usize,
    }

    impl Batches for Fake {
        async fn write(
            &mut self,
            events: &[UsageEvent],
            ledger: &[LedgerOp],
        ) -> Result<i64, StoreError> {
            self.calls += 1;
            if self.calls <= self.flaky {
                return Err(StoreError::Db(sqlx::Error::PoolTimedOut));
            }
            let bad_event = events
                .iter()
                .any(|e| Some(e.request_id.as_str()) == self.refuse_event);
            let bad_op = ledger.iter().any(
                |op| matches!(op, LedgerOp::Release { lease_id } if Some(*lease_id) == self.refuse_lease),
            );
            if bad_event || bad_op {
                return Err(StoreError::Invalid(app::i18n::Msg::new("error-server")));
            }
            self.events
                .extend(events.iter().map(|e| e.request_id.clone()));
            self.ops += ledger.len();
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_refused_row_is_dropped_and_counted_and_the_rest_is_stored() {
        let stats = BooksStats::default();
        let mut db = Fake {
            refuse_event: Some("bad"),
            ..Fake::default()
        };
        stats.queued.fetch_add(4, Ordering::Relaxed);
        store(
            &mut db,
            &[event("a"), event("bad"), event("c")],
            &[],
            &stats,
        )
        .await;
        store(&mut db, &[event("d")], &[], &stats).await;
        assert_eq!(db.events, ["a", "c", "d"]);
        assert_eq!(stats.dropped_events.load(Ordering::Relaxed), 1);
        assert_eq!(stats.stored_events.load(Ordering::Relaxed), 3);
        assert_eq!(stats.queued.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_refused_ledger_change_is_dropped_alone() {
        let stats = BooksStats::default();
        let mut db = Fake {
            refuse_lease: Some(13),
            ..Fake::default()
        };
        let ops = [
            LedgerOp::Release { lease_id: 1 },
            LedgerOp::Release { lease_id: 13 },
            LedgerOp::Release { lease_id: 2 },
        ];
        store(&mut db, &[event("a")], &ops, &stats).await;
        assert_eq!((db.ops, db.events.len()), (2, 1));
        assert_eq!(stats.dropped_ledger.load(Ordering::Relaxed), 1);
        assert_eq!(stats.dropped_events.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_without_splitting() {
        let stats = BooksStats::default();
        let mut db = Fake {
            flaky: 2,
            ..Fake::default()
        };
        store(&mut db, &[event("a"), event("b")], &[], &stats).await;
        assert_eq!(db.calls, 3, "two failures, then the whole batch at once");
        assert_eq!(db.events, ["a", "b"]);
        assert_eq!(stats.dropped_events.load(Ordering::Relaxed), 0);
    }

    fn queued(n: usize) -> Vec<Msg> {
        (0..n)
            .map(|i| {
                Msg::Event(Box::new(Recorded {
                    event: event(&format!("e{i}")),
                    charge: None,
                    journaled: None,
                    release: None,
                }))
            })
            .collect()
    }

    #[test]
    fn a_charge_travels_with_its_event_and_keeps_its_place_among_balance_changes() {
        let charge = |id: &str| LeaseCharge {
            user_id: 1,
            token_id: Some(2),
            request_id: id.into(),
            cost: 5,
            lease_id: Some(3),
            from_lease: 5,
            reason: "m".into(),
            floor: 0,
        };
        let mut batch = Batch::default();
        batch.take(Msg::Ledger(Box::new(LedgerOp::Release { lease_id: 9 })));
        batch.take(Msg::Event(Box::new(Recorded {
            event: event("a"),
            charge: Some(charge("a")),
            journaled: None,
            release: None,
        })));
        batch.take(Msg::Ledger(Box::new(LedgerOp::Release { lease_id: 3 })));
        assert_eq!(
            batch.ledger,
            [
                LedgerOp::Release { lease_id: 9 },
                LedgerOp::Charge(charge("a")),
                LedgerOp::Release { lease_id: 3 },
            ]
        );
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.len(), 4);
    }

    /// Time stands still in these tests unless the gatherer waits on its timer.
    #[tokio::test(start_paused = true)]
    async fn a_small_batch_lingers_for_more_and_takes_what_arrives() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut msgs = queued(3).into_iter();
        for m in msgs.by_ref().take(2) {
            tx.send(m).unwrap();
        }
        let first = rx.recv().await.unwrap();
        // The sender is handed back, not dropped: a closed queue would end the linger early.
        let later = tokio::spawn(async move {
            tokio::time::sleep(LINGER / 2).await;
            tx.send(msgs.next().unwrap()).unwrap();
            tx
        });
        let start = tokio::time::Instant::now();
        let batch = gather(&mut rx, first).await;
        assert_eq!(
            batch.events.len(),
            3,
            "the first, the queued one and the one that came meanwhile"
        );
        assert_eq!(start.elapsed(), LINGER, "it waited the whole linger");
        drop(later.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_someone_waits_for_is_written_at_once() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done, _wait) = oneshot::channel();
        for m in queued(2) {
            tx.send(m).unwrap();
        }
        tx.send(Msg::Flush(done)).unwrap();
        let first = rx.recv().await.unwrap();
        let start = tokio::time::Instant::now();
        let batch = gather(&mut rx, first).await;
        assert_eq!((batch.events.len(), batch.waiting.len()), (2, 1));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_is_cut_at_the_largest_batch() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for m in queued(MAX_BATCH + 5) {
            tx.send(m).unwrap();
        }
        let first = rx.recv().await.unwrap();
        let batch = gather(&mut rx, first).await;
        assert_eq!(batch.events.len(), MAX_BATCH);
        let next = rx.recv().await.unwrap();
        assert_eq!(gather(&mut rx, next).await.events.len(), 5);
    }
}
