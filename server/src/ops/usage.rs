//! `realms usage`.

use anyhow::Result;

use app::money::format_balance;

use super::{say, user_by_email, with_admin};
use crate::cli::UsageCommand;
use crate::instance::Globals;

pub async fn usage(g: &Globals, cmd: UsageCommand) -> Result<()> {
    let UsageCommand::List { user, limit, json } = cmd;
    with_admin(g, |_, db| async move {
        let user_id = match &user {
            Some(email) => Some(user_by_email(&db, email).await?.id),
            None => None,
        };
        let filter = app::core::usage_log::Filter {
            user_id,
            from: 0,
            to: i64::MAX,
            ..Default::default()
        };
        let (rows, _) = app::core::usage_log::list(&db, &filter, 0, i64::from(limit))
            .await
            .map_err(say)?;
        if json {
            for r in &rows {
                println!("{}", usage_json(r)?);
            }
        } else if rows.is_empty() {
            println!("No requests yet.");
        } else {
            println!("TIME\tUSER\tTOKEN\tAPI\tMODEL\tCHANNEL\tSTATUS\tIN\tOUT\tCOST\tERROR");
            for r in &rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    app::types::format_time(r.created_at),
                    r.user,
                    r.token.as_deref().unwrap_or("-"),
                    r.api,
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
fn usage_json(r: &app::types::UsageRow) -> Result<String> {
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
        api: &'a str,
        model: &'a str,
        resolved_model: Option<&'a str>,
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
        web_searches: i64,
        thinking_stripped: bool,
        probe: bool,
    }
    let value = Line {
        request_id: &r.request_id,
        created_at,
        user: &r.user,
        token: r.token.as_deref(),
        api: &r.api,
        model: &r.model,
        resolved_model: r.resolved_model.as_deref(),
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
        web_searches: r.web_searches,
        thinking_stripped: r.thinking_stripped,
        probe: r.probe,
    };
    Ok(serde_json::to_string(&value)?)
}
