//! The usage log: filters (date range, model, token, status; administrators also a user), charts of
//! cost, tokens and requests per day by model and spend by token, the table with pages, and a CSV
//! export of everything the filters match. Filters are a plain GET form, so it all works without script.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::charts::{Bars, Stacked, StackedBars};
use super::layout::Console;
use crate::api::usage::get_usage;
use crate::money::format_balance;
use crate::types::{format_day, format_time, parse_day, DailyPoint, UsagePage, UsageQuery};

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

fn stacked(page: &UsagePage, value: fn(&DailyPoint) -> i64) -> Stacked {
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
                    "(no model)".to_string()
                } else {
                    m
                },
                values,
            )
        })
        .collect();
    Stacked {
        days: days.into_iter().map(format_day).collect(),
        series,
    }
}

fn count(v: i64) -> String {
    v.to_string()
}

#[component]
fn Usage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query_from(&query.read()));
    let page = Resource::new(move || q.get(), get_usage);
    view! {
        <h1>"Usage"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                let q = q.get_untracked();
                match page.await {
                    Ok(p) => view! { <UsageBody p q/> }.into_any(),
                    Err(e) => view! {
                        <Filters q=q.clone() tokens=vec![] models=vec![] is_admin=false from=q.from.clone() to=q.to.clone()/>
                        <p class="form-error" role="alert">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsageBody(p: UsagePage, q: UsageQuery) -> impl IntoView {
    let cost = stacked(&p, |d| d.cost);
    let tokens = stacked(&p, |d| d.tokens);
    let requests = stacked(&p, |d| d.requests);
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
            <StackedBars title="Cost per day, by model" data=cost format=format_balance testid="chart-cost"/>
            <StackedBars title="Tokens per day, by model" data=tokens format=count testid="chart-tokens"/>
            <StackedBars title="Requests per day, by model" data=requests format=count testid="chart-requests"/>
            <Bars title="Spend by token" data=by_token format=format_balance testid="chart-tokens-spend"/>
        </div>
        {p.channels.clone().map(|stats| view! {
            <section class="card">
                <h2>"Channels"</h2>
                <table class="list" data-testid="channel-stats">
                    <thead><tr><th>"Channel"</th><th>"Requests"</th><th>"Errors"</th><th>"Error rate"</th><th>"Average TTFB"</th></tr></thead>
                    <tbody>
                        {stats.into_iter().map(|c| {
                            let rate = if c.requests > 0 { 100.0 * c.errors as f64 / c.requests as f64 } else { 0.0 };
                            view! {
                                <tr>
                                    <td>{c.channel}</td>
                                    <td>{c.requests}</td>
                                    <td>{c.errors}</td>
                                    <td>{format!("{rate:.1} %")}</td>
                                    <td>{c.avg_ttfb_ms.map(|t| format!("{t} ms")).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        <section class="card">
            <div class="table-head">
                <h2>{format!("Requests ({})", p.total)}</h2>
                <a class="button" href=address("/usage.csv", &export_q, None) download="" data-testid="export-csv">"Export CSV"</a>
            </div>
            {if p.rows.is_empty() {
                view! { <p class="empty">"No requests match these filters."</p> }.into_any()
            } else {
                view! {
                    <table class="list usage" data-testid="usage-table">
                        <thead><tr>
                            <th>"Time"</th>
                            {p.is_admin.then(|| view! { <th>"User"</th> })}
                            <th>"Token"</th><th>"API"</th><th>"Model"</th><th>"Status"</th><th>"Input"</th><th>"Output"</th><th>"Cache write"</th><th>"Cache read"</th><th>"Cost"</th><th>"TTFB"</th><th>"Latency"</th>
                        </tr></thead>
                        <tbody>
                            {p.rows.iter().map(|r| view! {
                                <tr data-request=r.request_id.clone() class=if r.error.is_some() { "failed" } else { "" }>
                                    <td title=r.request_id.clone()>{format_time(r.created_at)}</td>
                                    {p.is_admin.then(|| view! { <td>{r.user.clone()}</td> })}
                                    <td>{r.token.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td><code>{r.api.clone()}</code></td>
                                    <td>{r.model.clone()} {r.resolved_model.clone().map(|m| format!("→ {m}"))} {r.stream.then_some(" ⇢")}</td>
                                    <td>{r.status} {r.error.clone().map(|e| view! { <span class="muted">{format!(" {e}")}</span> })} {marks(r)}</td>
                                    <td>{r.input_tokens}</td>
                                    <td>{r.output_tokens}</td>
                                    <td>{r.cache_write_5m_tokens + r.cache_write_1h_tokens}</td>
                                    <td>{r.cache_read_tokens}</td>
                                    <td>{format_balance(r.cost)}</td>
                                    <td>{r.ttfb_ms.map(|t| format!("{t} ms")).unwrap_or_else(|| "—".into())}</td>
                                    <td>{format!("{} ms", r.latency_ms)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <nav class="pager" aria-label="Pages">
                        {(p.page > 1).then(|| view! { <a href=address("/usage", &q, Some(p.page - 1))>"← Newer"</a> })}
                        <span class="muted">{format!("Page {} of {pages}", p.page)}</span>
                        {(i64::from(p.page) < pages).then(|| view! { <a href=address("/usage", &q, Some(p.page + 1))>"Older →"</a> })}
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
                <label>"From" <input type="date" name="from" value=from/></label>
                <label>"To" <input type="date" name="to" value=to/></label>
                <label>"Model"
                    <select name="model">
                        <option value="">"All models"</option>
                        {models.into_iter().map(|m| { let sel = m == q.model; let value = m.clone(); view! { <option value=value selected=sel>{m}</option> } }).collect_view()}
                    </select>
                </label>
                <label>"Token"
                    <select name="token">
                        <option value="">"All tokens"</option>
                        {tokens.into_iter().map(|(id, name)| { let sel = id.to_string() == q.token; view! { <option value=id.to_string() selected=sel>{name}</option> } }).collect_view()}
                    </select>
                </label>
                <label>"Status"
                    <select name="status">
                        {[("", "All"), ("ok", "Succeeded"), ("error", "Failed")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=status == v>{l}</option>
                        }).collect_view()}
                    </select>
                </label>
                {is_admin.then(|| view! {
                    <label>"User" <input type="email" name="user" placeholder="everyone" value=q.user.clone()/></label>
                })}
                <button type="submit" class="primary">"Apply"</button>
            </div>
        </form>
    }
}

/// How the request was handled, beyond its tokens: a probe, thinking removed, web searches.
fn marks(r: &crate::types::UsageRow) -> Option<impl IntoView> {
    let mut marks = Vec::new();
    if r.probe {
        marks.push("probe".to_string());
    }
    if r.thinking_stripped {
        marks.push("thinking stripped".to_string());
    }
    if r.web_searches > 0 {
        marks.push(format!(
            "{} web search{}",
            r.web_searches,
            if r.web_searches == 1 { "" } else { "es" }
        ));
    }
    (!marks.is_empty())
        .then(|| view! { <span class="badge" data-testid="usage-marks">{marks.join(" · ")}</span> })
}
