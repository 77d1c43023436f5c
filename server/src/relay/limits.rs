//! Request limits of tokens and users, in memory per instance: requests per minute (a GCRA rate
//! limiter from `governor`) and concurrent requests (a counter released when the request ends).
//! Spend limits are checked against the usage log by the caller.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use app::core::tokens::TokenOwner;
use app::model::Limits;

use super::error::RelayError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
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

#[derive(Default)]
pub struct Limiter {
    rates: Mutex<HashMap<Key, (i64, Arc<DefaultDirectRateLimiter>)>>,
    running: Mutex<HashMap<Key, i64>>,
    clock: DefaultClock,
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
        if let Ok(mut running) = self.limiter.running.lock() {
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
        let mut running = self
            .running
            .lock()
            .map_err(|_| RelayError::Internal("The limiter failed.".into()))?;
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

    fn rate(&self, key: Key, rpm: i64) -> Arc<DefaultDirectRateLimiter> {
        let mut rates = match self.rates.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        match rates.get(&key) {
            Some((limit, l)) if *limit == rpm => l.clone(),
            _ => {
                let n = NonZeroU32::new(u32::try_from(rpm.max(1)).unwrap_or(u32::MAX))
                    .unwrap_or(NonZeroU32::MIN);
                let l = Arc::new(RateLimiter::direct(Quota::per_minute(n)));
                rates.insert(key, (rpm, l.clone()));
                l
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(token: Limits, user: Limits) -> TokenOwner {
        TokenOwner {
            token_id: 1,
            user_id: 2,
            expires_at: None,
            token_limits: token,
            user_limits: user,
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
