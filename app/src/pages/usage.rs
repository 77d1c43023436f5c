//! The usage log: filters (date range, model, token, status; administrators also a user), charts of
//! cost, tokens and requests per day by model and spend by token, the table with pages, and a CSV
//! export of everything the filters match. Filters are a plain GET form, so it all works without script.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::charts::{Bars, Stacked, StackedBars};
use super::layout::Console;
use crate::api::usage::get_usage;
use crate::i18n::{t, use_locale, Locale};
use crate::money::format_balance;
use crate::types::{
    format_count, format_day_in, format_time_in, parse_day, DailyPoint, UsagePage, UsageQuery,
};

#[component]
pub fn UsagePageView() -> impl IntoView {
    view! {
        <Console>
            <Usage/>
        </Console>
    }
}

fn query_from(map: &leptos_router::params::ParamsMap) -> UsageQuery {
    let get = |k: &str| map.get(k).unwrap_or_default();
    UsageQuery {
        from: get("from"),
        to: get("to"),
        model: get("model"),
        token: get("token"),
        status: get("status"),
        user: get("user"),
        page: get("page").parse().unwrap_or(1),
    }
}

/// The address of the usage log (or its CSV export) for `q`.
fn address(base: &str, q: &UsageQuery, page: Option<u32>) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("from", &q.from),
        ("to", &q.to),
        ("model", &q.model),
        ("token", &q.token),
        ("status", &q.status),
        ("user", &q.user),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", encode(v)));
        }
    }
    if let Some(p) = page {
        parts.push(format!("page={p}"));
    }
    if parts.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn stacked(locale: Locale, page: &UsagePage, value: fn(&DailyPoint) -> i64) -> Stacked {
    let (Some(from), Some(to)) = (parse_day(&page.from), parse_day(&page.to)) else {
        return Stacked {
            days: vec![],
            series: vec![],
        };
    };
    let days: Vec<i64> = (0..)
        .map(|i| from + i * 86_400_000)
        .take_while(|d| *d <= to)
        .take(400)
        .collect();
    let mut models: Vec<String> = page.daily.iter().map(|p| p.model.clone()).collect();
    models.sort();
    models.dedup();
    let series = models
        .into_iter()
        .map(|m| {
            let values = days
                .iter()
                .map(|d| {
                    page.daily
                        .iter()
                        .filter(|p| p.day == *d && p.model == m)
                        .map(value)
                        .sum()
                })
                .collect();
            (
                if m.is_empty() {
                    locale.t("usage-no-model")
                } else {
                    m
                },
                values,
            )
        })
        .collect();
    Stacked {
        days: days.into_iter().map(|d| format_day_in(locale, d)).collect(),
        series,
    }
}

#[component]
fn Usage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query_from(&query.read()));
    let page = Resource::new(move || q.get(), get_usage);
    view! {
        <h1>{t("nav-usage")}</h1>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                let q = q.get_untracked();
                match page.await {
                    Ok(p) => view! { <UsageBody p q/> }.into_any(),
                    Err(e) => view! {
                        <Filters q=q.clone() tokens=vec![] models=vec![] is_admin=false from=q.from.clone() to=q.to.clone()/>
                        <p class="form-error" role="alert">{e.say()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsageBody(p: UsagePage, q: UsageQuery) -> impl IntoView {
    let locale = use_locale();
    let cost = stacked(locale, &p, |d| d.cost);
    let tokens = stacked(locale, &p, |d| d.tokens);
    let requests = stacked(locale, &p, |d| d.requests);
    let by_token: Vec<(String, i64)> = p
        .by_token
        .iter()
        .map(|t| (t.token.clone(), t.cost))
        .collect();
    let pages = ((p.total + i64::from(p.per_page) - 1) / i64::from(p.per_page)).max(1);
    let export_q = UsageQuery {
        from: p.from.clone(),
        to: p.to.clone(),
        ..q.clone()
    };
    view! {
        <Filters q=q.clone() tokens=p.tokens.clone() models=p.models.clone() is_admin=p.is_admin from=p.from.clone() to=p.to.clone()/>
        <div class="charts">
            <StackedBars title=t("chart-cost") data=cost format=format_balance testid="chart-cost"/>
            <StackedBars title=t("chart-tokens") data=tokens format=format_count testid="chart-tokens"/>
            <StackedBars title=t("chart-requests") data=requests format=format_count testid="chart-requests"/>
            <Bars title=t("chart-spend-by-token") data=by_token format=format_balance testid="chart-tokens-spend"/>
        </div>
        {p.channels.clone().map(|stats| view! {
            <section class="card">
                <h2>{locale.t("nav-channels")}</h2>
                <table class="list" data-testid="channel-stats">
                    <thead><tr><th>{locale.t("col-channel")}</th><th>{locale.t("col-requests")}</th><th>{locale.t("col-errors")}</th><th>{locale.t("col-error-rate")}</th><th>{locale.t("col-avg-ttfb")}</th></tr></thead>
                    <tbody>
                        {stats.into_iter().map(|c| {
                            let rate = if c.requests > 0 { 100.0 * c.errors as f64 / c.requests as f64 } else { 0.0 };
                            view! {
                                <tr>
                                    <td>{c.channel}</td>
                                    <td>{format_count(c.requests)}</td>
                                    <td>{format_count(c.errors)}</td>
                                    <td>{format!("{rate:.1} %")}</td>
                                    <td>{c.avg_ttfb_ms.map(|t| locale.t_with("unit-ms", &[("n", format_count(t))])).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        <section class="card">
            <div class="table-head">
                <h2>{locale.t_with("usage-requests-total", &[("n", format_count(p.total))])}</h2>
                <a class="button" href=address("/usage.csv", &export_q, None) download="" data-testid="export-csv">{locale.t("usage-export-csv")}</a>
            </div>
            {if p.rows.is_empty() {
                view! { <p class="empty">{locale.t("usage-empty")}</p> }.into_any()
            } else {
                view! {
                    <table class="list usage" data-testid="usage-table">
                        <thead><tr>
                            <th>{locale.t("col-time")}</th>
                            {p.is_admin.then(|| view! { <th>{locale.t("col-user")}</th> })}
                            <th>{locale.t("col-token")}</th><th>{locale.t("col-api")}</th><th>{locale.t("col-model")}</th><th>{locale.t("col-status")}</th><th>{locale.t("price-input")}</th><th>{locale.t("price-output")}</th><th>{locale.t("col-cache-write")}</th><th>{locale.t("price-cache-read")}</th><th>{locale.t("col-cost")}</th><th>{locale.t("col-ttfb")}</th><th>{locale.t("col-latency")}</th>
                        </tr></thead>
                        <tbody>
                            {p.rows.iter().map(|r| view! {
                                <tr data-request=r.request_id.clone() class=if r.error.is_some() { "failed" } else { "" }>
                                    <td title=r.request_id.clone()>{format_time_in(locale, r.created_at)}</td>
                                    {p.is_admin.then(|| view! { <td>{r.user.clone()}</td> })}
                                    <td>{r.token.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td><code>{r.api.clone()}</code></td>
                                    <td>{r.model.clone()} {r.resolved_model.clone().map(|m| format!("→ {m}"))} {r.stream.then_some(" ⇢")}</td>
                                    <td>{r.status} {r.error.clone().map(|e| view! { <span class="muted">{format!(" {e}")}</span> })} {marks(locale, r)}</td>
                                    <td>{format_count(r.input_tokens)}</td>
                                    <td>{format_count(r.output_tokens)}</td>
                                    <td>{format_count(r.cache_write_5m_tokens + r.cache_write_1h_tokens)}</td>
                                    <td>{format_count(r.cache_read_tokens)}</td>
                                    <td>{format_balance(r.cost)}</td>
                                    <td>{r.ttfb_ms.map(|t| locale.t_with("unit-ms", &[("n", format_count(t))])).unwrap_or_else(|| "—".into())}</td>
                                    <td>{locale.t_with("unit-ms", &[("n", format_count(r.latency_ms))])}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <nav class="pager" aria-label=locale.t("usage-pages")>
                        {(p.page > 1).then(|| view! { <a href=address("/usage", &q, Some(p.page - 1))>{locale.t("usage-newer")}</a> })}
                        <span class="muted">{locale.t_with("usage-page-of", &[("page", p.page.to_string()), ("pages", pages.to_string())])}</span>
                        {(i64::from(p.page) < pages).then(|| view! { <a href=address("/usage", &q, Some(p.page + 1))>{locale.t("usage-older")}</a> })}
                    </nav>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Filters(
    q: UsageQuery,
    tokens: Vec<(i64, String)>,
    models: Vec<String>,
    is_admin: bool,
    from: String,
    to: String,
) -> impl IntoView {
    let status = q.status.clone();
    view! {
        <form method="get" action="/usage" class="filters card" data-testid="usage-filters">
            <div class="row">
                <label>{t("usage-from")} " " <input type="date" name="from" value=from/></label>
                <label>{t("usage-to")} " " <input type="date" name="to" value=to/></label>
                <label>{t("col-model")}
                    <select name="model">
                        <option value="">{t("usage-all-models")}</option>
                        {models.into_iter().map(|m| { let sel = m == q.model; let value = m.clone(); view! { <option value=value selected=sel>{m}</option> } }).collect_view()}
                    </select>
                </label>
                <label>{t("col-token")}
                    <select name="token">
                        <option value="">{t("usage-all-tokens")}</option>
                        {tokens.into_iter().map(|(id, name)| { let sel = id.to_string() == q.token; view! { <option value=id.to_string() selected=sel>{name}</option> } }).collect_view()}
                    </select>
                </label>
                <label>{t("col-status")}
                    <select name="status">
                        {[("", "usage-status-all"), ("ok", "usage-status-ok"), ("error", "usage-status-error")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=status == v>{t(l)}</option>
                        }).collect_view()}
                    </select>
                </label>
                {is_admin.then(|| view! {
                    <label>{t("col-user")} " " <input type="email" name="user" placeholder=t("usage-everyone") value=q.user.clone()/></label>
                })}
                <button type="submit" class="primary">{t("usage-apply")}</button>
            </div>
        </form>
    }
}

/// How the request was handled, beyond its tokens: a probe, thinking removed, web searches.
fn marks(locale: Locale, r: &crate::types::UsageRow) -> Option<impl IntoView> {
    let mut marks = Vec::new();
    if r.probe {
        marks.push(locale.t("usage-mark-probe"));
    }
    if r.thinking_stripped {
        marks.push(locale.t("usage-mark-thinking"));
    }
    if r.web_searches > 0 {
        marks.push(locale.t_with(
            "usage-mark-web-searches",
            &[("n", r.web_searches.to_string())],
        ));
    }
    (!marks.is_empty())
        .then(|| view! { <span class="badge" data-testid="usage-marks">{marks.join(" · ")}</span> })
}
