//! What every command gets from the global flags — the database URL, the data directory and the
//! instance secret — and opening the database (connect, then bring the schema up to date).

use anyhow::{anyhow, Result};

use app::core::crypto::KeyCipher;
use app::core::db::Db;
use app::core::error::StoreError;
use app::core::secret::InstanceSecret;

use crate::cli::Cli;

pub struct Globals {
    pub database_url: String,
    pub data_dir: std::path::PathBuf,
    pub secret_key: Option<String>,
}

impl Globals {
    pub fn from_cli(cli: &Cli) -> Self {
        Globals {
            database_url: cli.database_url.clone(),
            data_dir: cli.data_dir.clone(),
            secret_key: cli.secret_key.clone(),
        }
    }

    /// The key cipher of the instance secret (the same one `realms serve` uses).
    pub fn cipher(&self) -> Result<KeyCipher> {
        let (secret, _) =
            InstanceSecret::load_or_create(self.secret_key.as_deref(), &self.data_dir)
                .map_err(|e| anyhow!(e.public_message()))?;
        Ok(KeyCipher::new(&secret))
    }
}

/// Connects and brings the schema up to date.
pub async fn open(database_url: &str) -> Result<Db> {
    let db = Db::connect(database_url)
        .await
        .map_err(|e| anyhow!(describe_connect(database_url, &e)))?;
    db.migrate()
        .await
        .map_err(|e| anyhow!("Could not apply database migrations: {e}."))?;
    Ok(db)
}

fn describe_connect(url: &str, e: &StoreError) -> String {
    match e {
        StoreError::Invalid(m) => m.to_string(),
        _ => format!("Could not open the database at {}: {e}.", redact_url(url)),
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://realms:s3cret@db:5432/realms"),
            "postgres://realms:***@db:5432/realms"
        );
        assert_eq!(
            redact_url("postgres://realms@db/realms"),
            "postgres://realms@db/realms"
        );
        assert_eq!(
            redact_url("sqlite://data/realms.db"),
            "sqlite://data/realms.db"
        );
    }
}
