//! Throttling of failed sign-ins per account: after `max_failures` failures within `window`, further
//! attempts are refused until the window that began with the first failure has passed. A success
//! clears the count. Time is passed in, so the rule is tested without waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(wait)` when `key` is locked out at `now`, with the time left.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
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
        let mut entries = self.entries();
        // Keep the map bounded: drop windows that have ended.
        if entries.len() > 10_000 {
            let window = self.window;
            entries.retain(|_, e| now < e.first_failure + window);
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
        self.entries().remove(key);
    }
}

/// "Try again in 3 minutes." — rounded up, never "0 minutes".
pub fn wait_message(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    format!(
        "Too many failed sign-in attempts for this account. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
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
    fn message_rounds_up() {
        assert!(wait_message(Duration::from_secs(61)).contains("2 minutes"));
        assert!(wait_message(Duration::from_secs(1)).contains("1 minute."));
    }
}
