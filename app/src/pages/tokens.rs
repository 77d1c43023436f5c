//! The user's data-plane tokens: create (value shown once, with a copy button), list, revoke.

use leptos::prelude::*;

use super::layout::Console;
use super::widgets::{
    ActionError, ClientsFields, CopyButton, LimitsFields, Saved, Submit, LIMIT_FIELDS,
};
use crate::api::tokens::{list_tokens, CreateToken, RevokeToken, SetTokenClients, SetTokenLimits};
use crate::i18n::{t, t_with, use_locale};
use crate::types::{format_time_in, NewToken, TokenStatus, TokenView, TOKEN_EXPIRY_CHOICES};

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <Console>
            <Tokens/>
        </Console>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let set_limits = ServerAction::<SetTokenLimits>::new();
    let set_clients = ServerAction::<SetTokenClients>::new();
    let page = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                set_limits.version().get(),
                set_clients.version().get(),
            )
        },
        |_| list_tokens(),
    );
    // The value of a token created in place (with script); a no-script post gets it via `fresh`.
    let created = move || create.value().get().and_then(Result::ok);

    view! {
        <h1>{t("nav-tokens")}</h1>
        <p class="muted">{t("tokens-intro")}</p>
        <section class="card">
            <h2>{t("tokens-create-title")}</h2>
            <ActionForm action=create>
                <div class="row">
                    <label>{t("field-name")}
                        <input type="text" name="name" maxlength="64" placeholder=t("tokens-name-placeholder")/>
                    </label>
                    <label>{t("tokens-expires")}
                        <select name="expires_in_days">
                            {TOKEN_EXPIRY_CHOICES.iter().map(|(days, label)| view! {
                                <option value=days.to_string()>{t(label)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <Submit action=create label=t("tokens-create") busy=t("creating")/>
                </div>
                <details class="limits-box">
                    <summary>{t("tokens-limits-optional")}</summary>
                    <LimitsFields action=create current=Default::default()/>
                </details>
                <ActionError action=create inline=LIMIT_FIELDS/>
            </ActionForm>
            {move || created().map(|t| view! { <ShownOnce token=t/> })}
        </section>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! {
                        {p.fresh.map(|t| view! { <section class="card"><ShownOnce token=t/></section> })}
                        <TokenTable tokens=p.tokens revoke set_limits set_clients/>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                }
            })}
        </Transition>
        <ActionError action=revoke/>
        <ActionError action=set_limits inline=LIMIT_FIELDS/>
        <ActionError action=set_clients inline=&["min_version"]/>
    }
}

/// The full value of a new token, with a copy button. It is not shown again after leaving the page.
#[component]
pub fn ShownOnce(token: NewToken) -> impl IntoView {
    let secret = token.secret.clone();
    view! {
        <div class="shown-once" role="status">
            <p><strong>{t_with("tokens-created", &[("name", token.token.name.clone())])}</strong>
               " " {t("tokens-copy-now")}</p>
            <div class="secret-row">
                <code data-testid="new-token">{token.secret.clone()}</code>
                <CopyButton text=Signal::stored(secret)/>
            </div>
        </div>
    }
}

#[component]
fn TokenTable(
    tokens: Vec<TokenView>,
    revoke: ServerAction<RevokeToken>,
    set_limits: ServerAction<SetTokenLimits>,
    set_clients: ServerAction<SetTokenClients>,
) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="empty">{t("tokens-empty")}</p> }.into_any();
    }
    let locale = use_locale();
    view! {
        <table class="list" data-testid="token-table">
            <thead>
                <tr><th>{t("col-name")}</th><th>{t("col-token")}</th><th>{t("col-created")}</th><th>{t("tokens-expires")}</th><th>{t("col-last-used")}</th><th>{t("col-limits")}</th><th>{t("col-clients")}</th><th>{t("col-status")}</th><th></th></tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let active = t.status == TokenStatus::Active;
                    view! {
                        <tr data-token-id=t.id.to_string()>
                            <td>{t.name.clone()}</td>
                            <td><code>"rlm_…" {t.hint.clone()}</code></td>
                            <td>{format_time_in(locale, t.created_at)}</td>
                            <td>{t.expires_at.map(|ms| format_time_in(locale, ms)).unwrap_or_else(|| locale.t("never"))}</td>
                            <td>{t.last_used_at.map(|ms| format_time_in(locale, ms)).unwrap_or_else(|| locale.t("never"))}</td>
                            <td>
                                <details class="limits-edit">
                                    <summary>{t.limits.summary_in(locale)}</summary>
                                    <ActionForm action=set_limits>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <LimitsFields action=set_limits current=t.limits/>
                                        <button type="submit" class="small">{locale.t("save-limits")}</button>
                                        <Saved action=set_limits/>
                                    </ActionForm>
                                </details>
                            </td>
                            <td>
                                <details class="limits-edit" data-testid="token-clients">
                                    <summary>{t.clients.summary_in(locale)}</summary>
                                    <ActionForm action=set_clients>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <ClientsFields action=set_clients current=t.clients.clone()/>
                                        <button type="submit" class="small">{locale.t("save-clients")}</button>
                                        <Saved action=set_clients/>
                                    </ActionForm>
                                </details>
                            </td>
                            <td><span class=format!("status status-{}", t.status.label())>{locale.t(t.status.label_id())}</span></td>
                            <td>
                                {active.then(|| view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <button type="submit" class="danger">{locale.t("tokens-revoke")}</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
}
