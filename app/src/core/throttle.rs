//! Throttling of failed sign-ins, per account and per client address: after `max_failures` failures
//! within `window`, further attempts are refused until the window that began with the first failure
//! has passed. A success clears the count. The map is bounded (keys are cut to [`MAX_KEY_BYTES`],
//! at most [`MAX_ENTRIES`] are kept, pruned and locked as `super::cache` describes), so nobody can
//! grow it without limit. Time is passed in, so the rule is tested without waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most: past it ended windows go first, then the oldest half.
pub const MAX_ENTRIES: usize = 10_000;
/// The longest key kept (an email is at most 254 characters).
pub const MAX_KEY_BYTES: usize = 320;

fn bounded(key: &str) -> &str {
    let mut end = key.len().min(MAX_KEY_BYTES);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    first_failure: Instant,
    failures: u32,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(5, Duration::from_secs(15 * 60))
    }
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginThrottle {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        super::cache::lock(&self.entries)
    }

    /// `Err(wait)` when `key` is locked out at `now`, with the time left.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let key = bounded(key);
        let mut entries = self.entries();
        let Some(entry) = entries.get(key).copied() else {
            return Ok(());
        };
        let ends = entry.first_failure + self.window;
        if now >= ends {
            entries.remove(key);
            return Ok(());
        }
        if entry.failures >= self.max_failures {
            Err(ends - now)
        } else {
            Ok(())
        }
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let key = bounded(key);
        let mut entries = self.entries();
        // Keep the map bounded: drop windows that have ended, then the oldest half.
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            let window = self.window;
            entries.retain(|_, e| now < e.first_failure + window);
            if entries.len() >= MAX_ENTRIES {
                super::cache::drop_older_half(&mut entries, |e| e.first_failure);
            }
        }
        let entry = entries.entry(key.to_string()).or_insert(Entry {
            first_failure: now,
            failures: 0,
        });
        if now >= entry.first_failure + self.window {
            *entry = Entry {
                first_failure: now,
                failures: 0,
            };
        }
        entry.failures += 1;
    }

    pub fn record_success(&self, key: &str) {
        self.entries().remove(bounded(key));
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Failed sign-ins allowed from one client address per window: generous, since people behind one
/// office network or proxy share an address, yet it stops one machine from trying account after
/// account.
pub const ADDRESS_MAX_FAILURES: u32 = 30;

/// The throttles a sign-in passes: its account's and its client address's.
#[derive(Debug)]
pub struct SignInThrottles {
    pub account: LoginThrottle,
    pub address: LoginThrottle,
}

impl Default for SignInThrottles {
    fn default() -> Self {
        SignInThrottles {
            account: LoginThrottle::default(),
            address: LoginThrottle::new(ADDRESS_MAX_FAILURES, Duration::from_secs(15 * 60)),
        }
    }
}

/// "Try again in 3 minutes." for a client address that failed too often.
pub fn address_wait_message(wait: Duration) -> crate::i18n::Msg {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    crate::i18n::Msg::new("error-throttled-address").arg("minutes", minutes)
}

/// "Try again in 3 minutes." — rounded up, never "0 minutes".
pub fn wait_message(wait: Duration) -> crate::i18n::Msg {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    crate::i18n::Msg::new("error-throttled-account").arg("minutes", minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_until_window_ends() {
        let t = LoginThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            assert!(t.check("a@x", start).is_ok(), "attempt {i} allowed");
            t.record_failure("a@x", start + Duration::from_secs(i));
        }
        let wait = t.check("a@x", start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            t.check("b@x", start).is_ok(),
            "other accounts are not affected"
        );
        assert!(
            t.check("a@x", start + Duration::from_secs(60)).is_ok(),
            "window over"
        );
    }

    #[test]
    fn success_clears_failures() {
        let t = LoginThrottle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        t.record_failure("a", now);
        t.record_success("a");
        t.record_failure("a", now);
        assert!(t.check("a", now).is_ok());
    }

    #[test]
    fn the_map_stays_bounded_by_count_and_key_size() {
        let t = LoginThrottle::new(3, Duration::from_secs(600));
        let now = Instant::now();
        let huge = "x".repeat(1 << 20);
        t.record_failure(&huge, now);
        assert!(t.check(&huge, now).is_ok());
        assert!(
            t.entries().keys().all(|k| k.len() <= MAX_KEY_BYTES),
            "a megabyte key is kept cut"
        );
        for i in 0..MAX_ENTRIES * 2 {
            t.record_failure(&format!("user{i}@x"), now + Duration::from_millis(i as u64));
        }
        assert!(t.len() <= MAX_ENTRIES, "{}", t.len());
        // The newest failures are still counted.
        let newest = format!("user{}@x", MAX_ENTRIES * 2 - 1);
        t.record_failure(&newest, now + Duration::from_secs(30));
        t.record_failure(&newest, now + Duration::from_secs(30));
        assert!(t.check(&newest, now + Duration::from_secs(31)).is_err());
    }

    #[test]
    fn message_rounds_up() {
        assert!(wait_message(Duration::from_secs(61))
            .to_string()
            .contains("2 minutes"));
        assert!(wait_message(Duration::from_secs(1))
            .to_string()
            .contains("1 minute."));
    }
}
