//! Balance holds without a database round trip per request. Each instance leases part of a user's
//! available balance from the database (one atomic conditional update, so instances together can
//! never lease more than the balance) and serves that user's request reservations from the lease in
//! memory. A charge shrinks the lease and is written by the usage writer in a batch, as the request's
//! one ledger row. Idle leases go back to the balance; a stopped instance's leases expire and are
//! swept.

use foldhash::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::core::billing::{self, Insufficient, LeaseCharge, LedgerOp};
use app::core::db::{now_ms, Db};
use app::core::error::StoreError;

use super::books::Books;

/// A lease grows by this many times the request's reservation, when the balance allows, so most
/// requests find room in it.
const LEASE_GROWTH: i64 = 1024;

/// Part of the balance held for one running request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub user_id: i64,
    pub amount: i64,
}

/// What a finished request costs, and whom.
#[derive(Clone, Copy, Debug)]
pub struct Bill<'a> {
    pub user_id: i64,
    pub token_id: Option<i64>,
    pub request_id: &'a str,
    /// Nano-USD.
    pub cost: i64,
    /// The ledger row's reason (the model).
    pub reason: &'a str,
    /// How far below zero the charge may take the balance.
    pub floor: i64,
}

#[derive(Debug)]
struct Wallet {
    lease_id: Option<i64>,
    /// What the lease still holds, after the charges queued so far.
    lease: i64,
    /// The holds of running requests.
    held: i64,
    last_used: Instant,
}

pub struct Wallets {
    db: Db,
    /// Names this instance's leases in the database.
    instance: String,
    sink: Books,
    map: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<Wallet>>>>,
}

impl std::fmt::Debug for Wallets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wallets")
    }
}

impl Wallets {
    pub fn new(db: Db, instance: &str, sink: Books) -> Self {
        Wallets {
            db,
            instance: instance.to_string(),
            sink,
            map: Mutex::new(HashMap::default()),
        }
    }

    fn wallet(&self, user_id: i64) -> Arc<tokio::sync::Mutex<Wallet>> {
        let mut map = app::core::cache::lock(&self.map);
        map.entry(user_id)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Wallet {
                    lease_id: None,
                    lease: 0,
                    held: 0,
                    last_used: Instant::now(),
                }))
            })
            .clone()
    }

    /// Holds `amount` of the user's balance for a request, growing the lease when it has no room.
    pub async fn hold(
        &self,
        user_id: i64,
        amount: i64,
    ) -> Result<Result<Hold, Insufficient>, StoreError> {
        let wallet = self.wallet(user_id);
        let mut w = wallet.lock().await;
        w.last_used = Instant::now();
        let room = w.lease - w.held;
        if room < amount {
            let shortfall = amount - room;
            let generous = shortfall.saturating_add(amount.saturating_mul(LEASE_GROWTH));
            let grown =
                match billing::grow_lease(&self.db, &self.instance, user_id, w.lease_id, generous)
                    .await?
                {
                    Ok(id) => Some((id, generous)),
                    Err(_) => {
                        match billing::grow_lease(
                            &self.db,
                            &self.instance,
                            user_id,
                            w.lease_id,
                            shortfall,
                        )
                        .await?
                        {
                            Ok(id) => Some((id, shortfall)),
                            Err(short) => {
                                return Ok(Err(Insufficient {
                                    available: short.available + room.max(0),
                                    needed: amount,
                                }))
                            }
                        }
                    }
                };
            if let Some((id, by)) = grown {
                w.lease_id = Some(id);
                w.lease += by;
            }
        }
        w.held += amount;
        Ok(Ok(Hold { user_id, amount }))
    }

    /// Ends a request: releases its hold and returns its charge (if it cost anything), to be
    /// queued with its usage event.
    pub async fn settle(&self, hold: Option<&Hold>, bill: Bill<'_>) -> Option<LeaseCharge> {
        let Bill {
            user_id,
            token_id,
            request_id,
            cost,
            reason,
            floor,
        } = bill;
        let wallet = self.wallet(user_id);
        let mut w = wallet.lock().await;
        if let Some(h) = hold {
            w.held -= h.amount;
        }
        if cost <= 0 {
            return None;
        }
        let from_lease = cost.min(w.lease.max(0));
        w.lease -= from_lease;
        Some(LeaseCharge {
            user_id,
            token_id,
            request_id: request_id.to_string(),
            cost,
            lease_id: w.lease_id,
            from_lease,
            reason: reason.to_string(),
            floor,
        })
    }

    /// Gives back the leases an earlier run of this instance left (it crashed or was killed before
    /// it could); call before serving. Returns how many.
    pub async fn release_previous(&self) -> Result<u64, StoreError> {
        billing::release_instance(&self.db, &self.instance).await
    }

    /// Gives back the leases of users without running requests and idle for `idle`, and keeps the
    /// others alive. Returns how many were given back.
    pub async fn tidy(&self, idle: Duration) -> usize {
        let wallets: Vec<_> = app::core::cache::lock(&self.map)
            .values()
            .cloned()
            .collect();
        let mut kept = Vec::new();
        let mut released = 0;
        for wallet in wallets {
            let mut w = wallet.lock().await;
            let Some(id) = w.lease_id else { continue };
            if w.held == 0 && w.last_used.elapsed() >= idle {
                self.sink.ledger(LedgerOp::Release { lease_id: id });
                w.lease_id = None;
                w.lease = 0;
                released += 1;
            } else {
                kept.push(id);
            }
        }
        if let Err(e) = billing::refresh_leases(&self.db, &kept, now_ms()).await {
            tracing::warn!(error = %e, "could not keep balance leases alive");
        }
        released
    }
}
