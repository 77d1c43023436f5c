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
        ModelCommand::Aliases { id, set, clear } => {
            with_admin(g, |ops, db| async move {
                let model = models::find_by_public_id(&db, &id)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| anyhow!("No model has the id {id}."))?;
                let model = if clear || !set.is_empty() {
                    ops.set_aliases(model.id, &set)
                        .await
                        .map_err(|e| anyhow!(cli_field_message(e)))?
                } else {
                    model
                };
                if model.aliases.is_empty() {
                    println!("{} has no aliases.", model.public_id);
                } else {
                    println!("{}: {}", model.public_id, model.aliases.join(", "));
                }
                Ok(())
            })
            .await
        }
        ModelCommand::WebSearchPrice { id, usd, site } => {
            with_admin(g, |ops, db| async move {
                let model = models::find_by_public_id(&db, &id)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| anyhow!("No model has the id {id}."))?;
                let model = match (usd, site) {
                    (Some(raw), _) => {
                        let price = app::money::parse_price(&raw)
                            .map_err(|e| anyhow!(e.describe("--usd")))?;
                        ops.set_model_web_search_price(model.id, Some(price))
                            .await
                            .map_err(|e| anyhow!(cli_field_message(e)))?
                    }
                    (None, true) => ops
                        .set_model_web_search_price(model.id, None)
                        .await
                        .map_err(|e| anyhow!(cli_field_message(e)))?,
                    (None, false) => model,
                };
                match model.web_search_price {
                    Some(p) => println!(
                        "{}: {} per 1,000 web searches.",
                        model.public_id,
                        format_price(p)
                    ),
                    None => {
                        let site = app::core::settings::load(&db).await.map_err(say)?;
                        println!(
                            "{}: the site's price, {} per 1,000 web searches.",
                            model.public_id,
                            format_price(site.web_search_price)
                        );
                    }
                }
                Ok(())
            })
            .await
        }
        ModelCommand::LongContext {
            id,
            above,
            input_price,
            output_price,
            cache_write_price,
            cache_write_1h_price,
            cache_read_price,
            off,
        } => {
            let long = if off {
                None
            } else {
                models::parse_long_context(
                    &above.unwrap_or_default(),
                    &PriceInput {
                        input: input_price.unwrap_or_default(),
                        output: output_price.unwrap_or_default(),
                        cache_write_5m: cache_write_price.unwrap_or_default(),
                        cache_write_1h: cache_write_1h_price.unwrap_or_default(),
                        cache_read: cache_read_price.unwrap_or_default(),
                    },
                )
                .map_err(|e| anyhow!(cli_field_message(e)))?
            };
            with_admin(g, |ops, db| async move {
                let model = models::find_by_public_id(&db, &id)
                    .await
                    .map_err(say)?
                    .ok_or_else(|| anyhow!("No model has the id {id}."))?;
                let model = ops
                    .set_long_context(model.id, long.as_ref())
                    .await
                    .map_err(|e| anyhow!(cli_field_message(e)))?;
                println!(
                    "{}: {}.",
                    model.public_id,
                    app::core::admin::long_context_detail(model.long_context.as_ref())
                );
                Ok(())
            })
            .await
        }
        ModelCommand::ImportPrices {
            file,
            apply,
            only,
            new,
        } => import_prices(g, file, apply, only, new).await,
        ModelCommand::List => {
            with_admin(g, |_, db| async move {
                let list = views::models(&db, None).await.map_err(say)?;
                if list.is_empty() {
                    println!("No models yet. Create one with: realms model create --id ID --input-price 3 --output-price 15");
                    return Ok(());
                }
                println!("ID\tNAME\tSTATUS\tINPUT\tOUTPUT\tCACHE_WRITE_5M\tCACHE_WRITE_1H\tCACHE_READ\tCHANNELS\tALIASES");
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
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        m.public_id,
                        m.display_name,
                        if m.enabled { "enabled" } else { "disabled" },
                        price(|p| p.input),
                        price(|p| p.output),
                        price(|p| p.cache_write_5m),
                        price(|p| p.cache_write_1h),
                        price(|p| p.cache_read),
                        if channels.is_empty() { "-".to_string() } else { channels.join(",") },
                        if m.aliases.is_empty() { "-".to_string() } else { m.aliases.join(",") }
                    );
                }
                Ok(())
            })
            .await
        }
    }
}

/// `realms model import-prices`: the preview, then (with `--apply`) the import.
async fn import_prices(
    g: &Globals,
    file: Option<std::path::PathBuf>,
    apply: bool,
    only: Vec<String>,
    new: bool,
) -> Result<()> {
    use app::core::price_file::{self, Change};
    use app::core::price_list;
    let (parsed, from) = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow!("Cannot read {}: {e}", path.display()))?;
            let parsed = price_file::parse(&text).map_err(|e| anyhow!(e.to_string()))?;
            (parsed, format!("the price file {}", path.display()))
        }
        None => (
            price_list::snapshot().clone(),
            format!("the built-in price list dated {}", price_list::dated()),
        ),
    };
    for id in &only {
        if parsed.find(id).is_none() {
            return Err(anyhow!("{id} is not in {from}."));
        }
    }
    for (id, why) in &parsed.refused {
        println!("skipped	{id}	{why}");
    }
    with_admin(g, |ops, db| async move {
        let existing = models::list(&db)
            .await
            .map_err(say)?
            .into_iter()
            .map(|m| (m.public_id, (m.prices, m.long_context)))
            .collect();
        let mut chosen = Vec::new();
        let mut not_here = 0;
        let mut same = 0;
        for (e, change) in price_file::changes(&parsed, &existing) {
            let named = only.contains(&e.public_id);
            if !only.is_empty() && !named {
                continue;
            }
            let deprecated = e
                .deprecated_on
                .as_deref()
                .map(|d| format!(" (deprecated {d})"))
                .unwrap_or_default();
            match change {
                Change::Same => same += 1,
                Change::New if !named && !new => not_here += 1,
                Change::New => {
                    println!(
                        "new\t{}\t{}{deprecated}\t{}",
                        e.public_id,
                        e.display_name,
                        price_detail(Some(e.prices))
                    );
                    chosen.push(e.public_id.clone());
                }
                Change::Prices { before, .. } => {
                    println!(
                        "prices\t{}\t{}{deprecated}\tfrom: {}\tto: {}",
                        e.public_id,
                        e.display_name,
                        price_detail(Some(before)),
                        price_detail(Some(e.prices))
                    );
                    chosen.push(e.public_id.clone());
                }
            }
        }
        println!(
            "{} change(s) from {from}; {same} model(s) have these prices already{}.",
            chosen.len(),
            if not_here > 0 {
                format!("; {not_here} more model(s) of the file are not here (add --new, or name them with --only)")
            } else {
                String::new()
            }
        );
        if chosen.is_empty() {
            return Ok(());
        }
        if !apply {
            println!("Nothing was changed: run again with --apply to make these changes.");
            return Ok(());
        }
        let done = ops
            .import_prices(&parsed, &chosen, &from)
            .await
            .map_err(say)?;
        println!(
            "Created {} model(s) and repriced {}.",
            done.created.len(),
            done.repriced.len()
        );
        Ok(())
    })
    .await
}

/// Field errors name form fields; on the command line they should name flags.
pub(super) fn cli_field_message(e: StoreError) -> String {
    match e {
        StoreError::Field { field, message } => {
            let message = message.to_string();
            let flag = match field {
                "input_price" => "--input-price",
                "output_price" => "--output-price",
                "cache_write_5m_price" => "--cache-write-price",
                "cache_write_1h_price" => "--cache-write-1h-price",
                "cache_read_price" => "--cache-read-price",
                "public_id" => "--id",
                "threshold" => "--above",
                "aliases" => "--set",
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
