//! Users: the list with enable/disable and role changes, and one user's balance with its ledger.

use leptos::prelude::*;

use super::route_id;
use crate::api::users::*;
use crate::money::format_balance;
use crate::pages::layout::Console;
use crate::pages::widgets::{
    ActionError, ClientsFields, FieldError, LimitsFields, Saved, Submit, LIMIT_FIELDS,
};
use crate::types::{format_time, AdminUserView, Role};

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
        <h1>"Users"</h1>
        <ActionError action=disable/>
        <ActionError action=role/>
        <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <UserTable list disable role/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
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
    view! {
        <table class="list" data-testid="user-table">
            <thead><tr><th>"Email"</th><th>"Name"</th><th>"Role"</th><th>"Status"</th><th>"Balance"</th><th>"Joined"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|u| {
                    let uid = u.id;
                    let other_role = if u.role == Role::Admin { Role::User } else { Role::Admin };
                    view! {
                        <tr data-user=u.email.clone()>
                            <td><a href=format!("/admin/users/{}", u.id)>{u.email.clone()}</a></td>
                            <td>{u.username.clone().unwrap_or_default()}</td>
                            <td>{u.role.as_str()}</td>
                            <td>{if u.disabled { view! { <span class="status status-disabled">"disabled"</span> }.into_any() } else { view! { <span class="status status-active">"active"</span> }.into_any() }}</td>
                            <td>{format_balance(u.balance)}</td>
                            <td>{format_time(u.created_at)}</td>
                            <td class="row-actions">
                                <ActionForm action=disable attr:class="inline">
                                    <input type="hidden" name="id" value=uid.to_string()/>
                                    <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                                    <button type="submit" class="small">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                </ActionForm>
                                <ActionForm action=role attr:class="inline">
                                    <input type="hidden" name="id" value=uid.to_string()/>
                                    <input type="hidden" name="role" value=other_role.as_str()/>
                                    <button type="submit" class="small">{if other_role == Role::Admin { "Make admin" } else { "Make user" }}</button>
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
    view! {
        <p><a href="/admin/users">"← Users"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let d = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                };
                view! {
                    <h1>{d.user.email.clone()}</h1>
                    <section class="card">
                        <h2>"Balance"</h2>
                        <p class="big" data-testid="balance">{format_balance(d.user.balance)}</p>
                        <ActionForm action=adjust>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <div class="row">
                                <label>"Amount in USD " <span class="muted">"(negative takes money off)"</span>
                                    <input type="text" inputmode="decimal" name="amount" required placeholder="10.00"/>
                                    <FieldError action=adjust field="amount"/>
                                </label>
                                <label>"Reason"
                                    <input type="text" name="reason" maxlength="200" placeholder="Monthly budget"/>
                                    <FieldError action=adjust field="reason"/>
                                </label>
                                <Submit action=adjust label="Apply" busy="Applying…"/>
                            </div>
                            <ActionError action=adjust inline=&["amount", "reason"]/>
                        </ActionForm>
                    </section>
                    <section class="card" data-testid="user-clients">
                        <h2>"Clients"</h2>
                        <p class="muted">"Which clients all of this user's tokens accept (a token can narrow it further): " {d.clients.summary()} ". A refused client gets a 403 that names the rule."</p>
                        <ActionForm action=set_clients>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <ClientsFields action=set_clients current=d.clients.clone()/>
                            <ActionError action=set_clients inline=&["min_version"]/>
                            <div class="actions">
                                <Submit action=set_clients label="Save clients" busy="Saving…"/>
                                <Saved action=set_clients/>
                            </div>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <h2>"Limits"</h2>
                        <p class="muted">"Limits on all of this user's requests, whatever the token: " {d.limits.summary()} "."</p>
                        <ActionForm action=set_limits>
                            <input type="hidden" name="id" value=d.user.id.to_string()/>
                            <LimitsFields action=set_limits current=d.limits/>
                            <ActionError action=set_limits inline=LIMIT_FIELDS/>
                            <div class="actions">
                                <Submit action=set_limits label="Save limits" busy="Saving…"/>
                                <Saved action=set_limits/>
                            </div>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <h2>"Ledger"</h2>
                        {if d.ledger.is_empty() {
                            view! { <p class="empty">"No balance changes yet."</p> }.into_any()
                        } else {
                            view! {
                                <table class="list" data-testid="ledger">
                                    <thead><tr><th>"When"</th><th>"Kind"</th><th>"Amount"</th><th>"Balance after"</th><th>"Reason"</th><th>"By"</th></tr></thead>
                                    <tbody>
                                        {d.ledger.into_iter().map(|l| view! {
                                            <tr>
                                                <td>{format_time(l.created_at)}</td>
                                                <td>{l.kind}</td>
                                                <td>{format_balance(l.amount)}</td>
                                                <td>{format_balance(l.balance_after)}</td>
                                                <td>
                                                    {l.reason}
                                                    {(l.uncollected > 0).then(|| view! {
                                                        <span class="muted">{format!(" (uncollected: {} below the overdraft floor)", format_balance(l.uncollected))}</span>
                                                    })}
                                                </td>
                                                <td>{l.actor.unwrap_or_else(|| "cli".into())}</td>
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
