//! Billing on SQLite and PostgreSQL: leases, charges and releases keep every balance equal to its
//! ledger and the held total equal to the leases, never create money, and parallel leases cannot
//! overdraw.

mod common;

use proptest::prelude::*;

use app::core::balances::{self, AdjustmentKind};
use app::core::billing::{self, LeaseCharge, LedgerOp};
use app::core::db::Db;
use app::core::users;

async fn funded_user(db: &Db, email: &str, nano: i64) -> i64 {
    let u = users::create(
        db,
        users::NewUser {
            email,
            username: None,
            password: "password123",
            role: Some(app::types::Role::User),
        },
    )
    .await
    .unwrap();
    if nano > 0 {
        balances::adjust(db, u.id, nano, AdjustmentKind::Topup, "test", None)
            .await
            .unwrap();
    }
    u.id
}

async fn assert_consistent(db: &Db, user: i64, label: &str) {
    let (balance, reserved) = billing::holdings(db, user).await.unwrap();
    assert_eq!(
        balance,
        balances::ledger_sum(db, user).await.unwrap(),
        "{label}: balance = ledger"
    );
    assert_eq!(
        reserved,
        billing::leased(db, user).await.unwrap(),
        "{label}: reserved = leases"
    );
}

/// Applies `ops` in one transaction, as the usage writer does.
async fn apply(db: &Db, ops: &[LedgerOp]) -> i64 {
    let mut tx = db.pool().begin().await.unwrap();
    let uncollected = billing::apply(&mut tx, ops).await.unwrap();
    tx.commit().await.unwrap();
    uncollected
}

fn charge(user_id: i64, request_id: &str, cost: i64, lease: i64, from_lease: i64) -> LedgerOp {
    LedgerOp::Charge(LeaseCharge {
        user_id,
        token_id: None,
        request_id: request_id.into(),
        cost,
        lease_id: Some(lease),
        from_lease,
        reason: "m".into(),
        floor: 0,
    })
}

#[tokio::test]
async fn parallel_leases_cannot_overdraw() {
    for t in common::all().await {
        let db = t.db.clone();
        // $1 and forty parallel leases of $0.10: exactly ten fit.
        let u = funded_user(&db, "par@example.com", 1_000_000_000).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let db = db.clone();
            tasks
                .spawn(async move { billing::grow_lease(&db, "test", u, None, 100_000_000).await });
        }
        let mut leases = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                Ok(Ok(id)) => leases.push(id),
                Ok(Err(_)) => {}
                Err(e) => panic!("{}: {e}", t.label),
            }
        }
        assert_eq!(leases.len(), 10, "{}", t.label);
        let (balance, reserved) = billing::holdings(&db, u).await.unwrap();
        assert_eq!((balance, reserved), (1_000_000_000, 1_000_000_000));
        // Each lease pays a charge of all it holds: the balance lands exactly on zero.
        let ops: Vec<LedgerOp> = leases
            .iter()
            .enumerate()
            .map(|(i, id)| charge(u, &format!("p-{i}"), 100_000_000, *id, 100_000_000))
            .collect();
        assert_eq!(apply(&db, &ops).await, 0);
        assert_eq!(
            billing::holdings(&db, u).await.unwrap(),
            (0, 0),
            "{}",
            t.label
        );
        assert_consistent(&db, u, t.label).await;
    }
}

/// A request holding from a lease while the usage writer charges and releases that lease's
/// requests: on PostgreSQL each takes row locks, and they must take them in the same order (the
/// user, then the lease) or one of them is aborted as a deadlock.
#[tokio::test]
async fn holds_charges_and_releases_in_parallel_never_deadlock() {
    for t in common::all().await {
        let db = t.db.clone();
        let u = funded_user(&db, "locks@example.com", 1_000_000_000_000).await;
        let lease = billing::grow_lease(&db, "test", u, None, 1_000)
            .await
            .unwrap()
            .unwrap();
        let grower = {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..400 {
                    billing::grow_lease(&db, "test", u, Some(lease), 1_000)
                        .await?
                        .map_err(|_| app::core::error::StoreError::Internal("short".into()))?;
                }
                Ok::<(), app::core::error::StoreError>(())
            })
        };
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..400 {
                    let mut tx = db.pool().begin().await?;
                    let mut ops = vec![charge(u, &format!("lock-{i}"), 1_000, lease, 1_000)];
                    if i % 50 == 49 {
                        // A lease given back while the other side grows it.
                        let spare = billing::grow_lease(&db, "test", u, None, 10).await?;
                        if let Ok(id) = spare {
                            ops.push(LedgerOp::Release { lease_id: id });
                        }
                    }
                    billing::apply(&mut tx, &ops).await?;
                    tx.commit().await?;
                }
                Ok::<(), app::core::error::StoreError>(())
            })
        };
        let (g, w) = (grower.await.unwrap(), writer.await.unwrap());
        assert!(g.is_ok(), "{}: a hold failed: {g:?}", t.label);
        assert!(w.is_ok(), "{}: a charge failed: {w:?}", t.label);
        assert_consistent(&db, u, t.label).await;
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Opens a lease of this amount.
    Lease(i64),
    /// Charges a request on lease `i` (the part the lease still holds comes from it).
    Charge(usize, i64),
    Release(usize),
    TopUp(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..500).prop_map(Op::Lease),
        (0usize..8, 0i64..600).prop_map(|(i, c)| Op::Charge(i, c)),
        (0usize..8).prop_map(Op::Release),
        (1i64..400).prop_map(Op::TopUp),
    ]
}

/// Runs one sequence on a fresh user and checks the invariants after every step.
async fn run_sequence(db: &Db, case: usize, ops: &[Op]) {
    let u = funded_user(db, &format!("case{case}@example.com"), 0).await;
    // Open leases and what each still holds, as the wallet tracks them.
    let mut open: Vec<(i64, i64)> = Vec::new();
    let mut topped_up = 0i64;
    let mut costs = 0i64;
    let mut uncollected = 0i64;
    for (n, op) in ops.iter().enumerate() {
        let request_id = format!("c{case}-{n}");
        match op {
            Op::Lease(amount) => {
                let (balance, reserved) = billing::holdings(db, u).await.unwrap();
                match billing::grow_lease(db, "test", u, None, *amount)
                    .await
                    .unwrap()
                {
                    Ok(id) => {
                        assert!(
                            balance - reserved >= *amount,
                            "leased beyond the available balance"
                        );
                        open.push((id, *amount));
                    }
                    Err(short) => assert!(short.available < *amount),
                }
            }
            Op::Charge(i, cost) if !open.is_empty() && *cost > 0 => {
                let k = i % open.len();
                let (id, held) = open[k];
                let from_lease = (*cost).min(held);
                open[k].1 -= from_lease;
                uncollected += apply(db, &[charge(u, &request_id, *cost, id, from_lease)]).await;
                costs += cost;
            }
            Op::Release(i) if !open.is_empty() => {
                let (id, _) = open.remove(i % open.len());
                apply(db, &[LedgerOp::Release { lease_id: id }]).await;
            }
            Op::TopUp(amount) => {
                balances::adjust(db, u, *amount, AdjustmentKind::Topup, "", None)
                    .await
                    .unwrap();
                topped_up += amount;
            }
            _ => {}
        }
        let (balance, reserved) = billing::holdings(db, u).await.unwrap();
        assert_eq!(
            balance,
            balances::ledger_sum(db, u).await.unwrap(),
            "balance = ledger after {op:?}"
        );
        assert_eq!(
            reserved,
            billing::leased(db, u).await.unwrap(),
            "reserved = leases after {op:?}"
        );
        assert_eq!(
            topped_up - balance + uncollected,
            costs,
            "collected + uncollected = costs after {op:?}"
        );
        assert!(balance <= topped_up, "no money is created");
        assert!(balance >= 0, "never below the floor (0)");
    }
}

#[test]
fn any_sequence_keeps_balance_equal_to_ledger_and_creates_no_money() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dbs = rt.block_on(common::all());
    for t in &dbs {
        let case = std::sync::atomic::AtomicUsize::new(0);
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 24,
            ..ProptestConfig::default()
        });
        runner
            .run(&proptest::collection::vec(op(), 1..16), |ops| {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                rt.block_on(run_sequence(&t.db, n, &ops));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", t.label));
    }
}

#[tokio::test]
async fn leases_hold_balance_charges_shrink_them_and_expired_ones_are_swept() {
    for t in common::all().await {
        let db = &t.db;
        let u = funded_user(db, "lease@example.com", 1_000).await;
        let id = billing::grow_lease(db, "test", u, None, 600)
            .await
            .unwrap()
            .unwrap();
        assert!(
            billing::grow_lease(db, "test", u, Some(id), 500)
                .await
                .unwrap()
                .is_err(),
            "{}: only 400 left",
            t.label
        );
        assert_eq!(
            billing::grow_lease(db, "test", u, Some(id), 400)
                .await
                .unwrap()
                .unwrap(),
            id
        );
        assert_eq!(billing::holdings(db, u).await.unwrap(), (1_000, 1_000));
        let charge = |n: &str, cost: i64, from_lease: i64| {
            LedgerOp::Charge(LeaseCharge {
                user_id: u,
                token_id: None,
                request_id: n.into(),
                cost,
                lease_id: Some(id),
                from_lease,
                reason: "m".into(),
                floor: 0,
            })
        };
        let mut tx = db.pool().begin().await.unwrap();
        billing::apply(&mut tx, &[charge("l-1", 300, 300), charge("l-2", 200, 200)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(billing::holdings(db, u).await.unwrap(), (500, 500));
        assert_consistent(db, u, t.label).await;
        // Released: the rest goes back.
        let mut tx = db.pool().begin().await.unwrap();
        billing::apply(&mut tx, &[LedgerOp::Release { lease_id: id }])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(billing::holdings(db, u).await.unwrap(), (500, 0));
        // A lease left by a stopped instance expires and is swept; a late charge then leaves the
        // reserved total alone.
        let id = billing::grow_lease(db, "test", u, None, 100)
            .await
            .unwrap()
            .unwrap();
        let now = app::core::db::now_ms();
        assert_eq!(
            billing::sweep(db, now + billing::LEASE_TTL_MS + 1)
                .await
                .unwrap(),
            1
        );
        let mut tx = db.pool().begin().await.unwrap();
        billing::apply(
            &mut tx,
            &[LedgerOp::Charge(LeaseCharge {
                user_id: u,
                token_id: None,
                request_id: "l-3".into(),
                cost: 50,
                lease_id: Some(id),
                from_lease: 50,
                reason: "m".into(),
                floor: 0,
            })],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(billing::holdings(db, u).await.unwrap(), (450, 0));
        assert_consistent(db, u, t.label).await;
    }
}

/// Batches of any size (split into statements of a few fixed sizes) store every row with its own
/// values, on both databases.
#[tokio::test]
async fn batches_of_any_size_store_every_row() {
    use app::core::usage_log::{self, TokenCounts, UsageEvent};
    for t in common::all().await {
        let db = &t.db;
        let u = funded_user(db, "batch@example.com", 1_000_000).await;
        let mut written = 0usize;
        for n in [1usize, 63, 150] {
            let ops: Vec<LedgerOp> = (0..n)
                .map(|i| {
                    LedgerOp::Charge(LeaseCharge {
                        user_id: u,
                        token_id: None,
                        request_id: format!("b{n}-{i}"),
                        cost: i as i64 + 1,
                        lease_id: None,
                        from_lease: 0,
                        reason: format!("model-{i}"),
                        floor: 0,
                    })
                })
                .collect();
            let events: Vec<UsageEvent> = (0..n)
                .map(|i| UsageEvent {
                    request_id: format!("b{n}-{i}"),
                    created_at: 1_000 + i as i64,
                    user_id: u,
                    token_id: None,
                    api: "messages".into(),
                    model: format!("model-{i}"),
                    upstream_model: Some(format!("up-{i}")),
                    resolved_model: None,
                    channel_id: None,
                    credential_id: None,
                    status: 200,
                    error_class: None,
                    stream: i % 2 == 0,
                    client_disconnected: false,
                    attempts: 1,
                    tokens: TokenCounts {
                        input: i as i64,
                        output: 2 * i as i64,
                        ..TokenCounts::default()
                    },
                    estimated: false,
                    cost: i as i64 + 1,
                    ttfb_ms: Some(i as i64),
                    latency_ms: 3 * i as i64,
                    thinking_stripped: false,
                    probe: false,
                })
                .collect();
            let mut tx = db.pool().begin().await.unwrap();
            billing::apply(&mut tx, &ops).await.unwrap();
            usage_log::insert_in(&mut tx, &events).await.unwrap();
            tx.commit().await.unwrap();
            written += n;

            let stored = usage_log::recent(db, Some(u), 10_000).await.unwrap();
            assert_eq!(stored.len(), written, "{}: {n} events", t.label);
            for e in &events {
                let s = stored.iter().find(|s| s.request_id == e.request_id);
                assert_eq!(s, Some(e), "{}: {} stored as sent", t.label, e.request_id);
            }
            let ledger = balances::ledger(db, u, 10_000).await.unwrap();
            let charges: Vec<_> = ledger.iter().filter(|l| l.kind == "charge").collect();
            assert_eq!(charges.len(), written, "{}: {n} charges", t.label);
            assert!(charges
                .iter()
                .any(|c| c.reason == format!("model-{}", n - 1)));
            assert_consistent(db, u, t.label).await;
        }
        let spent: i64 = [1i64, 63, 150].iter().map(|n| n * (n + 1) / 2).sum();
        assert_eq!(
            billing::holdings(db, u).await.unwrap().0,
            1_000_000 - spent,
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn a_restarted_instance_gives_back_the_leases_of_its_previous_run_and_only_those() {
    for t in common::all().await {
        let db = &t.db;
        let u = funded_user(db, "restart@example.com", 1_000).await;
        billing::grow_lease(db, "crashed", u, None, 600)
            .await
            .unwrap()
            .unwrap();
        billing::grow_lease(db, "other", u, None, 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(billing::holdings(db, u).await.unwrap(), (1_000, 900));
        assert_eq!(billing::release_instance(db, "crashed").await.unwrap(), 1);
        assert_eq!(
            billing::holdings(db, u).await.unwrap(),
            (1_000, 300),
            "{}: the other instance's lease stays",
            t.label
        );
        assert_eq!(billing::release_instance(db, "crashed").await.unwrap(), 0);
        assert_consistent(db, u, t.label).await;
    }
}
