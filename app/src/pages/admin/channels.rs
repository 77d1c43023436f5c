//! Channels: the list with the "add a channel" form, and one channel's page with its settings,
//! endpoints, keys (masked), bound models, the Test button and deletion.

use leptos::html;
use leptos::prelude::*;

use super::route_id;
use crate::api::channels::*;
use crate::pages::layout::Console;
use crate::pages::widgets::{
    reset_on_success, ActionError, Confirm, FieldError, Saved, Status, Submit,
};
use crate::types::{ChannelKind, ChannelTestResult, ChannelView};

#[component]
pub fn ChannelsPage() -> impl IntoView {
    view! {
        <Console>
            <Channels/>
        </Console>
    }
}

#[component]
fn Channels() -> impl IntoView {
    let create = ServerAction::<CreateChannel>::new();
    let list = Resource::new(move || create.version().get(), |_| list_channels());
    view! {
        <h1>"Channels"</h1>
        <p class="muted">"A channel is one upstream provider account: its base URLs and API keys. Requests for a model go to the channels bound to it, highest priority first."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading channels…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No channels yet. Add the first one below."</p> }.into_any(),
                    Ok(list) => view! { <ChannelTable list/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="card">
            <h2>"Add a channel"</h2>
            <ActionForm action=create attr:data-testid="create-channel">
                <div class="grid">
                    <label>"Name"
                        <input type="text" name="name" required maxlength="64" placeholder="anthropic-main"/>
                        <FieldError action=create field="name"/>
                    </label>
                    <label>"Type"
                        <select name="kind">
                            {ChannelKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                        <FieldError action=create field="kind"/>
                    </label>
                    <label>"Base URL"
                        <input type="url" name="base_url" required placeholder="https://api.anthropic.com"/>
                        <FieldError action=create field="base_url"/>
                    </label>
                    <label>"API key"
                        <input type="password" name="key" required autocomplete="off" placeholder="sk-ant-…"/>
                        <FieldError action=create field="key"/>
                    </label>
                    <label>"Priority " <span class="muted">"(higher first)"</span>
                        <input type="number" name="priority" value="0" step="1"/>
                        <FieldError action=create field="priority"/>
                    </label>
                    <label>"Weight " <span class="muted">"(1–1000)"</span>
                        <input type="number" name="weight" value="1" min="1" max="1000" step="1"/>
                        <FieldError action=create field="weight"/>
                    </label>
                </div>
                <ActionError action=create inline=&["name", "kind", "base_url", "key", "priority", "weight"]/>
                <Submit action=create label="Add channel" busy="Adding…"/>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChannelTable(list: Vec<ChannelView>) -> impl IntoView {
    view! {
        <table class="list" data-testid="channel-table">
            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Priority"</th><th>"Weight"</th><th>"Endpoints"</th><th>"Keys"</th><th>"Models"</th><th>"Status"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|c| view! {
                    <tr>
                        <td><a href=format!("/admin/channels/{}", c.id)>{c.name.clone()}</a></td>
                        <td>{c.kind.label()}</td>
                        <td>{c.priority}</td>
                        <td>{c.weight}</td>
                        <td>{c.endpoints.iter().map(|e| e.base_url.clone()).collect::<Vec<_>>().join(", ")}</td>
                        <td><code>{c.credentials.iter().map(|k| k.masked()).collect::<Vec<_>>().join(" ")}</code></td>
                        <td>{c.bindings.len()}</td>
                        <td><Status enabled=c.enabled/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ChannelPage() -> impl IntoView {
    view! {
        <Console>
            <Channel/>
        </Console>
    }
}

#[component]
fn Channel() -> impl IntoView {
    let id = route_id();
    let update = ServerAction::<UpdateChannel>::new();
    let toggle = ServerAction::<SetChannelEnabled>::new();
    let add_endpoint = ServerAction::<AddEndpoint>::new();
    let remove_endpoint = ServerAction::<RemoveEndpoint>::new();
    let add_key = ServerAction::<AddCredential>::new();
    let toggle_key = ServerAction::<SetCredentialEnabled>::new();
    let remove_key = ServerAction::<RemoveCredential>::new();
    let delete = ServerAction::<DeleteChannel>::new();
    let set_filter = ServerAction::<SetChannelFilter>::new();
    let channel = Resource::new(
        move || {
            (
                id.get(),
                update.version().get(),
                set_filter.version().get(),
                toggle.version().get(),
                add_endpoint.version().get(),
                remove_endpoint.version().get(),
                add_key.version().get(),
                toggle_key.version().get(),
                remove_key.version().get(),
            )
        },
        |(id, ..)| get_channel(id),
    );
    let endpoint_form = NodeRef::<html::Form>::new();
    let key_form = NodeRef::<html::Form>::new();
    reset_on_success(add_endpoint, endpoint_form);
    reset_on_success(add_key, key_form);

    view! {
        <p><a href="/admin/channels">"← Channels"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading the channel…"</p> }>
            {move || Suspend::new(async move {
                match channel.await {
                    Ok(c) => view! {
                        <h1>{c.name.clone()} " " <Status enabled=c.enabled/></h1>
                        <SettingsCard c=c.clone() update toggle/>
                        <EndpointsCard c=c.clone() add=add_endpoint remove=remove_endpoint form=endpoint_form/>
                        <KeysCard c=c.clone() add=add_key toggle=toggle_key remove=remove_key form=key_form/>
                        <FilterCard c=c.clone() set_filter/>
                        <BoundModels c=c.clone()/>
                        <ChannelTest id=c.id kind=c.kind default_model=c.bindings.first().map(|b| b.upstream_model.clone())/>
                        <DeleteCard c delete/>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SettingsCard(
    c: ChannelView,
    update: ServerAction<UpdateChannel>,
    toggle: ServerAction<SetChannelEnabled>,
) -> impl IntoView {
    let kind = c.kind;
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <div class="grid">
                    <label>"Name"
                        <input type="text" name="name" required maxlength="64" value=c.name.clone()/>
                        <FieldError action=update field="name"/>
                    </label>
                    <label>"Type"
                        <select name="kind">
                            {ChannelKind::ALL.iter().map(|k| view! {
                                <option value=k.as_str() selected=*k == kind>{k.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Priority"
                        <input type="number" name="priority" step="1" value=c.priority.to_string()/>
                        <FieldError action=update field="priority"/>
                    </label>
                    <label>"Weight"
                        <input type="number" name="weight" min="1" max="1000" step="1" value=c.weight.to_string()/>
                        <FieldError action=update field="weight"/>
                    </label>
                </div>
                <ActionError action=update inline=&["name", "priority", "weight"]/>
                <div class="actions">
                    <Submit action=update label="Save" busy="Saving…"/>
                    <Saved action=update/>
                </div>
            </ActionForm>
            <ActionForm action=toggle>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <input type="hidden" name="enabled" value=(!c.enabled).to_string()/>
                <button type="submit">{if c.enabled { "Disable channel" } else { "Enable channel" }}</button>
            </ActionForm>
            <ActionError action=toggle/>
        </section>
    }
}

/// What the channel drops from requests, for providers that refuse part of Anthropic's API.
#[component]
fn FilterCard(c: ChannelView, set_filter: ServerAction<SetChannelFilter>) -> impl IntoView {
    let preset = crate::types::RequestFilter::anthropic_compatible();
    view! {
        <section class="card" data-testid="request-filter">
            <h2>"Request filtering"</h2>
            <p class="muted">"Anthropic-compatible providers that are not Anthropic may refuse some anthropic-beta flags or top-level fields. Listed ones are taken out before a request goes to this channel; the rest is sent as it came. A beta entry drops every flag that starts with it (context-1m drops context-1m-2025-08-07). Separate entries with commas."</p>
            <ActionForm action=set_filter>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <div class="grid">
                    <label>"Beta flags to drop"
                        <input type="text" name="drop_betas" maxlength="4000" placeholder="context-1m, context-management" value=c.filter.betas.join(", ")/>
                        <FieldError action=set_filter field="drop_betas"/>
                    </label>
                    <label>"Body fields to drop"
                        <input type="text" name="drop_fields" maxlength="4000" placeholder="context_management, metadata" value=c.filter.fields.join(", ")/>
                        <FieldError action=set_filter field="drop_fields"/>
                    </label>
                </div>
                <ActionError action=set_filter inline=&["drop_betas", "drop_fields"]/>
                <div class="actions">
                    <Submit action=set_filter label="Save filtering" busy="Saving…"/>
                    <Saved action=set_filter/>
                </div>
            </ActionForm>
            <ActionForm action=set_filter>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <input type="hidden" name="preset" value="anthropic-compatible"/>
                <button type="submit">"Use the preset for an Anthropic-compatible provider"</button>
                <span class="muted">{format!(" betas {}; fields {}", preset.betas.join(", "), preset.fields.join(", "))}</span>
            </ActionForm>
        </section>
    }
}

#[component]
fn EndpointsCard(
    c: ChannelView,
    add: ServerAction<AddEndpoint>,
    remove: ServerAction<RemoveEndpoint>,
    form: NodeRef<html::Form>,
) -> impl IntoView {
    let cid = c.id;
    let removable = c.endpoints.len() > 1;
    view! {
        <section class="card">
            <h2>"Endpoints"</h2>
            <ul class="plain" data-testid="endpoints">
                {c.endpoints.into_iter().map(|e| view! {
                    <li>
                        <code>{e.base_url}</code>
                        {removable.then(|| view! {
                            <ActionForm action=remove attr:class="inline">
                                <input type="hidden" name="channel_id" value=cid.to_string()/>
                                <input type="hidden" name="endpoint_id" value=e.id.to_string()/>
                                <button type="submit" class="danger small">"Remove"</button>
                            </ActionForm>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <ActionError action=remove/>
            <ActionForm action=add node_ref=form>
                <input type="hidden" name="channel_id" value=cid.to_string()/>
                <div class="row">
                    <label>"Add a base URL"
                        <input type="url" name="base_url" required placeholder="https://api.anthropic.com"/>
                        <FieldError action=add field="base_url"/>
                    </label>
                    <Submit action=add label="Add endpoint" busy="Adding…"/>
                </div>
                <ActionError action=add inline=&["base_url"]/>
            </ActionForm>
        </section>
    }
}

#[component]
fn KeysCard(
    c: ChannelView,
    add: ServerAction<AddCredential>,
    toggle: ServerAction<SetCredentialEnabled>,
    remove: ServerAction<RemoveCredential>,
    form: NodeRef<html::Form>,
) -> impl IntoView {
    let cid = c.id;
    let removable = c.credentials.len() > 1;
    view! {
        <section class="card">
            <h2>"API keys"</h2>
            <p class="muted">"Keys are encrypted at rest and never shown again: only their last four characters."</p>
            <table class="list" data-testid="credentials">
                <thead><tr><th>"Key"</th><th>"Added"</th><th>"Status"</th><th></th></tr></thead>
                <tbody>
                    {c.credentials.into_iter().map(|k| view! {
                        <tr>
                            <td><code>{k.masked()}</code></td>
                            <td>{crate::types::format_time(k.created_at)}</td>
                            <td><Status enabled=k.enabled/></td>
                            <td class="row-actions">
                                <ActionForm action=toggle attr:class="inline">
                                    <input type="hidden" name="channel_id" value=cid.to_string()/>
                                    <input type="hidden" name="credential_id" value=k.id.to_string()/>
                                    <input type="hidden" name="enabled" value=(!k.enabled).to_string()/>
                                    <button type="submit" class="small">{if k.enabled { "Disable" } else { "Enable" }}</button>
                                </ActionForm>
                                {removable.then(|| view! {
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="channel_id" value=cid.to_string()/>
                                        <input type="hidden" name="credential_id" value=k.id.to_string()/>
                                        <button type="submit" class="danger small">"Remove"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ActionError action=toggle/>
            <ActionError action=remove/>
            <ActionForm action=add node_ref=form>
                <input type="hidden" name="channel_id" value=cid.to_string()/>
                <div class="row">
                    <label>"Add an API key"
                        <input type="password" name="key" required autocomplete="off"/>
                        <FieldError action=add field="key"/>
                    </label>
                    <Submit action=add label="Add key" busy="Adding…"/>
                    <Saved action=add text="Key added."/>
                </div>
                <ActionError action=add inline=&["key"]/>
            </ActionForm>
        </section>
    }
}

#[component]
fn BoundModels(c: ChannelView) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Models"</h2>
            {if c.bindings.is_empty() {
                view! { <p class="empty">"No model is bound to this channel yet. Bind one from its page under " <a href="/admin/models">"Pricing"</a> "."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {c.bindings.into_iter().map(|b| view! {
                            <li>
                                <a href=format!("/admin/models/{}", b.model_id)>{b.model_public_id.clone()}</a>
                                {(b.upstream_model != b.model_public_id).then(|| view! { " → " <code>{b.upstream_model.clone()}</code> })}
                                " " <Status enabled=b.enabled/>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn DeleteCard(c: ChannelView, delete: ServerAction<DeleteChannel>) -> impl IntoView {
    view! {
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <Confirm summary="Delete this channel…" question=format!("Delete the channel {} with its endpoints, keys and bindings? This cannot be undone.", c.name)>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=c.id.to_string()/>
                    <button type="submit" class="danger">"Delete channel"</button>
                </ActionForm>
            </Confirm>
            <ActionError action=delete/>
        </section>
    }
}

/// The Test button: one minimal request per endpoint and key, with status, latency and the upstream's
/// error text.
#[component]
fn ChannelTest(id: i64, kind: ChannelKind, default_model: Option<String>) -> impl IntoView {
    let test = ServerAction::<TestChannel>::new();
    let placeholder = default_model.unwrap_or_else(|| kind.default_test_model().to_string());
    view! {
        <section class="card">
            <h2>"Test"</h2>
            <p class="muted">"Sends a one-token request to each endpoint with each key and shows what the upstream answered."</p>
            <ActionForm action=test>
                <input type="hidden" name="id" value=id.to_string()/>
                <div class="row">
                    <label>"Model"
                        <input type="text" name="model" placeholder=placeholder/>
                    </label>
                    <Submit action=test label="Test" busy="Testing…"/>
                </div>
            </ActionForm>
            <ActionError action=test/>
            {move || test.value().get().and_then(Result::ok).map(|results| view! { <ProbeTable results/> })}
        </section>
    }
}

#[component]
fn ProbeTable(results: Vec<ChannelTestResult>) -> impl IntoView {
    view! {
        <table class="list" data-testid="test-results">
            <thead><tr><th>"Endpoint"</th><th>"Key"</th><th>"Model"</th><th>"Result"</th><th>"Status"</th><th>"Latency"</th><th>"Message"</th></tr></thead>
            <tbody>
                {results.into_iter().map(|r| view! {
                    <tr class=if r.ok { "ok" } else { "failed" }>
                        <td><code>{r.endpoint}</code></td>
                        <td><code>{r.credential}</code></td>
                        <td>{r.model}</td>
                        <td>{if r.ok { view! { <span class="status status-active">"OK"</span> }.into_any() } else { view! { <span class="status status-failed">"failed"</span> }.into_any() }}</td>
                        <td>{r.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                        <td>{format!("{} ms", r.latency_ms)}</td>
                        <td>{r.message}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
