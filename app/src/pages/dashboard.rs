//! The landing page after sign-in: balance, spend, requests today, recent errors, and a link to
//! the Claude Code setup page.

use leptos::prelude::*;

use super::layout::Console;
use super::use_auth;
use crate::api::usage::dashboard;
use crate::i18n::{t, use_locale};
use crate::money::format_balance;
use crate::types::format_time_in;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let auth = use_auth();
    let data = Resource::new(|| (), |_| dashboard());
    let locale = use_locale();
    view! {
        <Console>
            <h1>{t("nav-dashboard")}</h1>
            <Suspense>
                {move || Suspend::new(async move {
                    auth.me.await.ok().flatten().map(|u| view! {
                        <p>{locale.t_with("dash-signed-in", &[("name", u.display_name().to_string()), ("role", locale.t(u.role.label_id()))])}</p>
                    })
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="loading">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <div class="stats" data-testid="dashboard-stats">
                                <div class="stat"><span class="stat-label">{locale.t("balance")}</span><span class="stat-value" data-testid="dash-balance">{format_balance(d.balance)}</span>
                                    {(d.reserved > 0).then(|| view! { <span class="muted">{locale.t_with("dash-held", &[("amount", format_balance(d.reserved))])}</span> })}
                                </div>
                                <div class="stat"><span class="stat-label">{locale.t("dash-spent-today")}</span><span class="stat-value" data-testid="dash-today">{format_balance(d.spend_today)}</span></div>
                                <div class="stat"><span class="stat-label">{locale.t("dash-spent-month")}</span><span class="stat-value">{format_balance(d.spend_month)}</span></div>
                                <div class="stat"><span class="stat-label">{locale.t("dash-requests-today")}</span><span class="stat-value" data-testid="dash-requests">{d.requests_today}</span></div>
                            </div>
                            {(!d.billing_enabled).then(|| view! { <p class="muted">{locale.t("dash-billing-off")}</p> })}
                            <section class="card">
                                <h2>{locale.t("dash-recent-errors")}</h2>
                                {if d.recent_errors.is_empty() {
                                    view! { <p class="empty">{locale.t("dash-no-errors")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="list" data-testid="recent-errors">
                                            <thead><tr><th>{locale.t("col-time")}</th><th>{locale.t("col-model")}</th><th>{locale.t("col-status")}</th><th>{locale.t("col-error")}</th></tr></thead>
                                            <tbody>
                                                {d.recent_errors.into_iter().map(|r| view! {
                                                    <tr><td>{format_time_in(locale, r.created_at)}</td><td>{r.model}</td><td>{r.status}</td><td>{r.error.unwrap_or_default()}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                        <p><a href="/usage?status=error">{locale.t("dash-all-failed")}</a></p>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <section class="card">
                <h2>{t("dash-connect-title")}</h2>
                <p>{t("dash-connect-text")} " " <a href="/claude-code">{t("dash-connect-link")}</a></p>
                <p><a href="/models">{t("dash-models-link")}</a> " · " <a href="/usage">{t("dash-usage-link")}</a></p>
            </section>
        </Console>
    }
}
