//! Channels: the list with the "add a channel" form, and one channel's page with its settings,
//! endpoints, keys (masked), bound models, the Test button and deletion.

use leptos::html;
use leptos::prelude::*;

use super::route_id;
use crate::api::channels::*;
use crate::i18n::{t, t_with, use_locale};
use crate::pages::layout::Console;
use crate::pages::widgets::{
    reset_on_success, ActionError, Confirm, FieldError, Saved, Status, Submit,
};
use crate::types::{format_time_in, ChannelKind, ChannelTestResult, ChannelView};

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
        <h1>{t("nav-channels")}</h1>
        <p class="muted">{t("channels-intro")}</p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">{t("channels-empty")}</p> }.into_any(),
                    Ok(list) => view! { <ChannelTable list/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="card">
            <h2>{t("channels-add-title")}</h2>
            <ActionForm action=create attr:data-testid="create-channel">
                <div class="grid">
                    <label>{t("field-name")}
                        <input type="text" name="name" required maxlength="64" placeholder="anthropic-main"/>
                        <FieldError action=create field="name"/>
                    </label>
                    <label>{t("col-type")}
                        <select name="kind">
                            {ChannelKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label_in(use_locale())}</option> }).collect_view()}
                        </select>
                        <FieldError action=create field="kind"/>
                    </label>
                    <label>{t("col-base-url")}
                        <input type="url" name="base_url" required placeholder="https://api.anthropic.com"/>
                        <FieldError action=create field="base_url"/>
                    </label>
                    <label>{t("col-api-key")}
                        <input type="password" name="key" required autocomplete="off" placeholder="sk-ant-…"/>
                        <FieldError action=create field="key"/>
                    </label>
                    <label>{t("col-priority")} " " <span class="muted">{t("channels-priority-hint")}</span>
                        <input type="number" name="priority" value="0" step="1"/>
                        <FieldError action=create field="priority"/>
                    </label>
                    <label>{t("col-weight")} " " <span class="muted">"(1–1000)"</span>
                        <input type="number" name="weight" value="1" min="1" max="1000" step="1"/>
                        <FieldError action=create field="weight"/>
                    </label>
                </div>
                <ActionError action=create inline=&["name", "kind", "base_url", "key", "priority", "weight"]/>
                <Submit action=create label=t("channels-add") busy=t("adding")/>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChannelTable(list: Vec<ChannelView>) -> impl IntoView {
    view! {
        <table class="list" data-testid="channel-table">
            <thead><tr><th>{t("col-name")}</th><th>{t("col-type")}</th><th>{t("col-priority")}</th><th>{t("col-weight")}</th><th>{t("col-endpoints")}</th><th>{t("col-keys")}</th><th>{t("nav-models")}</th><th>{t("col-status")}</th></tr></thead>
            <tbody>
                {list.into_iter().map(|c| view! {
                    <tr>
                        <td translate="no"><a href=format!("/admin/channels/{}", c.id)>{c.name.clone()}</a></td>
                        <td>{c.kind.label_in(use_locale())}</td>
                        <td>{c.priority}</td>
                        <td>{c.weight}</td>
                        <td translate="no">{c.endpoints.iter().map(|e| e.base_url.clone()).collect::<Vec<_>>().join(", ")}</td>
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
        <p><a href="/admin/channels">{t("channels-back")}</a></p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match channel.await {
                    Ok(c) => view! {
                        <h1><span translate="no">{c.name.clone()}</span> " " <Status enabled=c.enabled/></h1>
                        <SettingsCard c=c.clone() update toggle/>
                        <EndpointsCard c=c.clone() add=add_endpoint remove=remove_endpoint form=endpoint_form/>
                        <KeysCard c=c.clone() add=add_key toggle=toggle_key remove=remove_key form=key_form/>
                        <FilterCard c=c.clone() set_filter/>
                        <BoundModels c=c.clone()/>
                        <ChannelTest id=c.id kind=c.kind default_model=c.bindings.first().map(|b| b.upstream_model.clone())/>
                        <DeleteCard c delete/>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
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
            <h2>{t("nav-settings")}</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <div class="grid">
                    <label>{t("field-name")}
                        <input type="text" name="name" required maxlength="64" value=c.name.clone()/>
                        <FieldError action=update field="name"/>
                    </label>
                    <label>{t("col-type")}
                        <select name="kind">
                            {ChannelKind::ALL.iter().map(|k| view! {
                                <option value=k.as_str() selected=*k == kind>{k.label_in(use_locale())}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>{t("col-priority")}
                        <input type="number" name="priority" step="1" value=c.priority.to_string()/>
                        <FieldError action=update field="priority"/>
                    </label>
                    <label>{t("col-weight")}
                        <input type="number" name="weight" min="1" max="1000" step="1" value=c.weight.to_string()/>
                        <FieldError action=update field="weight"/>
                    </label>
                </div>
                <ActionError action=update inline=&["name", "priority", "weight"]/>
                <div class="actions">
                    <Submit action=update label=t("save") busy=t("saving")/>
                    <Saved action=update/>
                </div>
            </ActionForm>
            <ActionForm action=toggle>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <input type="hidden" name="enabled" value=(!c.enabled).to_string()/>
                <button type="submit">{if c.enabled { t("channels-disable") } else { t("channels-enable") }}</button>
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
            <h2>{t("filter-title")}</h2>
            <p class="muted">{t("filter-intro")}</p>
            <ActionForm action=set_filter>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <div class="grid">
                    <label>{t("filter-betas")}
                        <input type="text" name="drop_betas" translate="no" maxlength="4000" placeholder="context-1m, context-management" value=c.filter.betas.join(", ")/>
                        <FieldError action=set_filter field="drop_betas"/>
                    </label>
                    <label>{t("filter-fields")}
                        <input type="text" name="drop_fields" translate="no" maxlength="4000" placeholder="context_management, metadata" value=c.filter.fields.join(", ")/>
                        <FieldError action=set_filter field="drop_fields"/>
                    </label>
                </div>
                <ActionError action=set_filter inline=&["drop_betas", "drop_fields"]/>
                <div class="actions">
                    <Submit action=set_filter label=t("filter-save") busy=t("saving")/>
                    <Saved action=set_filter/>
                </div>
            </ActionForm>
            <ActionForm action=set_filter>
                <input type="hidden" name="id" value=c.id.to_string()/>
                <input type="hidden" name="preset" value="anthropic-compatible"/>
                <button type="submit">{t("filter-preset")}</button>
                " " <span class="muted" translate="no">{format!("{}; {}", preset.betas.join(", "), preset.fields.join(", "))}</span>
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
            <h2>{t("col-endpoints")}</h2>
            <ul class="plain" data-testid="endpoints">
                {c.endpoints.into_iter().map(|e| view! {
                    <li>
                        <code>{e.base_url}</code>
                        {removable.then(|| view! {
                            <ActionForm action=remove attr:class="inline">
                                <input type="hidden" name="channel_id" value=cid.to_string()/>
                                <input type="hidden" name="endpoint_id" value=e.id.to_string()/>
                                <button type="submit" class="danger small">{t("remove")}</button>
                            </ActionForm>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <ActionError action=remove/>
            <ActionForm action=add node_ref=form>
                <input type="hidden" name="channel_id" value=cid.to_string()/>
                <div class="row">
                    <label>{t("endpoints-add-url")}
                        <input type="url" name="base_url" required placeholder="https://api.anthropic.com"/>
                        <FieldError action=add field="base_url"/>
                    </label>
                    <Submit action=add label=t("endpoints-add") busy=t("adding")/>
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
            <h2>{t("keys-title")}</h2>
            <p class="muted">{t("keys-intro")}</p>
            <table class="list" data-testid="credentials">
                <thead><tr><th>{t("col-key")}</th><th>{t("col-added")}</th><th>{t("col-status")}</th><th></th></tr></thead>
                <tbody>
                    {c.credentials.into_iter().map(|k| view! {
                        <tr>
                            <td><code>{k.masked()}</code></td>
                            <td>{format_time_in(use_locale(), k.created_at)}</td>
                            <td><Status enabled=k.enabled/></td>
                            <td class="row-actions">
                                <ActionForm action=toggle attr:class="inline">
                                    <input type="hidden" name="channel_id" value=cid.to_string()/>
                                    <input type="hidden" name="credential_id" value=k.id.to_string()/>
                                    <input type="hidden" name="enabled" value=(!k.enabled).to_string()/>
                                    <button type="submit" class="small">{if k.enabled { t("disable") } else { t("enable") }}</button>
                                </ActionForm>
                                {removable.then(|| view! {
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="channel_id" value=cid.to_string()/>
                                        <input type="hidden" name="credential_id" value=k.id.to_string()/>
                                        <button type="submit" class="danger small">{t("remove")}</button>
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
                    <label>{t("keys-add-key")}
                        <input type="password" name="key" required autocomplete="off"/>
                        <FieldError action=add field="key"/>
                    </label>
                    <Submit action=add label=t("keys-add") busy=t("adding")/>
                    <Saved action=add text=t("keys-added")/>
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
            <h2>{t("nav-models")}</h2>
            {if c.bindings.is_empty() {
                view! { <p class="empty">{t("channel-no-bindings")} " " <a href="/admin/models">{t("nav-pricing")}</a></p> }.into_any()
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
            <h2>{t("delete")}</h2>
            <Confirm summary=t("channel-delete-summary") question=t_with("channel-delete-question", &[("name", c.name.clone())])>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=c.id.to_string()/>
                    <button type="submit" class="danger">{t("channel-delete")}</button>
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
            <h2>{t("channel-test-title")}</h2>
            <p class="muted">{t("channel-test-intro")}</p>
            <ActionForm action=test>
                <input type="hidden" name="id" value=id.to_string()/>
                <div class="row">
                    <label>{t("col-model")}
                        <input type="text" name="model" placeholder=placeholder/>
                    </label>
                    <Submit action=test label=t("channel-test") busy=t("testing")/>
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
            <thead><tr><th>{t("col-endpoint")}</th><th>{t("col-key")}</th><th>{t("col-model")}</th><th>{t("col-result")}</th><th>{t("col-status")}</th><th>{t("col-latency")}</th><th>{t("col-message")}</th></tr></thead>
            <tbody>
                {results.into_iter().map(|r| view! {
                    <tr class=if r.ok { "ok" } else { "failed" }>
                        <td><code>{r.endpoint}</code></td>
                        <td><code>{r.credential}</code></td>
                        <td>{r.model}</td>
                        <td>{if r.ok { view! { <span class="status status-active">{t("result-ok")}</span> }.into_any() } else { view! { <span class="status status-failed">{t("result-failed")}</span> }.into_any() }}</td>
                        <td>{r.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                        <td>{t_with("unit-ms", &[("n", r.latency_ms.to_string())])}</td>
                        <td>{r.message}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
