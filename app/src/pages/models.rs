//! The models a signed-in user can call, with prices.

use leptos::prelude::*;

use super::layout::Console;
use crate::api::models::available_models;
use crate::money::format_price;

#[component]
pub fn ModelsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| available_models());
    view! {
        <Console>
            <h1>"Models"</h1>
            <p class="muted">"Send one of these ids as the model. Prices are in USD per million tokens."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading models…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No models are available yet. An administrator adds them."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list" data-testid="available-models">
                                <thead><tr><th>"Model id"</th><th>"Name"</th><th>"Input"</th><th>"Output"</th><th>"Cache write 5m"</th><th>"Cache write 1h"</th><th>"Cache read"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| view! {
                                        <tr data-model=m.public_id.clone()>
                                            <td><code>{m.public_id.clone()}</code>
                                                {(!m.aliases.is_empty()).then(|| view! {
                                                    <div class="muted aliases">{format!("also: {}", m.aliases.join(", "))}</div>
                                                })}
                                            </td>
                                            <td>{m.display_name.clone()}</td>
                                            {match m.prices {
                                                Some(p) => view! {
                                                    <td>{format_price(p.input)}</td>
                                                    <td>{format_price(p.output)}</td>
                                                    <td>{format_price(p.cache_write_5m)}</td>
                                                    <td>{format_price(p.cache_write_1h)}</td>
                                                    <td>{format_price(p.cache_read)}</td>
                                                }.into_any(),
                                                None => view! { <td colspan="5" class="muted">"no prices set"</td> }.into_any(),
                                            }}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </Console>
    }
}
