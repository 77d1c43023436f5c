//! `realms channel`.

use anyhow::{anyhow, Context, Result};

use app::core::channels::{ChannelSettings, NewChannel};
use app::core::views;
use app::types::{ChannelKind, RequestFilter};

use super::{say, with_admin};
use crate::cli::ChannelCommand;
use crate::instance::Globals;

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
            with_admin(g, |ops, _| async move {
                let new = NewChannel {
                    settings: ChannelSettings {
                        name,
                        kind,
                        priority,
                        weight,
                    },
                    base_urls: &base_urls,
                    keys: &keys,
                };
                let channel = ops.create_channel(&cipher, new).await.map_err(say)?;
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
        ChannelCommand::Filter {
            name,
            drop_betas,
            drop_fields,
            preset,
            clear,
        } => {
            with_admin(g, |ops, db| async move {
                let channel = app::core::channels::find_by_name(&db, &name)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| anyhow!("No channel is named {name}."))?;
                let filter = if preset.is_some() {
                    Some(RequestFilter::anthropic_compatible())
                } else if clear {
                    Some(RequestFilter::default())
                } else if drop_betas.is_some() || drop_fields.is_some() {
                    Some(RequestFilter {
                        betas: drop_betas
                            .map(|b| RequestFilter::parse_list(&b))
                            .unwrap_or_else(|| channel.filter.betas.clone()),
                        fields: drop_fields
                            .map(|f| RequestFilter::parse_list(&f))
                            .unwrap_or_else(|| channel.filter.fields.clone()),
                    })
                } else {
                    None
                };
                let channel = match filter {
                    Some(f) => ops
                        .set_channel_filter(channel.id, &f)
                        .await
                        .map_err(|e| anyhow!(super::models::cli_field_message(e)))?,
                    None => channel,
                };
                let list = |l: &[String]| {
                    if l.is_empty() {
                        "none".to_string()
                    } else {
                        l.join(",")
                    }
                };
                println!(
                    "{} drops betas: {}; fields: {}.",
                    channel.name,
                    list(&channel.filter.betas),
                    list(&channel.filter.fields)
                );
                Ok(())
            })
            .await
        }
        ChannelCommand::List => {
            with_admin(g, |_, db| async move {
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
