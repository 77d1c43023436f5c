//! What one request is as it goes through the phases: who asked (set by authenticate), what was
//! asked (set by read and resolve), and the attempt that answered; how it ended; and the error
//! classes its usage event can carry.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;

use app::core::tokens::TokenOwner;
use app::core::usage_log::TokenCounts;
use app::money::{LongContext, Prices};

use super::client::UpstreamBody;
use super::error::RelayError;
use super::limits::OpenSpend;
use super::protocol::Protocol;
use super::wallet::Hold;

/// One request through the data plane, built phase by phase: each phase sets its part once, and
/// what no phase reached yet is absent (the usage event of a request refused early says so).
pub(super) struct Ctx {
    /// Who asked (authenticate).
    pub who: Caller,
    /// What was asked (read): the model named and whether a stream was asked for.
    pub requested: Option<Requested>,
    /// The managed model it resolved to (resolve).
    pub managed: Option<Managed>,
    /// The money (admit, reserve): nothing held until reserve holds it.
    pub money: Money,
    /// The attempt that answered, or the last one tried (attempt).
    pub tried: Option<Tried>,
    /// Time to the first byte of the answer (forward).
    pub ttfb: Option<Duration>,
    /// Its usage event is recorded (it happens once: early, before the end of a complete answer
    /// goes out, or when the request ends).
    pub settled: bool,
    /// Earlier turns' thinking blocks were removed after the upstream refused their signatures
    /// (attempt).
    pub thinking_stripped: bool,
    /// The request is a client's probe, not user work (read).
    pub probe: bool,
}

/// Who asked, fixed once the token is authenticated.
pub(super) struct Caller {
    pub request_id: String,
    pub started: Instant,
    pub created_at: i64,
    pub protocol: Protocol,
    pub owner: TokenOwner,
}

pub(super) struct Requested {
    pub model: String,
    pub stream: bool,
}

pub(super) struct Managed {
    /// Its id, when the request named one of its aliases (none when it named the model itself).
    pub alias_of: Option<String>,
    pub prices: Option<Prices>,
    pub long_context: Option<LongContext>,
    /// Its price of 1,000 web searches (micro-USD): its own, or the site's.
    pub web_search_price: i64,
}

#[derive(Default)]
pub(super) struct Money {
    /// Whether this request is charged (billing on, a billed API).
    pub charged: bool,
    pub hold: Option<Hold>,
    /// How far below zero its charge may take the balance (the site's overdraft floor).
    pub floor: i64,
    /// Its estimate, counted against spend limits until its cost is stored.
    pub open_spend: Option<OpenSpend>,
}

pub(super) struct Tried {
    /// Attempts made so far (1 for the first).
    pub attempts: i64,
    pub upstream_model: String,
    pub channel_id: i64,
    pub credential_id: i64,
}

impl Ctx {
    pub fn new(who: Caller) -> Self {
        Ctx {
            who,
            requested: None,
            managed: None,
            money: Money::default(),
            tried: None,
            ttfb: None,
            settled: false,
            thinking_stripped: false,
            probe: false,
        }
    }

    /// Whether the answer is a stream (false until read says so).
    pub fn stream(&self) -> bool {
        self.requested.as_ref().is_some_and(|r| r.stream)
    }

    /// The model named, as far as it is known.
    pub fn model(&self) -> &str {
        self.requested.as_ref().map_or("", |r| r.model.as_str())
    }
}

/// An upstream's answer as received: a stream still to relay (with what was read of it to see
/// its first event), or a whole body read.
pub(super) enum Answer {
    Stream {
        start: StreamStart,
        /// The first event was an error (of this type).
        first_error: Option<String>,
    },
    Whole(HeaderMap, Bytes),
}

/// A stream as far as it was read to see its first event.
pub(super) struct StreamStart {
    pub res: UpstreamBody,
    pub headers: HeaderMap,
    /// The bytes read so far, to relay before the rest.
    pub prefix: Bytes,
}

/// Why a request did not end well, as its usage event stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Realms refused or ended it ([`RelayError::class`]).
    Relay(&'static str),
    /// The client went away before the answer was complete.
    ClientDisconnected,
    /// The upstream answered 429.
    UpstreamRateLimited,
    /// The upstream answered another 4xx.
    Upstream4xx,
    /// The upstream answered 5xx.
    Upstream5xx,
    /// The upstream's stream carried an error event of this type.
    UpstreamEvent(String),
}

impl ErrorClass {
    pub fn of(e: &RelayError) -> Self {
        ErrorClass::Relay(e.class())
    }

    /// The class of an upstream status (none for a success).
    pub fn of_status(status: StatusCode) -> Option<Self> {
        match status.as_u16() {
            200..=299 => None,
            429 => Some(ErrorClass::UpstreamRateLimited),
            400..=499 => Some(ErrorClass::Upstream4xx),
            _ => Some(ErrorClass::Upstream5xx),
        }
    }

    /// The upstream broke off or went silent mid-answer.
    pub fn is_upstream_break(&self) -> bool {
        matches!(
            self,
            ErrorClass::Relay("upstream_unreachable" | "upstream_timeout" | "stream_truncated")
        )
    }

    pub fn as_string(&self) -> String {
        match self {
            ErrorClass::Relay(class) => (*class).to_string(),
            ErrorClass::ClientDisconnected => "client_disconnected".into(),
            ErrorClass::UpstreamRateLimited => "upstream_rate_limited".into(),
            ErrorClass::Upstream4xx => "upstream_4xx".into(),
            ErrorClass::Upstream5xx => "upstream_5xx".into(),
            ErrorClass::UpstreamEvent(kind) => format!("upstream_{kind}"),
        }
    }
}

/// How a request ended, for its usage event.
#[derive(Clone)]
pub(super) struct Outcome {
    pub status: StatusCode,
    pub error_class: Option<ErrorClass>,
    pub tokens: TokenCounts,
    /// The output tokens are Realms' estimate (a stream cut off before the upstream's count).
    pub estimated: bool,
    pub disconnected: bool,
}

impl Outcome {
    /// A request Realms answered with `e` (delivered or not).
    pub fn refused(e: &RelayError, delivered: bool) -> Self {
        Outcome {
            status: e.status(),
            error_class: Some(ErrorClass::of(e)),
            tokens: TokenCounts::default(),
            estimated: false,
            disconnected: !delivered,
        }
    }
}

/// `req_` + the time in milliseconds (12 hex digits) + 64 random bits: ids sort by time, so the
/// unique indexes on them grow at one end instead of being written all over.
pub(super) fn new_request_id(now_ms: i64) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 14];
    // The time in 12 hex digits (6 bytes), then 8 random bytes.
    let time = now_ms.clamp(0, 0xffff_ffff_ffff).to_be_bytes();
    bytes[..6].copy_from_slice(&time[2..]);
    rand::thread_rng().fill_bytes(&mut bytes[6..]);
    let mut out = *b"req_0000000000000000000000000000";
    match hex::encode_to_slice(bytes, &mut out[4..]).map(|()| std::str::from_utf8(&out)) {
        Ok(Ok(id)) => id.to_owned(),
        _ => format!("req_{}", hex::encode(bytes)),
    }
}

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
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
        assert_eq!(a[4..16], format!("{:012x}", 1_700_000_000_000_i64));
        assert!(a[16..]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert!(a < later && b < later);
        assert!(new_request_id(0) < a);
    }

    #[test]
    fn error_classes_read_as_stored() {
        assert_eq!(
            ErrorClass::ClientDisconnected.as_string(),
            "client_disconnected"
        );
        assert_eq!(
            ErrorClass::UpstreamEvent("overloaded_error".into()).as_string(),
            "upstream_overloaded_error"
        );
        assert_eq!(
            ErrorClass::of_status(StatusCode::TOO_MANY_REQUESTS),
            Some(ErrorClass::UpstreamRateLimited)
        );
        assert_eq!(ErrorClass::of_status(StatusCode::OK), None);
        assert!(ErrorClass::of(&RelayError::UpstreamTimeout(String::new())).is_upstream_break());
    }
}
