//! The usage log on SQLite and PostgreSQL: history outlives what it names, and any text a client
//! sends is stored in a form the database accepts.

mod common;

use app::core::channels::{self, ChannelSettings, NewChannel};
use app::core::crypto::KeyCipher;
use app::core::secret::InstanceSecret;
use app::core::usage_log::{self, Filter, TokenCounts, UsageEvent, MAX_MODEL_CHARS};
use app::core::users;
use app::types::ChannelKind;

fn event(request_id: &str, user_id: i64, model: &str) -> UsageEvent {
    UsageEvent {
        request_id: request_id.into(),
        created_at: app::core::db::now_ms(),
        user_id,
        api: "messages".into(),
        model: model.into(),
        status: 200,
        attempts: 1,
        tokens: TokenCounts {
            input: 3,
            output: 4,
            ..TokenCounts::default()
        },
        cost: 9,
        latency_ms: 5,
        ..UsageEvent::default()
    }
}

async fn dev_user(db: &app::core::db::Db) -> users::User {
    users::create(
        db,
        users::NewUser {
            email: "dev@example.com",
            username: None,
            password: "password123",
            role: None,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn events_of_deleted_channels_and_keys_are_stored_and_keep_their_ids() {
    for t in common::all().await {
        let cipher = KeyCipher::new(
            &InstanceSecret::from_value("0123456789abcdef0123456789abcdef").unwrap(),
        );
        let user = dev_user(&t.db).await;
        let channel = channels::create(
            &t.db,
            &cipher,
            NewChannel {
                settings: ChannelSettings {
                    name: "gone".into(),
                    kind: ChannelKind::Anthropic,
                    priority: 0,
                    weight: 1,
                },
                base_urls: &["https://api.anthropic.com".to_string()],
                keys: &["sk-ant-key-0001".to_string()],
            },
        )
        .await
        .unwrap();
        let credential = channels::credentials(&t.db, Some(channel.id))
            .await
            .unwrap()[0]
            .id;
        let before = UsageEvent {
            channel_id: Some(channel.id),
            credential_id: Some(credential),
            ..event("req_before", user.id, "claude-a")
        };
        usage_log::insert_batch(&t.db, &[before]).await.unwrap();
        channels::delete(&t.db, channel.id).await.unwrap();
        // The request that was running when its channel went away settles afterwards.
        let after = UsageEvent {
            channel_id: Some(channel.id),
            credential_id: Some(credential),
            ..event("req_after", user.id, "claude-a")
        };
        usage_log::insert_batch(&t.db, &[after])
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}: an event naming a deleted channel is stored: {e}",
                    t.label
                )
            });

        let stored = usage_log::recent(&t.db, Some(user.id), 10).await.unwrap();
        assert_eq!(stored.len(), 2, "{}", t.label);
        for e in &stored {
            assert_eq!(
                e.channel_id,
                Some(channel.id),
                "{}: the id is kept",
                t.label
            );
            assert_eq!(e.credential_id, Some(credential), "{}", t.label);
        }
        let filter = Filter {
            user_id: Some(user.id),
            from: 0,
            to: i64::MAX,
            ..Filter::default()
        };
        let (rows, total) = usage_log::list(&t.db, &filter, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", t.label);
        for r in &rows {
            assert_eq!(
                r.channel.as_deref(),
                Some(format!("deleted channel #{}", channel.id).as_str()),
                "{}",
                t.label
            );
        }
        let stats = usage_log::channel_stats(&t.db, &filter).await.unwrap();
        assert_eq!(
            stats.len(),
            1,
            "{}: a deleted channel keeps its statistics",
            t.label
        );
        assert_eq!(stats[0].requests, 2, "{}", t.label);
    }
}

#[tokio::test]
async fn any_model_text_is_stored_cleaned_and_capped() {
    for t in common::all().await {
        let user = dev_user(&t.db).await;
        let nul = UsageEvent {
            upstream_model: Some("up\u{0}stream".into()),
            resolved_model: None,
            error_class: Some("x\u{0}".repeat(100)),
            ..event("req_nul", user.id, "claude\u{0}\u{1b}[31m")
        };
        let long = event("req_long", user.id, &"m".repeat(1 << 20));
        let plain = event("req_plain", user.id, "claude-sonnet-5-5");
        usage_log::insert_batch(&t.db, &[nul, long, plain])
            .await
            .unwrap_or_else(|e| panic!("{}: odd text is stored: {e}", t.label));
        let stored = usage_log::recent(&t.db, Some(user.id), 10).await.unwrap();
        let by_id = |id: &str| stored.iter().find(|e| e.request_id == id).unwrap();
        assert_eq!(by_id("req_nul").model, "claude??[31m", "{}", t.label);
        assert_eq!(
            by_id("req_nul").upstream_model.as_deref(),
            Some("up?stream"),
            "{}",
            t.label
        );
        assert_eq!(by_id("req_nul").error_class.as_ref().unwrap().len(), 64);
        assert_eq!(
            by_id("req_long").model.len(),
            MAX_MODEL_CHARS,
            "{}",
            t.label
        );
        assert_eq!(by_id("req_plain").model, "claude-sonnet-5-5", "{}", t.label);
    }
}
