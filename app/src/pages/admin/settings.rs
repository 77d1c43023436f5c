//! Site settings: registration, billing, and what happens to models without prices.

use leptos::prelude::*;

use crate::api::admin::{
    get_site_settings, SetBillingEnabled, SetOverdraftFloor, SetProbes, SetRegistrationOpen,
    SetUnpricedModels, SetWebSearchPrice,
};
use crate::i18n::{t, use_locale};
use crate::pages::layout::Console;
use crate::pages::widgets::ActionError;
use crate::types::{ProbePolicy, UnpricedPolicy};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Console>
            <SettingsForm/>
        </Console>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let set = ServerAction::<SetRegistrationOpen>::new();
    let billing = ServerAction::<SetBillingEnabled>::new();
    let unpriced = ServerAction::<SetUnpricedModels>::new();
    let floor = ServerAction::<SetOverdraftFloor>::new();
    let search = ServerAction::<SetWebSearchPrice>::new();
    let probes = ServerAction::<SetProbes>::new();
    let settings = Resource::new(
        move || {
            (
                set.version().get(),
                billing.version().get(),
                unpriced.version().get(),
                floor.version().get(),
                search.version().get(),
                probes.version().get(),
            )
        },
        |_| get_site_settings(),
    );
    let locale = use_locale();
    view! {
        <h1>{t("settings-title")}</h1>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                settings.await.map(|s| {
                    let open = s.registration_open;
                    let billing_on = s.billing_enabled;
                    let policy = s.unpriced_models;
                    let floor_usd = crate::money::format_balance(s.overdraft_floor);
                    let search_usd = crate::money::price_input_value(s.web_search_price);
                    let probe_policy = s.probes;
                    view! {
                        <section class="card">
                            <h2>{locale.t("settings-registration")}</h2>
                            <p data-testid="registration-state">
                                {if open { locale.t("settings-registration-open") } else { locale.t("settings-registration-closed") }}
                            </p>
                            <ActionForm action=set>
                                <input type="hidden" name="open" value=(!open).to_string()/>
                                <button type="submit" disabled=move || set.pending().get()>
                                    {if open { locale.t("settings-close-registration") } else { locale.t("settings-open-registration") }}
                                </button>
                            </ActionForm>
                            <ActionError action=set/>
                        </section>
                        <section class="card">
                            <h2>{locale.t("settings-billing")}</h2>
                            <p data-testid="billing-state">
                                {if billing_on { locale.t("settings-billing-on") } else { locale.t("settings-billing-off") }}
                            </p>
                            <ActionForm action=billing>
                                <input type="hidden" name="enabled" value=(!billing_on).to_string()/>
                                <button type="submit" disabled=move || billing.pending().get()>
                                    {if billing_on { locale.t("settings-turn-billing-off") } else { locale.t("settings-turn-billing-on") }}
                                </button>
                            </ActionForm>
                            <ActionError action=billing/>
                        </section>
                        <section class="card">
                            <h2>{locale.t("settings-unpriced")}</h2>
                            <ActionForm action=unpriced>
                                <label class="check">
                                    <input type="radio" name="policy" value="refuse" checked=policy == UnpricedPolicy::Refuse/>
                                    " " {locale.t("settings-unpriced-refuse")}
                                </label>
                                <label class="check">
                                    <input type="radio" name="policy" value="free" checked=policy == UnpricedPolicy::Free/>
                                    " " {locale.t("settings-unpriced-free")}
                                </label>
                                <button type="submit" disabled=move || unpriced.pending().get()>{locale.t("save")}</button>
                            </ActionForm>
                            <ActionError action=unpriced/>
                        </section>
                        <section class="card">
                            <h2>{locale.t("settings-floor")}</h2>
                            <p>{locale.t("settings-floor-text")}</p>
                            <ActionForm action=floor>
                                <label>
                                    {locale.t("settings-floor-field")} " "
                                    <input type="text" name="floor" inputmode="decimal" maxlength="24" value=floor_usd data-testid="overdraft-floor"/>
                                </label>
                                <button type="submit" disabled=move || floor.pending().get()>{locale.t("save")}</button>
                            </ActionForm>
                            <ActionError action=floor/>
                        </section>
                        <section class="card">
                            <h2>{locale.t("settings-web-search")}</h2>
                            <p>{locale.t("settings-web-search-text")}</p>
                            <ActionForm action=search>
                                <label>
                                    {locale.t("settings-web-search-field")} " "
                                    <input type="text" name="price" inputmode="decimal" maxlength="24" value=search_usd data-testid="web-search-price"/>
                                </label>
                                <button type="submit" disabled=move || search.pending().get()>{locale.t("save")}</button>
                            </ActionForm>
                            <ActionError action=search/>
                        </section>
                        <section class="card">
                            <h2>{locale.t("settings-probes")}</h2>
                            <p>{locale.t("settings-probes-text")}</p>
                            <ActionForm action=probes>
                                <label class="check">
                                    <input type="radio" name="policy" value="upstream" checked=probe_policy == ProbePolicy::Upstream/>
                                    " " {locale.t("settings-probes-upstream")}
                                </label>
                                <label class="check">
                                    <input type="radio" name="policy" value="answer" checked=probe_policy == ProbePolicy::Answer/>
                                    " " {locale.t("settings-probes-answer")}
                                </label>
                                <button type="submit" disabled=move || probes.pending().get()>{locale.t("save")}</button>
                            </ActionForm>
                            <ActionError action=probes/>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}
