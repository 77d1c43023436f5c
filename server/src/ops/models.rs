//! `realms model` and `realms binding`.

use anyhow::{anyhow, Result};

use app::core::admin::price_detail;
use app::core::error::StoreError;
use app::core::models::{self, parse_prices, ModelInput, PriceInput};
use app::core::{channels, views};
use app::money::format_price;

use super::{say, with_admin};
use crate::cli::{BindingCommand, ModelCommand};
use crate::instance::Globals;

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
            with_admin(g, |ops, _| async move {
                let input = ModelInput {
                    public_id: id,
                    display_name: name,
                    prices,
                    enabled: !disabled,
                };
                let model = ops
                    .create_model(&input)
                    .await
                    .map_err(|e| anyhow!(cli_field_message(e)))?;
                println!(
                    "Created model {} ({}; {}).",
                    model.public_id,
                    if model.enabled() { "enabled" } else { "disabled" },
                    price_detail(model.prices)
                );
                Ok(())
            })
            .await
        }
        ModelCommand::List => {
            with_admin(g, |_, db| async move {
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

pub async fn binding(g: &Globals, cmd: BindingCommand) -> Result<()> {
    let BindingCommand::Create {
        model,
        channel,
        upstream_model,
    } = cmd;
    with_admin(g, |ops, db| async move {
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
        let b = ops
            .create_binding(m.id, c.id, upstream_model.as_deref())
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
