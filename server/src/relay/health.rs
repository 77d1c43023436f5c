//! Upstream health, in memory: credentials and endpoints that fail cool down with a growing backoff
//! (1 s, 2 s, 4 s … up to 5 minutes; `retry-after` is honoured on 429), and a success resets them.
//! Sticky sessions remember the channel and key a Claude Code session started on.

use foldhash::HashMap;
use std::sync::{Arc, Mutex};

use app::core::cache::{lock, Cache};
use std::time::{Duration, Instant};

const BASE_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The longest cooldown one `retry-after` can ask for: a key is shared by every user of its channel,
/// so one answer never takes it out for minutes (repeated failures still back off to the maximum).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Sessions remembered at most (pruned as every `app::core::cache::Cache` is).
const STICKY_MAX: usize = 100_000;
const STICKY_TTL: Duration = Duration::from_secs(3600);

/// What can cool down.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HealthKey {
    Credential(i64),
    Endpoint(i64, Arc<str>),
}

#[derive(Clone, Copy, Debug)]
struct Cooling {
    failures: u32,
    until: Instant,
}

/// The backoff after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    BASE_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

#[derive(Debug, Default)]
pub struct Health {
    cooling: Mutex<HashMap<HealthKey, Cooling>>,
}

impl Health {
    pub fn is_cooling(&self, key: &HealthKey, now: Instant) -> bool {
        lock(&self.cooling).get(key).is_some_and(|c| c.until > now)
    }

    /// Records a failure: the key cools down for the next backoff step, or for `retry_after` when the
    /// upstream said how long (whichever is longer).
    pub fn failure(&self, key: HealthKey, now: Instant, retry_after: Option<Duration>) {
        let mut m = lock(&self.cooling);
        let failures = m.get(&key).map_or(0, |c| c.failures).saturating_add(1);
        let wait = backoff(failures).max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
        m.insert(
            key,
            Cooling {
                failures,
                until: now + wait,
            },
        );
    }

    pub fn success(&self, key: &HealthKey) {
        lock(&self.cooling).remove(key);
    }
}

/// Where a session's requests go while that channel and key stay healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StickyTarget {
    pub channel_id: i64,
    pub credential_id: i64,
}

#[derive(Debug)]
pub struct Sticky {
    map: Cache<String, StickyTarget>,
}

impl Default for Sticky {
    fn default() -> Self {
        Sticky {
            map: Cache::new(STICKY_TTL, STICKY_MAX),
        }
    }
}

impl Sticky {
    pub fn get(&self, session: &str, now: Instant) -> Option<StickyTarget> {
        self.map.get(session, (), now)
    }

    pub fn set(&self, session: &str, target: StickyTarget, now: Instant) {
        self.map.insert(session.to_string(), target, (), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(30), MAX_BACKOFF);
        assert_eq!(backoff(200), MAX_BACKOFF);
    }

    #[test]
    fn failures_cool_down_until_a_success() {
        let h = Health::default();
        let k = HealthKey::Credential(1);
        let t0 = Instant::now();
        h.failure(k.clone(), t0, None);
        assert!(h.is_cooling(&k, t0));
        assert!(!h.is_cooling(&k, t0 + Duration::from_millis(1001)));
        h.failure(k.clone(), t0, None);
        assert!(
            h.is_cooling(&k, t0 + Duration::from_millis(1500)),
            "second failure waits 2 s"
        );
        h.success(&k);
        assert!(!h.is_cooling(&k, t0));
        h.failure(k.clone(), t0, Some(Duration::from_secs(30)));
        assert!(
            h.is_cooling(&k, t0 + Duration::from_secs(29)),
            "retry-after is honoured"
        );
        h.success(&k);
        h.failure(k.clone(), t0, Some(Duration::from_secs(3600)));
        assert!(
            !h.is_cooling(&k, t0 + MAX_RETRY_AFTER),
            "one retry-after cools a shared key for a minute at most"
        );
        assert!(!h.is_cooling(&HealthKey::Credential(2), t0));
    }

    #[test]
    fn sticky_targets_expire() {
        let s = Sticky::default();
        let t0 = Instant::now();
        let target = StickyTarget {
            channel_id: 1,
            credential_id: 2,
        };
        s.set("sess", target, t0);
        assert_eq!(s.get("sess", t0 + Duration::from_secs(10)), Some(target));
        assert_eq!(s.get("sess", t0 + STICKY_TTL), None);
        assert_eq!(s.get("other", t0), None);
    }

    #[test]
    fn the_sticky_map_stays_bounded() {
        let s = Sticky::default();
        let t0 = Instant::now();
        let target = StickyTarget {
            channel_id: 1,
            credential_id: 2,
        };
        for i in 0..STICKY_MAX + 10 {
            s.set(
                &format!("s{i}"),
                target,
                t0 + Duration::from_micros(i as u64),
            );
        }
        let len = s.map.len();
        assert!(len <= STICKY_MAX, "{len}");
        let newest = format!("s{}", STICKY_MAX + 9);
        assert_eq!(s.get(&newest, t0 + Duration::from_secs(1)), Some(target));
    }
}
