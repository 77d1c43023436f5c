//! The admin operations, each on SQLite and on a fresh PostgreSQL database: every change writes
//! exactly one audit entry with the same text whoever makes it (console or CLI), refusals write
//! nothing, and the rules that guard an administrator against locking themselves out hold.

mod common;

use app::core::admin::{Admin, BalanceChange};
use app::core::audit::{self, Actor};
use app::core::channels::{ChannelSettings, NewChannel};
use app::core::crypto::KeyCipher;
use app::core::db::Db;
use app::core::models::{self, ModelInput};
use app::core::secret::InstanceSecret;
use app::core::users::{self, NewUser};
use app::money::Prices;
use app::types::{AuditEntryView, ChannelKind, Role, UnpricedPolicy};

fn cipher() -> KeyCipher {
    KeyCipher::new(&InstanceSecret::from_value("0123456789abcdef0123456789abcdef").unwrap())
}

async fn admin_user(db: &Db, email: &str) -> users::User {
    users::create(
        db,
        NewUser {
            email,
            username: None,
            password: "password123",
            role: Some(Role::Admin),
        },
    )
    .await
    .unwrap()
}

async fn entries(db: &Db) -> Vec<AuditEntryView> {
    let mut all = audit::list(db, 500, None).await.unwrap();
    all.reverse();
    all
}

fn model(id: &str, enabled: bool) -> ModelInput {
    ModelInput {
        public_id: id.into(),
        display_name: None,
        prices: Some(Prices::with_derived_cache(3_000_000, 15_000_000)),
        enabled,
    }
}

/// What one change wrote: (actor, action, target, detail).
fn last(entries: &[AuditEntryView]) -> (String, String, String, String) {
    let e = entries.last().expect("an audit entry");
    (
        e.actor.clone(),
        e.action.clone(),
        e.target.clone(),
        e.detail.clone(),
    )
}

#[tokio::test]
async fn every_change_is_audited_once_with_one_text_from_console_and_cli() {
    for t in common::all().await {
        let db = &t.db;
        let me = admin_user(db, "root@example.com").await;
        let console = Admin::new(db.clone(), Actor::user(&me));
        let cli = Admin::cli(db.clone());
        let cipher = cipher();

        // The same change made from the console and from the CLI reads the same, but for who made it.
        let a = console
            .create_model(&model("claude-a", true))
            .await
            .unwrap();
        let from_console = last(&entries(db).await);
        let b = cli.create_model(&model("claude-b", true)).await.unwrap();
        let from_cli = last(&entries(db).await);
        assert_eq!(from_console.0, "root@example.com", "{}", t.label);
        assert_eq!(from_cli.0, "cli", "{}", t.label);
        assert_eq!(from_console.1, from_cli.1, "{}", t.label);
        assert_eq!(from_console.3, from_cli.3, "{}", t.label);
        assert_eq!(
            from_cli.3,
            "enabled; input $3.00, output $15.00, cache write 5m $3.75, cache write 1h $6.00, cache read $0.30 per million tokens",
            "{}",
            t.label
        );
        // Creating and updating a model describe it alike.
        console
            .update_model(a.id, &model("claude-a", true))
            .await
            .unwrap();
        assert_eq!(last(&entries(db).await).3, from_console.3, "{}", t.label);

        let before = entries(db).await.len();
        let revision = audit::revision(db).await.unwrap();
        let channel = cli
            .create_channel(
                &cipher,
                NewChannel {
                    settings: ChannelSettings {
                        name: "main".into(),
                        kind: ChannelKind::Anthropic,
                        priority: 2,
                        weight: 3,
                    },
                    base_urls: &["https://api.anthropic.com".to_string()],
                    keys: &["sk-ant-secret-key-0001".to_string()],
                },
            )
            .await
            .unwrap();
        let hint = console
            .add_credential(&cipher, channel.id, "sk-ant-secret-key-0002")
            .await
            .unwrap();
        console
            .add_endpoint(channel.id, "https://eu.example.com/v1")
            .await
            .unwrap();
        let binding = console
            .create_binding(b.id, channel.id, Some("claude-b-upstream"))
            .await
            .unwrap();
        console
            .update_binding(binding.id, None, false)
            .await
            .unwrap();
        console.set_model_enabled(b.id, false).await.unwrap();
        console
            .set_channel_enabled(channel.id, false)
            .await
            .unwrap();
        console.set_billing_enabled(true).await.unwrap();
        console
            .set_unpriced_models(UnpricedPolicy::Free)
            .await
            .unwrap();
        console.set_overdraft_floor(1_000_000_000).await.unwrap();
        console.delete_binding(binding.id).await.unwrap();

        let written: Vec<_> = entries(db).await[before..]
            .iter()
            .map(|e| (e.action.clone(), e.target.clone(), e.detail.clone()))
            .collect();
        let expected: Vec<(&str, &str, String)> = vec![
            (
                "channel.create",
                "main",
                "type anthropic, priority 2, weight 3".into(),
            ),
            ("credential.add", "main", format!("key ••••{hint}")),
            ("endpoint.add", "main", "https://eu.example.com".into()),
            (
                "binding.create",
                "claude-b → main",
                "upstream model claude-b-upstream".into(),
            ),
            (
                "binding.update",
                "claude-b → main",
                "upstream model claude-b, disabled".into(),
            ),
            ("model.disable", "claude-b", String::new()),
            ("channel.disable", "main", String::new()),
            ("settings.billing", "site", "on".into()),
            ("settings.unpriced_models", "site", "free".into()),
            ("settings.overdraft_floor", "site", "$1.00".into()),
            ("binding.delete", "claude-b → main", String::new()),
        ];
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(a, t, d)| (a.to_string(), t.to_string(), d))
            .collect();
        assert_eq!(written, expected, "{}", t.label);
        // Each change bumped the catalog revision once, so every instance reloads.
        assert_eq!(
            audit::revision(db).await.unwrap(),
            revision + expected.len() as i64,
            "{}",
            t.label
        );
        // No key ever reaches the audit log.
        assert!(entries(db)
            .await
            .iter()
            .all(|e| !e.detail.contains("secret-key")));
    }
}

#[tokio::test]
async fn a_refused_change_writes_no_audit_entry() {
    for t in common::all().await {
        let db = &t.db;
        let cli = Admin::cli(db.clone());
        cli.create_model(&model("claude-a", true)).await.unwrap();
        let before = entries(db).await.len();
        assert!(cli.create_model(&model("claude-a", true)).await.is_err());
        assert!(cli.create_model(&model("", true)).await.is_err());
        assert!(cli.import_listed(&["no-such-model".into()]).await.is_err());
        assert!(cli.delete_channel(999).await.is_err());
        assert!(cli.adjust_balance(999, 1, "x").await.is_err());
        assert_eq!(entries(db).await.len(), before, "{}", t.label);
    }
}

#[tokio::test]
async fn admins_cannot_demote_or_disable_themselves() {
    for t in common::all().await {
        let db = &t.db;
        let me = admin_user(db, "admin@example.com").await;
        let other = admin_user(db, "other@example.com").await;
        let console = Admin::new(db.clone(), Actor::user(&me));
        assert!(console.set_user_role(me.id, Role::User).await.is_err());
        assert!(console.set_user_disabled(me.id, true).await.is_err());
        // Another administrator may.
        let demoted = console.set_user_role(other.id, Role::User).await.unwrap();
        assert_eq!(demoted.role, Role::User, "{}", t.label);
        let disabled = console.set_user_disabled(other.id, true).await.unwrap();
        assert!(disabled.is_disabled(), "{}", t.label);
        let me_now = users::get(db, me.id).await.unwrap().unwrap();
        assert_eq!(me_now.role, Role::Admin, "{}", t.label);
        assert!(!me_now.is_disabled(), "{}", t.label);
        // The CLI acts for nobody in particular: it may change anyone (but not the last admin).
        let cli = Admin::cli(db.clone());
        assert!(cli.set_user_role(me.id, Role::User).await.is_err());
        cli.set_user_disabled(other.id, false).await.unwrap();
    }
}

#[tokio::test]
async fn balance_adjustments_are_topups_when_positive_and_never_go_below_zero() {
    for t in common::all().await {
        let db = &t.db;
        let user = admin_user(db, "u@example.com").await;
        let cli = Admin::cli(db.clone());
        let added = cli
            .adjust_balance(user.id, 5_000_000_000, "welcome")
            .await
            .unwrap();
        assert_eq!(
            added,
            BalanceChange {
                amount: 5_000_000_000,
                balance: 5_000_000_000
            }
        );
        let taken = cli
            .adjust_balance(user.id, -2_000_000_000, "refund")
            .await
            .unwrap();
        assert_eq!(taken.balance, 3_000_000_000, "{}", t.label);
        assert!(cli
            .adjust_balance(user.id, -4_000_000_000, "too much")
            .await
            .is_err());
        let ledger = app::core::balances::ledger(db, user.id, 10).await.unwrap();
        let kinds: Vec<_> = ledger.iter().map(|l| l.kind.clone()).collect();
        assert_eq!(kinds, ["adjustment", "topup"], "{}", t.label);
        assert_eq!(
            last(&entries(db).await).3,
            "-$2.00 (refund); balance now $3.00",
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn tokens_are_not_created_for_disabled_users() {
    for t in common::all().await {
        let db = &t.db;
        let _first = admin_user(db, "root@example.com").await;
        let user = admin_user(db, "u@example.com").await;
        let cli = Admin::cli(db.clone());
        let created = cli.create_token(&user, "laptop", None).await.unwrap();
        assert!(created.secret.starts_with("rlm_"), "{}", t.label);
        assert!(!last(&entries(db).await).3.contains(&created.secret));
        let user = cli.set_user_disabled(user.id, true).await.unwrap();
        let err = cli.create_token(&user, "second", None).await.unwrap_err();
        assert!(err.public_message().contains("disabled"), "{}", t.label);
    }
}

#[tokio::test]
async fn an_import_creates_new_models_reprices_existing_ones_and_audits_once() {
    use app::core::price_file;
    let file = price_file::parse(
        r#"{
            "claude-a": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 4e-06, "output_cost_per_token": 1.5e-05},
            "claude-b": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06,
                "input_cost_per_token_above_200k_tokens": 2e-06, "output_cost_per_token_above_200k_tokens": 7.5e-06},
            "claude-b-20250101": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06,
                "input_cost_per_token_above_200k_tokens": 2e-06, "output_cost_per_token_above_200k_tokens": 7.5e-06}
        }"#,
    )
    .unwrap();
    for t in common::all().await {
        let db = &t.db;
        let cli = Admin::cli(db.clone());
        cli.create_model(&model("claude-a", false)).await.unwrap();
        let before = entries(db).await.len();
        let done = cli
            .import_prices(
                &file,
                &["claude-a".into(), "claude-b".into()],
                "a test file",
            )
            .await
            .unwrap();
        assert_eq!(done.created, ["claude-b"], "{}", t.label);
        assert_eq!(done.repriced, ["claude-a"], "{}", t.label);
        let a = models::find_by_public_id(db, "claude-a")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.prices, Some(file.find("claude-a").unwrap().prices));
        assert!(!a.enabled(), "an existing model keeps its state");
        let b = models::find_by_public_id(db, "claude-b")
            .await
            .unwrap()
            .unwrap();
        let long = b
            .long_context
            .expect("the file's long-context prices are imported");
        assert_eq!(
            (long.threshold, long.prices.input, long.prices.output),
            (200_000, 2_000_000, 7_500_000)
        );
        let log = entries(db).await;
        assert_eq!(log.len(), before + 1, "{}", t.label);
        assert!(log
            .iter()
            .any(|e| e.action == "model.import" && e.detail.contains("from a test file")));
        // Importing again changes nothing and writes nothing.
        let again = cli
            .import_prices(
                &file,
                &["claude-a".into(), "claude-b".into()],
                "a test file",
            )
            .await
            .unwrap();
        assert_eq!(again, Default::default());
        assert_eq!(entries(db).await.len(), before + 1);
        // An id the file lacks is refused before anything is written.
        assert!(cli
            .import_prices(
                &file,
                &["claude-b".into(), "claude-z".into()],
                "a test file"
            )
            .await
            .is_err());
    }
}

#[tokio::test]
async fn aliases_are_unique_across_models_and_never_a_models_id() {
    for t in common::all().await {
        let db = &t.db;
        let cli = Admin::cli(db.clone());
        let a = cli.create_model(&model("claude-a", true)).await.unwrap();
        let b = cli.create_model(&model("claude-b", true)).await.unwrap();
        let before = entries(db).await.len();
        let a = cli
            .set_aliases(a.id, &["claude-a-20250101".into(), "a".into(), "a".into()])
            .await
            .unwrap();
        assert_eq!(a.aliases, ["a", "claude-a-20250101"], "{}", t.label);
        assert_eq!(entries(db).await.len(), before + 1, "audited once");
        // Another model's alias, another model's id, its own id: refused, nothing changed.
        for (alias, why) in [
            ("a", "alias of another model"),
            ("claude-a", "id of another model"),
            ("claude-b", "own id"),
        ] {
            let e = cli.set_aliases(b.id, &[alias.into()]).await.unwrap_err();
            assert!(
                e.public_message().contains(why),
                "{alias}: {}",
                e.public_message()
            );
        }
        assert!(models::get(db, b.id).await.unwrap().aliases.is_empty());
        // A new model cannot take an alias as its id.
        assert!(cli.create_model(&model("a", true)).await.is_err());
        // Aliases go with their model.
        cli.delete_model(a.id).await.unwrap();
        let c = cli.create_model(&model("a", true)).await.unwrap();
        assert_eq!(c.public_id, "a", "{}", t.label);
    }
}
