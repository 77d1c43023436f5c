//! The ops commands run from a shell: each prints its result on stdout and returns an error sentence
//! for stderr when it fails.

use anyhow::{anyhow, bail, Context, Result};
use std::io::BufRead;

use app::core::audit::{self, Actor};
use app::core::crypto::KeyCipher;
use app::core::db::Db;
use app::core::error::StoreError;
use app::core::models::{parse_prices, ModelInput, PriceInput};
use app::core::secret::InstanceSecret;
use app::core::{balances, bindings, channels, models, tokens, users, views};
use app::model::{ChannelKind, Role};
use app::money::{format_balance, format_price, parse_balance};

use crate::cli::{
    BalanceCommand, BindingCommand, ChannelCommand, Cli, ModelCommand, TokenCommand, UsageCommand,
    UserCommand,
};

/// What every ops command gets from the global flags.
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
    fn cipher(&self) -> Result<KeyCipher> {
        let (secret, _) =
            InstanceSecret::load_or_create(self.secret_key.as_deref(), &self.data_dir)
                .map_err(|e| anyhow!(e.public_message()))?;
        Ok(KeyCipher::new(&secret))
    }
}

/// A store error as one sentence for the terminal.
fn say(e: StoreError) -> anyhow::Error {
    anyhow!(e.public_message())
}

/// Runs `f` on an open database, closing it afterwards whatever happens.
async fn with_db<T, F, Fut>(database_url: &str, f: F) -> Result<T>
where
    F: FnOnce(Db) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let db = open(database_url).await?;
    let result = f(db.clone()).await;
    db.close().await;
    result
}

async fn user_by_email(db: &Db, email: &str) -> Result<users::User> {
    users::find_by_email(db, email)
        .await
        .map_err(say)?
        .ok_or_else(|| anyhow!("No user has the email {}.", email.trim()))
}

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

pub async fn channel(g: &Globals, cmd: ChannelCommand) -> Result<()> {
    match cmd {
        ChannelCommand::Create {
            name,
            kind,
            base_urls,
            mut keys,
            key_stdin,
            key_env,
            priority,
            weight,
        } => {
            keys.extend(key_env.filter(|k| !k.trim().is_empty()));
            if key_stdin {
                for line in std::io::stdin().lines() {
                    let line = line.context("Could not read keys from standard input")?;
                    if !line.trim().is_empty() {
                        keys.push(line.trim().to_string());
                    }
                }
            }
            if keys.is_empty() {
                return Err(anyhow!(
                    "Give the channel an API key: --key-stdin (one per line), REALMS_CHANNEL_KEY, or --key."
                ));
            }
            let cipher = g.cipher()?;
            let kind = ChannelKind::parse(&kind)
                .ok_or_else(|| anyhow!("The channel type must be anthropic or openai."))?;
            with_db(&g.database_url, |db| async move {
                let channel = channels::create(
                    &db,
                    &cipher,
                    channels::NewChannel {
                        settings: channels::ChannelSettings {
                            name,
                            kind,
                            priority,
                            weight,
                        },
                        base_urls: &base_urls,
                        keys: &keys,
                    },
                )
                .await
                .map_err(say)?;
                audit::record(
                    &db,
                    &Actor::cli(),
                    "channel.create",
                    &channel.name,
                    &format!(
                        "type {}, priority {}, weight {}",
                        kind.as_str(),
                        priority,
                        weight
                    ),
                )
                .await
                .map_err(say)?;
                println!(
                    "Created channel {} (id {}, {}).",
                    channel.name,
                    channel.id,
                    kind.as_str()
                );
                Ok(())
            })
            .await
        }
        ChannelCommand::List => {
            with_db(&g.database_url, |db| async move {
                let list = views::channels(&db, None).await.map_err(say)?;
                if list.is_empty() {
                    println!("No channels yet. Create one with: realms channel create --name N --type anthropic --base-url URL --key KEY");
                    return Ok(());
                }
                println!("ID\tNAME\tTYPE\tPRIORITY\tWEIGHT\tSTATUS\tENDPOINTS\tKEYS\tMODELS");
                for c in list {
                    let endpoints: Vec<_> = c.endpoints.iter().map(|e| e.base_url.as_str()).collect();
                    let keys: Vec<_> = c
                        .credentials
                        .iter()
                        .map(|k| {
                            if k.enabled {
                                format!("…{}", k.hint)
                            } else {
                                format!("…{} (disabled)", k.hint)
                            }
                        })
                        .collect();
                    let models: Vec<_> = c.bindings.iter().map(|b| b.model_public_id.as_str()).collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.name,
                        c.kind.as_str(),
                        c.priority,
                        c.weight,
                        if c.enabled { "enabled" } else { "disabled" },
                        endpoints.join(","),
                        keys.join(","),
                        if models.is_empty() { "-".to_string() } else { models.join(",") }
                    );
                }
                Ok(())
            })
            .await
        }
    }
}

pub async fn model(g: &Globals, cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Create {
            id,
            name,
            input_price,
            output_price,
            cache_write_price,
            cache_write_1h_price,
            cache_read_price,
            disabled,
        } => {
            let prices = parse_prices(&PriceInput {
                input: input_price.unwrap_or_default(),
                output: output_price.unwrap_or_default(),
                cache_write_5m: cache_write_price.unwrap_or_default(),
                cache_write_1h: cache_write_1h_price.unwrap_or_default(),
                cache_read: cache_read_price.unwrap_or_default(),
            })
            .map_err(|e| anyhow!(cli_field_message(e)))?;
            with_db(&g.database_url, |db| async move {
                let model = models::create(
                    &db,
                    &ModelInput {
                        public_id: id,
                        display_name: name,
                        prices,
                        enabled: !disabled,
                    },
                )
                .await
                .map_err(|e| anyhow!(cli_field_message(e)))?;
                audit::record(&db, &Actor::cli(), "model.create", &model.public_id, &price_summary(model.prices))
                    .await
                    .map_err(say)?;
                println!(
                    "Created model {} ({}; {}).",
                    model.public_id,
                    if model.enabled() { "enabled" } else { "disabled" },
                    price_summary(model.prices)
                );
                Ok(())
            })
            .await
        }
        ModelCommand::List => {
            with_db(&g.database_url, |db| async move {
                let list = views::models(&db, None).await.map_err(say)?;
                if list.is_empty() {
                    println!("No models yet. Create one with: realms model create --id ID --input-price 3 --output-price 15");
                    return Ok(());
                }
                println!("ID\tNAME\tSTATUS\tINPUT\tOUTPUT\tCACHE_WRITE_5M\tCACHE_WRITE_1H\tCACHE_READ\tCHANNELS");
                for m in list {
                    let price = |f: fn(&app::money::Prices) -> i64| {
                        m.prices.as_ref().map(|p| format_price(f(p))).unwrap_or_else(|| "-".into())
                    };
                    let channels: Vec<_> = m
                        .bindings
                        .iter()
                        .map(|b| {
                            if b.upstream_model == m.public_id {
                                b.channel_name.clone()
                            } else {
                                format!("{} (as {})", b.channel_name, b.upstream_model)
                            }
                        })
                        .collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        m.public_id,
                        m.display_name,
                        if m.enabled { "enabled" } else { "disabled" },
                        price(|p| p.input),
                        price(|p| p.output),
                        price(|p| p.cache_write_5m),
                        price(|p| p.cache_write_1h),
                        price(|p| p.cache_read),
                        if channels.is_empty() { "-".to_string() } else { channels.join(",") }
                    );
                }
                Ok(())
            })
            .await
        }
    }
}

/// Field errors name form fields; on the command line they should name flags.
fn cli_field_message(e: StoreError) -> String {
    match e {
        StoreError::Field { field, message } => {
            let flag = match field {
                "input_price" => "--input-price",
                "output_price" => "--output-price",
                "cache_write_5m_price" => "--cache-write-price",
                "cache_write_1h_price" => "--cache-write-1h-price",
                "cache_read_price" => "--cache-read-price",
                "public_id" => "--id",
                "display_name" => "--name",
                _ => return message,
            };
            format!("{} ({flag})", message.trim_end_matches('.')) + "."
        }
        other => other.public_message(),
    }
}

fn price_summary(prices: Option<app::money::Prices>) -> String {
    match prices {
        None => "no prices".into(),
        Some(p) => format!(
            "per million tokens: input {}, output {}, cache write 5m {}, cache write 1h {}, cache read {}",
            format_price(p.input),
            format_price(p.output),
            format_price(p.cache_write_5m),
            format_price(p.cache_write_1h),
            format_price(p.cache_read)
        ),
    }
}

pub async fn binding(g: &Globals, cmd: BindingCommand) -> Result<()> {
    match cmd {
        BindingCommand::Create {
            model,
            channel,
            upstream_model,
        } => {
            with_db(&g.database_url, |db| async move {
                let m = models::find_by_public_id(&db, &model)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| {
                        anyhow!(
                            "No model has the id {}; create it with realms model create.",
                            model.trim()
                        )
                    })?;
                let c = channels::find_by_name(&db, &channel)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| {
                        anyhow!(
                            "No channel is named {}; see realms channel list.",
                            channel.trim()
                        )
                    })?;
                let b = bindings::create(&db, m.id, c.id, upstream_model.as_deref())
                    .await
                    .map_err(say)?;
                audit::record(
                    &db,
                    &Actor::cli(),
                    "binding.create",
                    &format!("{} → {}", b.model_public_id, b.channel_name),
                    &format!("upstream model {}", b.upstream_model),
                )
                .await
                .map_err(say)?;
                println!(
                    "Bound {} to channel {} (sent upstream as {}).",
                    b.model_public_id, b.channel_name, b.upstream_model
                );
                Ok(())
            })
            .await
        }
    }
}

pub async fn balance(g: &Globals, cmd: BalanceCommand) -> Result<()> {
    match cmd {
        BalanceCommand::Add { user, usd, reason } => {
            let amount =
                parse_balance(&usd).map_err(|e| anyhow!(e.describe("The amount (--usd)")))?;
            with_db(&g.database_url, |db| async move {
                let owner = user_by_email(&db, &user).await?;
                let kind = if amount > 0 {
                    balances::AdjustmentKind::Topup
                } else {
                    balances::AdjustmentKind::Adjustment
                };
                let reason = reason.unwrap_or_default();
                let balance = balances::adjust(&db, owner.id, amount, kind, &reason, None)
                    .await
                    .map_err(say)?;
                audit::record(
                    &db,
                    &Actor::cli(),
                    "balance.adjust",
                    &owner.email,
                    &format!(
                        "{} ({}); balance now {}",
                        format_balance(amount),
                        reason.trim(),
                        format_balance(balance)
                    ),
                )
                .await
                .map_err(say)?;
                println!(
                    "Added {} to {}. Balance: {}.",
                    format_balance(amount),
                    owner.email,
                    format_balance(balance)
                );
                Ok(())
            })
            .await
        }
        BalanceCommand::Show { user } => {
            with_db(&g.database_url, |db| async move {
                let owner = user_by_email(&db, &user).await?;
                let balance = balances::balance(&db, owner.id).await.map_err(say)?;
                println!("{}", format_balance(balance));
                Ok(())
            })
            .await
        }
    }
}

pub async fn usage(g: &Globals, cmd: UsageCommand) -> Result<()> {
    let UsageCommand::List { user, limit, json } = cmd;
    with_db(&g.database_url, |db| async move {
        let user_id = match &user {
            Some(email) => Some(user_by_email(&db, email).await?.id),
            None => None,
        };
        let filter = app::core::usage::Filter {
            user_id,
            from: 0,
            to: i64::MAX,
            ..Default::default()
        };
        let (rows, _) = app::core::usage::list(&db, &filter, 0, i64::from(limit))
            .await
            .map_err(say)?;
        if json {
            for r in &rows {
                println!("{}", usage_json(r)?);
            }
        } else if rows.is_empty() {
            println!("No requests yet.");
        } else {
            println!("TIME\tUSER\tTOKEN\tMODEL\tCHANNEL\tSTATUS\tIN\tOUT\tCOST\tERROR");
            for r in &rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    app::model::format_time(r.created_at),
                    r.user,
                    r.token.as_deref().unwrap_or("-"),
                    r.model,
                    r.channel.as_deref().unwrap_or("-"),
                    r.status,
                    r.input_tokens,
                    r.output_tokens,
                    format_balance(r.cost),
                    r.error.as_deref().unwrap_or("-")
                );
            }
        }
        Ok(())
    })
    .await
}

/// One usage row as a JSON object; `cost_usd` is an exact decimal number.
fn usage_json(r: &app::model::UsageRow) -> Result<String> {
    let cost = app::money::format_usd(r.cost, app::money::BALANCE_SCALE);
    let cost = serde_json::value::RawValue::from_string(cost)?;
    let created_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(r.created_at) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
    #[derive(serde::Serialize)]
    struct Line<'a> {
        request_id: &'a str,
        created_at: String,
        user: &'a str,
        token: Option<&'a str>,
        endpoint: &'a str,
        model: &'a str,
        channel: Option<&'a str>,
        status: u16,
        stream: bool,
        input_tokens: i64,
        output_tokens: i64,
        cache_write_5m_tokens: i64,
        cache_write_1h_tokens: i64,
        cache_read_tokens: i64,
        cost_usd: &'a serde_json::value::RawValue,
        ttfb_ms: Option<i64>,
        latency_ms: i64,
        error: Option<&'a str>,
        /// The output tokens were estimated by Realms (a stream cut off before the upstream's count).
        estimated: bool,
    }
    let value = Line {
        request_id: &r.request_id,
        created_at,
        user: &r.user,
        token: r.token.as_deref(),
        endpoint: &r.endpoint,
        model: &r.model,
        channel: r.channel.as_deref(),
        status: r.status,
        stream: r.stream,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cache_write_5m_tokens: r.cache_write_5m_tokens,
        cache_write_1h_tokens: r.cache_write_1h_tokens,
        cache_read_tokens: r.cache_read_tokens,
        cost_usd: &cost,
        ttfb_ms: r.ttfb_ms,
        latency_ms: r.latency_ms,
        error: r.error.as_deref(),
        estimated: r.estimated,
    };
    Ok(serde_json::to_string(&value)?)
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
