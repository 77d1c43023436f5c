//! The ops commands run from a shell: each prints its result on stdout and returns an error sentence
//! for stderr when it fails.

use anyhow::{anyhow, bail, Context, Result};
use std::io::BufRead;

use app::core::db::Db;
use app::core::{tokens, users};
use app::model::Role;

use crate::cli::{TokenCommand, UserCommand};

/// Connects and brings the schema up to date (every command does this first).
pub async fn open(database_url: &str) -> Result<Db> {
    let db = Db::connect(database_url)
        .await
        .map_err(|e| anyhow!(describe_connect(database_url, &e)))?;
    db.migrate()
        .await
        .map_err(|e| anyhow!("Could not apply database migrations: {e}."))?;
    Ok(db)
}

fn describe_connect(url: &str, e: &app::core::error::StoreError) -> String {
    use app::core::error::StoreError;
    match e {
        StoreError::Invalid(m) => m.clone(),
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

pub async fn migrate(database_url: &str) -> Result<()> {
    let db = open(database_url).await?;
    db.close().await;
    println!("Migrations applied.");
    Ok(())
}

pub async fn user(database_url: &str, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            username,
            admin,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let db = open(database_url).await?;
            let role = if admin { Role::Admin } else { Role::User };
            let created = users::create(
                &db,
                users::NewUser {
                    email: &email,
                    username: username.as_deref(),
                    password: &password,
                    role: Some(role),
                },
            )
            .await
            .map_err(|e| anyhow!(e.public_message()));
            db.close().await;
            let user = created?;
            println!("Created user {} ({}).", user.email, user.role.as_str());
            Ok(())
        }
    }
}

pub async fn token(database_url: &str, cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create {
            user,
            name,
            expires_in_days,
        } => {
            let db = open(database_url).await?;
            let result = async {
                let owner = users::find_by_email(&db, &user)
                    .await
                    .map_err(|e| anyhow!(e.public_message()))?
                    .ok_or_else(|| anyhow!("No user has the email {}.", user.trim()))?;
                if owner.is_disabled() {
                    bail!(
                        "The user {} is disabled; enable the account before creating tokens.",
                        owner.email
                    );
                }
                tokens::create(&db, owner.id, &name, expires_in_days)
                    .await
                    .map(|t| (owner, t))
                    .map_err(|e| anyhow!(e.public_message()))
            }
            .await;
            db.close().await;
            let (owner, created) = result?;
            println!(
                "Created token \"{}\" for {}. It is shown once; store it now:",
                created.token.name, owner.email
            );
            println!("{}", created.secret);
            Ok(())
        }
    }
}

fn read_password(from_stdin: bool) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("Could not read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        std::env::var("REALMS_PASSWORD").map_err(|_| {
            anyhow!("Give the password in the REALMS_PASSWORD environment variable or on standard input with --password-stdin.")
        })?
    };
    if password.is_empty() {
        bail!("The password is empty.");
    }
    Ok(password)
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
