//! Models: the list with prices, "add a model" by hand, import from the built-in price list, and one
//! model's page with its prices, bindings to channels, and deletion.

use leptos::prelude::*;

use super::route_id;
use crate::api::channels::list_channels;
use crate::api::models::*;
use crate::i18n::{t, t_with, use_locale};
use crate::money::{format_price, price_input_value, Prices};
use crate::pages::layout::Console;
use crate::pages::widgets::{ActionError, Confirm, FieldError, Saved, Status, Submit};
use crate::types::{BindingView, ModelView, PriceList};

const MODEL_FIELDS: &[&str] = &[
    "public_id",
    "display_name",
    "input_price",
    "output_price",
    "cache_write_5m_price",
    "cache_write_1h_price",
    "cache_read_price",
];

#[component]
pub fn AdminModelsPage() -> impl IntoView {
    view! {
        <Console>
            <Models/>
        </Console>
    }
}

#[component]
fn Models() -> impl IntoView {
    let create = ServerAction::<CreateModel>::new();
    let import = ServerAction::<ImportPrices>::new();
    let list = Resource::new(
        move || (create.version().get(), import.version().get()),
        |_| list_models(),
    );
    let query = leptos_router::hooks::use_query_map();
    let source = move || query.with(|q| q.get("prices").unwrap_or_default());
    let upload_error = move || query.with(|q| q.get("upload_error"));
    let prices = Resource::new(
        move || (import.version().get(), source()),
        |(_, source)| get_price_list(source),
    );
    view! {
        <h1>{t("admin-models-title")}</h1>
        <p class="muted">{t("admin-models-intro")}</p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">{t("admin-models-empty")}</p> }.into_any(),
                    Ok(list) => view! { <ModelTable list/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                }
            })}
        </Transition>

        <section class="card" id="price-list">
            <h2>{t("import-title")}</h2>
            <form method="post" action="/admin/prices/upload" enctype="multipart/form-data" class="row" data-testid="upload-prices">
                <label>{t("import-file")} " "
                    <input type="file" name="file" accept=".json,application/json" required/>
                </label>
                <button type="submit">{t("import-upload")}</button>
            </form>
            {move || upload_error().map(|e| view! { <p class="form-error" role="alert" data-testid="upload-error">{e}</p> })}
            <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    prices.await.map(|list| view! { <PriceListForm list import/> })
                })}
            </Transition>
        </section>

        <section class="card">
            <h2>{t("admin-models-add-title")}</h2>
            <ActionForm action=create attr:data-testid="create-model">
                <ModelFields model=None action=create/>
                <ActionError action=create inline=MODEL_FIELDS/>
                <Submit action=create label=t("admin-models-add") busy=t("adding")/>
            </ActionForm>
        </section>
    }
}

fn price_cells(prices: Option<Prices>) -> impl IntoView {
    match prices {
        Some(p) => view! {
            <td>{format_price(p.input)}</td>
            <td>{format_price(p.output)}</td>
            <td>{format_price(p.cache_write_5m)}</td>
            <td>{format_price(p.cache_write_1h)}</td>
            <td>{format_price(p.cache_read)}</td>
        }
        .into_any(),
        None => view! { <td colspan="5" class="muted">{t("models-no-prices")}</td> }.into_any(),
    }
}

/// The header cells matching [`price_cells`].
pub fn price_headers() -> impl IntoView {
    view! { <th>{t("price-input")}</th><th>{t("price-output")}</th><th>{t("price-cache-write-5m")}</th><th>{t("price-cache-write-1h")}</th><th>{t("price-cache-read")}</th> }
}

#[component]
fn ModelTable(list: Vec<ModelView>) -> impl IntoView {
    view! {
        <table class="list" data-testid="model-table">
            <thead><tr><th>{t("col-model-id")}</th><th>{t("col-name")}</th>{price_headers()}<th>{t("nav-channels")}</th><th>{t("col-status")}</th></tr></thead>
            <tbody>
                {list.into_iter().map(|m| view! {
                    <tr data-model=m.public_id.clone()>
                        <td><a href=format!("/admin/models/{}", m.id)><code>{m.public_id.clone()}</code></a>
                            {(!m.aliases.is_empty()).then(|| view! {
                                <div class="muted aliases">{t_with("models-aliases", &[("aliases", m.aliases.join(", "))])}</div>
                            })}
                        </td>
                        <td translate="no">{m.display_name.clone()}</td>
                        {price_cells(m.prices)}
                        <td translate="no">{if m.bindings.is_empty() { t("none") } else { m.bindings.iter().map(|b| b.channel_name.clone()).collect::<Vec<_>>().join(", ") }}</td>
                        <td><Status enabled=m.enabled/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn PriceListForm(list: PriceList, import: ServerAction<ImportPrices>) -> impl IntoView {
    view! {
        {if list.uploaded {
            view! {
                <p data-testid="price-source"><strong>{t_with("import-preview-of", &[("source", list.source.clone())])}</strong> " " {t("import-preview-text")} " " <a href="/admin/models#price-list">{t("import-back-to-builtin")}</a></p>
            }.into_any()
        } else {
            view! {
                <p class="muted" data-testid="price-source">{t_with("import-builtin-text", &[("dated", list.dated.clone())])}</p>
            }.into_any()
        }}
        <ActionForm action=import attr:data-testid="import-prices">
            <input type="hidden" name="source" value=if list.uploaded { "upload" } else { "" }/>
            <table class="list">
                <thead><tr><th></th><th>{t("col-model-id")}</th><th>{t("col-vendor")}</th>{price_headers()}</tr></thead>
                <tbody>
                    {list.entries.into_iter().enumerate().map(|(i, e)| view! {
                        <tr>
                            <td>
                                {if e.exists && e.repriced_from.is_none() {
                                    view! { <span class="muted">{t("import-added")}</span> }.into_any()
                                } else {
                                    view! { <input type="checkbox" name=format!("ids[{i}]") value=e.public_id.clone() aria-label=t_with("import-one", &[("id", e.public_id.clone())])/> }.into_any()
                                }}
                            </td>
                            <td><code>{e.public_id.clone()}</code>
                                {e.repriced_from.map(|was| view! {
                                    <span class="status status-changed" title=t_with("import-now", &[("prices", was.map(|p| t_with("import-now-prices", &[("input", format_price(p.input)), ("output", format_price(p.output))])).unwrap_or_else(|| t("models-no-prices")))])>{t("import-new-prices")}</span>
                                })}
                                {e.deprecated_on.clone().map(|d| view! {
                                    <span class="status status-deprecated">{t_with("import-deprecated", &[("day", d)])}</span>
                                })}
                            </td>
                            <td translate="no">{e.vendor.clone()}</td>
                            {price_cells(Some(e.prices))}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <div class="actions">
                <Submit action=import label=t("import-selected") busy=t("importing")/>
                {move || import.value().get().and_then(Result::ok).map(|n| view! {
                    <span class="saved" role="status">{t_with("import-done", &[("n", n.to_string())])}</span>
                })}
            </div>
            <ActionError action=import/>
        </ActionForm>
    }
}

/// The fields of a model form (`form[...]` names), filled from `model` when editing.
#[component]
fn ModelFields<S>(model: Option<ModelView>, action: ServerAction<S>) -> impl IntoView
where
    S: leptos::server_fn::ServerFn<Error = crate::error::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let prices = model.as_ref().and_then(|m| m.prices);
    let price = move |f: fn(&Prices) -> i64| {
        prices
            .as_ref()
            .map(|p| price_input_value(f(p)))
            .unwrap_or_default()
    };
    let enabled = model.as_ref().is_none_or(|m| m.enabled);
    let public_id = model
        .as_ref()
        .map(|m| m.public_id.clone())
        .unwrap_or_default();
    let display_name = model
        .as_ref()
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    view! {
        <div class="grid">
            <label>{t("col-model-id")} " " <span class="muted">{t("model-id-hint")}</span>
                <input type="text" name="form[public_id]" required maxlength="128" placeholder="claude-sonnet-4-5" value=public_id/>
                <FieldError action field="public_id"/>
            </label>
            <label>{t("model-display-name")} " " <span class="muted">{t("optional")}</span>
                <input type="text" name="form[display_name]" maxlength="128" value=display_name/>
                <FieldError action field="display_name"/>
            </label>
        </div>
        <p class="muted">{t("model-prices-hint")}</p>
        <div class="grid prices">
            <label>{t("price-input")}
                <input type="text" inputmode="decimal" name="form[input_price]" placeholder="3" value=price(|p| p.input)/>
                <FieldError action field="input_price"/>
            </label>
            <label>{t("price-output")}
                <input type="text" inputmode="decimal" name="form[output_price]" placeholder="15" value=price(|p| p.output)/>
                <FieldError action field="output_price"/>
            </label>
            <label>{t("price-cache-write-5m")}
                <input type="text" inputmode="decimal" name="form[cache_write_5m_price]" placeholder="3.75" value=price(|p| p.cache_write_5m)/>
                <FieldError action field="cache_write_5m_price"/>
            </label>
            <label>{t("price-cache-write-1h")}
                <input type="text" inputmode="decimal" name="form[cache_write_1h_price]" placeholder="6" value=price(|p| p.cache_write_1h)/>
                <FieldError action field="cache_write_1h_price"/>
            </label>
            <label>{t("price-cache-read")}
                <input type="text" inputmode="decimal" name="form[cache_read_price]" placeholder="0.30" value=price(|p| p.cache_read)/>
                <FieldError action field="cache_read_price"/>
            </label>
        </div>
        <label class="check"><input type="checkbox" name="form[enabled]" value="on" checked=enabled/> " " {t("status-enabled-label")}</label>
    }
}

#[component]
pub fn AdminModelPage() -> impl IntoView {
    view! {
        <Console>
            <ModelDetail/>
        </Console>
    }
}

#[component]
fn ModelDetail() -> impl IntoView {
    let id = route_id();
    let update = ServerAction::<UpdateModel>::new();
    let bind = ServerAction::<CreateBinding>::new();
    let edit_binding = ServerAction::<UpdateBinding>::new();
    let unbind = ServerAction::<DeleteBinding>::new();
    let delete = ServerAction::<DeleteModel>::new();
    let set_long = ServerAction::<SetModelLongContext>::new();
    let set_aliases = ServerAction::<SetModelAliases>::new();
    let set_search = ServerAction::<SetModelWebSearchPrice>::new();
    let model = Resource::new(
        move || {
            (
                id.get(),
                update.version().get(),
                set_long.version().get(),
                set_aliases.version().get(),
                set_search.version().get(),
                bind.version().get(),
                edit_binding.version().get(),
                unbind.version().get(),
            )
        },
        |(id, ..)| get_model(id),
    );
    let channels = Resource::new(|| (), |_| list_channels());
    view! {
        <p><a href="/admin/models">{t("admin-models-back")}</a></p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                let m = match model.await {
                    Ok(m) => m,
                    Err(e) => return view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                };
                let channels = channels.await.unwrap_or_default();
                let bound: Vec<i64> = m.bindings.iter().map(|b| b.channel_id).collect();
                let free: Vec<_> = channels.into_iter().filter(|c| !bound.contains(&c.id)).collect();
                view! {
                    <h1><code>{m.public_id.clone()}</code> " " <Status enabled=m.enabled/></h1>
                    <PricesCard m=m.clone() update/>
                    <AliasesCard m=m.clone() set_aliases/>
                    <LongContextCard m=m.clone() set_long/>
                    <WebSearchCard m=m.clone() set_search/>
                    <BindingsCard m=m.clone() free bind edit=edit_binding unbind/>
                    <DeleteModelCard m delete/>
                }.into_any()
            })}
        </Transition>
    }
}

/// Other ids the model answers to (dated ids, names clients send).
#[component]
fn AliasesCard(m: ModelView, set_aliases: ServerAction<SetModelAliases>) -> impl IntoView {
    view! {
        <section class="card" data-testid="aliases">
            <h2>{t("aliases-title")}</h2>
            <p class="muted">{t("aliases-intro")}</p>
            <ActionForm action=set_aliases>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <label>{t("aliases-title")}
                    <input type="text" name="aliases" maxlength="4000" placeholder="claude-sonnet-4-5-20250929" value=m.aliases.join(", ")/>
                    <FieldError action=set_aliases field="aliases"/>
                </label>
                <ActionError action=set_aliases inline=&["aliases"]/>
                <div class="actions">
                    <Submit action=set_aliases label=t("aliases-save") busy=t("saving")/>
                    <Saved action=set_aliases/>
                </div>
            </ActionForm>
        </section>
    }
}

/// The price of the web searches an upstream runs for a request (a server tool).
#[component]
fn WebSearchCard(m: ModelView, set_search: ServerAction<SetModelWebSearchPrice>) -> impl IntoView {
    let value = m
        .web_search_price
        .map(price_input_value)
        .unwrap_or_default();
    view! {
        <section class="card" data-testid="web-search-price">
            <h2>{t("settings-web-search")}</h2>
            <p class="muted">{t("model-web-search-intro")}</p>
            <ActionForm action=set_search>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <label>{t("model-web-search-field")}
                    <input type="text" inputmode="decimal" name="price" maxlength="24" placeholder="10" value=value/>
                    <FieldError action=set_search field="price"/>
                </label>
                <ActionError action=set_search inline=&["price"]/>
                <div class="actions">
                    <Submit action=set_search label=t("model-web-search-save") busy=t("saving")/>
                    <Saved action=set_search/>
                </div>
            </ActionForm>
        </section>
    }
}

/// The dearer prices of requests whose input passes a threshold (a long context).
#[component]
fn LongContextCard(m: ModelView, set_long: ServerAction<SetModelLongContext>) -> impl IntoView {
    let long = m.long_context;
    let price = move |f: fn(&Prices) -> i64| {
        long.as_ref()
            .map(|l| price_input_value(f(&l.prices)))
            .unwrap_or_default()
    };
    let threshold = long.map(|l| l.threshold.to_string()).unwrap_or_default();
    view! {
        <section class="card" data-testid="long-context">
            <h2>{t("long-title")}</h2>
            <p class="muted">{t("long-intro")}</p>
            <ActionForm action=set_long>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <div class="grid prices">
                    <label>{t("long-threshold")}
                        <input type="text" inputmode="numeric" name="threshold" placeholder="200000" value=threshold/>
                        <FieldError action=set_long field="threshold"/>
                    </label>
                    <label>{t("long-input")}
                        <input type="text" inputmode="decimal" name="input_price" placeholder="6" value=price(|p| p.input)/>
                        <FieldError action=set_long field="input_price"/>
                    </label>
                    <label>{t("long-output")}
                        <input type="text" inputmode="decimal" name="output_price" placeholder="22.50" value=price(|p| p.output)/>
                        <FieldError action=set_long field="output_price"/>
                    </label>
                    <label>{t("long-cache-write-5m")}
                        <input type="text" inputmode="decimal" name="cache_write_5m_price" value=price(|p| p.cache_write_5m)/>
                        <FieldError action=set_long field="cache_write_5m_price"/>
                    </label>
                    <label>{t("long-cache-write-1h")}
                        <input type="text" inputmode="decimal" name="cache_write_1h_price" value=price(|p| p.cache_write_1h)/>
                        <FieldError action=set_long field="cache_write_1h_price"/>
                    </label>
                    <label>{t("long-cache-read")}
                        <input type="text" inputmode="decimal" name="cache_read_price" value=price(|p| p.cache_read)/>
                        <FieldError action=set_long field="cache_read_price"/>
                    </label>
                </div>
                <ActionError action=set_long inline=&["threshold", "input_price", "output_price", "cache_write_5m_price", "cache_write_1h_price", "cache_read_price"]/>
                <div class="actions">
                    <Submit action=set_long label=t("long-save") busy=t("saving")/>
                    <Saved action=set_long/>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn PricesCard(m: ModelView, update: ServerAction<UpdateModel>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{t("model-and-prices")}</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <ModelFields model=Some(m.clone()) action=update/>
                <ActionError action=update inline=MODEL_FIELDS/>
                <div class="actions">
                    <Submit action=update label=t("save") busy=t("saving")/>
                    <Saved action=update/>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn BindingsCard(
    m: ModelView,
    free: Vec<crate::types::ChannelView>,
    bind: ServerAction<CreateBinding>,
    edit: ServerAction<UpdateBinding>,
    unbind: ServerAction<DeleteBinding>,
) -> impl IntoView {
    let mid = m.id;
    let placeholder = m.public_id.clone();
    view! {
        <section class="card">
            <h2>{t("bindings-title")}</h2>
            <p class="muted">{t("bindings-intro")}</p>
            {if m.bindings.is_empty() {
                view! { <p class="empty">{t("bindings-empty")}</p> }.into_any()
            } else {
                view! { <BindingTable bindings=m.bindings.clone() edit unbind/> }.into_any()
            }}
            <ActionError action=edit inline=&["upstream_model"]/>
            <FieldError action=edit field="upstream_model"/>
            <ActionError action=unbind/>
            {if free.is_empty() {
                view! { <p class="muted">{t("bindings-no-free")} " " <a href="/admin/channels">{t("channels-add-title")}</a></p> }.into_any()
            } else {
                view! {
                    <ActionForm action=bind attr:data-testid="create-binding">
                        <input type="hidden" name="model_id" value=mid.to_string()/>
                        <div class="row">
                            <label>{t("col-channel")}
                                <select name="channel_id">
                                    {free.iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} ({})", c.name, c.kind.label_in(use_locale()))}</option> }).collect_view()}
                                </select>
                                <FieldError action=bind field="channel_id"/>
                            </label>
                            <label>{t("col-upstream-model")} " " <span class="muted">{t("optional")}</span>
                                <input type="text" name="upstream_model" placeholder=placeholder/>
                                <FieldError action=bind field="upstream_model"/>
                            </label>
                            <Submit action=bind label=t("bind") busy=t("binding")/>
                        </div>
                        <ActionError action=bind inline=&["channel_id", "upstream_model"]/>
                    </ActionForm>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn DeleteModelCard(m: ModelView, delete: ServerAction<DeleteModel>) -> impl IntoView {
    view! {
        <section class="card danger-zone">
            <h2>{t("delete")}</h2>
            <Confirm summary=t("model-delete-summary") question=t_with("model-delete-question", &[("id", m.public_id.clone())])>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=m.id.to_string()/>
                    <button type="submit" class="danger">{t("model-delete")}</button>
                </ActionForm>
            </Confirm>
            <ActionError action=delete/>
        </section>
    }
}

#[component]
fn BindingTable(
    bindings: Vec<BindingView>,
    edit: ServerAction<UpdateBinding>,
    unbind: ServerAction<DeleteBinding>,
) -> impl IntoView {
    view! {
        <table class="list" data-testid="binding-table">
            <thead><tr><th>{t("col-channel")}</th><th>{t("col-type")}</th><th>{t("col-upstream-model-status")}</th><th></th></tr></thead>
            <tbody>
                {bindings.into_iter().map(|b| {
                    let bid = b.id;
                    view! {
                        <tr>
                            <td translate="no"><a href=format!("/admin/channels/{}", b.channel_id)>{b.channel_name.clone()}</a></td>
                            <td>{b.channel_kind.label_in(use_locale())}</td>
                            <td>
                                <ActionForm action=edit attr:class="inline">
                                    <input type="hidden" name="id" value=bid.to_string()/>
                                    <input type="text" name="upstream_model" value=b.upstream_model.clone() aria-label=t("col-upstream-model")/>
                                    <label class="check"><input type="checkbox" name="enabled" value="on" checked=b.enabled/> " " {t("status-enabled-label")}</label>
                                    <button type="submit" class="small">{t("save")}</button>
                                </ActionForm>
                            </td>
                            <td>
                                <ActionForm action=unbind attr:class="inline">
                                    <input type="hidden" name="id" value=bid.to_string()/>
                                    <button type="submit" class="danger small">{t("unbind")}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
