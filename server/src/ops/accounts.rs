//! `realms user`, `realms token` and `realms balance`.

use anyhow::{anyhow, bail, Context, Result};
use std::io::BufRead;

use app::core::balances;
use app::money::{format_balance, parse_balance};
use app::types::Role;

use super::{say, user_by_email, with_admin};
use crate::cli::{BalanceCommand, TokenCommand, UserCommand};
use crate::instance::Globals;

pub async fn user(g: &Globals, cmd: UserCommand) -> Result<()> {
    let UserCommand::Create {
        email,
        username,
        admin,
        password_stdin,
    } = cmd;
    let password = read_password(password_stdin)?;
    let role = if admin { Role::Admin } else { Role::User };
    with_admin(g, |ops, _| async move {
        let user = ops
            .create_user(&email, username.as_deref(), &password, role)
            .await
            .map_err(say)?;
        println!("Created user {} ({}).", user.email, user.role.as_str());
        Ok(())
    })
    .await
}

pub async fn token(g: &Globals, cmd: TokenCommand) -> Result<()> {
    let TokenCommand::Create {
        user,
        name,
        expires_in_days,
    } = cmd;
    with_admin(g, |ops, db| async move {
        let owner = user_by_email(&db, &user).await?;
        let created = ops
            .create_token(&owner, &name, expires_in_days)
            .await
            .map_err(say)?;
        println!(
            "Created token \"{}\" for {}. It is shown once; store it now:",
            created.token.name, owner.email
        );
        println!("{}", created.secret);
        Ok(())
    })
    .await
}

pub async fn balance(g: &Globals, cmd: BalanceCommand) -> Result<()> {
    match cmd {
        BalanceCommand::Add { user, usd, reason } => {
            let amount =
                parse_balance(&usd).map_err(|e| anyhow!(e.describe("The amount (--usd)")))?;
            with_admin(g, |ops, db| async move {
                let owner = user_by_email(&db, &user).await?;
                let change = ops
                    .adjust_balance(owner.id, amount, reason.as_deref().unwrap_or_default())
                    .await
                    .map_err(say)?;
                println!(
                    "Added {} to {}. Balance: {}.",
                    format_balance(change.amount),
                    owner.email,
                    format_balance(change.balance)
                );
                Ok(())
            })
            .await
        }
        BalanceCommand::Show { user } => {
            with_admin(g, |_, db| async move {
                let owner = user_by_email(&db, &user).await?;
                let balance = balances::balance(&db, owner.id).await.map_err(say)?;
                println!("{}", format_balance(balance));
                Ok(())
            })
            .await
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
