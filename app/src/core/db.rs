//! The database handle: one pool over SQLite or PostgreSQL through sqlx's `Any` driver, so every store
//! function is written once and runs on both.

use crate::i18n::Msg;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::error::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    /// Reads the kind from a database URL, or says what is accepted.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbKind::Postgres)
        } else {
            Err(StoreError::Invalid(Msg::new("error-database-url-scheme")))
        }
    }
}

/// A pool connection a caller keeps (it goes back to the pool when dropped).
pub type Held = sqlx::pool::PoolConnection<sqlx::Any>;

/// A connected database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
}

impl Db {
    /// Connects to `url`. For SQLite the file (and its directory) is created when missing, and every
    /// connection runs in WAL mode with a busy timeout and foreign keys on, its temporary data
    /// (statement journals of multi-row inserts, sorts) in memory rather than in files it creates
    /// and deletes.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url)?;
        let (url, max) = match kind {
            DbKind::Sqlite => (prepare_sqlite_url(url)?, 8),
            DbKind::Postgres => (url.to_string(), 16),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                             PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Db { pool, kind })
    }

    /// Applies the pending migrations of this database's kind.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection of the pool, for a caller that keeps it between uses ([`Held`]).
    pub async fn acquire(&self) -> Result<Held, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Answers when the database does: used by `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: AnyRow = sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The row a query found, read by `read`; `missing()` when it found none (the usual tail of a
/// `fetch_optional` for one record by id).
pub fn found<T>(
    row: Option<sqlx::any::AnyRow>,
    read: impl FnOnce(&sqlx::any::AnyRow) -> Result<T, StoreError>,
    missing: impl FnOnce() -> StoreError,
) -> Result<T, StoreError> {
    match row {
        Some(row) => read(&row),
        None => Err(missing()),
    }
}

/// The placeholders of an `IN (…)` list of `n` values: `$1, $2, …`.
pub fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The placeholders of a multi-row `VALUES` list: `rows` groups of `cols`. SQLite gets positional
/// `?` (numbered names cost it a linear search per parameter, quadratic over a large statement),
/// PostgreSQL numbered `$n`.
pub fn values_placeholders(conn: &sqlx::AnyConnection, rows: usize, cols: usize) -> String {
    let sqlite = conn.backend_name() == "SQLite";
    let mut out = String::with_capacity(rows * cols * 6);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..cols {
            if col > 0 {
                out.push_str(", ");
            }
            if sqlite {
                out.push('?');
            } else {
                out.push_str(&format!("${}", row * cols + col + 1));
            }
        }
        out.push(')');
    }
    out
}

/// Splits `total` rows into statements of at most `max` rows: full ones, then the rest in powers of
/// two. Only a handful of statement texts ever occur, so each is prepared once and then reused from
/// the connection's statement cache, whatever the batch size.
pub fn row_chunks(total: usize, max: usize) -> Vec<usize> {
    let max = max.max(1);
    let mut sizes = vec![max; total / max];
    let mut rest = total % max;
    while rest > 0 {
        let size = 1 << rest.ilog2();
        sizes.push(size);
        rest -= size;
    }
    sizes
}

/// Makes sure the SQLite file can be created: adds `mode=rwc` and creates the parent directory.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Invalid(Msg::new("error-sqlite-needs-file")));
    }
    if let Some(parent) = Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Invalid(
                    Msg::new("error-cannot-create-db-dir")
                        .arg("path", parent.display())
                        .arg("error", e),
                )
            })?;
        }
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_string(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_string(),
    };
    // Validate the result the way the driver will read it.
    let full = format!("sqlite://{path}?{query}");
    sqlx::sqlite::SqliteConnectOptions::from_str(&full)?;
    Ok(full)
}

/// The current time in Unix milliseconds: the one clock every stored timestamp uses.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_into_few_statement_sizes() {
        assert_eq!(row_chunks(0, 64), Vec::<usize>::new());
        assert_eq!(row_chunks(1, 64), vec![1]);
        assert_eq!(row_chunks(64, 64), vec![64]);
        assert_eq!(row_chunks(200, 64), vec![64, 64, 64, 8]);
        assert_eq!(row_chunks(63, 64), vec![32, 16, 8, 4, 2, 1]);
        for total in 0..300 {
            let sizes = row_chunks(total, 64);
            assert_eq!(sizes.iter().sum::<usize>(), total);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= 64));
        }
    }

    #[test]
    fn kind_follows_the_url_scheme() {
        assert_eq!(
            DbKind::from_url("sqlite://data/realms.db").ok(),
            Some(DbKind::Sqlite)
        );
        assert_eq!(
            DbKind::from_url("postgres://u@h/db").ok(),
            Some(DbKind::Postgres)
        );
        assert_eq!(
            DbKind::from_url("postgresql://u@h/db").ok(),
            Some(DbKind::Postgres)
        );
        assert!(DbKind::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn sqlite_url_gets_create_mode_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/realms.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"), "{url}");
        assert!(path.parent().unwrap().is_dir());
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
    }
}
