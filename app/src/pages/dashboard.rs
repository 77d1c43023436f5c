//! The landing page after sign-in: balance, spend, requests today, recent errors, and a link to
//! the Claude Code setup page.

use leptos::prelude::*;

use super::layout::Console;
use super::use_auth;
use crate::api::usage::dashboard;
use crate::money::format_balance;
use crate::types::format_time;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let auth = use_auth();
    let data = Resource::new(|| (), |_| dashboard());
    view! {
        <Console>
            <h1>"Dashboard"</h1>
            <Suspense>
                {move || Suspend::new(async move {
                    auth.me.await.ok().flatten().map(|u| view! {
                        <p>"Signed in as " <strong>{u.display_name().to_string()}</strong>
                           " (" {u.role.as_str()} ")."</p>
                    })
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <div class="stats" data-testid="dashboard-stats">
                                <div class="stat"><span class="stat-label">"Balance"</span><span class="stat-value" data-testid="dash-balance">{format_balance(d.balance)}</span>
                                    {(d.reserved > 0).then(|| view! { <span class="muted">{format!("{} held by running requests", format_balance(d.reserved))}</span> })}
                                </div>
                                <div class="stat"><span class="stat-label">"Spent today"</span><span class="stat-value" data-testid="dash-today">{format_balance(d.spend_today)}</span></div>
                                <div class="stat"><span class="stat-label">"Spent this month"</span><span class="stat-value">{format_balance(d.spend_month)}</span></div>
                                <div class="stat"><span class="stat-label">"Requests today"</span><span class="stat-value" data-testid="dash-requests">{d.requests_today}</span></div>
                            </div>
                            {(!d.billing_enabled).then(|| view! { <p class="muted">"Billing is off on this instance: costs are shown but not charged."</p> })}
                            <section class="card">
                                <h2>"Recent errors"</h2>
                                {if d.recent_errors.is_empty() {
                                    view! { <p class="empty">"No failed requests in the last 7 days."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="list" data-testid="recent-errors">
                                            <thead><tr><th>"Time"</th><th>"Model"</th><th>"Status"</th><th>"Error"</th></tr></thead>
                                            <tbody>
                                                {d.recent_errors.into_iter().map(|r| view! {
                                                    <tr><td>{format_time(r.created_at)}</td><td>{r.model}</td><td>{r.status}</td><td>{r.error.unwrap_or_default()}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                        <p><a href="/usage?status=error">"All failed requests →"</a></p>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <section class="card">
                <h2>"Connect Claude Code"</h2>
                <p>"The " <a href="/claude-code">"Claude Code setup"</a> " page writes your settings for your system and shell, checks what is missing and tests the connection."</p>
                <p>"See which models you can use on " <a href="/models">"Models"</a> ", and what you spent under " <a href="/usage">"Usage"</a> "."</p>
            </section>
        </Console>
    }
}
