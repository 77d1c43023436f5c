//! `GET /usage.csv`: every request the usage filters match, as CSV, for the signed-in user (an
//! administrator: for everyone, or one user).

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use app::core::db::now_ms;
use app::core::state::{AppState, Viewer};
use app::core::usage_log;
use app::money::{format_usd, BALANCE_SCALE};
use app::types::{format_time, UsageQuery};

/// At most this many rows per export.
const MAX_ROWS: i64 = 100_000;

pub async fn usage_csv(
    State(state): State<AppState>,
    Query(query): Query<UsageQuery>,
    req: Request,
) -> Response {
    let Some(viewer) = req.extensions().get::<Viewer>().and_then(|v| v.0.clone()) else {
        return (StatusCode::UNAUTHORIZED, "Sign in to export your usage.").into_response();
    };
    let (filter, from, to) = match usage_log::filter_for(&state.db, &viewer, &query, now_ms()).await
    {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e.public_message()).into_response(),
    };
    let rows = match usage_log::list(&state.db, &filter, 0, MAX_ROWS).await {
        Ok((rows, _)) => rows,
        Err(e) => {
            tracing::error!(error = %e, "usage export failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, e.public_message()).into_response();
        }
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "request_id",
        "time_utc",
        "user",
        "token",
        "api",
        "model",
        "resolved_model",
        "channel",
        "status",
        "error",
        "stream",
        "input_tokens",
        "output_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
        "cost_usd",
        "ttfb_ms",
        "latency_ms",
        "estimated",
        "web_searches",
        "thinking_stripped",
        "probe",
    ];
    let mut result = out.write_record(header_row);
    for r in &rows {
        if result.is_err() {
            break;
        }
        result = out.write_record([
            r.request_id.clone(),
            format_time(r.created_at),
            text_cell(&r.user),
            text_cell(r.token.as_deref().unwrap_or_default()),
            text_cell(&r.api),
            text_cell(&r.model),
            text_cell(r.resolved_model.as_deref().unwrap_or_default()),
            text_cell(r.channel.as_deref().unwrap_or_default()),
            r.status.to_string(),
            text_cell(r.error.as_deref().unwrap_or_default()),
            r.stream.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cache_write_5m_tokens.to_string(),
            r.cache_write_1h_tokens.to_string(),
            r.cache_read_tokens.to_string(),
            format_usd(r.cost, BALANCE_SCALE),
            r.ttfb_ms.map(|t| t.to_string()).unwrap_or_default(),
            r.latency_ms.to_string(),
            r.estimated.to_string(),
            r.web_searches.to_string(),
            r.thinking_stripped.to_string(),
            r.probe.to_string(),
        ]);
    }
    let body = match (result, out.into_inner()) {
        (Ok(()), Ok(bytes)) => bytes,
        _ => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The export could not be written.",
            )
                .into_response()
        }
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"realms-usage-{from}-to-{to}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A text cell that a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return (a model name or token name anyone may choose) gets a leading `'`.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formula_like_text_is_neutralised() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text_cell(bad), format!("'{bad}"));
        }
        for fine in ["claude-sonnet-5-5", "dev@example.com", "a=b", ""] {
            assert_eq!(text_cell(fine), fine);
        }
    }
}
