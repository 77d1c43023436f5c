//! The one way Realms keeps things in memory: the token cache, sticky sessions, parsed base URLs,
//! rate counters and the sign-in throttle all follow it.
//!
//! - **Bounded.** Every map has a maximum entry count, set where it is made. Nothing keyed by
//!   client input can grow without limit.
//! - **One pruning rule.** Each entry remembers when it was written. An entry older than the map's
//!   time to live is never handed out. Every [`PRUNE_EVERY`] writes, and whenever the map passes its
//!   maximum, expired entries are dropped; if it is still over its maximum, the older half goes.
//!   A read never prunes, so it stays one hash lookup.
//! - **Versioned when it must follow the database.** A map tagged with a version (the catalog and
//!   token revisions) empties itself the first time it is used with a newer one.
//! - **Poisoned locks are taken over, not propagated.** A panic while a lock was held cannot leave
//!   an entry half written (each change is one insert or remove), and everything held here can be
//!   rebuilt, so the next caller takes the lock over instead of failing every request after it
//!   ([`lock`]).

use foldhash::HashMap;
use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Writes between two sweeps of expired entries.
pub const PRUNE_EVERY: usize = 1024;

/// Locks `m`, taking it over if a panic poisoned it (see the module header).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps the newer half of `map` by the time `at` gives each entry.
pub fn drop_older_half<K, V, S>(
    map: &mut std::collections::HashMap<K, V, S>,
    at: impl Fn(&V) -> Instant,
) {
    if map.is_empty() {
        return;
    }
    let mut times: Vec<Instant> = map.values().map(&at).collect();
    let middle = times.len() / 2;
    let (_, cut, _) = times.select_nth_unstable(middle);
    let cut = *cut;
    map.retain(|_, v| at(v) > cut);
}

/// A bounded map whose entries expire, optionally tagged with the version `R` it was filled at.
#[derive(Debug)]
pub struct Cache<K, V, R = ()> {
    ttl: Duration,
    max: usize,
    inner: Mutex<Entries<K, V, R>>,
}

#[derive(Debug)]
struct Entries<K, V, R> {
    version: R,
    map: HashMap<K, (V, Instant)>,
    writes: usize,
}

impl<K: Hash + Eq, V: Clone, R: PartialEq + Copy + Default> Cache<K, V, R> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Cache {
            ttl,
            max: max.max(2),
            inner: Mutex::new(Entries {
                version: R::default(),
                map: HashMap::default(),
                writes: 0,
            }),
        }
    }

    /// The entry for `key` if it was written less than the time to live before `now`, at `version`.
    pub fn get<Q>(&self, key: &Q, version: R, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut e = lock(&self.inner);
        if e.version != version {
            e.map.clear();
            e.version = version;
            return None;
        }
        match e.map.get(key) {
            Some((v, at)) if now.saturating_duration_since(*at) < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// Writes `value` for `key` at `now` (which also renews the entry's time to live).
    pub fn insert(&self, key: K, value: V, version: R, now: Instant) {
        let ttl = self.ttl;
        let mut e = lock(&self.inner);
        if e.version != version {
            e.map.clear();
            e.version = version;
        }
        e.map.insert(key, (value, now));
        e.writes = e.writes.wrapping_add(1);
        if e.writes.is_multiple_of(PRUNE_EVERY) || e.map.len() > self.max {
            e.map
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
        }
        if e.map.len() > self.max {
            drop_older_half(&mut e.map, |(_, at)| *at);
        }
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        lock(&self.inner).map.remove(key);
    }

    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_their_time_to_live() {
        let c: Cache<String, u32> = Cache::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        c.insert("a".into(), 1, (), t0);
        assert_eq!(c.get("a", (), t0 + Duration::from_secs(9)), Some(1));
        assert_eq!(c.get("a", (), t0 + Duration::from_secs(10)), None);
        // A write renews it.
        c.insert("a".into(), 2, (), t0 + Duration::from_secs(10));
        assert_eq!(c.get("a", (), t0 + Duration::from_secs(19)), Some(2));
    }

    #[test]
    fn a_new_version_empties_the_map() {
        let c: Cache<&str, u32, (i64, i64)> = Cache::new(Duration::from_secs(60), 100);
        let t0 = Instant::now();
        c.insert("a", 1, (1, 1), t0);
        assert_eq!(c.get("a", (1, 1), t0), Some(1));
        assert_eq!(c.get("a", (1, 2), t0), None);
        assert!(c.is_empty());
        assert_eq!(
            c.get("a", (1, 1), t0),
            None,
            "an older version empties it too"
        );
    }

    #[test]
    fn the_map_never_passes_its_maximum_and_keeps_the_newest() {
        let c: Cache<usize, usize> = Cache::new(Duration::from_secs(3600), 1000);
        let t0 = Instant::now();
        for i in 0..10_000 {
            c.insert(i, i, (), t0 + Duration::from_micros(i as u64));
            assert!(c.len() <= 1000);
        }
        assert_eq!(c.get(&9_999, (), t0 + Duration::from_secs(1)), Some(9_999));
        assert_eq!(c.get(&0, (), t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn expired_entries_are_swept_as_writes_go_on() {
        let c: Cache<usize, ()> = Cache::new(Duration::from_secs(1), 1_000_000);
        let t0 = Instant::now();
        for i in 0..PRUNE_EVERY - 1 {
            c.insert(i, (), (), t0);
        }
        assert_eq!(c.len(), PRUNE_EVERY - 1);
        c.insert(usize::MAX, (), (), t0 + Duration::from_secs(2));
        assert_eq!(c.len(), 1, "the sweep dropped every expired entry");
    }

    #[test]
    fn a_poisoned_lock_is_taken_over() {
        let c = std::sync::Arc::new(Cache::<u32, u32>::new(Duration::from_secs(60), 10));
        let t0 = Instant::now();
        c.insert(1, 1, (), t0);
        let c2 = c.clone();
        let _ = std::thread::spawn(move || {
            let _held = c2.inner.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(c.inner.is_poisoned());
        assert_eq!(c.get(&1, (), t0), Some(1));
        c.insert(2, 2, (), t0);
        assert_eq!(c.len(), 2);
    }
}
