//! Request limits of tokens and users, in memory per instance: requests per minute (a GCRA rate
//! limiter from `governor`) and concurrent requests (a counter released when the request ends).
//! Spend limits are checked by the caller against the usage log plus the [`SpendBook`]: the
//! estimated cost of every running request, counted until its real cost is stored, so parallel
//! requests cannot all pass a limit that the first few already use up.

use foldhash::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use app::core::cache::{lock, Cache};
use app::core::tokens::TokenOwner;
use app::types::Limits;

use super::error::RelayError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Token(i64),
    User(i64),
}

impl Key {
    fn whose(self) -> &'static str {
        match self {
            Key::Token(_) => "This token",
            Key::User(_) => "Your account",
        }
    }
}

/// Keys whose per-minute counter is kept at most (pruned as every `app::core::cache::Cache` is).
const RATES_MAX: usize = 100_000;
/// A counter unused this long is dropped: after a minute without requests a per-minute quota is
/// full again, so a new counter admits exactly what the old one would have.
const RATE_IDLE: Duration = Duration::from_secs(120);

pub struct Limiter {
    /// Per token and user: the requests-per-minute limit and its counter.
    rates: Cache<Key, (i64, Arc<DefaultDirectRateLimiter>)>,
    /// Running requests per token and user with a concurrency limit (an entry goes at zero).
    running: Mutex<HashMap<Key, i64>>,
    clock: DefaultClock,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            rates: Cache::new(RATE_IDLE, RATES_MAX),
            running: Mutex::default(),
            clock: DefaultClock::default(),
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

/// Holds a request's place under the concurrency limits until dropped.
pub struct Permit {
    limiter: Arc<Limiter>,
    keys: Vec<Key>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut running = lock(&self.limiter.running);
        for key in &self.keys {
            if let Some(n) = running.get_mut(key) {
                *n -= 1;
                if *n <= 0 {
                    running.remove(key);
                }
            }
        }
    }
}

fn scopes(owner: &TokenOwner) -> [(Key, Limits); 2] {
    [
        (Key::Token(owner.token_id), owner.token_limits),
        (Key::User(owner.user_id), owner.user_limits),
    ]
}

impl Limiter {
    /// Admits a request under the owner's concurrency and per-minute limits, or says which limit
    /// it hit and when to retry.
    pub fn admit(self: &Arc<Self>, owner: &TokenOwner) -> Result<Permit, RelayError> {
        let permit = self.hold(owner)?;
        for (key, limits) in scopes(owner) {
            let Some(rpm) = limits.rpm else { continue };
            let limiter = self.rate(key, rpm);
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(RelayError::RateLimited {
                    message: format!(
                        "{} is limited to {rpm} requests per minute. Retry in {} s.",
                        key.whose(),
                        wait.as_secs().max(1)
                    ),
                    retry_after: Some(wait.max(Duration::from_secs(1))),
                });
            }
        }
        Ok(permit)
    }

    fn hold(self: &Arc<Self>, owner: &TokenOwner) -> Result<Permit, RelayError> {
        let mut running = lock(&self.running);
        for (key, limits) in scopes(owner) {
            if let Some(max) = limits.concurrency {
                if running.get(&key).copied().unwrap_or(0) >= max {
                    return Err(RelayError::RateLimited {
                        message: format!(
                            "{} may run {max} request{} at once; wait for one to finish.",
                            key.whose(),
                            if max == 1 { "" } else { "s" }
                        ),
                        retry_after: Some(Duration::from_secs(1)),
                    });
                }
            }
        }
        let mut keys = Vec::new();
        for (key, limits) in scopes(owner) {
            if limits.concurrency.is_some() {
                *running.entry(key).or_insert(0) += 1;
                keys.push(key);
            }
        }
        Ok(Permit {
            limiter: Arc::clone(self),
            keys,
        })
    }

    /// The counter of `key` under a limit of `rpm`; a changed limit starts a new counter. Each use
    /// renews the counter's idle time.
    fn rate(&self, key: Key, rpm: i64) -> Arc<DefaultDirectRateLimiter> {
        let now = Instant::now();
        let counter = match self.rates.get(&key, (), now) {
            Some((limit, l)) if limit == rpm => l,
            _ => {
                let n = NonZeroU32::new(u32::try_from(rpm.max(1)).unwrap_or(u32::MAX))
                    .unwrap_or(NonZeroU32::MIN);
                Arc::new(RateLimiter::direct(Quota::per_minute(n)))
            }
        };
        self.rates.insert(key, (rpm, counter.clone()), (), now);
        counter
    }
}

/// The estimated cost of running requests per token and user (this instance's).
#[derive(Debug, Default)]
pub struct SpendBook {
    open: Mutex<HashMap<Key, i64>>,
    /// Counts releases: a check that read the usage log before a release may have missed the
    /// released request in both places, and reads again.
    releases: AtomicU64,
}

/// One spend-limited window of a scope, as read from the usage log.
#[derive(Clone, Copy, Debug)]
pub struct WindowSpend {
    pub key: Key,
    pub spent: i64,
    pub limit: i64,
}

/// A running request's estimate in the book, taken out when dropped (once its cost is stored).
pub struct OpenSpend {
    book: Arc<SpendBook>,
    keys: Vec<Key>,
    amount: i64,
}

impl Drop for OpenSpend {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut open = lock(&self.book.open);
        for key in &self.keys {
            if let Some(n) = open.get_mut(key) {
                *n -= self.amount;
                if *n <= 0 {
                    open.remove(key);
                }
            }
        }
        self.book.releases.fetch_add(1, Ordering::AcqRel);
    }
}

/// Why a spend check did not admit.
#[derive(Debug, PartialEq, Eq)]
pub enum SpendRefusal {
    /// The window (index into the checked list) is used up: stored spend plus running estimates.
    Over { window: usize, counted: i64 },
    /// A request settled since the usage log was read: read it again.
    Stale,
}

impl SpendBook {
    /// Releases so far; pass it back to [`SpendBook::open`] with spend read after this call.
    pub fn releases(&self) -> u64 {
        self.releases.load(Ordering::Acquire)
    }

    /// Admits a request estimated at `amount` when, for every window, the stored spend plus the
    /// running requests' estimates is under the limit, and counts its estimate until dropped.
    pub fn open(
        self: &Arc<Self>,
        windows: &[WindowSpend],
        amount: i64,
        read_after: u64,
    ) -> Result<OpenSpend, SpendRefusal> {
        let mut open = lock(&self.open);
        if self.releases.load(Ordering::Acquire) != read_after {
            return Err(SpendRefusal::Stale);
        }
        for (i, w) in windows.iter().enumerate() {
            let counted = w
                .spent
                .saturating_add(open.get(&w.key).copied().unwrap_or(0));
            if counted >= w.limit {
                return Err(SpendRefusal::Over { window: i, counted });
            }
        }
        let mut keys: Vec<Key> = windows.iter().map(|w| w.key).collect();
        keys.dedup();
        if amount > 0 {
            for key in &keys {
                *open.entry(*key).or_insert(0) += amount;
            }
        } else {
            keys.clear();
        }
        Ok(OpenSpend {
            book: Arc::clone(self),
            keys,
            amount,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_estimates_count_against_spend_limits_until_released() {
        let book = Arc::new(SpendBook::default());
        let day = |spent| WindowSpend {
            key: Key::User(2),
            spent,
            limit: 1_000,
        };
        let r = book.releases();
        // Stored spend 100; each request is estimated at 400.
        let a = book.open(&[day(100)], 400, r).unwrap();
        let b = book.open(&[day(100)], 400, r).unwrap();
        // 100 + 800 running < 1000: one more may start; then the limit is used up.
        let c = book.open(&[day(100)], 400, r).unwrap();
        assert_eq!(
            book.open(&[day(100)], 400, r).err(),
            Some(SpendRefusal::Over {
                window: 0,
                counted: 1_300
            })
        );
        drop(a);
        assert_eq!(
            book.open(&[day(100)], 400, r).err(),
            Some(SpendRefusal::Stale),
            "a release since the read forces a new read"
        );
        let r = book.releases();
        // Stored 100, running 800 (b and c): under the limit again.
        let d = book.open(&[day(100)], 400, r).unwrap();
        drop((b, c, d));
        assert!(book.open.lock().unwrap().is_empty());
        // Another scope is not affected.
        let other = WindowSpend {
            key: Key::Token(9),
            spent: 0,
            limit: 10,
        };
        assert!(book.open(&[other], 400, book.releases()).is_ok());
    }

    fn owner(token: Limits, user: Limits) -> TokenOwner {
        TokenOwner {
            token_id: 1,
            user_id: 2,
            expires_at: None,
            token_limits: token,
            user_limits: user,
            token_clients: Default::default(),
            user_clients: Default::default(),
        }
    }

    #[test]
    fn requests_per_minute_are_limited_with_a_retry_time() {
        let l = Arc::new(Limiter::default());
        let o = owner(
            Limits {
                rpm: Some(3),
                ..Limits::default()
            },
            Limits::default(),
        );
        for _ in 0..3 {
            drop(l.admit(&o).unwrap());
        }
        match l.admit(&o) {
            Err(RelayError::RateLimited {
                message,
                retry_after,
            }) => {
                assert!(message.contains("3 requests per minute"), "{message}");
                assert!(retry_after.unwrap() >= Duration::from_secs(1));
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn concurrency_is_released_when_a_request_ends() {
        let l = Arc::new(Limiter::default());
        let o = owner(
            Limits::default(),
            Limits {
                concurrency: Some(2),
                ..Limits::default()
            },
        );
        let a = l.admit(&o).unwrap();
        let _b = l.admit(&o).unwrap();
        assert!(matches!(l.admit(&o), Err(RelayError::RateLimited { .. })));
        drop(a);
        assert!(l.admit(&o).is_ok());
        let free = owner(Limits::default(), Limits::default());
        for _ in 0..100 {
            std::mem::forget(l.admit(&free).unwrap());
        }
    }
}
