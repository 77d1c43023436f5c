//! `GET /metrics` in Prometheus' text format (the `prometheus-client` crate): requests by API,
//! model, channel and status; upstream latency and time to first byte; failovers; cooldowns; open
//! streams; and the usage writer's queue, lag and dropped rows (which should stay 0). It answers
//! only with `Authorization: Bearer <--metrics-token>`; without a configured token it is off (404).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::relay::books::BooksStats;
use crate::relay::journal::Journal;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub api: &'static str,
    /// The public model id when it resolved to a managed model, else `-` (client text never
    /// becomes a label).
    pub model: String,
    /// The channel id of the last attempt, or `-`.
    pub channel: String,
    pub status: u16,
}

/// The `requests` counters by API, channel and status, then by model: a request finds its counter
/// without building its labels' two strings and hashing them with SipHash.
type RequestCounters =
    foldhash::HashMap<(&'static str, Option<i64>, u16), foldhash::HashMap<String, Counter>>;

/// Every metric of an instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_counters: std::sync::Mutex<RequestCounters>,
    pub latency: Histogram,
    pub ttfb: Histogram,
    pub failovers: Counter,
    pub cooldowns: Counter,
    pub open_streams: Gauge<i64, AtomicI64>,
    writer_queue: Gauge<i64, AtomicI64>,
    writer_lag_ms: Gauge<i64, AtomicI64>,
    writer_dropped_events: Gauge<i64, AtomicI64>,
    writer_dropped_ledger: Gauge<i64, AtomicI64>,
    uncollected: Gauge<i64, AtomicI64>,
    journal_bytes: Gauge<i64, AtomicI64>,
    writer: Arc<BooksStats>,
    journal: Option<Arc<Journal>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Seconds: 5 ms … about 160 s.
fn buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 16)
}

impl Metrics {
    pub fn new(writer: Arc<BooksStats>, journal: Option<Arc<Journal>>) -> Metrics {
        let mut registry = Registry::with_prefix("realms");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Data-plane requests by API, model, channel and the status the client got",
            requests.clone(),
        );
        let latency = Histogram::new(buckets());
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its last byte",
            latency.clone(),
        );
        let ttfb = Histogram::new(buckets());
        registry.register(
            "upstream_first_byte_seconds",
            "Time from a request's arrival to the upstream's first byte",
            ttfb.clone(),
        );
        let failovers = Counter::default();
        registry.register(
            "failovers",
            "Upstream attempts that failed before the first byte and moved on",
            failovers.clone(),
        );
        let cooldowns = Counter::default();
        registry.register(
            "cooldowns",
            "Times a key or endpoint was put to cool down after an upstream failure",
            cooldowns.clone(),
        );
        let open_streams = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "open_streams",
            "Streams being relayed now",
            open_streams.clone(),
        );
        let writer_queue = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "usage_writer_queue",
            "Usage events recorded and not yet stored",
            writer_queue.clone(),
        );
        let writer_lag_ms = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "usage_writer_lag_milliseconds",
            "Time since the usage writer last stored a batch, while events wait (0 when none wait)",
            writer_lag_ms.clone(),
        );
        let writer_dropped_events = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "usage_events_dropped",
            "Usage events the database refused even alone (each is logged); should be 0",
            writer_dropped_events.clone(),
        );
        let writer_dropped_ledger = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "ledger_changes_dropped",
            "Balance changes the database refused even alone (each is logged); should be 0",
            writer_dropped_ledger.clone(),
        );
        let uncollected = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "uncollected_nanousd",
            "Charges not collected because they would have taken a balance below the overdraft floor (nano-USD; each is on its ledger row)",
            uncollected.clone(),
        );
        let journal_bytes = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "usage_journal_bytes",
            "Bytes in the usage journal's files: answers made durable and not yet stored, and stored ones not yet emptied (stays within about 8 MiB)",
            journal_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            request_counters: std::sync::Mutex::default(),
            latency,
            ttfb,
            failovers,
            cooldowns,
            open_streams,
            writer_queue,
            writer_lag_ms,
            writer_dropped_events,
            writer_dropped_ledger,
            uncollected,
            journal_bytes,
            writer,
            journal,
        }
    }

    /// Counts a data-plane request: `model` is the public id of the managed model it resolved to,
    /// `channel` the channel of its last attempt (`-` in the labels when there is none).
    pub fn count_request(
        &self,
        api: &'static str,
        model: Option<&str>,
        channel: Option<i64>,
        status: u16,
    ) {
        let model = model.unwrap_or("-");
        let mut counters = app::core::cache::lock(&self.request_counters);
        let by_model = counters.entry((api, channel, status)).or_default();
        if let Some(counter) = by_model.get(model) {
            counter.inc();
            return;
        }
        let counter = self
            .requests
            .get_or_create(&RequestLabels {
                api,
                model: model.to_string(),
                channel: channel.map_or_else(|| "-".into(), |c| c.to_string()),
                status,
            })
            .clone();
        counter.inc();
        by_model.insert(model.to_string(), counter);
    }

    /// The text exposition, with the writer's figures read now.
    pub fn render(&self) -> String {
        let w = &self.writer;
        let queued = w.queued.load(Ordering::Relaxed).max(0);
        self.writer_queue.set(queued);
        let last = w.last_stored_ms.load(Ordering::Relaxed);
        let lag = if queued > 0 && last > 0 {
            (app::core::db::now_ms() - last).max(0)
        } else {
            0
        };
        self.writer_lag_ms.set(lag);
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.writer_dropped_events
            .set(as_i64(w.dropped_events.load(Ordering::Relaxed)));
        self.writer_dropped_ledger
            .set(as_i64(w.dropped_ledger.load(Ordering::Relaxed)));
        self.uncollected
            .set(as_i64(w.uncollected.load(Ordering::Relaxed)));
        self.journal_bytes
            .set(self.journal.as_ref().map_or(0, |j| as_i64(j.size())));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// What `/metrics` needs: the metrics and the token that may read them.
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    pub metrics: Arc<Metrics>,
    pub token: Option<Arc<str>>,
}

pub async fn handler(State(access): State<MetricsAccess>, headers: HeaderMap) -> Response {
    let Some(token) = access.token.as_deref() else {
        return (
            StatusCode::NOT_FOUND,
            "Metrics are off: start Realms with --metrics-token.",
        )
            .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = presented.is_some_and(|p| {
        use sha2::Digest;
        // Compared as digests: the time taken does not tell how much of the token matched.
        sha2::Sha256::digest(p.as_bytes()) == sha2::Sha256::digest(token.as_bytes())
    });
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            "Send the metrics token as Authorization: Bearer <token>.",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        access.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_their_labels() {
        let metrics = Metrics::new(Arc::default(), None);
        for _ in 0..3 {
            metrics.count_request("messages", Some("claude-x"), Some(7), 200);
        }
        metrics.count_request("messages", Some("claude-y"), Some(7), 200);
        metrics.count_request("messages", None, None, 401);
        let text = metrics.render();
        for line in [
            r#"realms_requests_total{api="messages",model="claude-x",channel="7",status="200"} 3"#,
            r#"realms_requests_total{api="messages",model="claude-y",channel="7",status="200"} 1"#,
            r#"realms_requests_total{api="messages",model="-",channel="-",status="401"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
