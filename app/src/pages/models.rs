//! The models a signed-in user can call, with prices.

use leptos::prelude::*;

use super::layout::Console;
use crate::api::models::available_models;
use crate::i18n::{t, t_with};
use crate::money::format_price;

#[component]
pub fn ModelsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| available_models());
    view! {
        <Console>
            <h1>{t("nav-models")}</h1>
            <p class="muted">{t("models-intro")}</p>
            <Suspense fallback=|| view! { <p class="loading">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{t("models-empty")}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list" data-testid="available-models">
                                <thead><tr><th>{t("col-model-id")}</th><th>{t("col-name")}</th><th>{t("price-input")}</th><th>{t("price-output")}</th><th>{t("price-cache-write-5m")}</th><th>{t("price-cache-write-1h")}</th><th>{t("price-cache-read")}</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| view! {
                                        <tr data-model=m.public_id.clone()>
                                            <td><code>{m.public_id.clone()}</code>
                                                {(!m.aliases.is_empty()).then(|| view! {
                                                    <div class="muted aliases">{t_with("models-aliases", &[("aliases", m.aliases.join(", "))])}</div>
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
                                                None => view! { <td colspan="5" class="muted">{t("models-no-prices")}</td> }.into_any(),
                                            }}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </Console>
    }
}
