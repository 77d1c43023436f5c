//! Control-plane store tests, each on SQLite and on a fresh PostgreSQL database: channels with
//! encrypted keys, models with prices, bindings, balances and their ledger, roles, the audit log and
//! the routing catalog's invalidation.

mod common;

use std::sync::Arc;
use std::time::Duration;

use app::core::audit::{self, Actor};
use app::core::catalog::Catalog;
use app::core::channels::{self, ChannelSettings, NewChannel};
use app::core::crypto::KeyCipher;
use app::core::db::Db;
use app::core::error::StoreError;
use app::core::models::{self, ModelInput};
use app::core::secret::InstanceSecret;
use app::core::{balances, bindings, users};
use app::money::Prices;
use app::types::ChannelKind;
use sqlx::Row;

const KEY: &str = "sk-ant-api03-very-secret-key-WXYZ";

fn cipher() -> KeyCipher {
    KeyCipher::new(&InstanceSecret::from_value("0123456789abcdef0123456789abcdef").unwrap())
}

async fn channel(db: &Db, name: &str, priority: i64) -> channels::Channel {
    channels::create(
        db,
        &cipher(),
        NewChannel {
            settings: ChannelSettings {
                name: name.into(),
                kind: ChannelKind::Anthropic,
                priority,
                weight: 1,
            },
            base_urls: &["https://api.anthropic.com/v1/".to_string()],
            keys: &[KEY.to_string()],
        },
    )
    .await
    .unwrap()
}

async fn model(db: &Db, id: &str) -> models::Model {
    models::create(
        db,
        &ModelInput {
            public_id: id.into(),
            display_name: None,
            prices: Some(Prices::with_derived_cache(3_000_000, 15_000_000)),
            enabled: true,
        },
    )
    .await
    .unwrap()
}

async fn user(db: &Db, email: &str) -> users::User {
    users::create(
        db,
        users::NewUser {
            email,
            username: None,
            password: "password123",
            role: None,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn channel_keys_are_encrypted_at_rest_and_urls_normalized() {
    for t in common::all().await {
        let db = &t.db;
        let c = channel(db, "main", 0).await;
        let row = sqlx::query("SELECT secret, hint FROM channel_credentials WHERE channel_id = $1")
            .bind(c.id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let stored: String = row.get("secret");
        assert!(
            !stored.contains("very-secret"),
            "{}: key stored in clear",
            t.label
        );
        assert_eq!(row.get::<String, _>("hint"), "WXYZ");
        assert_eq!(cipher().decrypt(c.id, &stored).unwrap(), KEY, "{}", t.label);
        let endpoints = channels::endpoints(db, Some(c.id)).await.unwrap();
        assert_eq!(endpoints[0].base_url, "https://api.anthropic.com");

        let dup = channels::create(
            db,
            &cipher(),
            NewChannel {
                settings: ChannelSettings {
                    name: "main".into(),
                    kind: ChannelKind::Openai,
                    priority: 0,
                    weight: 1,
                },
                base_urls: &["https://x.example".into()],
                keys: &["k".into()],
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(dup, StoreError::Field { field: "name", .. }),
            "{}: {dup:?}",
            t.label
        );
    }
}

#[tokio::test]
async fn a_channel_keeps_at_least_one_endpoint_and_one_key() {
    for t in common::all().await {
        let db = &t.db;
        let c = channel(db, "main", 0).await;
        let only_endpoint = channels::endpoints(db, Some(c.id)).await.unwrap()[0].id;
        assert!(channels::remove_endpoint(db, c.id, only_endpoint)
            .await
            .is_err());
        let only_key = channels::credentials(db, Some(c.id)).await.unwrap()[0].id;
        assert!(channels::remove_credential(db, c.id, only_key)
            .await
            .is_err());

        channels::add_endpoint(db, c.id, "https://backup.example/v1")
            .await
            .unwrap();
        assert!(
            channels::add_endpoint(db, c.id, "https://backup.example")
                .await
                .is_err(),
            "{}: the same URL twice",
            t.label
        );
        channels::remove_endpoint(db, c.id, only_endpoint)
            .await
            .unwrap();
        let hint = channels::add_credential(db, &cipher(), c.id, "sk-second-ABCD")
            .await
            .unwrap();
        assert_eq!(hint, "ABCD");
        channels::remove_credential(db, c.id, only_key)
            .await
            .unwrap();
        let left = channels::credentials(db, Some(c.id)).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            cipher().decrypt(c.id, &left[0].secret).unwrap(),
            "sk-second-ABCD"
        );

        // Removing a channel removes what hangs off it.
        let m = model(db, "claude-x").await;
        bindings::create(db, m.id, c.id, None).await.unwrap();
        channels::delete(db, c.id).await.unwrap();
        assert!(bindings::list(db).await.unwrap().is_empty(), "{}", t.label);
        assert!(channels::credentials(db, None).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn models_store_all_five_prices_or_none() {
    for t in common::all().await {
        let db = &t.db;
        let m = model(db, "claude-sonnet-4-5").await;
        assert_eq!(m.prices.unwrap().cache_write_5m, 3_750_000, "{}", t.label);
        let updated = models::update(
            db,
            m.id,
            &ModelInput {
                public_id: "claude-sonnet-4-5".into(),
                display_name: Some("Sonnet".into()),
                prices: None,
                enabled: false,
            },
        )
        .await
        .unwrap();
        assert_eq!(updated.prices, None);
        assert!(!updated.enabled());
        assert_eq!(updated.display_name, "Sonnet");
        let again = models::create(
            db,
            &ModelInput {
                public_id: "claude-sonnet-4-5".into(),
                display_name: None,
                prices: None,
                enabled: true,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                again,
                StoreError::Field {
                    field: "public_id",
                    ..
                }
            ),
            "{again:?}"
        );
    }
}

#[tokio::test]
async fn bindings_default_their_upstream_name_and_are_unique() {
    for t in common::all().await {
        let db = &t.db;
        let c = channel(db, "main", 0).await;
        let m = model(db, "claude-x").await;
        let b = bindings::create(db, m.id, c.id, Some("  ")).await.unwrap();
        assert_eq!(b.upstream_model, "claude-x", "{}", t.label);
        assert_eq!(b.channel_name, "main");
        let dup = bindings::create(db, m.id, c.id, Some("other"))
            .await
            .unwrap_err();
        assert!(dup.to_string().contains("already"), "{}: {dup}", t.label);
        let b = bindings::update(db, b.id, Some("claude-x-20250101"), false)
            .await
            .unwrap();
        assert_eq!(b.upstream_model, "claude-x-20250101");
        assert!(!b.enabled);
        let b = bindings::update(db, b.id, None, true).await.unwrap();
        assert_eq!(
            b.upstream_model, "claude-x",
            "blank resets to the public id"
        );
        assert!(b.enabled);
    }
}

#[tokio::test]
async fn balances_always_equal_their_ledger() {
    for t in common::all().await {
        let db = &t.db;
        let u = user(db, "ann@example.com").await;
        let kinds = balances::AdjustmentKind::Topup;
        assert_eq!(
            balances::adjust(db, u.id, 12_500_000_000, kinds, "welcome", None)
                .await
                .unwrap(),
            12_500_000_000
        );
        balances::adjust(
            db,
            u.id,
            -2_500_000_000,
            balances::AdjustmentKind::Adjustment,
            "",
            None,
        )
        .await
        .unwrap();
        let too_much = balances::adjust(
            db,
            u.id,
            -10_000_000_001,
            balances::AdjustmentKind::Adjustment,
            "",
            None,
        )
        .await
        .unwrap_err();
        assert!(
            too_much.to_string().contains("below zero"),
            "{}: {too_much}",
            t.label
        );
        assert!(balances::adjust(db, u.id, 0, kinds, "", None)
            .await
            .is_err());
        assert!(
            balances::adjust(db, u.id, -1, kinds, "", None)
                .await
                .is_err(),
            "top-ups add"
        );

        assert_eq!(balances::balance(db, u.id).await.unwrap(), 10_000_000_000);
        assert_eq!(
            balances::ledger_sum(db, u.id).await.unwrap(),
            10_000_000_000,
            "{}",
            t.label
        );
        let ledger = balances::ledger(db, u.id, 10).await.unwrap();
        assert_eq!(ledger.len(), 2, "the refused changes left no rows");
        assert_eq!(ledger[0].reason, "Adjustment");
        assert_eq!(ledger[1].reason, "welcome");
        assert_eq!(ledger[0].balance_after, 10_000_000_000);
    }
}

#[tokio::test]
async fn audit_records_bump_the_catalog_revision() {
    for t in common::all().await {
        let db = &t.db;
        let before = audit::revision(db).await.unwrap();
        audit::record(db, &Actor::cli(), "model.create", "claude-x", "no prices")
            .await
            .unwrap();
        assert_eq!(
            audit::revision(db).await.unwrap(),
            before + 1,
            "{}",
            t.label
        );
        let log = audit::list(db, 10, None).await.unwrap();
        assert_eq!(log[0].actor, "cli");
        assert_eq!(log[0].action, "model.create");
    }
}

/// Waits for the catalog's next snapshot (the watcher delivers it), failing after a generous bound.
async fn next_snapshot(rx: &mut tokio::sync::watch::Receiver<Arc<app::core::catalog::Snapshot>>) {
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("the catalog reloads after a change")
        .unwrap();
}

#[tokio::test]
async fn catalog_changes_reach_this_and_other_instances() {
    for t in common::all().await {
        let db = &t.db;
        let here = Catalog::load(db.clone(), cipher()).await.unwrap();
        let elsewhere = Catalog::load(db.clone(), cipher()).await.unwrap();
        assert!(here.snapshot().model("claude-x").is_none());

        let c = channel(db, "main", 0).await;
        let m = model(db, "claude-x").await;
        bindings::create(db, m.id, c.id, Some("claude-x-upstream"))
            .await
            .unwrap();
        audit::record(db, &Actor::cli(), "binding.create", "claude-x → main", "")
            .await
            .unwrap();

        // This instance reloads at once after its own change.
        let snap = here.refresh().await.unwrap();
        let served = snap.model("claude-x").expect("model served");
        assert_eq!(
            &*served.routes[0].upstream_model, "claude-x-upstream",
            "{}",
            t.label
        );
        let ch = snap.channel(c.id).unwrap();
        assert_eq!(&*ch.credentials[0].key, KEY, "keys are decrypted in memory");
        assert_eq!(&*ch.endpoints[0], "https://api.anthropic.com");

        // Another instance notices the revision through its watcher.
        let mut rx = elsewhere.subscribe();
        let watcher = elsewhere.spawn_watcher(Duration::from_millis(20));
        next_snapshot(&mut rx).await;
        assert!(
            elsewhere.snapshot().model("claude-x").is_some(),
            "{}",
            t.label
        );

        // Disabling the model takes it out of both.
        models::set_enabled(db, m.id, false).await.unwrap();
        audit::record(db, &Actor::cli(), "model.disable", "claude-x", "")
            .await
            .unwrap();
        next_snapshot(&mut rx).await;
        assert!(
            elsewhere.snapshot().model("claude-x").is_none(),
            "{}",
            t.label
        );
        assert!(here.refresh().await.unwrap().model("claude-x").is_none());
        watcher.abort();
    }
}

#[tokio::test]
async fn keys_saved_under_another_secret_are_left_out_of_the_catalog() {
    for t in common::all().await {
        let db = &t.db;
        let c = channel(db, "main", 0).await;
        let m = model(db, "claude-x").await;
        bindings::create(db, m.id, c.id, None).await.unwrap();
        let other = KeyCipher::new(
            &InstanceSecret::from_value("ffffffffffffffffffffffffffffffff").unwrap(),
        );
        let snap = Catalog::load(db.clone(), other).await.unwrap().snapshot();
        assert!(snap.channel(c.id).is_none(), "{}: no usable key", t.label);
        assert!(snap.model("claude-x").unwrap().routes.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_removals_at_once_cannot_take_a_channels_last_endpoint_or_key() {
    for t in common::all().await {
        let db = &t.db;
        for round in 0..20 {
            let c = channel(db, &format!("race-{round}"), 0).await;
            channels::add_endpoint(db, c.id, "https://backup.example/v1")
                .await
                .unwrap();
            channels::add_credential(db, &cipher(), c.id, "sk-second-ABCD")
                .await
                .unwrap();
            let endpoints: Vec<i64> = channels::endpoints(db, Some(c.id))
                .await
                .unwrap()
                .iter()
                .map(|e| e.id)
                .collect();
            let keys: Vec<i64> = channels::credentials(db, Some(c.id))
                .await
                .unwrap()
                .iter()
                .map(|k| k.id)
                .collect();
            let (e1, e2, k1, k2) = tokio::join!(
                channels::remove_endpoint(db, c.id, endpoints[0]),
                channels::remove_endpoint(db, c.id, endpoints[1]),
                channels::remove_credential(db, c.id, keys[0]),
                channels::remove_credential(db, c.id, keys[1]),
            );
            assert_eq!(
                [e1.is_ok(), e2.is_ok()].iter().filter(|ok| **ok).count(),
                1,
                "{}: one endpoint removal wins: {e1:?} {e2:?}",
                t.label
            );
            assert_eq!(
                [k1.is_ok(), k2.is_ok()].iter().filter(|ok| **ok).count(),
                1,
                "{}: one key removal wins: {k1:?} {k2:?}",
                t.label
            );
            assert_eq!(channels::endpoints(db, Some(c.id)).await.unwrap().len(), 1);
            assert_eq!(
                channels::credentials(db, Some(c.id)).await.unwrap().len(),
                1
            );
        }
    }
}
