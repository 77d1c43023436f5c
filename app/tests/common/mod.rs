//! Databases for store tests: a fresh SQLite file, and a fresh PostgreSQL database when
//! `REALMS_TEST_POSTGRES_URL` points at a server (the README test command always sets it).

use app::core::db::Db;
use sqlx::Executor;

pub struct TestDb {
    pub label: &'static str,
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/realms.db", dir.path().display());
    let db = Db::connect(&url).await.expect("sqlite connects");
    db.migrate().await.expect("sqlite migrates");
    TestDb {
        label: "sqlite",
        db,
        _dir: Some(dir),
    }
}

/// A new, empty PostgreSQL database (created through the admin URL), or None when no server is
/// configured. With `CI` set, a missing server is an error rather than a skip.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("REALMS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "REALMS_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!("REALMS_TEST_POSTGRES_URL is not set: PostgreSQL store tests skipped");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("realms_test_{}", hex_id());
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("postgres admin connects");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .expect("url has a database part");
    let db = Db::connect(&format!("{base}/{name}"))
        .await
        .expect("postgres connects");
    db.migrate().await.expect("postgres migrates");
    Some(TestDb {
        label: "postgres",
        db,
        _dir: None,
    })
}

/// Both databases (PostgreSQL when configured).
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

fn hex_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", nanos, std::process::id())
}
