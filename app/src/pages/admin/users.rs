//! Users: the list with enable/disable and role changes, and one user's balance with its ledger.

use leptos::prelude::*;

use super::route_id;
use crate::api::users::*;
use crate::i18n::{t, use_locale, Locale};
use crate::money::format_balance;
use crate::pages::layout::Console;
use crate::pages::widgets::{
    ActionError, ClientsFields, FieldError, LimitsFields, Saved, Submit, LIMIT_FIELDS,
};
use crate::types::{format_time_in, AdminUserView, Role};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Console>
            <Users/>
        </Console>
    }
}

#[component]
fn Users() -> impl IntoView {
    let disable = ServerAction::<SetUserDisabled>::new();
    let role = ServerAction::<SetUserRole>::new();
    let list = Resource::new(
        move || (disable.version().get(), role.version().get()),
        |_| list_users(),
    );
    view! {
        <h1>{t("nav-users")}</h1>
        <ActionError action=disable/>
        <ActionError action=role/>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <UserTable list disable role/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserTable(
    list: Vec<AdminUserView>,
    disable: ServerAction<SetUserDisabled>,
    role: ServerAction<SetUserRole>,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        <table class="list" data-testid="user-table">
            <thead><tr><th>{locale.t("field-email")}</th><th>{locale.t("col-name")}</th><th>{locale.t("col-role")}</th><th>{locale.t("col-status")}</th><th>{locale.t("balance")}</th><th>{locale.t("col-joined")}</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|u| {
                    let uid = u.id;
                    let other_role = if u.role == Role::Admin { Role::User } else { Role::Admin };
                    view! {
                        <tr data-user=u.email.clone()>
                            <td><a href=format!("/admin/users/{}", u.id)>{u.email.clone()}</a></td>
                            <td translate="no">{u.username.clone().unwrap_or_default()}</td>
                            <td>{locale.t(u.role.label_id())}</td>
                            <td>{if u.disabled { view! { <span class="status status-disabled">{locale.t("status-disabled")}</span> }.into_any() } else { view! { <span class="status status-active">{locale.t("users-active")}</span> }.into_any() }}</td>
                            <td>{format_balance(u.balance)}</td>
                            <td>{format_time_in(locale, u.created_at)}</td>
                            <td class="row-actions">
                                <ActionForm action=disable attr:class="inline">
                                    <input type="hidden" name="id" value=uid.to_string()/>
                                    <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                                    <button type="submit" class="small">{if u.disabled { locale.t("enable") } else { locale.t("disable") }}</button>
                                </ActionForm>
                                <ActionForm action=role attr:class="inline">
                                    <input type="hidden" name="id" value=uid.to_string()/>
                                    <input type="hidden" name="role" value=other_role.as_str()/>
                                    <button type="submit" class="small">{if other_role == Role::Admin { locale.t("users-make-admin") } else { locale.t("users-make-user") }}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <Console>
            <UserDetailView/>
        </Console>
    }
}

#[component]
fn UserDetailView() -> impl IntoView {
    let id = route_id();
    let adjust = ServerAction::<AdjustBalance>::new();
    let set_limits = ServerAction::<SetUserLimits>::new();
    let set_clients = ServerAction::<SetUserClients>::new();
    let detail = Resource::new(
        move || {
            (
                id.get(),
                adjust.version().get(),
                set_limits.version().get(),
                set_clients.version().get(),
            )
        },
        |(id, ..)| get_user(id),
    );
    let locale = use_locale();
    view! {
        <p><a href="/admin/users">{t("users-back")}</a></p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                let d = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                };
                view! {
                    <h1 translate="no">{d.user.email.clone()}</h1>
                    <section class="card">
                        <h2>{locale.t("balance")}</h2>
                        <p class="big" data-testid="balance">{format_balance(d.user.balance)}</p>
                        <ActionForm action=adjust>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <div class="row">
                                <label>{locale.t("users-amount")} " " <span class="muted">{locale.t("users-amount-hint")}</span>
                                    <input type="text" inputmode="decimal" name="amount" required placeholder="10.00"/>
                                    <FieldError action=adjust field="amount"/>
                                </label>
                                <label>{locale.t("col-reason")}
                                    <input type="text" name="reason" maxlength="200" placeholder=locale.t("users-reason-placeholder")/>
                                    <FieldError action=adjust field="reason"/>
                                </label>
                                <Submit action=adjust label=locale.t("users-adjust") busy=locale.t("applying")/>
                            </div>
                            <ActionError action=adjust inline=&["amount", "reason"]/>
                        </ActionForm>
                    </section>
                    <section class="card" data-testid="user-clients">
                        <h2>{locale.t("col-clients")}</h2>
                        <p class="muted">{locale.t_with("users-clients-text", &[("rule", d.clients.summary_in(locale))])}</p>
                        <ActionForm action=set_clients>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <ClientsFields action=set_clients current=d.clients.clone()/>
                            <ActionError action=set_clients inline=&["min_version"]/>
                            <div class="actions">
                                <Submit action=set_clients label=locale.t("save-clients") busy=locale.t("saving")/>
                                <Saved action=set_clients/>
                            </div>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <h2>{locale.t("col-limits")}</h2>
                        <p class="muted">{locale.t_with("users-limits-text", &[("limits", d.limits.summary_in(locale))])}</p>
                        <ActionForm action=set_limits>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <LimitsFields action=set_limits current=d.limits/>
                            <ActionError action=set_limits inline=LIMIT_FIELDS/>
                            <div class="actions">
                                <Submit action=set_limits label=locale.t("save-limits") busy=locale.t("saving")/>
                                <Saved action=set_limits/>
                            </div>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <h2>{locale.t("users-ledger")}</h2>
                        {if d.ledger.is_empty() {
                            view! { <p class="empty">{locale.t("users-ledger-empty")}</p> }.into_any()
                        } else {
                            view! {
                                <table class="list" data-testid="ledger">
                                    <thead><tr><th>{locale.t("col-when")}</th><th>{locale.t("col-kind")}</th><th>{locale.t("col-amount")}</th><th>{locale.t("col-balance-after")}</th><th>{locale.t("col-reason")}</th><th>{locale.t("col-by")}</th></tr></thead>
                                    <tbody>
                                        {d.ledger.into_iter().map(|l| view! {
                                            <tr>
                                                <td>{format_time_in(locale, l.created_at)}</td>
                                                <td>{ledger_kind(locale, &l.kind)}</td>
                                                <td>{format_balance(l.amount)}</td>
                                                <td>{format_balance(l.balance_after)}</td>
                                                <td>
                                                    <span translate="no">{l.reason}</span>
                                                    {(l.uncollected > 0).then(|| view! {
                                                        <span class="muted">{locale.t_with("users-uncollected", &[("amount", format_balance(l.uncollected))])}</span>
                                                    })}
                                                </td>
                                                <td translate="no">{l.actor.unwrap_or_else(|| "cli".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

/// A ledger entry's kind in `locale` (a kind the locale files do not name is shown as stored).
fn ledger_kind(locale: Locale, kind: &str) -> String {
    let id = format!("ledger-kind-{kind}");
    if locale.has(&id) {
        locale.t(&id)
    } else {
        kind.to_string()
    }
}
