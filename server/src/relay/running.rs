//! The tokens of running streams, so that revoking a token (or disabling its user) ends its
//! streams. Each stream registers its token for as long as it runs and listens on the token's
//! cancellation; when the catalog or token revision moves, the registry asks the database once
//! which of its running tokens stopped being valid, and cancels those.

use foldhash::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use app::core::db::Db;
use app::core::error::StoreError;

#[derive(Debug, Default)]
pub struct RunningTokens {
    map: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    tokens: HashMap<i64, Entry>,
    /// Numbers entries, so a stream of an ended entry never counts against a newer one.
    next: u64,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    streams: usize,
    ended: CancellationToken,
}

/// A stream's registration; dropping it unregisters the stream.
pub struct Running<'a> {
    owner: &'a RunningTokens,
    token_id: i64,
    entry: u64,
    /// Cancelled when the token stops being valid.
    pub ended: CancellationToken,
}

impl RunningTokens {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        app::core::cache::lock(&self.map)
    }

    /// Registers a stream of `token_id`.
    pub fn enter(&self, token_id: i64) -> Running<'_> {
        let mut reg = self.lock();
        let next = reg.next;
        let entry = reg.tokens.entry(token_id).or_insert_with(|| Entry {
            id: next,
            streams: 0,
            ended: CancellationToken::new(),
        });
        entry.streams += 1;
        let (id, ended) = (entry.id, entry.ended.clone());
        if id == next {
            reg.next += 1;
        }
        Running {
            owner: self,
            token_id,
            entry: id,
            ended,
        }
    }

    /// The tokens with running streams.
    pub fn tokens(&self) -> Vec<i64> {
        self.lock().tokens.keys().copied().collect()
    }

    /// Ends every running stream of `token_id`.
    pub fn end(&self, token_id: i64) {
        if let Some(entry) = self.lock().tokens.remove(&token_id) {
            entry.ended.cancel();
        }
    }

    /// Ends the streams of tokens that no longer authenticate; returns how many tokens.
    pub async fn end_invalid(&self, db: &Db) -> Result<usize, StoreError> {
        let running = self.tokens();
        if running.is_empty() {
            return Ok(0);
        }
        let invalid = app::core::tokens::no_longer_valid(db, &running).await?;
        for id in &invalid {
            self.end(*id);
        }
        Ok(invalid.len())
    }

    /// Watches the catalog and, whenever its catalog or token revision moves, ends the streams of
    /// tokens that stopped being valid. Ends when `relay` is dropped.
    pub fn spawn_watcher(relay: std::sync::Weak<super::Relay>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let Some(mut changes) = relay.upgrade().map(|r| r.catalog.subscribe()) else {
                return;
            };
            let mut seen = {
                let s = changes.borrow_and_update();
                (s.revision, s.token_revision)
            };
            while changes.changed().await.is_ok() {
                let now = {
                    let s = changes.borrow_and_update();
                    (s.revision, s.token_revision)
                };
                if now == seen {
                    continue;
                }
                seen = now;
                let Some(relay) = relay.upgrade() else { return };
                match relay.running.end_invalid(&relay.db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(tokens = n, "ended the streams of revoked tokens"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not check the tokens of running streams")
                    }
                }
            }
        })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut reg = self.owner.lock();
        if let Some(entry) = reg.tokens.get_mut(&self.token_id) {
            if entry.id != self.entry {
                return;
            }
            entry.streams -= 1;
            if entry.streams == 0 {
                reg.tokens.remove(&self.token_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_registered_while_its_streams_run_and_ending_it_cancels_them_all() {
        let running = RunningTokens::default();
        let a = running.enter(1);
        let b = running.enter(1);
        let other = running.enter(2);
        let mut tokens = running.tokens();
        tokens.sort();
        assert_eq!(tokens, vec![1, 2]);
        running.end(1);
        assert!(a.ended.is_cancelled() && b.ended.is_cancelled());
        assert!(!other.ended.is_cancelled());
        drop((a, b));
        assert_eq!(running.tokens(), vec![2]);
        drop(other);
        assert!(running.tokens().is_empty());
    }

    #[test]
    fn a_stream_after_an_end_gets_a_fresh_registration() {
        let running = RunningTokens::default();
        let old = running.enter(1);
        running.end(1);
        let new = running.enter(1);
        assert!(!new.ended.is_cancelled());
        drop(old);
        assert_eq!(
            running.tokens(),
            vec![1],
            "the old stream leaves the new one registered"
        );
    }
}
