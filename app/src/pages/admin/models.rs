//! Models: the list with prices, "add a model" by hand, import from the built-in price list, and one
//! model's page with its prices, bindings to channels, and deletion.

use leptos::prelude::*;

use super::route_id;
use crate::api::channels::list_channels;
use crate::api::models::*;
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
        <h1>"Models"</h1>
        <p class="muted">"The model ids clients may send, with prices in USD per million tokens. A model is served when it is enabled and bound to an enabled channel."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading models…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No models yet. Import them from the price list or add one below."</p> }.into_any(),
                    Ok(list) => view! { <ModelTable list/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>

        <section class="card" id="price-list">
            <h2>"Import prices"</h2>
            <form method="post" action="/admin/prices/upload" enctype="multipart/form-data" class="row" data-testid="upload-prices">
                <label>"A price file of your own (LiteLLM's model_prices_and_context_window.json format) "
                    <input type="file" name="file" accept=".json,application/json" required/>
                </label>
                <button type="submit">"Upload and preview"</button>
            </form>
            {move || upload_error().map(|e| view! { <p class="form-error" role="alert" data-testid="upload-error">{e}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading the price list…"</p> }>
                {move || Suspend::new(async move {
                    prices.await.map(|list| view! { <PriceListForm list import/> })
                })}
            </Transition>
        </section>

        <section class="card">
            <h2>"Add a model by hand"</h2>
            <ActionForm action=create attr:data-testid="create-model">
                <ModelFields model=None action=create/>
                <ActionError action=create inline=MODEL_FIELDS/>
                <Submit action=create label="Add model" busy="Adding…"/>
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
        None => view! { <td colspan="5" class="muted">"no prices"</td> }.into_any(),
    }
}

/// The header cells matching [`price_cells`].
pub fn price_headers() -> impl IntoView {
    view! { <th>"Input"</th><th>"Output"</th><th>"Cache write 5m"</th><th>"Cache write 1h"</th><th>"Cache read"</th> }
}

#[component]
fn ModelTable(list: Vec<ModelView>) -> impl IntoView {
    view! {
        <table class="list" data-testid="model-table">
            <thead><tr><th>"Model id"</th><th>"Name"</th>{price_headers()}<th>"Channels"</th><th>"Status"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|m| view! {
                    <tr data-model=m.public_id.clone()>
                        <td><a href=format!("/admin/models/{}", m.id)><code>{m.public_id.clone()}</code></a>
                            {(!m.aliases.is_empty()).then(|| view! {
                                <div class="muted aliases">{format!("also: {}", m.aliases.join(", "))}</div>
                            })}
                        </td>
                        <td>{m.display_name.clone()}</td>
                        {price_cells(m.prices)}
                        <td>{if m.bindings.is_empty() { "none".to_string() } else { m.bindings.iter().map(|b| b.channel_name.clone()).collect::<Vec<_>>().join(", ") }}</td>
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
                <p data-testid="price-source"><strong>{format!("Preview of {}.", list.source)}</strong> " Nothing has changed yet: tick the models to import, then Import selected. " <a href="/admin/models#price-list">"Back to the built-in price list"</a></p>
            }.into_any()
        } else {
            view! {
                <p class="muted" data-testid="price-source">"Prices per million tokens from LiteLLM's maintained price file, snapshot dated " {list.dated.clone()} ". Ticking a model that exists with other prices (“new prices”) sets the list's prices on it; you can edit them after importing."</p>
            }.into_any()
        }}
        <ActionForm action=import attr:data-testid="import-prices">
            <input type="hidden" name="source" value=if list.uploaded { "upload" } else { "" }/>
            <table class="list">
                <thead><tr><th></th><th>"Model id"</th><th>"Vendor"</th>{price_headers()}</tr></thead>
                <tbody>
                    {list.entries.into_iter().enumerate().map(|(i, e)| view! {
                        <tr>
                            <td>
                                {if e.exists && e.repriced_from.is_none() {
                                    view! { <span class="muted">"added"</span> }.into_any()
                                } else {
                                    view! { <input type="checkbox" name=format!("ids[{i}]") value=e.public_id.clone() aria-label=format!("Import {}", e.public_id)/> }.into_any()
                                }}
                            </td>
                            <td><code>{e.public_id.clone()}</code>
                                {e.repriced_from.map(|was| view! {
                                    <span class="status status-changed" title=format!("now: {}", was.map(|p| format!("{} in, {} out", format_price(p.input), format_price(p.output))).unwrap_or_else(|| "no prices".into()))>"new prices"</span>
                                })}
                                {e.deprecated_on.clone().map(|d| view! {
                                    <span class="status status-deprecated">{format!("deprecated {d}")}</span>
                                })}
                            </td>
                            <td>{e.vendor.clone()}</td>
                            {price_cells(Some(e.prices))}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <div class="actions">
                <Submit action=import label="Import selected" busy="Importing…"/>
                {move || import.value().get().and_then(Result::ok).map(|n| view! {
                    <span class="saved" role="status">{format!("Imported {n} model{}.", if n == 1 { "" } else { "s" })}</span>
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
            <label>"Model id " <span class="muted">"(what clients send)"</span>
                <input type="text" name="form[public_id]" required maxlength="128" placeholder="claude-sonnet-4-5" value=public_id/>
                <FieldError action field="public_id"/>
            </label>
            <label>"Display name " <span class="muted">"(optional)"</span>
                <input type="text" name="form[display_name]" maxlength="128" value=display_name/>
                <FieldError action field="display_name"/>
            </label>
        </div>
        <p class="muted">"Prices in USD per million tokens. Leave all empty for a model without prices; cache prices left empty are derived from the input price (write 5m 1.25×, write 1h 2×, read 0.1×)."</p>
        <div class="grid prices">
            <label>"Input"
                <input type="text" inputmode="decimal" name="form[input_price]" placeholder="3" value=price(|p| p.input)/>
                <FieldError action field="input_price"/>
            </label>
            <label>"Output"
                <input type="text" inputmode="decimal" name="form[output_price]" placeholder="15" value=price(|p| p.output)/>
                <FieldError action field="output_price"/>
            </label>
            <label>"Cache write 5m"
                <input type="text" inputmode="decimal" name="form[cache_write_5m_price]" placeholder="3.75" value=price(|p| p.cache_write_5m)/>
                <FieldError action field="cache_write_5m_price"/>
            </label>
            <label>"Cache write 1h"
                <input type="text" inputmode="decimal" name="form[cache_write_1h_price]" placeholder="6" value=price(|p| p.cache_write_1h)/>
                <FieldError action field="cache_write_1h_price"/>
            </label>
            <label>"Cache read"
                <input type="text" inputmode="decimal" name="form[cache_read_price]" placeholder="0.30" value=price(|p| p.cache_read)/>
                <FieldError action field="cache_read_price"/>
            </label>
        </div>
        <label class="check"><input type="checkbox" name="form[enabled]" value="on" checked=enabled/> "Enabled"</label>
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
        <p><a href="/admin/models">"← Models"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading the model…"</p> }>
            {move || Suspend::new(async move {
                let m = match model.await {
                    Ok(m) => m,
                    Err(e) => return view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
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
            <h2>"Aliases"</h2>
            <p class="muted">"Other ids clients may send for this model (e.g. its dated id): a request for one is a request for this model, with its prices and bindings. Separate them with commas."</p>
            <ActionForm action=set_aliases>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <label>"Aliases"
                    <input type="text" name="aliases" maxlength="4000" placeholder="claude-sonnet-4-5-20250929" value=m.aliases.join(", ")/>
                    <FieldError action=set_aliases field="aliases"/>
                </label>
                <ActionError action=set_aliases inline=&["aliases"]/>
                <div class="actions">
                    <Submit action=set_aliases label="Save aliases" busy="Saving…"/>
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
            <h2>"Web search price"</h2>
            <p class="muted">"What 1,000 web searches cost (the upstream reports them as server_tool_use.web_search_requests), in USD. Empty: the site's price (Site settings; Anthropic's is $10)."</p>
            <ActionForm action=set_search>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <label>"Per 1,000 web searches"
                    <input type="text" inputmode="decimal" name="price" maxlength="24" placeholder="10" value=value/>
                    <FieldError action=set_search field="price"/>
                </label>
                <ActionError action=set_search inline=&["price"]/>
                <div class="actions">
                    <Submit action=set_search label="Save web search price" busy="Saving…"/>
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
            <h2>"Long-context prices"</h2>
            <p class="muted">"A request whose input (input + cache writes + cache reads) passes the threshold pays these prices for all its tokens, as Anthropic priced Sonnet 4 and 4.5 above 200k tokens. USD per million tokens; leave everything empty for none."</p>
            <ActionForm action=set_long>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <div class="grid prices">
                    <label>"Above (input tokens)"
                        <input type="text" inputmode="numeric" name="threshold" placeholder="200000" value=threshold/>
                        <FieldError action=set_long field="threshold"/>
                    </label>
                    <label>"Long-context input"
                        <input type="text" inputmode="decimal" name="input_price" placeholder="6" value=price(|p| p.input)/>
                        <FieldError action=set_long field="input_price"/>
                    </label>
                    <label>"Long-context output"
                        <input type="text" inputmode="decimal" name="output_price" placeholder="22.50" value=price(|p| p.output)/>
                        <FieldError action=set_long field="output_price"/>
                    </label>
                    <label>"Long-context cache write 5m"
                        <input type="text" inputmode="decimal" name="cache_write_5m_price" value=price(|p| p.cache_write_5m)/>
                        <FieldError action=set_long field="cache_write_5m_price"/>
                    </label>
                    <label>"Long-context cache write 1h"
                        <input type="text" inputmode="decimal" name="cache_write_1h_price" value=price(|p| p.cache_write_1h)/>
                        <FieldError action=set_long field="cache_write_1h_price"/>
                    </label>
                    <label>"Long-context cache read"
                        <input type="text" inputmode="decimal" name="cache_read_price" value=price(|p| p.cache_read)/>
                        <FieldError action=set_long field="cache_read_price"/>
                    </label>
                </div>
                <ActionError action=set_long inline=&["threshold", "input_price", "output_price", "cache_write_5m_price", "cache_write_1h_price", "cache_read_price"]/>
                <div class="actions">
                    <Submit action=set_long label="Save long-context prices" busy="Saving…"/>
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
            <h2>"Model and prices"</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=m.id.to_string()/>
                <ModelFields model=Some(m.clone()) action=update/>
                <ActionError action=update inline=MODEL_FIELDS/>
                <div class="actions">
                    <Submit action=update label="Save" busy="Saving…"/>
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
            <h2>"Channels"</h2>
            <p class="muted">"The channels that carry this model, and the model name each one is sent."</p>
            {if m.bindings.is_empty() {
                view! { <p class="empty">"Not bound to any channel: requests for it are refused until you bind one."</p> }.into_any()
            } else {
                view! { <BindingTable bindings=m.bindings.clone() edit unbind/> }.into_any()
            }}
            <ActionError action=edit inline=&["upstream_model"]/>
            <FieldError action=edit field="upstream_model"/>
            <ActionError action=unbind/>
            {if free.is_empty() {
                view! { <p class="muted">"Every channel carries this model already, or there are none: " <a href="/admin/channels">"add a channel"</a> "."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=bind attr:data-testid="create-binding">
                        <input type="hidden" name="model_id" value=mid.to_string()/>
                        <div class="row">
                            <label>"Channel"
                                <select name="channel_id">
                                    {free.iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} ({})", c.name, c.kind.label())}</option> }).collect_view()}
                                </select>
                                <FieldError action=bind field="channel_id"/>
                            </label>
                            <label>"Upstream model " <span class="muted">"(optional)"</span>
                                <input type="text" name="upstream_model" placeholder=placeholder/>
                                <FieldError action=bind field="upstream_model"/>
                            </label>
                            <Submit action=bind label="Bind" busy="Binding…"/>
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
            <h2>"Delete"</h2>
            <Confirm summary="Delete this model…" question=format!("Delete {} and its bindings? Clients sending this id will be refused.", m.public_id)>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=m.id.to_string()/>
                    <button type="submit" class="danger">"Delete model"</button>
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
            <thead><tr><th>"Channel"</th><th>"Type"</th><th>"Upstream model and status"</th><th></th></tr></thead>
            <tbody>
                {bindings.into_iter().map(|b| {
                    let bid = b.id;
                    view! {
                        <tr>
                            <td><a href=format!("/admin/channels/{}", b.channel_id)>{b.channel_name.clone()}</a></td>
                            <td>{b.channel_kind.label()}</td>
                            <td>
                                <ActionForm action=edit attr:class="inline">
                                    <input type="hidden" name="id" value=bid.to_string()/>
                                    <input type="text" name="upstream_model" value=b.upstream_model.clone() aria-label="Upstream model"/>
                                    <label class="check"><input type="checkbox" name="enabled" value="on" checked=b.enabled/> "Enabled"</label>
                                    <button type="submit" class="small">"Save"</button>
                                </ActionForm>
                            </td>
                            <td>
                                <ActionForm action=unbind attr:class="inline">
                                    <input type="hidden" name="id" value=bid.to_string()/>
                                    <button type="submit" class="danger small">"Unbind"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
