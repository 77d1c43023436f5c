//! `realms channel`.

use anyhow::{anyhow, Context, Result};

use app::core::channels::{ChannelSettings, NewChannel};
use app::core::views;
use app::types::ChannelKind;

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
