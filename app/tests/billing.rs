//! Billing on SQLite and PostgreSQL: reserve → commit → void keeps every balance equal to its ledger,
//! never creates money, and parallel requests cannot overdraw.

mod common;

use proptest::prelude::*;

use app::core::balances::{self, AdjustmentKind};
use app::core::billing::{self, Charge, Reservation};
use app::core::db::Db;
use app::core::users;

async fn funded_user(db: &Db, email: &str, nano: i64) -> i64 {
    let u = users::create(
        db,
        users::NewUser {
            email,
            username: None,
            password: "password123",
            role: Some(app::model::Role::User),
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
        billing::open_reservations(db, user).await.unwrap(),
        "{label}: reserved = open reservations"
    );
}

#[tokio::test]
async fn reserve_commit_void_and_sweep() {
    for t in common::all().await {
        let db = &t.db;
        let u = funded_user(db, "ann@example.com", 1_000_000_000).await;
        let r = billing::reserve(db, u, "req-1", 600_000_000)
            .await
            .unwrap()
            .unwrap();
        let short = billing::reserve(db, u, "req-2", 600_000_000)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (short.available, short.needed),
            (400_000_000, 600_000_000),
            "{}",
            t.label
        );
        // Commit less than reserved: the rest is released.
        let balance = billing::commit(
            db,
            Some(&r),
            Charge {
                user_id: u,
                token_id: None,
                request_id: "req-1",
                cost: 250_000_000,
                reason: "m",
            },
        )
        .await
        .unwrap();
        assert_eq!(balance, 750_000_000);
        assert_eq!(billing::holdings(db, u).await.unwrap(), (750_000_000, 0));
        // A second charge for the same request is refused by the database.
        assert!(billing::commit(
            db,
            None,
            Charge {
                user_id: u,
                token_id: None,
                request_id: "req-1",
                cost: 1,
                reason: "m"
            }
        )
        .await
        .is_err());
        assert_eq!(
            billing::holdings(db, u).await.unwrap().0,
            750_000_000,
            "{}: nothing charged twice",
            t.label
        );
        // Void releases without charging.
        let r = billing::reserve(db, u, "req-3", 100)
            .await
            .unwrap()
            .unwrap();
        billing::void(db, &r).await.unwrap();
        billing::void(db, &r).await.unwrap();
        assert_eq!(
            billing::holdings(db, u).await.unwrap(),
            (750_000_000, 0),
            "voiding twice is harmless"
        );
        // Expired reservations are swept.
        billing::reserve(db, u, "req-4", 500)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            billing::sweep(db, app::core::db::now_ms()).await.unwrap(),
            0
        );
        assert_eq!(
            billing::sweep(
                db,
                app::core::db::now_ms() + billing::RESERVATION_TTL_MS + 1
            )
            .await
            .unwrap(),
            1
        );
        assert_eq!(billing::holdings(db, u).await.unwrap().1, 0);
        assert_consistent(db, u, t.label).await;
    }
}

#[tokio::test]
async fn parallel_requests_cannot_overdraw() {
    for t in common::all().await {
        let db = t.db.clone();
        // $1 and forty parallel reservations of $0.10: exactly ten fit.
        let u = funded_user(&db, "par@example.com", 1_000_000_000).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let db = db.clone();
            tasks.spawn(
                async move { billing::reserve(&db, u, &format!("p-{i}"), 100_000_000).await },
            );
        }
        let mut held = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                Ok(Ok(r)) => held.push(r),
                Ok(Err(_)) => {}
                Err(e) => panic!("{}: {e}", t.label),
            }
        }
        assert_eq!(held.len(), 10, "{}", t.label);
        let (balance, reserved) = billing::holdings(&db, u).await.unwrap();
        assert_eq!((balance, reserved), (1_000_000_000, 1_000_000_000));
        // All commit in parallel at their reserved amount: the balance lands exactly on zero.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, r) in held.into_iter().enumerate() {
            let db = db.clone();
            tasks.spawn(async move {
                let id = format!("p-commit-{i}");
                billing::commit(
                    &db,
                    Some(&r),
                    Charge {
                        user_id: u,
                        token_id: None,
                        request_id: &id,
                        cost: r.amount,
                        reason: "m",
                    },
                )
                .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        assert_eq!(
            billing::holdings(&db, u).await.unwrap(),
            (0, 0),
            "{}",
            t.label
        );
        assert_consistent(&db, u, t.label).await;
    }
}

#[derive(Clone, Debug)]
enum Op {
    Reserve(i64),
    Commit(usize, i64),
    Void(usize),
    TopUp(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..500).prop_map(Op::Reserve),
        (0usize..8, 0i64..600).prop_map(|(i, c)| Op::Commit(i, c)),
        (0usize..8).prop_map(Op::Void),
        (1i64..400).prop_map(Op::TopUp),
    ]
}

/// Runs one sequence on a fresh user and checks the invariants after every step.
async fn run_sequence(db: &Db, case: usize, ops: &[Op]) {
    let u = funded_user(db, &format!("case{case}@example.com"), 0).await;
    let mut open: Vec<Reservation> = Vec::new();
    let mut topped_up = 0i64;
    for (n, op) in ops.iter().enumerate() {
        let request_id = format!("c{case}-{n}");
        match op {
            Op::Reserve(amount) => {
                let (balance, reserved) = billing::holdings(db, u).await.unwrap();
                match billing::reserve(db, u, &request_id, *amount).await.unwrap() {
                    Ok(r) => {
                        assert!(
                            balance - reserved >= *amount,
                            "reserved beyond the available balance"
                        );
                        open.push(r);
                    }
                    Err(short) => assert!(short.available < *amount),
                }
            }
            Op::Commit(i, cost) if !open.is_empty() => {
                let r = open.remove(i % open.len());
                billing::commit(
                    db,
                    Some(&r),
                    Charge {
                        user_id: u,
                        token_id: None,
                        request_id: &request_id,
                        cost: (*cost).min(r.amount),
                        reason: "m",
                    },
                )
                .await
                .unwrap();
            }
            Op::Void(i) if !open.is_empty() => {
                let r = open.remove(i % open.len());
                billing::void(db, &r).await.unwrap();
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
            billing::open_reservations(db, u).await.unwrap(),
            "reserved = open reservations after {op:?}"
        );
        assert!(balance <= topped_up, "no money is created");
        assert!(balance - reserved >= 0, "never overdrawn");
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
    use app::core::billing::{LeaseCharge, LedgerOp};
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
    use app::core::billing::{LeaseCharge, LedgerOp};
    use app::core::usage::{self, Tokens, UsageEvent};
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
                    endpoint: "messages".into(),
                    model: format!("model-{i}"),
                    upstream_model: Some(format!("up-{i}")),
                    channel_id: None,
                    credential_id: None,
                    status: 200,
                    error_class: None,
                    stream: i % 2 == 0,
                    client_disconnected: false,
                    attempts: 1,
                    tokens: Tokens {
                        input: i as i64,
                        output: 2 * i as i64,
                        ..Tokens::default()
                    },
                    estimated: false,
                    cost: i as i64 + 1,
                    ttfb_ms: Some(i as i64),
                    latency_ms: 3 * i as i64,
                })
                .collect();
            let mut tx = db.pool().begin().await.unwrap();
            billing::apply(&mut tx, &ops).await.unwrap();
            usage::insert_in(&mut tx, &events).await.unwrap();
            tx.commit().await.unwrap();
            written += n;

            let stored = usage::recent(db, Some(u), 10_000).await.unwrap();
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
