//! The ops commands run from a shell, thin over the admin operations (`app::core::admin`): each
//! parses its flags, calls one operation as the CLI actor, prints its result on stdout, and returns
//! an error sentence for stderr when it fails.

mod accounts;
mod channels;
mod models;
mod usage;

use anyhow::{anyhow, Result};

use app::core::admin::Admin;
use app::core::db::Db;
use app::core::error::StoreError;
use app::core::users;

use crate::cli::Command;
use crate::instance::{open, Globals};

/// Runs one ops command (`serve` is not one).
pub async fn run(g: &Globals, command: Command) -> Result<()> {
    match command {
        Command::Serve(_) => Err(anyhow!("serve is not an ops command.")),
        Command::Migrate => {
            open(&g.database_url).await?.close().await;
            println!("Migrations applied.");
            Ok(())
        }
        Command::User(cmd) => accounts::user(g, cmd).await,
        Command::Token(cmd) => accounts::token(g, cmd).await,
        Command::Balance(cmd) => accounts::balance(g, cmd).await,
        Command::Channel(cmd) => channels::channel(g, cmd).await,
        Command::Model(cmd) => models::model(g, cmd).await,
        Command::Binding(cmd) => models::binding(g, cmd).await,
        Command::Usage(cmd) => usage::usage(g, cmd).await,
    }
}

/// A store error as one sentence for the terminal.
fn say(e: StoreError) -> anyhow::Error {
    anyhow!(e.public_message())
}

/// Runs `f` with the admin operations on an open database, closing it afterwards whatever happens.
async fn with_admin<T, F, Fut>(g: &Globals, f: F) -> Result<T>
where
    F: FnOnce(Admin, Db) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let db = open(&g.database_url).await?;
    let result = f(Admin::cli(db.clone()), db.clone()).await;
    db.close().await;
    result
}

async fn user_by_email(db: &Db, email: &str) -> Result<users::User> {
    users::find_by_email(db, email)
        .await
        .map_err(say)?
        .ok_or_else(|| anyhow!("No user has the email {}.", email.trim()))
}
