//! The store on real SQLite and PostgreSQL: accounts, tokens, settings, sessions, migrations.
#![cfg(feature = "ssr")]

mod common;

use app::core::db::now_ms;
use app::core::error::StoreError;
use app::core::sessions::DbSessionStore;
use app::core::tokens::{self, TokenRefusal};
use app::core::users::{self, LoginRefusal, NewUser};
use app::core::{settings, token_secret};
use app::types::{Role, TokenStatus};
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

fn new_user<'a>(email: &'a str, role: Option<Role>) -> NewUser<'a> {
    NewUser {
        email,
        username: None,
        password: "password123",
        role,
    }
}

#[tokio::test]
async fn first_account_is_admin_later_ones_are_users() {
    for t in common::all().await {
        let first = users::create(&t.db, new_user("Root@Example.com", None))
            .await
            .unwrap();
        assert_eq!(first.role, Role::Admin, "{}", t.label);
        assert_eq!(
            first.email, "root@example.com",
            "{}: emails are stored lower-cased",
            t.label
        );
        let second = users::create(&t.db, new_user("someone@example.com", None))
            .await
            .unwrap();
        assert_eq!(second.role, Role::User, "{}", t.label);
        let forced = users::create(&t.db, new_user("ops@example.com", Some(Role::Admin)))
            .await
            .unwrap();
        assert_eq!(forced.role, Role::Admin, "{}", t.label);
        assert_eq!(users::count(&t.db).await.unwrap(), 3);
    }
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    for t in common::all().await {
        users::create(&t.db, new_user("ann@example.com", None))
            .await
            .unwrap();
        let dup = users::create(&t.db, new_user("  ANN@example.COM ", None))
            .await
            .unwrap_err();
        assert!(
            matches!(dup, StoreError::Conflict(_)),
            "{}: {dup:?}",
            t.label
        );
        assert!(
            users::find_by_email(&t.db, "Ann@Example.com")
                .await
                .unwrap()
                .is_some(),
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_and_checked() {
    for t in common::all().await {
        let u = users::create(&t.db, new_user("ann@example.com", Some(Role::User)))
            .await
            .unwrap();
        let stored: String = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(u.id)
            .fetch_one(t.db.pool())
            .await
            .unwrap()
            .get("password_hash");
        assert!(stored.starts_with("$argon2id$"), "{}", t.label);
        assert!(!stored.contains("password123"));

        let ok = users::check_credentials(&t.db, "ANN@example.com", "password123")
            .await
            .unwrap();
        assert_eq!(ok.map(|u| u.id), Ok(u.id), "{}", t.label);
        let bad = users::check_credentials(&t.db, "ann@example.com", "password124")
            .await
            .unwrap();
        assert_eq!(bad.err(), Some(LoginRefusal::BadCredentials));
        let unknown = users::check_credentials(&t.db, "nobody@example.com", "password123")
            .await
            .unwrap();
        assert_eq!(unknown.err(), Some(LoginRefusal::BadCredentials));

        users::set_disabled(&t.db, u.id, true).await.unwrap();
        let disabled = users::check_credentials(&t.db, "ann@example.com", "password123")
            .await
            .unwrap();
        assert_eq!(disabled.err(), Some(LoginRefusal::Disabled), "{}", t.label);
        let short = users::create(
            &t.db,
            NewUser {
                email: "b@example.com",
                username: None,
                password: "short",
                role: None,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(short, StoreError::Invalid(_)));
    }
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_authenticate() {
    for t in common::all().await {
        let u = users::create(&t.db, new_user("ann@example.com", None))
            .await
            .unwrap();
        let created = tokens::create(&t.db, u.id, " laptop ", None).await.unwrap();
        assert!(created.secret.starts_with("rlm_"));
        assert_eq!(created.token.name, "laptop");
        assert_eq!(
            created.token.hint,
            &created.secret[created.secret.len() - 4..]
        );
        assert_eq!(created.token.status, TokenStatus::Active);

        // The value itself is nowhere in the table: only its SHA-256.
        let row = sqlx::query("SELECT token_hash, hint, name FROM tokens WHERE id = $1")
            .bind(created.token.id)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        let hash: String = row.get("token_hash");
        assert_eq!(hash, token_secret::hash(&created.secret), "{}", t.label);
        for col in ["token_hash", "hint", "name"] {
            let v: String = row.get(col);
            assert!(
                !v.contains(&created.secret[4..]),
                "{}: {col} holds the token",
                t.label
            );
        }

        let owner = tokens::authenticate(&t.db, &created.secret)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((owner.user_id, owner.token_id), (u.id, created.token.id));
        let wrong = format!("{}x", &created.secret[..created.secret.len() - 1]);
        assert_eq!(
            tokens::authenticate(&t.db, &wrong).await.unwrap(),
            Err(TokenRefusal::Unknown)
        );
        assert_eq!(
            tokens::authenticate(&t.db, "sk-ant-xyz").await.unwrap(),
            Err(TokenRefusal::Unknown)
        );

        tokens::touch(&t.db, created.token.id, 1234).await.unwrap();
        let listed = tokens::list_for_user(&t.db, u.id).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(1234), "{}", t.label);
    }
}

#[tokio::test]
async fn revoked_expired_and_disabled_tokens_are_refused() {
    for t in common::all().await {
        let ann = users::create(&t.db, new_user("ann@example.com", Some(Role::User)))
            .await
            .unwrap();
        let bob = users::create(&t.db, new_user("bob@example.com", None))
            .await
            .unwrap();
        let a = tokens::create(&t.db, ann.id, "a", Some(30)).await.unwrap();
        assert!(a
            .token
            .expires_at
            .is_some_and(|e| e > now_ms() + 29 * 86_400_000));

        // Bob cannot revoke Ann's token.
        let err = tokens::revoke(&t.db, bob.id, a.token.id).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{}", t.label);
        assert!(tokens::authenticate(&t.db, &a.secret)
            .await
            .unwrap()
            .is_ok());

        tokens::revoke(&t.db, ann.id, a.token.id).await.unwrap();
        tokens::revoke(&t.db, ann.id, a.token.id).await.unwrap();
        assert_eq!(
            tokens::authenticate(&t.db, &a.secret).await.unwrap(),
            Err(TokenRefusal::Revoked)
        );
        let listed = tokens::list_for_user(&t.db, ann.id).await.unwrap();
        assert_eq!(listed[0].status(now_ms()), TokenStatus::Revoked);

        let b = tokens::create(&t.db, ann.id, "b", None).await.unwrap();
        sqlx::query("UPDATE tokens SET expires_at = $1 WHERE id = $2")
            .bind(now_ms() - 1)
            .bind(b.token.id)
            .execute(t.db.pool())
            .await
            .unwrap();
        assert_eq!(
            tokens::authenticate(&t.db, &b.secret).await.unwrap(),
            Err(TokenRefusal::Expired)
        );

        let c = tokens::create(&t.db, ann.id, "c", None).await.unwrap();
        users::set_disabled(&t.db, ann.id, true).await.unwrap();
        assert_eq!(
            tokens::authenticate(&t.db, &c.secret).await.unwrap(),
            Err(TokenRefusal::UserDisabled)
        );

        // Lists are per user, newest first.
        let names: Vec<String> = tokens::list_for_user(&t.db, ann.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["c", "b", "a"], "{}", t.label);
        assert!(tokens::list_for_user(&t.db, bob.id)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn registration_setting_defaults_open_and_can_be_changed() {
    for t in common::all().await {
        assert!(
            settings::load(&t.db).await.unwrap().registration_open,
            "{}",
            t.label
        );
        settings::set_registration_open(&t.db, false).await.unwrap();
        assert!(
            !settings::load(&t.db).await.unwrap().registration_open,
            "{}",
            t.label
        );
        settings::set_registration_open(&t.db, true).await.unwrap();
        assert!(
            settings::load(&t.db).await.unwrap().registration_open,
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn sessions_are_stored_loaded_expired_and_deleted() {
    for t in common::all().await {
        let store = DbSessionStore::new(t.db.clone());
        let mut record = Record {
            id: Id::default(),
            data: [("user_id".to_string(), serde_json::json!(7))]
                .into_iter()
                .collect(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        let loaded = store
            .load(&record.id)
            .await
            .unwrap()
            .expect("session loads");
        assert_eq!(
            loaded.data.get("user_id"),
            Some(&serde_json::json!(7)),
            "{}",
            t.label
        );

        record.data.insert("x".into(), serde_json::json!("y"));
        store.save(&record).await.unwrap();
        assert_eq!(store.load(&record.id).await.unwrap().unwrap().data.len(), 2);

        // A second store (another instance on the same database) sees the same session.
        let other = DbSessionStore::new(t.db.clone());
        assert!(other.load(&record.id).await.unwrap().is_some());

        let mut old = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
        };
        store.create(&mut old).await.unwrap();
        assert!(
            store.load(&old.id).await.unwrap().is_none(),
            "{}: expired sessions do not load",
            t.label
        );
        assert_eq!(store.delete_expired().await.unwrap(), 1, "{}", t.label);

        store.delete(&record.id).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_health_check_answers() {
    for t in common::all().await {
        t.db.migrate().await.unwrap();
        t.db.ping().await.unwrap();
    }
}

#[tokio::test]
async fn of_simultaneous_first_registrations_only_one_becomes_admin() {
    for t in common::all().await {
        let emails: Vec<String> = (0..6).map(|i| format!("first{i}@example.com")).collect();
        let mut set = tokio::task::JoinSet::new();
        for email in emails {
            let db = t.db.clone();
            set.spawn(async move {
                users::create(
                    &db,
                    NewUser {
                        email: &email,
                        username: None,
                        password: "password123",
                        role: None,
                    },
                )
                .await
                .unwrap()
                .role
            });
        }
        let roles = set.join_all().await;
        let admins = roles.iter().filter(|r| **r == Role::Admin).count();
        assert_eq!(admins, 1, "{}: {roles:?}", t.label);
        // The slot is the database's: a second first administrator is refused there too.
        let second = sqlx::query("INSERT INTO first_admin (slot, user_id) VALUES (1, 999)")
            .execute(t.db.pool())
            .await;
        assert!(second.is_err(), "{}", t.label);
    }
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted_even_in_sql() {
    for t in common::all().await {
        let a = users::create(&t.db, new_user("a@example.com", None))
            .await
            .unwrap();
        let b = users::create(&t.db, new_user("b@example.com", Some(Role::Admin)))
            .await
            .unwrap();
        // Two admins: one may go.
        users::set_role(&t.db, b.id, Role::User).await.unwrap();
        let err = users::set_role(&t.db, a.id, Role::User).await.unwrap_err();
        assert!(
            err.public_message()
                .contains("at least one enabled administrator"),
            "{}: {err}",
            t.label
        );
        let err = users::set_disabled(&t.db, a.id, true).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{}: {err}", t.label);
        for sql in [
            "UPDATE users SET role = 'user' WHERE role = 'admin'",
            "UPDATE users SET disabled_at = 1 WHERE role = 'admin'",
            "DELETE FROM users WHERE role = 'admin'",
        ] {
            assert!(
                sqlx::query(sql).execute(t.db.pool()).await.is_err(),
                "{}: the database refuses {sql}",
                t.label
            );
        }
        let admins: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
        assert_eq!(admins, 1, "{}", t.label);
    }
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one() {
    // PostgreSQL runs writers side by side; SQLite has one writer at a time.
    let Some(t) = common::postgres().await else {
        return;
    };
    let a = users::create(&t.db, new_user("a@example.com", None))
        .await
        .unwrap();
    let b = users::create(&t.db, new_user("b@example.com", Some(Role::Admin)))
        .await
        .unwrap();
    let mut first = t.db.pool().begin().await.unwrap();
    sqlx::query("UPDATE users SET role = 'user' WHERE id = $1")
        .bind(a.id)
        .execute(&mut *first)
        .await
        .unwrap();
    let db = t.db.clone();
    let second = tokio::spawn(async move {
        sqlx::query("UPDATE users SET role = 'user' WHERE id = $1")
            .bind(b.id)
            .execute(db.pool())
            .await
    });
    // Wait until the second change waits for the first (bounded: without the guard it never does).
    for _ in 0..200 {
        let waiting: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
        if waiting > 0 || second.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    first.commit().await.unwrap();
    let second = second.await.unwrap();
    assert!(second.is_err(), "the second demotion is refused");
    let admins: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_one(t.db.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(admins, 1);
}
