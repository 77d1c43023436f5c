//! The user's data-plane tokens: create (value shown once, with a copy button), list, revoke.

use leptos::prelude::*;

use super::layout::Console;
use super::widgets::{
    ActionError, ClientsFields, CopyButton, LimitsFields, Saved, Submit, LIMIT_FIELDS,
};
use crate::api::tokens::{list_tokens, CreateToken, RevokeToken, SetTokenClients, SetTokenLimits};
use crate::types::{format_time, NewToken, TokenStatus, TokenView, TOKEN_EXPIRY_CHOICES};

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
        <h1>"Tokens"</h1>
        <p class="muted">"Tokens let Claude Code and other clients use Realms. Keep them secret: anyone holding one spends your balance."</p>
        <section class="card">
            <h2>"Create a token"</h2>
            <ActionForm action=create>
                <div class="row">
                    <label>"Name"
                        <input type="text" name="name" maxlength="64" placeholder="laptop"/>
                    </label>
                    <label>"Expires"
                        <select name="expires_in_days">
                            {TOKEN_EXPIRY_CHOICES.iter().map(|(days, label)| view! {
                                <option value=days.to_string()>{*label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <Submit action=create label="Create token" busy="Creating…"/>
                </div>
                <details class="limits-box">
                    <summary>"Limits (optional)"</summary>
                    <LimitsFields action=create current=Default::default()/>
                </details>
                <ActionError action=create inline=LIMIT_FIELDS/>
            </ActionForm>
            {move || created().map(|t| view! { <ShownOnce token=t/> })}
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! {
                        {p.fresh.map(|t| view! { <section class="card"><ShownOnce token=t/></section> })}
                        <TokenTable tokens=p.tokens revoke set_limits set_clients/>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
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
            <p><strong>"Token “" {token.token.name.clone()} "” created."</strong>
               " Copy it now: it will not be shown again."</p>
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
        return view! { <p class="empty">"No tokens yet. Create one above."</p> }.into_any();
    }
    view! {
        <table class="list" data-testid="token-table">
            <thead>
                <tr><th>"Name"</th><th>"Token"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Limits"</th><th>"Clients"</th><th>"Status"</th><th></th></tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let active = t.status == TokenStatus::Active;
                    view! {
                        <tr data-token-id=t.id.to_string()>
                            <td>{t.name.clone()}</td>
                            <td><code>"rlm_…" {t.hint.clone()}</code></td>
                            <td>{format_time(t.created_at)}</td>
                            <td>{t.expires_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                            <td>{t.last_used_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                            <td>
                                <details class="limits-edit">
                                    <summary>{t.limits.summary()}</summary>
                                    <ActionForm action=set_limits>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <LimitsFields action=set_limits current=t.limits/>
                                        <button type="submit" class="small">"Save limits"</button>
                                        <Saved action=set_limits/>
                                    </ActionForm>
                                </details>
                            </td>
                            <td>
                                <details class="limits-edit" data-testid="token-clients">
                                    <summary>{t.clients.summary()}</summary>
                                    <ActionForm action=set_clients>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <ClientsFields action=set_clients current=t.clients.clone()/>
                                        <button type="submit" class="small">"Save clients"</button>
                                        <Saved action=set_clients/>
                                    </ActionForm>
                                </details>
                            </td>
                            <td><span class=format!("status status-{}", t.status.label())>{t.status.label()}</span></td>
                            <td>
                                {active.then(|| view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                        <button type="submit" class="danger">"Revoke"</button>
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
