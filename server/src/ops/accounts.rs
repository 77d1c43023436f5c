//! `realms user`, `realms token` and `realms balance`.

use anyhow::{anyhow, bail, Context, Result};
use std::io::BufRead;

use app::clients::ClientRule;
use app::core::balances;
use app::money::{format_balance, parse_balance};
use app::types::Role;

use super::{say, user_by_email, with_admin};
use crate::cli::{BalanceCommand, ClientsArgs, TokenCommand, UserCommand};
use crate::instance::Globals;

/// The rule the flags ask for, if they set one.
fn rule_of(args: &ClientsArgs) -> Result<Option<ClientRule>> {
    if args.any {
        return Ok(Some(ClientRule::default()));
    }
    if args.claude_code {
        return ClientRule::claude_code(args.min_version.as_deref())
            .map(Some)
            .map_err(|m| anyhow!(m));
    }
    Ok(None)
}

pub async fn user(g: &Globals, cmd: UserCommand) -> Result<()> {
    let (email, username, admin, password_stdin) = match cmd {
        UserCommand::Create {
            email,
            username,
            admin,
            password_stdin,
        } => (email, username, admin, password_stdin),
        UserCommand::Clients { email, rule } => {
            let rule = rule_of(&rule)?;
            return with_admin(g, |ops, db| async move {
                let owner = user_by_email(&db, &email).await?;
                if let Some(rule) = &rule {
                    ops.set_user_clients(owner.id, rule).await.map_err(say)?;
                }
                let now = app::core::users::clients(&db, owner.id)
                    .await
                    .map_err(say)?;
                println!("{}'s tokens accept {}.", owner.email, now.summary());
                Ok(())
            })
            .await;
        }
    };
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
    let (user, name, expires_in_days, clients) = match cmd {
        TokenCommand::Create {
            user,
            name,
            expires_in_days,
            claude_code,
            min_version,
        } => {
            let clients = claude_code
                .then(|| ClientRule::claude_code(min_version.as_deref()))
                .transpose()
                .map_err(|m| anyhow!(m))?;
            (user, name, expires_in_days, clients)
        }
        TokenCommand::Clients { user, name, rule } => {
            let rule = rule_of(&rule)?;
            return with_admin(g, |_, db| async move {
                let owner = user_by_email(&db, &user).await?;
                let now = app::core::db::now_ms();
                let named: Vec<_> = app::core::tokens::list_for_user(&db, owner.id)
                    .await
                    .map_err(say)?
                    .into_iter()
                    .filter(|t| t.name == name && t.status(now) == app::types::TokenStatus::Active)
                    .collect();
                if named.is_empty() {
                    bail!("{} has no active token named {name}.", owner.email);
                }
                for t in &named {
                    if let Some(rule) = &rule {
                        app::core::tokens::set_clients(&db, owner.id, t.id, rule)
                            .await
                            .map_err(say)?;
                    }
                }
                if rule.is_some() {
                    app::core::audit::bump(&db).await.map_err(say)?;
                }
                let shown = rule.unwrap_or_else(|| named[0].clients.clone());
                println!(
                    "{} token(s) named {name} of {} accept {}.",
                    named.len(),
                    owner.email,
                    shown.summary()
                );
                Ok(())
            })
            .await;
        }
    };
    with_admin(g, |ops, db| async move {
        let owner = user_by_email(&db, &user).await?;
        let created = ops
            .create_token(&owner, &name, expires_in_days)
            .await
            .map_err(say)?;
        if let Some(rule) = &clients {
            app::core::tokens::set_clients(&db, owner.id, created.token.id, rule)
                .await
                .map_err(say)?;
            app::core::audit::bump(&db).await.map_err(say)?;
        }
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
